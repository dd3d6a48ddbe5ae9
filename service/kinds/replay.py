"""The ``replay`` kind: searchers x seeds against stored landscapes (lookups, no training).

Each run asks its searcher (a fresh in-memory Optuna study) for configs and answers with the
landscape's error there: with ``noise="seed"`` (the default) the error of one training seed,
drawn per (run, config), as a real tuner sees one training run; with ``noise="none"`` the
mean over seeds. Either way the run is scored on the mean landscape: its incumbent is the
config with the best error it was told, and s(t) = mean error of that incumbent - e*.
Trials count distinct configs (docs/ARCHITECTURE.md, "Trial count":
a re-proposal is answered from the cache and does not count). Suboptimality s(t) = best of the
first t errors - e*, e* = the landscape's best mean error; tuning cost T(delta) = the first t
with s(t) <= delta. Runs are Ray tasks; each finished chunk of runs is written at once. The
replay's landscapes and searchers are link rows (``tunecost_replay_landscapes``,
``tunecost_replay_searchers``); the statistics over its runs are :mod:`service.comparisons`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
import optuna
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from search_spaces import SEARCHERS, GridSpace, SpaceError, build_sampler, validate_options
from service import landscapes as landscape_service
from service.db import session_scope
from service.errors import InvalidField
from service.kinds import JobKind, Limits, Outcome, RunContext
from service.models import Job, Landscape, ReplayLandscape, ReplayRun, ReplaySearcher
from service.simulation import Curves, PrunerSpec, simulate
from service.specs import MAX_INT, SPEC_CONFIG, Id, SearcherName
from service.states import JobState
from workers.registry import OPTIMIZERS


def delta_key(delta: float) -> str:
    """How a delta keys ``trials_to`` in stored runs and comparisons: ``"0.5"``, ``"1.0"``."""
    return str(float(delta))


def trials_to(curve: list[float], deltas: list[float]) -> dict[str, int | None]:
    """delta_key(delta) -> the first t (from 1) with s(t) <= delta, None if the curve never gets there."""
    return {delta_key(d): next((t + 1 for t, s in enumerate(curve) if s <= d + 1e-9), None) for d in deltas}


class ReplaySpec(BaseModel):
    """Run searchers x seeds against stored landscapes: lookups, no training."""

    model_config = ConfigDict(
        **SPEC_CONFIG,
        json_schema_extra={
            "examples": [
                {
                    "kind": "replay",
                    "landscape_ids": [1, 2],
                    "searchers": ["grid", "random", "tpe", "cmaes", "gld", "cgld"],
                    "seeds": 100,
                    "budget": 100,
                }
            ]
        },
    )

    kind: Literal["replay"]
    landscape_ids: list[Id] = Field(
        min_length=1, max_length=100, description="Landscapes from sweep jobs (or imported)."
    )
    searchers: list[SearcherName] = Field(
        default_factory=lambda: list(SEARCHERS),
        min_length=1,
        max_length=64,
        description="Searchers to compare.",
    )
    seeds: int = Field(100, ge=1, le=10_000, description="Seeds per searcher and landscape.")
    budget: int = Field(
        100, ge=1, le=MAX_INT, description="Distinct configs each run may evaluate (at most the grid size)."
    )
    deltas: list[Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=lambda: [0.5, 1.0],
        min_length=1,
        max_length=20,
        description="Suboptimality thresholds, in the landscapes' delta unit (points of a percentage "
        "error; pass smaller ones for an MSE).",
    )
    searcher_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-searcher options."
    )
    pruner: PrunerSpec | None = Field(
        None,
        description="Early stopping on the landscapes' stored learning curves (service.simulation): a "
        "pruned trial costs only the epochs it ran. Needs landscapes swept with curves.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=1024,
        description="Simulated asynchronous workers: trials run in parallel in simulated time, each "
        "told when it finishes; gives wall-clock to delta. Needs landscapes swept with curves.",
    )
    noise: Literal["seed", "none"] = Field(
        "seed",
        description="What a searcher is told: one training seed's error per config (`seed`, as a real "
        "tuner sees), or the mean over seeds (`none`). Scored on the mean landscape either way.",
    )

    @field_validator("landscape_ids")
    @classmethod
    def _distinct_landscapes(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("landscape_ids must be distinct")
        return value

    @field_validator("searchers")
    @classmethod
    def _distinct_searchers(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("searchers must be distinct")
        return value

    @field_validator("deltas")
    @classmethod
    def _positive_deltas(cls, value: list[float]) -> list[float]:
        if any(d <= 0 for d in value):
            raise ValueError("deltas must be > 0")
        return sorted(set(value))

    @field_validator("searcher_options")
    @classmethod
    def _valid_options(
        cls, value: dict[str, dict[str, Any]], info: ValidationInfo
    ) -> dict[str, dict[str, Any]]:
        out = {}
        for name, options in value.items():
            if name not in info.data.get("searchers", []):
                raise ValueError(f"options for {name!r}, which is not among the searchers")
            try:
                out[name] = validate_options(name, options)
            except SpaceError as exc:
                raise ValueError(str(exc)) from None
        return out


class ReplayResult(BaseModel):
    runs: int = Field(0, description="Searcher runs stored (landscapes x searchers x seeds).")
    landscape_ids: list[int] = Field(default_factory=list)
    cancelled_after: int | None = Field(None, description="Runs stored before a cancel.")
    report_files: list[str] = Field(
        default_factory=list,
        description="The report's files, attached to the study and served under /v1/comparisons/{job_id}/report.",
    )


class RunOutcome(BaseModel):
    """One searcher run against a landscape."""

    searcher: str
    seed: int
    curve: list[float] = Field(description="Suboptimality after t = 1, 2, ... distinct configs.")
    trials_to: dict[str, int | None] = Field(description="delta_key(delta) -> first t with s(t) <= delta.")
    stalled: bool = Field(description="The searcher proposed only known configs before the budget.")
    cost_to: dict[str, Any] | None = Field(
        None,
        description="epochs, seconds, wallclock -> delta_key -> cost to reach it (None: not reached); "
        "totals and pruned count. Null without learning curves.",
    )
    stopped_trials: int | None = Field(
        None,
        description="Distinct trials that landed on nodes a successive-halving sweep stopped early "
        "(told their rung's score); null on a full-fidelity landscape.",
    )


def _told(observed: np.ndarray | None, errors: np.ndarray, seed: int, key: tuple[int, int]) -> float:
    """What a run is told at ``key``: one trained seed's error, drawn per (run seed, node) so
    the draw does not depend on when the searcher proposes it; the mean without ``observed``."""
    if observed is None:
        return float(errors[key])
    trained = observed[:, key[0], key[1]]
    trained = trained[~np.isnan(trained)]
    if trained.size == 0:
        return float(errors[key])
    return float(trained[np.random.default_rng([seed, *key]).integers(trained.size)])


def replay_one(
    searcher: str,
    options: dict[str, Any],
    grid: GridSpace,
    errors: np.ndarray,
    seed: int,
    budget: int,
    deltas: list[float],
    default_point: tuple[float, float] | None = None,
    max_repeats: int = 100,
    observed: np.ndarray | None = None,
    stopped: np.ndarray | None = None,
) -> RunOutcome:
    """One searcher run against a landscape: its suboptimality curve and trials-to-delta.

    ``errors`` is the mean landscape; ``observed`` (seeds x alphas x epsilons, NaN where a seed
    was not trained) makes the searcher see one seed's error per config (module docstring).
    ``stopped`` (alphas x epsilons, bool) marks the nodes of a successive-halving landscape
    stopped before the last rung: the run counts the trials that landed there.
    A searcher that proposes only known configs ``max_repeats`` times in a row has stalled
    (CMA-ES does, once it has converged on a grid node): the run ends there, its curve is
    shorter than the budget, and a delta it has not reached counts as not reached.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    distributions = grid.distributions()
    e_star = float(errors.min())
    study = optuna.create_study(
        sampler=build_sampler(searcher, grid, seed=seed, options=options, default_point=default_point)
    )
    seen: set[tuple[int, int]] = set()
    best_told, incumbent = math.inf, math.inf  # the best error told so far, and its config's mean
    curve: list[float] = []
    repeats = 0
    while repeats < max_repeats:
        trial = study.ask(distributions)
        key = (int(trial.params["alpha_index"]), int(trial.params["epsilon_index"]))
        told = _told(observed, errors, seed, key)
        study.tell(trial, told)
        if key in seen:  # answered from the cache: free, but a stalled searcher must end
            repeats += 1
            continue
        repeats = 0
        seen.add(key)
        if told < best_told:
            best_told, incumbent = told, float(errors[key])
        curve.append(incumbent - e_star)
        if len(curve) == budget:
            break
    return RunOutcome(
        searcher=searcher,
        seed=seed,
        curve=curve,
        trials_to=trials_to(curve, deltas),
        stalled=len(curve) < budget,
        stopped_trials=None if stopped is None else sum(bool(stopped[key]) for key in seen),
    )


