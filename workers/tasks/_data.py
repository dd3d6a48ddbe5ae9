"""What a task's ``load_data`` returns: training and validation inputs and targets (class
labels for a classification task, floats of shape (N,) or (N, outputs) for a regression one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    @classmethod
    def from_numpy(
        cls, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray
    ) -> Data:
        return cls(
            torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32)),
            torch.from_numpy(_targets(y_train)),
            torch.from_numpy(np.ascontiguousarray(x_val, dtype=np.float32)),
            torch.from_numpy(_targets(y_val)),
        )


def _targets(y: np.ndarray) -> np.ndarray:
    """Class labels as int64; a regression target (floats) as float32."""
    y = np.asarray(y)
    return np.ascontiguousarray(y, dtype=np.float32 if np.issubdtype(y.dtype, np.floating) else np.int64)
