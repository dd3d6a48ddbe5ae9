"""Replays in simulated time: what tuning costs in compute, not only in trials.

A searcher runs against a landscape's stored learning curves (each node's validation score
after every epoch, per training seed, and its training seconds). Each trial replays its curve
epoch by epoch in simulated time. A pruner (Optuna's own, acting on the reported values
exactly as in a live study) may stop it at any epoch; a pruned trial costs only the epochs it
ran. ``workers`` simulated workers run trials asynchronously: a free worker asks the searcher
for the next config at once, and results arrive when their simulated time comes, so the
searcher knows only the trials that have finished by then.

Hand-written: a discrete-event loop in the spirit of Syne Tune's simulator backend on tabulated
benchmarks. No maintained library replays Optuna samplers and pruners on stored curves. A
trial's epoch takes its node's stored seconds divided by the epochs that node trained (at
least one); a trial that diverged is charged the epochs it finished, at least one.

Each run gives four costs to reach each delta: trials (distinct configs, pruned ones
included), epochs and seconds (summed over every trial started, pruned ones counting their
partial runs), and wall-clock (simulated time with ``workers`` in parallel). The suboptimality
of a run counts only trials that ran to the end: a pruned config's final score is never known.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import optuna
from pydantic import BaseModel, ConfigDict, Field

from search_spaces import GridSpace, build_sampler

COSTS = ("epochs", "seconds", "wallclock")


class PrunerSpec(BaseModel):
    """An Optuna pruner, acting on each trial's per-epoch validation score."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["asha", "hyperband", "median"] = Field(
        description="`asha`: optuna.pruners.SuccessiveHalvingPruner (asynchronous successive halving); "
        "`hyperband`: HyperbandPruner; `median`: MedianPruner."
    )
    min_resource: int = Field(
        1, ge=1, le=10_000, description="asha, hyperband: epochs before the first rung."
    )
    reduction_factor: int = Field(3, ge=2, le=100, description="asha, hyperband: keep 1/eta at each rung.")
    n_startup_trials: int = Field(5, ge=0, le=10_000, description="median: trials before it prunes.")
    n_warmup_steps: int = Field(1, ge=0, le=10_000, description="median: epochs before it prunes a trial.")

    def build(self, max_epochs: int) -> optuna.pruners.BasePruner:
        if self.name == "asha":
            return optuna.pruners.SuccessiveHalvingPruner(
                min_resource=self.min_resource, reduction_factor=self.reduction_factor
            )
        if self.name == "hyperband":
            return optuna.pruners.HyperbandPruner(
                min_resource=self.min_resource,
                max_resource=max_epochs,
                reduction_factor=self.reduction_factor,
            )
        return optuna.pruners.MedianPruner(
            n_startup_trials=self.n_startup_trials, n_warmup_steps=self.n_warmup_steps
        )


@dataclass
class Curves:
    """A landscape's stored training: ``curves[s][i][j]`` the scores after each epoch of seed s
    at node (i, j) ([] where it did not train, or diverged in its first epoch), ``seconds``
    (seeds x alphas x epsilons, NaN where it did not train)."""

    curves: list[list[list[list[float]]]]
    seconds: np.ndarray

    @property
    def max_epochs(self) -> int:
        return max((len(c) for per_seed in self.curves for row in per_seed for c in row), default=1)


@dataclass(order=True)
class _Event:
    time: float
    order: int
    trial: Any = field(compare=False)
    epoch: int = field(compare=False)


def _seed_at(observed: np.ndarray, seed: int, key: tuple[int, int]) -> int | None:
    """Which training seed a run is told at ``key``: the draw of ``replay._told`` (per run seed
    and node), so a run with a pruner hears the same seed as one without."""
    trained = np.flatnonzero(~np.isnan(observed[:, key[0], key[1]]))
    if trained.size == 0:
        return None
    return int(trained[np.random.default_rng([seed, *key]).integers(trained.size)])


