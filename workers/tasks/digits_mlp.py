"""digits-mlp: scikit-learn's digits (1,797 8x8 images, ships inside the package).

Split, fixed for every trial of every job: 20% test (held out, never used for
tuning), and the recipe's ``val_fraction`` of the rest as the validation split
the objective is measured on. Both splits are stratified with ``split_seed`` 0,
so training seeds change only initialisation and data order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

SPLIT_SEED = 0


@dataclass
class Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_pool, _x_test, y_pool, _y_test = train_test_split(
        x, y, test_size=0.2, random_state=SPLIT_SEED, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_pool, y_pool, test_size=recipe["val_fraction"], random_state=SPLIT_SEED, stratify=y_pool
    )
    if recipe.get("subset"):
        x_train, y_train = x_train[: recipe["subset"]], y_train[: recipe["subset"]]
    return Data(
        torch.from_numpy(x_train),
        torch.from_numpy(y_train),
        torch.from_numpy(x_val),
        torch.from_numpy(y_val),
    )


def build_model(recipe: dict[str, Any]) -> nn.Module:
    return nn.Sequential(nn.Linear(64, recipe["hidden"]), nn.ReLU(), nn.Linear(recipe["hidden"], 10))
