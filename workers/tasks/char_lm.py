"""char-lm: a character-level language model (the paper's third domain, at toy scale) on the
English of Python's own reference documentation, shipped with every CPython as
``pydoc_data.topics`` (nothing to download).

The text: the topics in sorted order, lower-cased, every character outside a 48-character
vocabulary mapped to a space; its first 80,000 characters. The task: from the previous 16
characters, predict the next; the objective is the validation error in percent over the next
characters (a classifier over the vocabulary). The model is a feed-forward n-gram language
model (Bengio et al., 2003): the 16 one-hot characters, one hidden layer, a softmax.

Splits are contiguous, never shuffled (windows overlap, so a shuffled split would put the same
text on both sides): the last 20% of the text is a test split, dropped; the last
``val_fraction`` of the rest is the validation split; windows start every 8 characters.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from torch import nn

from tunecost.workers.tasks._data import Data
from tunecost.workers.tasks._splits import take_subset

VOCAB = " abcdefghijklmnopqrstuvwxyz0123456789.,;:'\"()-_\n"
CONTEXT = 16
STRIDE = 8
CHARACTERS = 80_000


@lru_cache(maxsize=1)
def _codes() -> np.ndarray:
    """The corpus as vocabulary indices."""
    import pydoc_data.topics  # the standard library's own documentation text

    text = "\n".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)).lower()
    index = {c: i for i, c in enumerate(VOCAB)}
    return np.array([index.get(c, 0) for c in text[:CHARACTERS]], dtype=np.int64)


def _windows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one-hot contexts, next characters) for windows starting every STRIDE characters."""
    starts = np.arange(0, codes.size - CONTEXT, STRIDE)
    contexts = codes[starts[:, None] + np.arange(CONTEXT)]
    x = np.zeros((starts.size, CONTEXT * len(VOCAB)), dtype=np.float32)
    x[np.arange(starts.size)[:, None], np.arange(CONTEXT) * len(VOCAB) + contexts] = 1.0
    return x, codes[starts + CONTEXT]


def load_data(recipe: dict[str, Any], data_dir: str | None = None) -> Data:
    codes = _codes()
    pool = codes[: int(codes.size * 0.8)]  # the last 20% is the test split
    cut = int(pool.size * (1 - recipe["val_fraction"]))
    x_train, y_train = _windows(pool[:cut])
    x_val, y_val = _windows(pool[cut:])
    return Data.from_numpy(*take_subset(x_train, y_train, recipe), x_val, y_val)


def build_model(recipe: dict[str, Any]) -> nn.Module:
    return nn.Sequential(
        nn.Linear(CONTEXT * len(VOCAB), recipe["hidden"]), nn.ReLU(), nn.Linear(recipe["hidden"], len(VOCAB))
    )
