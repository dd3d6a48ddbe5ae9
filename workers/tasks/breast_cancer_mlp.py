"""breast-cancer-mlp: scikit-learn's Wisconsin breast-cancer table (569 rows, 30 features,
2 classes; shipped inside the package), MLP 30-hidden-2.

Tabular: the features are standardized with the mean and spread of the training split (after
the fixed 20% test split is dropped and the validation split carved, split seed 0), so no
statistic comes from the data the objective is measured on.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from torch import nn

from tunecost.workers.tasks._data import Data
from tunecost.workers.tasks._splits import carve_validation, hold_out_test, take_subset


@lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn: only where a task loads its data
    from sklearn.datasets import load_breast_cancer

    table = load_breast_cancer()
    return table.data.astype(np.float32), table.target.astype(np.int64)


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    x, y = hold_out_test(*_table())
    x_train, y_train, x_val, y_val = carve_validation(x, y, recipe)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_val = (x_train - mean) / std, (x_val - mean) / std
    return Data.from_numpy(*take_subset(x_train, y_train, recipe), x_val, y_val)


def build_model(recipe: dict[str, Any]) -> nn.Module:
    return nn.Sequential(nn.Linear(30, recipe["hidden"]), nn.ReLU(), nn.Linear(recipe["hidden"], 2))
