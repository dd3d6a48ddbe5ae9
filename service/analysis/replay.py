"""The replay engine: one searcher run against a stored landscape, in simulated time.

A run asks its searcher (a fresh in-memory Optuna study) for configs and answers each with
the landscape's score there: with ``observed`` (per training seed) the score of one trained
seed, drawn per (run seed, node) so the draw does not depend on when the searcher proposes it,
as a real tuner sees one training run; without it, the mean over seeds. Either way the run is
scored on the mean landscape: its incumbent is the config with the best score it was told,
and s(t) = mean score of that incumbent - e*, e* = the landscape's reference (its best node
measured on fresh seeds) where it has one, else its best mean score. On a training seed's
replicate (:meth:`Board.replicate`) the run is told and scored on that seed's scores. Trials
count distinct configs (docs/ARCHITECTURE.md, "Trial count"): a re-proposal is answered from
the cache, free, and a searcher that proposes only known configs ``max_repeats`` times in a row
has stalled (CMA-ES does, once it has converged on a grid node): the run ends there.

Where the landscape has learning curves (each node's score after every epoch, per seed, and
its training seconds), each trial replays its curve epoch by epoch in simulated time. A pruner
(Optuna's own, acting on the reported values exactly as in a live study) may stop it at any
epoch; a pruned trial costs only the epochs it ran. ``workers`` simulated workers run trials
asynchronously: a free worker asks the searcher for the next config at once, and results
arrive when their simulated time comes, so the searcher knows only the trials that have
finished by then. A plain replay is the case with one worker and no pruner; without curves
every trial takes no time and the run has no costs.

A trial's epoch takes its node's stored seconds divided by the epochs it trained (at least
one). The costs (:class:`Cost`) are epochs and seconds, summed over every trial started
(pruned ones counting their partial runs), and wall-clock (simulated time with the workers in
parallel). The suboptimality of a run counts only trials that ran to the end: a pruned
config's final score is never known. On a successive-halving landscape, a stopped node's
curve ends at its rung: a trial there runs those epochs and is told the rung's score, as a
multi-fidelity tuner would be, and the run counts those trials (``stopped_trials``).

Hand-written: a discrete-event loop in the spirit of Syne Tune's simulator backend on tabulated
benchmarks. No maintained library replays Optuna samplers and pruners on stored curves.
No database, Ray or job kind here.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import optuna
from pydantic import BaseModel, ConfigDict, Field

from tunecost.search_spaces import GridSpace, build_sampler
from tunecost.service.analysis.costs import COSTS, Cost, Totals

Node = tuple[int, int]


def delta_key(delta: float) -> str:
    """How a delta keys ``trials_to`` in stored runs and comparisons: ``"0.5"``, ``"1.0"``."""
    return str(float(delta))


def trials_to(curve: list[float], deltas: list[float]) -> dict[str, int | None]:
    """delta_key(delta) -> the first t (from 1) with s(t) <= delta, None if the curve never gets there."""
    return {delta_key(d): next((t + 1 for t, s in enumerate(curve) if s <= d + 1e-9), None) for d in deltas}


# name -> (the Optuna class it builds, the PrunerSpec options it reads); the catalog lists these
PRUNER_CATALOG: dict[str, tuple[str, tuple[str, ...]]] = {
    "asha": ("optuna.pruners.SuccessiveHalvingPruner", ("min_resource", "reduction_factor")),
    "hyperband": ("optuna.pruners.HyperbandPruner", ("min_resource", "reduction_factor")),
    "median": ("optuna.pruners.MedianPruner", ("n_startup_trials", "n_warmup_steps")),
}
PRUNERS: dict[str, Callable[[PrunerSpec, int], optuna.pruners.BasePruner]] = {
    "asha": lambda p, max_epochs: optuna.pruners.SuccessiveHalvingPruner(
        min_resource=p.min_resource, reduction_factor=p.reduction_factor
    ),
    "hyperband": lambda p, max_epochs: optuna.pruners.HyperbandPruner(
        min_resource=p.min_resource, max_resource=max_epochs, reduction_factor=p.reduction_factor
    ),
    "median": lambda p, max_epochs: optuna.pruners.MedianPruner(
        n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps
    ),
}


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
        return PRUNERS[self.name](self, max_epochs)


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


@dataclass(frozen=True)
class Board:
    """A landscape as a replay reads it: the grid, its mean scores (``errors``, alphas x
    epsilons), and optionally each seed's (``observed``, seeds x alphas x epsilons, NaN where a
    seed was not trained), the learning curves, the nodes a successive-halving sweep stopped
    (``stopped``, bool), the optimizer's default (alpha, epsilon) for searchers that start
    there, the score a diverged run counts as, and e* (``e_star``: the landscape's reference,
    measured on fresh seeds; None: the best mean score)."""

    grid: GridSpace
    errors: np.ndarray
    observed: np.ndarray | None = None
    curves: Curves | None = None
    stopped: np.ndarray | None = None
    default_point: tuple[float, float] | None = None
    failure_score: float = 100.0
    e_star: float | None = None

    def replicate(self, index: int) -> Board:
        """The landscape one training seed made (``observed[index]``): each node's score is
        that seed's where it trained there, the first seed's elsewhere (a refinement trains
        its extra seeds near the best only), the mean where neither did. A run on it is told,
        and scored on, that one training run per config, as a real tuner is; e* stays the
        landscape's."""
        if self.observed is None or not 0 <= index < self.observed.shape[0]:
            raise ValueError(f"no training seed {index} to make a replicate of")
        first, mine = self.observed[0], self.observed[index]
        errors = np.where(np.isnan(mine), np.where(np.isnan(first), self.errors, first), mine)
        curves = None
        if self.curves is not None:
            stored = self.curves.curves
            curves = Curves(
                [
                    [
                        [stored[index][i][j] or stored[0][i][j] for j in range(len(row))]
                        for i, row in enumerate(stored[index])
                    ]
                ],
                np.where(
                    np.isnan(self.curves.seconds[index]), self.curves.seconds[0], self.curves.seconds[index]
                )[None],
            )
        return Board(
            grid=self.grid,
            errors=errors,
            curves=curves,
            stopped=self.stopped,
            default_point=self.default_point,
            failure_score=self.failure_score,
            e_star=self.e_star if self.e_star is not None else float(self.errors.min()),
        )


