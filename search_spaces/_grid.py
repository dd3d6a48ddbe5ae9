"""Exhaustive grid search in a seeded random order, at O(1) per suggestion (hand-written).

Optuna's ``GridSampler`` rescans the study on every suggestion (about 17 ms per trial
in memory here, growing with the study). This sampler walks a seeded permutation of
the grid's nodes with a pointer and skips nodes the study already holds, keeping a
set of seen nodes up to date in ``after_trial``: amortized O(1) per suggestion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from tunecost.search_spaces._lattice import Axis, SeededSampler, axes_for, finite_size, node_key


class ShuffledGridSampler(SeededSampler):
    """Every node of the study's discrete numeric parameters, once each, in a seeded random order.

    The grid is inferred like ``CmaEsSampler`` infers its space: the numeric parameters
    of the finished trials (``IntDistribution``, ``FloatDistribution`` with ``step``).
    Continuous or categorical parameters go to ``fallback``. The first trial, before
    the space is known, takes its parameters from ``fallback`` too. Once every node has
    been proposed, suggestions start over in a new permutation (repeats). Several
    processes sharing one study should use different seeds.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        search_space: dict[str, BaseDistribution] | None = None,
        fallback: BaseSampler | None = None,
    ) -> None:
        super().__init__(seed, fallback)
        self._intersection = IntersectionSearchSpace()
        self._axes: list[Axis] | None = None
        self._order: np.ndarray | None = None
        if search_space is not None:  # known up front: the first trial follows the permutation too
            self._fix_axes(search_space)
        self._pointer = 0
        self._seen: set[tuple[Any, ...]] = set()
        self._synced = False

    def _fix_axes(self, search_space: dict[str, BaseDistribution]) -> None:
        """The grid's axes; its permutation is drawn when the first node is asked for, so that
        building a sampler (a submit-time check) costs nothing whatever the grid's size."""
        numeric = axes_for(
            search_space
        )  # constant parameters are no axis: the fallback gives their one value
        axes = [a for a in numeric if a.n is not None]
        if numeric and not axes:
            raise ValueError(
                "ShuffledGridSampler needs discrete numeric parameters (int, or float with step)"
            )
        self._axes = axes

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._axes is not None:
            return {a.name: a.dist for a in self._axes}
        space = self._intersection.calculate(study)
        return {a.name: a.dist for a in axes_for(space) if a.n is not None}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        with self._lock:
            if self._axes is None:
                self._fix_axes(search_space)
            if self._order is None and self._axes:
                self._order = self._rng.permutation(int(finite_size(self._axes)))
            axes, order = self._axes, self._order
            if not axes or order is None:  # a one-point space: nothing to choose
                return {}
            shape = [a.n or 1 for a in axes]
            if not self._synced:  # once: nodes already in the study (a resumed job, other samplers)
                for t in study.get_trials(deepcopy=False):
                    if all(a.name in t.params for a in axes):
                        self._seen.add(node_key(axes, t.params))
                self._synced = True
            for _ in range(2 * len(order)):
                if self._pointer == len(order):  # grid exhausted: start a new pass
                    order, self._pointer, self._seen = self._rng.permutation(len(order)), 0, set()
                    self._order = order
                index = np.unravel_index(int(order[self._pointer]), shape)
                self._pointer += 1
                params = {a.name: a.from_cells(float(i)) for a, i in zip(axes, index, strict=True)}
                key = node_key(axes, params)
                if key not in self._seen:
                    self._seen.add(key)
                    return params
            return {}

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        if self._axes is not None and all(a.name in trial.params for a in self._axes):
            with self._lock:
                self._seen.add(node_key(self._axes, trial.params))
        self._fallback.after_trial(study, trial, state, values)
