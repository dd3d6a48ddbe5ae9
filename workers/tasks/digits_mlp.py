"""digits-mlp: scikit-learn's digits (1,797 8x8 images, shipped inside the package), MLP 64-128-10.

Splits: a fixed stratified 20% test split is dropped (never used for tuning); the
recipe's ``val_fraction`` of the rest is the validation split the objective is
measured on. Both use split seed 0, so training seeds change only init and order.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from torch import nn

from tunecost.workers.tasks._data import Data
from tunecost.workers.tasks._splits import carve_validation, hold_out_test, take_subset


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn: only where a task loads its data
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    x, y = hold_out_test(*_digits())
    x_train, y_train, x_val, y_val = carve_validation(x, y, recipe)
    return Data.from_numpy(*take_subset(x_train, y_train, recipe), x_val, y_val)


def build_model(recipe: dict[str, Any]) -> nn.Module:
    return nn.Sequential(nn.Linear(64, recipe["hidden"]), nn.ReLU(), nn.Linear(recipe["hidden"], 10))
