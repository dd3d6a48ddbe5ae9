"""wine-mlp: scikit-learn's wine data, standardized, MLP 13-hidden-3. One task, one file.

Splits as every built-in task: a fixed test split is dropped, the recipe's ``val_fraction``
of the rest is the validation split (split seed fixed; training seeds change init and order).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from torch import nn

from tunecost.tasks import Data, carve_validation, hold_out_test, take_subset


@lru_cache(maxsize=1)
def _wine() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    return x.astype(np.float32), y.astype(np.int64)


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    x_train, y_train, x_val, y_val = carve_validation(*hold_out_test(*_wine()), recipe)
    mean, std = x_train.mean(0), x_train.std(0)  # statistics of the training split only
    x_train, y_train = take_subset(x_train, y_train, recipe)
    return Data.from_numpy((x_train - mean) / std, y_train, (x_val - mean) / std, y_val)


def build_model(recipe: dict[str, Any]) -> nn.Module:
    return nn.Sequential(nn.Linear(13, recipe["hidden"]), nn.ReLU(), nn.Linear(recipe["hidden"], 3))
