"""diabetes-mlp: scikit-learn's diabetes data (442 patients, 10 features; the target is disease
progression one year on), an MLP regressor 10-hidden-1 scored by validation MSE.

Inputs and target are standardized with the training split's statistics, so the MSE is in
units of the target's variance: predicting the training mean scores about 1.0, which is what
the catalog entry declares a diverged trial scores. Splits as every built-in task (a fixed
test split dropped, ``val_fraction`` of the rest for validation), without stratification.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from torch import nn

from tunecost.tasks import Data, carve_validation, hold_out_test, take_subset


@lru_cache(maxsize=1)
def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True, scaled=False)
    return x.astype(np.float32), y.astype(np.float32)


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    x, y = hold_out_test(*_diabetes(), stratify=False)
    x_train, y_train, x_val, y_val = carve_validation(x, y, recipe, stratify=False)
    x_mean, x_std = x_train.mean(0), x_train.std(0)  # statistics of the training split only
    y_mean, y_std = y_train.mean(), y_train.std()
    x_train, y_train = take_subset(x_train, y_train, recipe)
    return Data.from_numpy(
        (x_train - x_mean) / x_std,
        (y_train - y_mean) / y_std,
        (x_val - x_mean) / x_std,
        (y_val - y_mean) / y_std,
    )


def build_model(recipe: dict[str, Any]) -> nn.Module:
    return nn.Sequential(nn.Linear(10, recipe["hidden"]), nn.ReLU(), nn.Linear(recipe["hidden"], 1))