def _replay_many(
    searcher: str,
    options: dict[str, Any],
    grid: GridSpace,
    errors: np.ndarray,
    seeds: list[int],
    budget: int,
    deltas: list[float],
    default_point: tuple[float, float] | None,
    observed: np.ndarray | None,
    stored: Curves | None = None,
    pruner: PrunerSpec | None = None,
    workers: int = 1,
    failure_score: float = 100.0,
    stopped: np.ndarray | None = None,
) -> list[RunOutcome]:
    """Runs of one (landscape, searcher): in simulated time where the landscape has learning
    curves (trials as :func:`replay_one`, plus what they cost), else by trials alone."""
    if stored is None:
        return [
            replay_one(
                searcher,
                options,
                grid,
                errors,
                s,
                budget,
                deltas,
                default_point,
                observed=observed,
                stopped=stopped,
            )
            for s in seeds
        ]
    out = []
    for s in seeds:
        run = simulate(
            searcher,
            options,
            grid,
            errors,
            stored,
            s,
            budget,
            deltas,
            default_point=default_point,
            pruner=pruner,
            workers=workers,
            observed=observed,
            failure_score=failure_score,
            stopped=stopped,
        )
        cost_to = {**run["cost_to"], "totals": run["totals"], "pruned": run["pruned"], "at": run["at"]}
        out.append(
            RunOutcome(
                searcher=searcher,
                seed=s,
                curve=run["curve"],
                trials_to=run["trials_to"],
                stalled=run["stalled"],
                cost_to=cost_to,
                stopped_trials=run["stopped_trials"],
            )
        )
    return out


