"""The one way every task carves its splits, so no task tunes on its test data."""

from __future__ import annotations

from typing import Any

import numpy as np

SPLIT_SEED = 0  # fixed for every trial of every job: training seeds change only init and order


def carve_validation(
    x: np.ndarray, y: np.ndarray, recipe: dict[str, Any], *, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified (train, val) split of the *training* data with ``recipe['val_fraction']``
    (``stratify=False`` for a regression target).

    Any normalization statistics should come from the full training split returned
    here; apply :func:`take_subset` after, so the validation data stay identical at
    every fidelity."""
    # scikit-learn: only where a task loads its data
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=recipe["val_fraction"], random_state=SPLIT_SEED, stratify=y if stratify else None
    )
    return x_train, y_train, x_val, y_val


def take_subset(x: np.ndarray, y: np.ndarray, recipe: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``recipe['subset']`` (a fidelity knob): keep only the first N training examples."""
    n = recipe.get("subset")
    return (x[:n], y[:n]) if n else (x, y)


def hold_out_test(
    x: np.ndarray, y: np.ndarray, fraction: float = 0.2, *, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Drop a fixed test split, stratified unless ``stratify=False`` (datasets shipped without
    one); returns the training part."""
    # scikit-learn: only where a task loads its data
    from sklearn.model_selection import train_test_split

    x_pool, _x_test, y_pool, _y_test = train_test_split(
        x, y, test_size=fraction, random_state=SPLIT_SEED, stratify=y if stratify else None
    )
    return x_pool, y_pool
