"""The ``replay`` kind: searchers x seeds against stored landscapes (lookups, no training).

Each run is the replay engine's (:func:`tunecost.service.analysis.replay.replay`, whose docstring says
what a run is told, how it is scored and what it costs). Runs are Ray tasks; each finished
chunk of runs is written at once. The replay's landscapes and searchers are link rows
(``tunecost_replay_landscapes``, ``tunecost_replay_searchers``); the statistics over its runs
are :mod:`tunecost.service.analysis.comparison`, read through :mod:`tunecost.service.comparisons`.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tunecost.service import landscapes as landscape_service
from tunecost.service import studies
from tunecost.service.analysis.replay import Run
from tunecost.service.comparisons import landscape_labels, write_report
from tunecost.service.db import session_scope
from tunecost.service.errors import InvalidField
from tunecost.service.kinds.base import JobKind, Limits, Links, Outcome, Progress, RunContext
from tunecost.service.kinds.replay.chunks import balanced_chunks, replay_chunk
from tunecost.service.kinds.replay.spec import ReplayResult, ReplaySpec
from tunecost.service.models import Job, Landscape, LandscapePoint, ReplayLandscape, ReplayRun, ReplaySearcher
from tunecost.service.states import JobState
from tunecost.workers.catalog import TASKS


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
        from tunecost.service.ray_session import (  # before Ray: it sets Ray's environment
            cancellable_task,
            ensure_ray,
            gather,
        )

        import ray  # only runners import Ray  # isort: skip

        ensure_ray(ctx.settings)
        start = time.perf_counter()
        with session_scope(ctx.url) as session:
            landscapes = landscape_service.read(session, spec.landscape_ids)
        remote_chunk = cancellable_task(replay_chunk, num_cpus=1)
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
            ref = remote_chunk.remote(
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
        from tunecost.service.ray_session import (  # before Ray: it sets Ray's environment
            draw_on_cluster,
            ensure_ray,
        )

        ensure_ray(ctx.settings)
        start = time.perf_counter()
        with session_scope(ctx.url) as session:  # the figures drawn at once, one per CPU
            comparison, landscapes, files = write_report(
                session, ctx.settings, session.get(Job, ctx.job_id), draw=draw_on_cluster
            )
        facts = {"searchers": spec.searchers, "seeds": spec.seeds, "budget": spec.budget}
        studies.attach_replay(
            ctx.url, ctx.settings, ctx.job_id, ctx.study_name, comparison, landscapes, files, **facts
        )
        written = {"report_files": [p.name for p in files], "report_seconds": time.perf_counter() - start}
        return result.model_copy(update=written), Outcome(JobState.SUCCEEDED)


KIND = ReplayKind()