def simulate(
    searcher: str,
    options: dict[str, Any],
    grid: GridSpace,
    errors: np.ndarray,
    stored: Curves,
    seed: int,
    budget: int,
    deltas: list[float],
    *,
    default_point: tuple[float, float] | None = None,
    pruner: PrunerSpec | None = None,
    workers: int = 1,
    observed: np.ndarray | None = None,
    failure_score: float = 100.0,
    max_repeats: int = 100,
    stopped: np.ndarray | None = None,
) -> dict[str, Any]:
    """One searcher run in simulated time. Returns ``curve`` (suboptimality after each trial),
    ``trials_to`` and ``cost_to`` ({epochs, seconds, wallclock} -> delta -> cost or None) and
    the run's totals (``pruned``, ``epochs``, ``seconds``, ``wallclock``); with ``stopped``
    (a successive-halving landscape's nodes stopped early), ``stopped_trials``: how many of its
    trials landed there. A stopped node's stored curve ends at its rung: a trial there runs
    those epochs and is told the rung's score, as a multi-fidelity tuner would be."""
    from service.kinds.replay import trials_to

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    distributions = grid.distributions()
    e_star = float(errors.min())
    study = optuna.create_study(
        sampler=build_sampler(searcher, grid, seed=seed, options=options, default_point=default_point),
        pruner=pruner.build(stored.max_epochs) if pruner else optuna.pruners.NopPruner(),
    )
    told_at: dict[tuple[int, int], float | None] = {}  # a finished config's told score (None: pruned)
    twins: dict[tuple[int, int], list[Any]] = {}  # re-proposals of a config still running
    running: dict[
        int, tuple[tuple[int, int], list[float], float, float]
    ] = {}  # trial -> key, curve, s/epoch, told
    events: list[_Event] = []
    order = 0
    clock = epochs = seconds = 0.0
    best_told, incumbent = math.inf, math.inf
    curve: list[float] = []
    marks: list[tuple[float, float, float]] = []  # (epochs, seconds, wallclock) when each trial ended
    pruned, started, repeats = 0, 0, 0
    stalled = False

    def launch(now: float) -> bool:
        """Ask for configs until one needs training; start it. False when the run is done."""
        nonlocal order, started, repeats, stalled
        while started < budget:
            if repeats >= max_repeats:
                stalled = True
                return False
            trial = study.ask(distributions)
            key = (int(trial.params["alpha_index"]), int(trial.params["epsilon_index"]))
            if key in told_at or key in twins:  # known: answered from the cache, free
                repeats += 1
                if key in twins:  # still running: answered when it ends (as the live cache does)
                    twins[key].append(trial)
                elif told_at[key] is None:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(trial, told_at[key])
                continue
            repeats = 0
            twins[key] = []
            started += 1
            s = _seed_at(observed, seed, key) if observed is not None else None
            if s is not None:
                trace = stored.curves[s][key[0]][key[1]]
                told = float(observed[s, key[0], key[1]])  # type: ignore[index]
                spent = float(stored.seconds[s, key[0], key[1]])
            else:  # told the mean (noise "none"), the seeds' mean curve
                traces = [c[key[0]][key[1]] for c in stored.curves if c[key[0]][key[1]]]
                length = min((len(c) for c in traces), default=0)
                trace = [float(np.mean([c[e] for c in traces])) for e in range(length)]
                told = float(errors[key])
                spent = float(np.nanmean(stored.seconds[:, key[0], key[1]]))
            n = max(len(trace), 1)
            per_epoch = (spent if math.isfinite(spent) else 0.0) / n
            running[trial.number] = (key, trace, per_epoch, told)
            order += 1
            heapq.heappush(events, _Event(now + per_epoch, order, trial, 1))
            return True
        return False

    for _ in range(max(1, workers)):
        if not launch(0.0):
            break
    while events:
        event = heapq.heappop(events)
        trial, epoch = event.trial, event.epoch
        key, trace, per_epoch, told = running[trial.number]
        clock = event.time
        epochs += 1
        seconds += per_epoch
        finished = epoch >= len(trace)
        if not finished:
            trial.report(trace[epoch - 1], epoch)
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                told_at[key] = None
                for twin in twins.pop(key):
                    study.tell(twin, state=optuna.trial.TrialState.PRUNED)
                pruned += 1
                curve.append(incumbent - e_star if math.isfinite(incumbent) else failure_score - e_star)
                marks.append((epochs, seconds, clock))
                del running[trial.number]
                launch(clock)
                continue
            order += 1
            heapq.heappush(events, _Event(clock + per_epoch, order, trial, epoch + 1))
            continue
        if trace:
            trial.report(trace[-1], epoch)
        study.tell(trial, told)
        told_at[key] = told
        for twin in twins.pop(key):
            study.tell(twin, told)
        if told < best_told:
            best_told, incumbent = told, float(errors[key])
        curve.append(incumbent - e_star if math.isfinite(incumbent) else failure_score - e_star)
        marks.append((epochs, seconds, clock))
        del running[trial.number]
        launch(clock)

    reached = trials_to(curve, deltas)
    cost_to = {  # each cost when the trial that reached delta ended
        name: {key: None if t is None else float(marks[t - 1][k]) for key, t in reached.items()}
        for k, name in enumerate(COSTS)
    }
    return {
        "curve": curve,
        "trials_to": reached,
        "cost_to": cost_to,
        "stalled": stalled or len(curve) < budget,
        "pruned": pruned,
        "stopped_trials": None if stopped is None else sum(bool(stopped[key]) for key in told_at),
        "totals": {"epochs": epochs, "seconds": seconds, "wallclock": clock},
        # each cost when each trial ended: suboptimality over epochs, seconds or wall-clock
        "at": {name: [m[k] for m in marks] for k, name in enumerate(COSTS)},
    }
