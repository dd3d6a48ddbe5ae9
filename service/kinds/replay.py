"""The ``replay`` kind: searchers x seeds against stored landscapes (lookups, no training).

Each run is the replay engine's (:func:`service.analysis.replay.replay`, whose docstring says
what a run is told, how it is scored and what it costs). Runs are Ray tasks; each finished
chunk of runs is written at once. The replay's landscapes and searchers are link rows
(``tunecost_replay_landscapes``, ``tunecost_replay_searchers``); the statistics over its runs
are :mod:`service.analysis.comparison`, read through :mod:`service.comparisons`.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from search_spaces import SEARCHERS, SpaceError, validate_options
from service import landscapes as landscape_service
from service import studies
from service.analysis.replay import Board, PrunerSpec, Run, replay
from service.comparisons import landscape_labels, write_report
from service.db import session_scope
from service.errors import InvalidField
from service.kinds.base import JobKind, Limits, Links, Outcome, Progress, RunContext
from service.models import Job, Landscape, LandscapePoint, ReplayLandscape, ReplayRun, ReplaySearcher
from service.specs import MAX_INT, SPEC_CONFIG, Id, SearcherName
from service.states import JobState
from workers.catalog import TASKS


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
    seeds: int = Field(100, ge=1, le=10_000, strict=True, description="Seeds per searcher and landscape.")
    budget: int = Field(
        100,
        ge=1,
        le=MAX_INT,
        strict=True,
        description="Distinct configs each run may evaluate (at most the grid size).",
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
        description="Early stopping on the landscapes' stored learning curves (service.analysis.replay): a "
        "pruned trial costs only the epochs it ran. Needs landscapes swept with curves.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=1024,
        description="Simulated asynchronous workers: trials run in parallel in simulated time, each "
        "told when it finishes; gives wall-clock to delta. Needs landscapes swept with curves.",
    )
    baseline: str | None = Field(
        None,
        max_length=200,
        description="The optimizer every verdict compares against, on each task and across tasks (a "
        "landscape's label: its optimizer, e.g. `adam`); default: each task's first landscape.",
    )
    correction: Literal["holm", "fdr_bh"] = Field(
        "holm",
        description="The multiple-comparison correction over each family of verdicts: Holm's "
        "step-down (family-wise error) or Benjamini-Hochberg (`fdr_bh`, false discovery rate).",
    )
    noise: Literal["seed", "none"] = Field(
        "seed",
        description="What a searcher is told: one training seed's error per config (`seed`, as a real "
        "tuner sees), or the mean over seeds (`none`). Scored on the mean landscape either way.",
    )
    target: float | None = Field(
        None,
        ge=0,
        le=1e12,
        allow_inf_nan=False,
        description="An absolute score for the shared question (trials to reach it, the same for every "
        "optimizer; one task only); default the baseline's e* + delta.",
    )
    replicates: int | None = Field(
        None,
        ge=2,
        le=20,
        strict=True,
        description="Put the training noise in the intervals: the first `replicates` training seeds "
        "of each landscape (its sweep seeds, then its refine seeds) are its replicates, each the "
        "landscape that one seed made; replay seed s runs on replicate s mod K, told and scored on "
        "that seed's errors, and every interval is over the replicates (t with K - 1 degrees of "
        "freedom). Overrides `noise`. Null: one landscape, intervals over the replay seeds only.",
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

    @field_validator("replicates")
    @classmethod
    def _a_run_per_replicate(cls, value: int | None, info: ValidationInfo) -> int | None:
        seeds = info.data.get("seeds")
        if value is not None and seeds is not None and seeds < 2 * value:
            raise ValueError(
                f"{value} replicates need at least {2 * value} seeds (two runs each); got {seeds}"
            )
        return value

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
    seconds: float | None = Field(None, description="Wall-clock of the runs (the report not included).")
    report_seconds: float | None = Field(None, description="Wall-clock of writing and attaching the report.")
    report_files: list[str] = Field(
        default_factory=list,
        description="The report's files, attached to the study and served under /v1/comparisons/{job_id}/report.",
    )


CHUNKS_PER_CPU = 4  # chunks of about equal cost per CPU: the last to finish is short, so no CPU idles long


def balanced_chunks(
    work: list[tuple[int, str, Any, list[int], int | None]], cpus: int
) -> list[tuple[int, str, Any, list[int], int | None]]:
    """``work`` -- (landscape, searcher, board, replay seeds, replicate) -- cut into chunks of about
    equal expected cost, costliest first, so ``cpus`` workers finish together.

    A run's cost is its searcher's machinery per trial (``SearcherInfo.cost_ms``: TPE's is 24x
    grid's) and the same budget for every run, so a chunk of TPE holds fewer seeds than one of
    random search. About :data:`CHUNKS_PER_CPU` chunks per CPU; costliest first is the
    longest-processing-time rule, whose makespan is within 4/3 of the best."""
    cost = {searcher: SEARCHERS[searcher].cost_ms for _, searcher, _, _, _ in work}
    total = sum(cost[searcher] * len(seeds) for _, searcher, _, seeds, _ in work)
    target = total / (cpus * CHUNKS_PER_CPU)
    chunks = []
    for landscape_id, searcher, board, seeds, replicate in work:
        size = max(1, round(target / cost[searcher]))
        chunks += [
            (landscape_id, searcher, board, seeds[lo : lo + size], replicate)
            for lo in range(0, len(seeds), size)
        ]
    return sorted(chunks, key=lambda c: -cost[c[1]] * len(c[3]))  # stable: ties keep their order


def _replay_chunk(
    board: Board,
    searcher: str,
    options: dict[str, Any],
    seeds: list[int],
    budget: int,
    deltas: list[float],
    pruner: PrunerSpec | None,
    workers: int,
    replicate: int | None = None,
) -> list[Run]:
    """Runs of one (landscape or replicate, searcher) over some replay seeds: one Ray task."""
    runs = [
        replay(searcher, board, s, budget, deltas, options=options, pruner=pruner, workers=workers)
        for s in seeds
    ]
    for run in runs:
        run.replicate = replicate
    return runs


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
            stored = landscape_service.read(session, spec.landscape_ids)
            missing = [i for i in spec.landscape_ids if stored[i].curves is None]
            if missing:
                raise InvalidField(
                    field,
                    f"landscape {missing[0]} has no learning curves (swept before sweeps recorded them, "
                    f"or imported): replay it without `pruner` and with one worker",
                )
        if spec.target is not None:
            tasks = {found[i].task for i in spec.landscape_ids}
            if len(tasks) > 1:
                raise InvalidField("target", f"an absolute target is one task's; these are {sorted(tasks)}")
            best = session.scalar(
                select(func.min(LandscapePoint.error)).where(
                    LandscapePoint.landscape_id.in_(spec.landscape_ids)
                )
            )
            if best is not None and spec.target < best:
                raise InvalidField(
                    "target",
                    f"{spec.target:g} is below every score the landscapes hold (best {best:g}): no run reaches it",
                )
        if spec.replicates is not None:
            for i in spec.landscape_ids:
                ls = found[i]
                known = TASKS.get(ls.task)
                if known is not None and known.analytic:
                    raise InvalidField(
                        "replicates", f"landscape {i} ({ls.task}) has no training noise to replicate"
                    )
                if len(ls.seeds) < spec.replicates:
                    raise InvalidField(
                        "replicates",
                        f"landscape {i} has {len(ls.seeds)} training seed(s); {spec.replicates} replicates "
                        "need as many (sweep it with refine seeds, or more seeds)",
                    )
        if spec.baseline is not None:
            labels = landscape_labels(found)
            if spec.baseline not in labels.values():
                raise InvalidField(
                    "baseline",
                    f"{spec.baseline!r} names none of the landscapes; they are {sorted(set(labels.values()))}",
                )
        largest = max(
            ls.grid.size for ls in found.values()
        )  # a run on a smaller one ends when it has tried all
        if spec.budget > largest:
            raise InvalidField(
                "budget", f"{spec.budget} exceeds the {largest} configs of the largest landscape"
            )
        session.add_all(
            ReplayLandscape(job_id=job.id, landscape_id=i, position=k)
            for k, i in enumerate(spec.landscape_ids)
        )
        session.add_all(
            ReplaySearcher(job_id=job.id, searcher=name, position=k) for k, name in enumerate(spec.searchers)
        )

    def links(self, job: Job) -> Links:
        return Links(report_url=f"/v1/comparisons/{job.id}/report")

    def total(self, spec: ReplaySpec) -> int:
        return len(spec.landscape_ids) * len(spec.searchers) * spec.seeds

    def progress(self, session: Session, job: Job) -> Progress:
        """Replay runs stored, of every (landscape, searcher, seed) it makes."""
        done = session.scalar(select(func.count()).where(ReplayRun.job_id == job.id)) or 0
        return Progress(trials_done=done, total=self.total(self.parse_spec(job.spec)), unit="runs")

    def run(self, ctx: RunContext, spec: ReplaySpec) -> ReplayResult:
        from service.ray_session import ensure_ray, gather  # before Ray: it sets Ray's environment

        import ray  # only runners import Ray  # isort: skip

        ensure_ray(ctx.settings)
        start = time.perf_counter()
        with session_scope(ctx.url) as session:
            landscapes = landscape_service.read(session, spec.landscape_ids)
        replay_chunk = ray.remote(num_cpus=1)(_replay_chunk)
        seeds = list(range(spec.seeds))
        # every (board, searcher) and its replay seeds, then cut into chunks of about equal cost
        work: list[tuple[int, str, Any, list[int], int | None]] = []
        for landscape_id, stored in landscapes.items():
            ls = stored.row
            board = stored.board(observed=spec.noise == "seed" or bool(spec.replicates))
            # (board, its replay seeds, the training seed it replicates): one landscape, or K replicates
            if spec.replicates is None:
                parts = [(ray.put(board), seeds, None)]
            else:
                k = spec.replicates
                parts = [(ray.put(board.replicate(r)), seeds[r::k], ls.seeds[r]) for r in range(k)]
            for searcher in spec.searchers:
                work += [(landscape_id, searcher, ref, mine, replicate) for ref, mine, replicate in parts]
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending: dict[Any, tuple[int, str]] = {}
        for landscape_id, searcher, ref_board, chunk, replicate in balanced_chunks(work, cpus):
            ref = replay_chunk.remote(
                ref_board,
                searcher,
                spec.searcher_options.get(searcher, {}),
                chunk,
                spec.budget,
                spec.deltas,
                spec.pruner,
                spec.workers,
                replicate,
            )
            pending[ref] = (landscape_id, searcher)
        total, done = self.total(spec), 0

        def store(tag: tuple[int, str], runs: list[Run]) -> None:
            nonlocal done
            landscape_id, searcher = tag
            with session_scope(ctx.url) as session:
                session.add_all(
                    ReplayRun(
                        job_id=ctx.job_id,
                        landscape_id=landscape_id,
                        searcher=searcher,
                        optimizer=landscapes[landscape_id].row.optimizer,
                        seed=r.seed,
                        budget=spec.budget,
                        trials_to=r.trials_to,
                        curve=r.curve,
                        cost_to=r.stored_costs(),
                        stopped_trials=r.stopped_trials,
                        replicate=r.replicate,
                    )
                    for r in runs
                )
            done += len(runs)
            ctx.progress(done, total)

        if not gather(pending, ctx.stop, store):
            return ReplayResult(cancelled_after=done, landscape_ids=spec.landscape_ids)
        return ReplayResult(runs=done, landscape_ids=spec.landscape_ids, seconds=time.perf_counter() - start)

    def finish(self, ctx: RunContext, spec: ReplaySpec, result: ReplayResult) -> tuple[ReplayResult, Outcome]:
        """The replay's report (table, CSV, JSON and figures, the figures drawn at once on the
        cluster's CPUs), then attached to its study for the dashboard and the API's report page."""
        from service.ray_session import draw_on_cluster, ensure_ray  # before Ray: it sets Ray's environment

        ensure_ray(ctx.settings)
        start = time.perf_counter()
        with session_scope(ctx.url) as session:  # the figures drawn at once, one per CPU
            comparison, landscapes, files = write_report(
                session, ctx.settings, session.get(Job, ctx.job_id), draw=draw_on_cluster
            )
        studies.attach_replay(
            ctx.url, ctx.settings, ctx.job_id, ctx.study_name, spec, comparison, landscapes, files
        )
        written = {"report_files": [p.name for p in files], "report_seconds": time.perf_counter() - start}
        return result.model_copy(update=written), Outcome(JobState.SUCCEEDED)


KIND = ReplayKind()
