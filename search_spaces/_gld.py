"""Gradientless Descent (Golovin et al., ICLR 2020) and its coordinate variant, as Optuna samplers.

Hand-written: no maintained HPO library ships GLD. The algorithm is GLD-Search
(Golovin et al., Algorithm 1) with the discrete-grid conventions of Savarese et al.
(2021, Section 7); see :class:`GLDSampler` for where it departs from the paper.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from tunecost.search_spaces._lattice import (
    CONTINUOUS_CELLS,
    Axis,
    SeededSampler,
    axes_for,
    finite_size,
    node_key,
    uniform_in_ball,
)

_SEEN_STATES = (
    TrialState.COMPLETE,
    TrialState.RUNNING,
    TrialState.WAITING,
    TrialState.FAIL,
    TrialState.PRUNED,
)


class GLDSampler(SeededSampler):
    """Gradientless Descent, GLD-Search: a ladder of radii around the incumbent.

    Every numeric parameter is an axis measured in cells (index units on a grid,
    normalized -- log if ``log=True`` -- coordinates on a continuous range; see
    ``continuous_cells``). Each *round* proposes one candidate per radius

        r_k = R * 2**-k,  k = 0..K,  K = ceil(log2(R / r)),

    drawn uniformly in the ball of radius r_k around the incumbent x, rounded to the
    nearest node and clipped to the bounds. The incumbent is the best finished trial:
    after a round, x <- argmin{f(x), f(candidates)}, as in GLD-Search.

    Where this departs from the paper's pseudo-code:

    * **Discrete grids** (the AvaGrad paper's 21 x 21 setting): candidates are rounded to
      the nearest node; R defaults to the grid's diameter, r to one cell.
    * **Batching**: a round's K + 1 candidates are handed to trials in order (largest
      radius first), so parallel workers evaluate a round at once. A new round starts
      when the last candidate of the previous one has been handed out, around the best
      trial *finished* by then: results may arrive out of order, and a failed or slow
      trial never stalls the search.
    * **Spending the budget** (``skip_evaluated=True``, default): on a finite grid plain
      GLD gets stuck once every node its rounds can reach has been evaluated -- its
      proposals become repeats. Here a candidate that lands on a node already
      evaluated (or being evaluated) is redrawn in the same ball (up to
      ``max_redraws`` times); a radius whose ball holds no unseen node is dropped from
      the round; a round with no unseen candidate at all restarts from a uniformly
      random unseen node. So while unseen nodes remain, every proposal is a new node:
      a budget of N distinct evaluations is always reached for N <= grid size. With a
      cache that answers repeats for free (as tunecost's jobs do) this samples the
      same distribution as plain GLD conditioned on new points. ``skip_evaluated=False``
      gives plain GLD, repeats included.

    Args:
        seed: seeds every random draw.
        search_radius: R in cells; default the diameter of the space.
        min_radius: r in cells; default 1 (one grid cell).
        start: ``"random"`` (a seeded random node) or a dict of parameter values for the
            first trial (e.g. an optimizer's library defaults).
        skip_evaluated: redraw candidates that hit evaluated nodes (see above).
        max_redraws: redraws per radius before the radius is dropped from a round.
        continuous_cells: cells across a continuous parameter's range.
        fallback: sampler for parameters outside the numeric space and for the first
            trial under ``start="random"``; default ``RandomSampler(seed=seed)``.
    """

    coordinate_wise = False

    def __init__(
        self,
        *,
        seed: int | None = None,
        search_radius: float | None = None,
        min_radius: float = 1.0,
        start: str | dict[str, Any] = "random",
        skip_evaluated: bool = True,
        max_redraws: int = 32,
        continuous_cells: float = CONTINUOUS_CELLS,
        fallback: BaseSampler | None = None,
    ) -> None:
        if search_radius is not None and not (isinstance(search_radius, int | float) and search_radius > 0):
            raise ValueError(f"Invalid search_radius: {search_radius}; must be > 0")
        if not (isinstance(min_radius, int | float) and min_radius > 0):
            raise ValueError(f"Invalid min_radius: {min_radius}; must be > 0")
        if search_radius is not None and search_radius < min_radius:
            raise ValueError(f"Invalid search_radius: {search_radius}; must be >= min_radius ({min_radius})")
        if not (start == "random" or isinstance(start, dict)):
            raise ValueError(f"Invalid start: {start!r}; use 'random' or a dict of parameter values")
        if not (isinstance(max_redraws, int) and max_redraws >= 1):
            raise ValueError(f"Invalid max_redraws: {max_redraws}; must be an int >= 1")
        if not (isinstance(continuous_cells, int | float) and continuous_cells > 0):
            raise ValueError(f"Invalid continuous_cells: {continuous_cells}; must be > 0")
        super().__init__(seed, fallback)
        self._search_radius = search_radius
        self._min_radius = float(min_radius)
        self._start = start
        self._skip_evaluated = skip_evaluated
        self._max_redraws = max_redraws
        self._continuous_cells = float(continuous_cells)
        self._intersection = IntersectionSearchSpace()
        self._queue: deque[dict[str, Any]] = deque()
        self._rounds = 0

    # ------------------------------------------------------------------ Optuna contract
    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = self._intersection.calculate(study)
        return {a.name: a.dist for a in axes_for(space, self._continuous_cells)}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        axes = axes_for(search_space, self._continuous_cells)
        params = self._sample_axes(study, axes) if axes else {}
        # What GLD does not move (categorical or one-valued parameters, which a caller may
        # hand in directly, as Optuna's sampler contract tests do) comes from the fallback.
        for name, distribution in search_space.items():
            if name not in params and all(a.name != name for a in axes):
                params[name] = self._fallback.sample_independent(study, trial, name, distribution)
        return params

    def _sample_axes(self, study: optuna.Study, axes: list[Axis]) -> dict[str, Any]:
        with self._lock:
            trials = study.get_trials(deepcopy=False, states=_SEEN_STATES)
            seen = {node_key(axes, t.params) for t in trials if all(a.name in t.params for a in axes)}
            while self._queue:
                candidate = self._queue.popleft()
                if not self._skip_evaluated or node_key(axes, candidate) not in seen:
                    return candidate
            incumbent = self._incumbent(study, axes, trials)
            if incumbent is None:
                return {}
            self._queue.extend(self._new_round(axes, incumbent, seen))
            self._rounds += 1
            return self._queue.popleft() if self._queue else {}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        if isinstance(self._start, dict) and param_name in self._start:
            used = any(
                t.params.get(param_name) is not None and t.number != trial.number
                for t in study.get_trials(deepcopy=False, states=_SEEN_STATES)
            )
            if not used:  # the start point is the first trial, not every trial without a model
                value = self._start[param_name]
                if param_distribution._contains(param_distribution.to_internal_repr(value)):
                    return value
                raise ValueError(f"start value {value!r} of {param_name!r} is outside {param_distribution}")
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    # ------------------------------------------------------------------ GLD
    def _incumbent(
        self, study: optuna.Study, axes: list[Axis], trials: list[FrozenTrial]
    ) -> np.ndarray | None:
        direction = study.direction
        best: FrozenTrial | None = None
        for t in trials:
            if t.state != TrialState.COMPLETE or t.value is None or not all(a.name in t.params for a in axes):
                continue
            if best is None or (
                t.value < best.value if direction.name == "MINIMIZE" else t.value > best.value
            ):
                best = t
        if best is None:  # nothing finished yet: centre the round on the first trial that has the space
            best = next((t for t in trials if all(a.name in t.params for a in axes)), None)
            if best is None:
                return None
        return np.array([a.to_cells(best.params[a.name]) for a in axes])

    def _radii(self, extent: float) -> list[float]:
        big = self._search_radius if self._search_radius is not None else extent
        big = max(big, self._min_radius)
        k_max = max(0, math.ceil(math.log2(big / self._min_radius) - 1e-12))
        return [big * 2.0**-k for k in range(k_max + 1)]

    def _offsets(self, axes: list[Axis]) -> list[tuple[float, np.ndarray]]:
        """(radius, mask of the axes it moves) per candidate of a new round. GLD: every axis."""
        diameter = math.sqrt(sum(a.length**2 for a in axes))
        return [(r, np.ones(len(axes), dtype=bool)) for r in self._radii(diameter)]

    def _draw(self, mask: np.ndarray, radius: float) -> np.ndarray:
        step = np.zeros(len(mask))
        step[mask] = uniform_in_ball(self._rng, int(mask.sum()), radius)
        return step

    def _to_params(self, axes: list[Axis], cells: np.ndarray) -> dict[str, Any]:
        return {a.name: a.from_cells(float(c)) for a, c in zip(axes, cells, strict=True)}

    def _new_round(self, axes: list[Axis], x: np.ndarray, seen: set[tuple[Any, ...]]) -> list[dict[str, Any]]:
        taken = set(seen)
        round_: list[dict[str, Any]] = []
        for radius, mask in self._offsets(axes):
            for _attempt in range(self._max_redraws if self._skip_evaluated else 1):
                candidate = self._to_params(axes, x + self._draw(mask, radius))
                key = node_key(axes, candidate)
                if not self._skip_evaluated or key not in taken:
                    round_.append(candidate)
                    taken.add(key)
                    break
        if not round_ and self._skip_evaluated:
            restart = self._random_unseen(axes, taken)
            if restart is not None:
                round_.append(restart)
        return round_

    def _random_unseen(self, axes: list[Axis], seen: set[tuple[Any, ...]]) -> dict[str, Any] | None:
        """A uniformly random node not in ``seen``; None when a finite space is exhausted."""
        size = finite_size(axes)
        if math.isinf(size) or len(seen) < 0.5 * size:
            for _ in range(1000):
                cells = np.array(
                    [self._rng.uniform(0, a.length) if a.n is None else self._rng.randint(a.n) for a in axes]
                )
                candidate = self._to_params(axes, cells)
                if node_key(axes, candidate) not in seen:
                    return candidate
            if math.isinf(size):
                return None
        nodes = (
            self._to_params(axes, np.array(idx, dtype=float)) for idx in np.ndindex(*[a.n or 1 for a in axes])
        )
        unseen = [node for node in nodes if node_key(axes, node) not in seen]
        if not unseen:
            return None
        return unseen[self._rng.randint(len(unseen))]


class CGLDSampler(GLDSampler):
    """Coordinate GLD: as :class:`GLDSampler`, but every candidate of a round moves along one axis.

    Rounds cycle through the axes in name order (for (alpha, epsilon): an alpha-round,
    then an epsilon-round, ...). A round along an axis of length L proposes one
    candidate per radius R_a * 2**-k, k = 0..ceil(log2(R_a / r)), drawn uniformly in
    [-r_k, r_k] along that axis, with R_a = L by default (``search_radius`` caps it).
    Everything else -- rounding, batching, redraws, restarts -- is as in GLDSampler.
    """

    coordinate_wise = True

    def _offsets(self, axes: list[Axis]) -> list[tuple[float, np.ndarray]]:
        index = self._rounds % len(axes)
        mask = np.zeros(len(axes), dtype=bool)
        mask[index] = True
        return [(r, mask) for r in self._radii(axes[index].length)]
