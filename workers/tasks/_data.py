"""What a task's ``load_data`` returns."""

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
            torch.from_numpy(np.asarray(y_train, dtype=np.int64)),
            torch.from_numpy(np.ascontiguousarray(x_val, dtype=np.float32)),
            torch.from_numpy(np.asarray(y_val, dtype=np.int64)),
        )
