"""digits-cnn: scikit-learn's digits as 1x8x8 images (shipped inside the package), a small CNN.

The same splits as digits-mlp (a fixed 20% test split dropped; the recipe's ``val_fraction``
of the rest for validation, split seed 0); the model sees the pixels' layout: two 3x3 conv
layers (padding 1; c and 2c channels), one 2x2 max-pool, a linear classifier.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from tunecost.workers.tasks._data import Data
from tunecost.workers.tasks._splits import carve_validation, hold_out_test, take_subset
from tunecost.workers.tasks.digits_mlp import _digits


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    x, y = hold_out_test(*_digits())
    x_train, y_train, x_val, y_val = carve_validation(x.reshape(-1, 1, 8, 8), y, recipe)
    return Data.from_numpy(*take_subset(x_train, y_train, recipe), x_val, y_val)


def build_model(recipe: dict[str, Any]) -> nn.Module:
    c = recipe["channels"]
    return nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1),  # 8x8
        nn.ReLU(),
        nn.Conv2d(c, 2 * c, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> 4x4
        nn.Flatten(),
        nn.Linear(2 * c * 4 * 4, 10),
    )
