"""Geometry shared by the hand-written samplers: Optuna distributions as lattice axes.

Every numeric parameter becomes an axis measured in *cells*:

* a discrete parameter (``IntDistribution``, or ``FloatDistribution`` with ``step``) in
  index units: its n values sit at 0, 1, ..., n - 1;
* a continuous ``FloatDistribution`` in normalized (log, if ``log=True``) coordinates
  scaled to ``continuous_cells`` (default 20), so a box behaves like a 21-point grid
  for radius purposes while keeping every real value reachable.

One cell is the unit of every radius (GLD's r defaults to one cell).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

CONTINUOUS_CELLS = 20.0


@dataclass(frozen=True)
class Axis:
    name: str
    dist: FloatDistribution | IntDistribution
    n: int | None  # number of values if discrete, None if continuous
    continuous_cells: float = CONTINUOUS_CELLS

    @property
    def length(self) -> float:
        """Extent of the axis in cells."""
        return float(self.n - 1) if self.n is not None else self.continuous_cells

    def _step(self) -> float | int | None:
        return self.dist.step

    def to_cells(self, value: Any) -> float:
        d = self.dist
        if self.n is not None:
            if d.log and isinstance(d, IntDistribution):
                return float(value - d.low)  # step is 1 for log ints
            return (float(value) - d.low) / float(self._step())
        lo, hi, x = (
            (math.log(d.low), math.log(d.high), math.log(value)) if d.log else (d.low, d.high, float(value))
        )
        return 0.0 if hi == lo else (x - lo) / (hi - lo) * self.continuous_cells

    def from_cells(self, c: float) -> Any:
        """The parameter value at coordinate ``c``, clipped to the axis and snapped to a node."""
        d = self.dist
        c = min(max(c, 0.0), self.length)
        if self.n is not None:
            k = int(round(c))
            if isinstance(d, IntDistribution):
                return int(d.low + k * (d.step or 1))
            return float(min(d.low + k * d.step, d.high))
        u = c / self.continuous_cells
        if d.log:
            return float(
                min(max(math.exp(math.log(d.low) + u * (math.log(d.high) - math.log(d.low))), d.low), d.high)
            )
        return float(min(max(d.low + u * (d.high - d.low), d.low), d.high))


def make_axis(name: str, dist: BaseDistribution, continuous_cells: float = CONTINUOUS_CELLS) -> Axis | None:
    """An axis for numeric distributions; None for categorical ones (left to the fallback sampler)."""
    if isinstance(dist, IntDistribution):
        if dist.log:
            return Axis(name, dist, dist.high - dist.low + 1, continuous_cells)
        return Axis(name, dist, (dist.high - dist.low) // dist.step + 1, continuous_cells)
    if isinstance(dist, FloatDistribution):
        if dist.step is not None:
            return Axis(name, dist, int(round((dist.high - dist.low) / dist.step)) + 1, continuous_cells)
        return Axis(name, dist, None, continuous_cells)
    return None


def axes_for(space: dict[str, BaseDistribution], continuous_cells: float = CONTINUOUS_CELLS) -> list[Axis]:
    """Axes of the numeric, non-constant parameters of ``space``, in name order."""
    axes = [make_axis(name, space[name], continuous_cells) for name in sorted(space)]
    return [a for a in axes if a is not None and a.length > 0]


def node_key(axes: list[Axis], params: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(params[a.name] for a in axes)


def finite_size(axes: list[Axis]) -> float:
    """Number of distinct nodes, or inf when any axis is continuous."""
    size = 1.0
    for a in axes:
        if a.n is None:
            return math.inf
        size *= a.n
    return size


def uniform_in_ball(rng: np.random.RandomState, dim: int, radius: float) -> np.ndarray:
    """A point uniformly distributed in the ``dim``-ball of ``radius`` around 0."""
    direction = rng.standard_normal(dim)
    norm = np.linalg.norm(direction)
    if norm == 0:
        return np.zeros(dim)
    return direction / norm * radius * rng.uniform() ** (1.0 / dim)


class SeededSampler(BaseSampler):
    """What the hand-written samplers share: a seeded RNG, a fallback sampler for what they
    do not handle, a lock for threads, and pickling without the lock (Ray Tune checkpoints
    its searcher)."""

    def __init__(self, seed: int | None, fallback: BaseSampler | None) -> None:
        self._seed = seed
        self._rng = np.random.RandomState(seed)
        self._fallback = fallback or RandomSampler(seed=seed)
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._fallback.reseed_rng()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._fallback.after_trial(study, trial, state, values)
