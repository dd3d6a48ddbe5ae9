"""Optimizers: the hand-written ones from their authors' code, and their batched steps.

    from tunecost.workers.optimizers import AvaGrad, AvaGradW, AdaBelief, AdaBound, AMSBound, AdaShift, DelayedAdam
    opt = AvaGrad(model.parameters(), lr=0.1, eps=0.1)

Building any optimizer of the catalog by name, plugins included, is :mod:`tunecost.workers.build`'s
(``make_optimizer``, ``make_batched_optimizer``): this package holds classes only, so the
catalog can name them without a circle.
"""

from __future__ import annotations

from tunecost.workers.optimizers._adabelief import AdaBelief, BatchedAdaBelief
from tunecost.workers.optimizers._adabound import AdaBound, AMSBound
from tunecost.workers.optimizers._adashift import AdaShift
from tunecost.workers.optimizers._avagrad import AvaGrad, AvaGradW, BatchedAvaGrad, BatchedAvaGradW
from tunecost.workers.optimizers._batched import (
    BatchedAdam,
    BatchedAdamW,
    BatchedOptimizer,
    BatchedRAdam,
    BatchedSGD,
)
from tunecost.workers.optimizers._delayed_adam import BatchedDelayedAdam, DelayedAdam
from tunecost.workers.optimizers._lookahead import Lookahead

__all__ = [
    "AMSBound",
    "AdaBelief",
    "BatchedAdaBelief",
    "BatchedAdam",
    "BatchedAdamW",
    "BatchedAvaGrad",
    "BatchedAvaGradW",
    "BatchedDelayedAdam",
    "BatchedOptimizer",
    "BatchedRAdam",
    "BatchedSGD",
    "AdaBound",
    "AdaShift",
    "AvaGrad",
    "AvaGradW",
    "DelayedAdam",
    "Lookahead",
]
