"""cifar10-wrn: Wide ResNet-28-k (Zagoruyko & Komodakis, 2016) on CIFAR-10, the paper's main model.

Data: the CIFAR-10 "python version" batches (``data_batch_1`` ... ``data_batch_5``, each a
pickle with ``b"data"``, N x 3072 uint8 in channel-major order, and ``b"labels"``) in
``<data_dir>/cifar-10-batches-py``. Nothing is downloaded at run time. The official test
batch is never used: the validation split (``val_fraction``) is carved from the 50,000
training images. Training uses the standard augmentation (4-pixel reflect-padded random
crops and horizontal flips) and per-channel standardization. GPU-sized: the default
recipe (WRN-28-10, 200 epochs, step decay x0.2 at 30/60/80%) follows the paper's setup;
``widen``, ``depth``, ``epochs`` and ``subset`` make it cheap.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tunecost.workers.tasks import DataMissingError
from tunecost.workers.tasks._data import Data
from tunecost.workers.tasks._splits import carve_validation, take_subset

BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
FOLDER = "cifar-10-batches-py"


def data_folder(data_dir: str | None) -> Path:
    return Path(data_dir or "data") / FOLDER


def read_batches(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    missing = [name for name in BATCHES if not (folder / name).is_file()]
    if missing:
        raise DataMissingError(
            f"CIFAR-10 training batches missing in {folder.resolve()} ({', '.join(missing)}); put the "
            f"'python version' batches there (set TUNECOST_DATA_DIR to their parent directory)"
        )
    xs, ys = [], []
    for name in BATCHES:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    x, y = read_batches(data_folder(data_dir))
    x_train, y_train, x_val, y_val = carve_validation(x.astype(np.float32) / 255.0, y, recipe)
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True) + 1e-8
    x_train, y_train = take_subset(x_train, y_train, recipe)
    return Data.from_numpy((x_train - mean) / std, y_train, (x_val - mean) / std, y_val)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 32x32 crops of the 4-pixel reflect-padded batch, and random horizontal flips."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    dx = torch.randint(0, 9, (n,), generator=generator).tolist()
    dy = torch.randint(0, 9, (n,), generator=generator).tolist()
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.stack([padded[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32] for i in range(n)])
    return torch.where(flip.to(x.device)[:, None, None, None], out.flip(3), out)


class _Block(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, 1x1 conv shortcut on shape change."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(c_out), nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = (
            None if (c_in == c_out and stride == 1) else nn.Conv2d(c_in, c_out, 1, stride, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = F.relu(self.bn1(x))
        y = self.conv1(o)
        y = self.conv2(F.relu(self.bn2(y)))
        return y + (x if self.shortcut is None else self.shortcut(o))


class WideResNet(nn.Module):
    def __init__(self, depth: int = 28, widen: int = 10, num_classes: int = 10) -> None:
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"Invalid depth: {depth}; WRN depth must be 6n + 4")
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)]
        for stage in range(3):
            for i in range(n):
                c_in = widths[stage] if i == 0 else widths[stage + 1]
                layers.append(_Block(c_in, widths[stage + 1], (1 if stage == 0 else 2) if i == 0 else 1))
        self.features = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.features(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build_model(recipe: dict[str, Any]) -> nn.Module:
    return WideResNet(recipe["depth"], recipe["widen"])
