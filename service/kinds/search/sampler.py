"""The Optuna side of a search: ``DefineByRun``, the define-by-run space ``OptunaSearch`` asks, and
``WithRealValues``, a sampler wrapper that records a grid's nodes as real alpha and epsilon, so
optuna-dashboard plots the study in real units."""

from __future__ import annotations

from typing import Any

import optuna

from tunecost.search_spaces import ALPHA, EPSILON, GridSpace, Space


class DefineByRun:
    """The define-by-run space for ``OptunaSearch``: suggests the space's parameters, returns (alpha, epsilon).

    A class rather than a closure because Tune pickles its searcher with the experiment.
    """

    def __init__(self, space: Space) -> None:
        self.space = space

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, dist in self.space.distributions().items():
            if isinstance(dist, optuna.distributions.IntDistribution):
                params[name] = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
            else:
                params[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        alpha, epsilon = self.space.decode(params)
        for name, dist in WithRealValues.derived(self.space).items():  # a grid: alpha, epsilon as floats
            trial.suggest_float(name, dist.low, dist.high, log=True)
        trial.set_user_attr("alpha", alpha)
        trial.set_user_attr("epsilon", epsilon)
        return {"alpha": alpha, "epsilon": epsilon, "optuna_trial": trial.number}


class WithRealValues(optuna.samplers.BaseSampler):
    """A grid's sampler, with ``alpha`` and ``epsilon`` added to each trial as real floats on
    log distributions: the grid indices are what the sampler needs, the real values what
    optuna-dashboard plots (slice, contour, Best Trial). The two added parameters are the
    decoded indices, never sampled: they are left out of every relative search space and
    answered from the trial's indices, so the sampler sees exactly the space it saw without
    them. A continuous box already has them; there this is the sampler itself.
    """

    def __init__(self, sampler: optuna.samplers.BaseSampler, space: Space) -> None:
        self.sampler, self.space = sampler, space
        self.added = self.derived(space)

    @staticmethod
    def derived(space: Space) -> dict[str, optuna.distributions.FloatDistribution]:
        if not isinstance(space, GridSpace):
            return {}
        return {
            ALPHA: optuna.distributions.FloatDistribution(min(space.alphas), max(space.alphas), log=True),
            EPSILON: optuna.distributions.FloatDistribution(
                min(space.epsilons), max(space.epsilons), log=True
            ),
        }

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, optuna.distributions.BaseDistribution]:
        space = self.sampler.infer_relative_search_space(study, trial)
        return {name: dist for name, dist in space.items() if name not in self.added}

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, optuna.distributions.BaseDistribution],
    ) -> dict[str, Any]:
        return self.sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: optuna.distributions.BaseDistribution,
    ) -> Any:
        if param_name in self.added:
            alpha, epsilon = self.space.decode(trial.params)
            return alpha if param_name == ALPHA else epsilon
        return self.sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Any,
    ) -> None:
        self.sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()