@dataclass
class Run:
    """One searcher run: its suboptimality after each distinct trial, trials-to-delta, and
    with learning curves what it cost (``cost_to``: cost -> delta_key -> the cost when the trial
    that reached delta ended, None if never; ``at``: each cost when each trial ended; ``totals``)."""

    searcher: str
    seed: int
    budget: int
    curve: list[float]
    trials_to: dict[str, int | None]
    stalled: bool
    stopped_trials: int | None = None
    pruned: int = 0
    cost_to: dict[Cost, dict[str, float | None]] | None = None
    at: dict[Cost, list[float]] | None = None
    totals: dict[Cost, float] | None = None
    replicate: int | None = None  # the training seed whose landscape it replayed (Board.replicate)
    target_shift: float = 0.0  # trials_to counts to e* + target_shift + delta (estimator.retarget)

    def stored_costs(self) -> dict[str, Any] | None:
        """The costs as a replay stores them (``ReplayRun.cost_to``): each cost's deltas,
        ``totals``, ``pruned`` and ``at``."""
        if self.cost_to is None:
            return None
        return {
            **{str(c): v for c, v in self.cost_to.items()},
            "totals": {str(c): v for c, v in (self.totals or {}).items()},
            "pruned": self.pruned,
            "at": {str(c): v for c, v in (self.at or {}).items()},
        }

    @classmethod
    def from_stored(
        cls,
        *,
        searcher: str,
        seed: int,
        budget: int,
        curve: list[float],
        trials_to: dict[str, int | None],
        cost_to: dict[str, Any] | None,
        stopped_trials: int | None,
        replicate: int | None = None,
    ) -> Run:
        """A run as a replay stored it (the inverse of :meth:`stored_costs`)."""
        costs = cost_to or {}
        return cls(
            searcher=searcher,
            seed=seed,
            budget=budget,
            curve=list(curve),
            trials_to=dict(trials_to),
            stalled=len(curve) < budget,
            stopped_trials=stopped_trials,
            pruned=int(costs.get("pruned", 0)),
            cost_to={c: costs[c] for c in Cost} if cost_to is not None else None,
            at={c: costs["at"][c] for c in Cost} if "at" in costs else None,
            totals={c: costs["totals"][c] for c in Cost} if "totals" in costs else None,
            replicate=replicate,
        )


@dataclass(order=True)
class _Event:
    time: float
    order: int
    trial: Any = field(compare=False)
    epoch: int = field(compare=False)


def seed_told(observed: np.ndarray, run_seed: int, key: Node) -> int | None:
    """Which training seed a run is told at ``key``: one of the seeds trained there, drawn per
    (run seed, node); None where none trained."""
    trained = np.flatnonzero(~np.isnan(observed[:, key[0], key[1]]))
    if trained.size == 0:
        return None
    return int(trained[np.random.default_rng([run_seed, *key]).integers(trained.size)])


@dataclass
class _Trial:
    key: Node
    trace: list[float]  # the scores it reports after each epoch ([]: none, it ends at once)
    per_epoch: float  # simulated seconds per epoch
    told: float  # its final score, told when it ends