class ReplayKind(JobKind[ReplaySpec, ReplayResult]):
    name = "replay"
    spec_model = ReplaySpec
    result_model = ReplayResult

    def admit(self, session: Session, job: Job, spec: ReplaySpec, limits: Limits) -> None:
        """The landscapes must exist and the budget fit the smallest; they become link rows."""
        limits.check_budget(spec.budget)
        found = {
            ls.id: ls for ls in session.scalars(select(Landscape).where(Landscape.id.in_(spec.landscape_ids)))
        }
        missing = [i for i in spec.landscape_ids if i not in found]
        if missing:
            raise InvalidField("landscape_ids", f"no landscape {missing[0]}")
        measures = {i: landscape_service.metric_of(found[i]) for i in spec.landscape_ids}
        first = spec.landscape_ids[0]
        for i, metric in measures.items():
            if (metric.name, metric.unit) != (measures[first].name, measures[first].unit):
                raise InvalidField(
                    "landscape_ids",
                    f"landscape {i} scores {metric.name} ({metric.delta_unit}) and landscape {first} "
                    f"{measures[first].name} ({measures[first].delta_unit}): one delta cannot serve both; "
                    "replay them in separate jobs",
                )
        if spec.pruner is not None or spec.workers > 1:
            field = "pruner" if spec.pruner is not None else "workers"
            stored = landscape_service.load_curves(session, spec.landscape_ids)
            missing = [i for i in spec.landscape_ids if stored[i] is None]
            if missing:
                raise InvalidField(
                    field,
                    f"landscape {missing[0]} has no learning curves (swept before sweeps recorded them, "
                    f"or imported): replay it without `pruner` and with one worker",
                )
        smallest = min(ls.grid.size for ls in found.values())
        if spec.budget > smallest:
            raise InvalidField(
                "budget", f"{spec.budget} exceeds the {smallest} configs of the smallest landscape"
            )
        session.add_all(
            ReplayLandscape(job_id=job.id, landscape_id=i, position=k)
            for k, i in enumerate(spec.landscape_ids)
        )
        session.add_all(
            ReplaySearcher(job_id=job.id, searcher=name, position=k) for k, name in enumerate(spec.searchers)
        )

    def total(self, spec: ReplaySpec) -> int:
        return len(spec.landscape_ids) * len(spec.searchers) * spec.seeds

    def run(self, ctx: RunContext, spec: ReplaySpec) -> ReplayResult:
        from service.ray_session import ensure_ray, gather  # before Ray: it sets Ray's environment

        import ray  # only runners import Ray  # isort: skip

        ensure_ray(ctx.settings)
        with session_scope(ctx.url) as session:
            landscapes = landscape_service.load_with_seeds(session, spec.landscape_ids)
            stored = landscape_service.load_curves(session, spec.landscape_ids)
            stopped = landscape_service.load_stopped(session, spec.landscape_ids)
        replay_chunk = ray.remote(num_cpus=1)(_replay_many)
        seeds = list(range(spec.seeds))
        per_task = max(
            1, math.ceil(spec.seeds / 4)
        )  # a few Ray tasks per (landscape, searcher) keep every CPU busy
        pending: dict[Any, tuple[int, str]] = {}
        for landscape_id, (ls, matrix, per_seed) in landscapes.items():
            info = OPTIMIZERS.get(ls.optimizer)
            default = (info.default_alpha, info.default_epsilon) if info else None
            errors_ref = ray.put(matrix)
            observed_ref = ray.put(per_seed if spec.noise == "seed" else None)
            curves_ref = ray.put(stored[landscape_id])
            failure = float(landscape_service.metric_json(ls)["failure_score"])
            for searcher in spec.searchers:
                options = spec.searcher_options.get(searcher, {})
                for lo in range(0, len(seeds), per_task):
                    ref = replay_chunk.remote(
                        searcher,
                        options,
                        ls.grid,
                        errors_ref,
                        seeds[lo : lo + per_task],
                        spec.budget,
                        spec.deltas,
                        default,
                        observed_ref,
                        curves_ref,
                        spec.pruner,
                        spec.workers,
                        failure,
                        stopped[landscape_id],
                    )
                    pending[ref] = (landscape_id, searcher)
        total, done = self.total(spec), 0

        def store(tag: tuple[int, str], runs: list[RunOutcome]) -> None:
            nonlocal done
            landscape_id, searcher = tag
            with session_scope(ctx.url) as session:
                session.add_all(
                    ReplayRun(
                        job_id=ctx.job_id,
                        landscape_id=landscape_id,
                        searcher=searcher,
                        optimizer=landscapes[landscape_id][0].optimizer,
                        seed=r.seed,
                        budget=spec.budget,
                        trials_to=r.trials_to,
                        curve=r.curve,
                        cost_to=r.cost_to,
                        stopped_trials=r.stopped_trials,
                    )
                    for r in runs
                )
            done += len(runs)
            ctx.progress(done, total)

        if not gather(pending, ctx.stop, store):
            return ReplayResult(cancelled_after=done, landscape_ids=spec.landscape_ids)
        return ReplayResult(runs=done, landscape_ids=spec.landscape_ids)

    def finish(self, ctx: RunContext, spec: ReplaySpec, result: ReplayResult) -> tuple[ReplayResult, Outcome]:
        """The comparison's report (figures, table, CSV) on the replay's study, for the
        dashboard and the API's report page."""
        from service import studies

        files = studies.write_replay(ctx.url, ctx.settings, ctx.job_id, ctx.study_name, spec)
        return result.model_copy(update={"report_files": [p.name for p in files]}), Outcome(
            JobState.SUCCEEDED
        )


KIND = ReplayKind()