def _trial(board: Board, run_seed: int, key: Node) -> _Trial:
    """What a trial at ``key`` reports, costs and is told (module docstring)."""
    s = seed_told(board.observed, run_seed, key) if board.observed is not None else None
    stored = board.curves
    if s is not None:
        told = float(board.observed[s, key[0], key[1]])  # type: ignore[index]
        trace = stored.curves[s][key[0]][key[1]] if stored else []
        spent = float(stored.seconds[s, key[0], key[1]]) if stored else 0.0
    else:  # told the mean: the seeds' mean curve
        told = float(board.errors[key])
        traces = [c[key[0]][key[1]] for c in stored.curves if c[key[0]][key[1]]] if stored else []
        length = min((len(c) for c in traces), default=0)
        trace = [float(np.mean([c[e] for c in traces])) for e in range(length)]
        spent = float(np.nanmean(stored.seconds[:, key[0], key[1]])) if stored else 0.0
    return _Trial(key, trace, (spent if math.isfinite(spent) else 0.0) / max(len(trace), 1), told)


def replay(
    searcher: str,
    board: Board,
    seed: int,
    budget: int,
    deltas: list[float],
    *,
    options: dict[str, Any] | None = None,
    pruner: PrunerSpec | None = None,
    workers: int = 1,
    max_repeats: int = 100,
) -> Run:
    """One searcher run against ``board`` (module docstring). A pruner or more than one worker
    needs the board's learning curves."""
    if board.curves is None and (pruner is not None or workers > 1):
        raise ValueError("a pruner or more than one worker needs the landscape's learning curves")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    distributions = board.grid.distributions()
    errors = board.errors
    e_star = float(errors.min()) if board.e_star is None else board.e_star
    study = optuna.create_study(
        # named, not a random uuid: Hyperband assigns brackets by a hash of the study's name and
        # the trial number, so an unnamed replay of one seed could differ from run to run
        study_name=f"replay-{searcher}-{seed}",
        sampler=build_sampler(
            searcher, board.grid, seed=seed, options=options or {}, default_point=board.default_point
        ),
        pruner=pruner.build(board.curves.max_epochs)
        if pruner and board.curves
        else optuna.pruners.NopPruner(),
    )
    told_at: dict[Node, float | None] = {}  # a finished config's told score (None: pruned)
    twins: dict[Node, list[Any]] = {}  # re-proposals of a config still running
    running: dict[int, _Trial] = {}  # trial number -> what it replays
    events: list[_Event] = []
    order = 0
    clock = epochs = seconds = 0.0
    best_told, incumbent = math.inf, math.inf
    curve: list[float] = []
    marks: list[tuple[float, float, float]] = []  # (epochs, seconds, wallclock) when each trial ended
    pruned = started = repeats = 0
    stalled = False

    def launch(now: float) -> None:
        """Ask for configs until one needs training and start it, or until the run is done."""
        nonlocal order, started, repeats, stalled
        while started < budget:
            if repeats >= max_repeats:
                stalled = True
                return
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
            running[trial.number] = _trial(board, seed, key)
            order += 1
            heapq.heappush(events, _Event(now + running[trial.number].per_epoch, order, trial, 1))
            return

    def end(trial: Any, value: float | None) -> None:
        """The trial, and its re-proposals, told its value (None: pruned); the curve grows by one."""
        nonlocal best_told, incumbent
        key = running.pop(trial.number).key
        told_at[key] = value
        for t in [trial, *twins.pop(key)]:
            if value is None:
                study.tell(t, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(t, value)
        if value is not None and value < best_told:
            best_told, incumbent = value, float(errors[key])
        curve.append(incumbent - e_star if math.isfinite(incumbent) else board.failure_score - e_star)
        marks.append(Totals(epochs, seconds, clock))

    for _ in range(max(1, workers)):
        launch(0.0)
    while events:
        event = heapq.heappop(events)
        trial, epoch = event.trial, event.epoch
        current = running[trial.number]
        clock = event.time
        epochs += 1
        seconds += current.per_epoch
        if epoch < len(current.trace):
            trial.report(current.trace[epoch - 1], epoch)
            if trial.should_prune():
                pruned += 1
                end(trial, None)
                launch(clock)
            else:
                order += 1
                heapq.heappush(events, _Event(clock + current.per_epoch, order, trial, epoch + 1))
            continue
        if current.trace:
            trial.report(current.trace[-1], epoch)
        end(trial, current.told)
        launch(clock)

    reached = trials_to(curve, deltas)
    run = Run(
        searcher=searcher,
        seed=seed,
        budget=budget,
        curve=curve,
        trials_to=reached,
        stalled=stalled or len(curve) < budget,
        stopped_trials=None if board.stopped is None else sum(bool(board.stopped[k]) for k in told_at),
        pruned=pruned,
    )
    if board.curves is not None:
        run.at = {cost: [info.measure(m) for m in marks] for cost, info in COSTS.items()}
        run.cost_to = {  # each cost when the trial that reached delta ended
            cost: {key: None if t is None else float(run.at[cost][t - 1]) for key, t in reached.items()}
            for cost in COSTS
        }
        end_totals = Totals(epochs, seconds, clock)
        run.totals = {cost: info.measure(end_totals) for cost, info in COSTS.items()}
    return run
