"""The ``sweep`` kind: every node of a grid for one (task, optimizer, recipe), stored as a landscape.

Configs are split into chunks that run in parallel as Ray tasks with the spec's ``{cpu, gpu}``
each. A chunk trains its configs fused (:func:`tunecost.workers.fused.train_fused`: one process, all
configs at once) where the task and optimizer allow it, else one config at a time.

Seed-aware at low cost (``refine``): after every node is trained with ``seeds``, the region
that decides a verdict (every config within ``margin`` points of the best, at least the
``top_k`` best, at most ``max_configs``) is trained again with ``refine.seeds``; a point's
error is then the mean over the seeds it was trained with, and its spread is stored.

Resumable: each chunk's (seed, node) pairs are stored as the chunk arrives, one transaction
per chunk (:class:`tunecost.service.models.SweepPair`). A sweep claimed again -- its runner died, or
handed it back on SIGTERM -- trains only the pairs it lacks; the refinement region is chosen
again from the stored first pass, so it is the same region. The landscape and its points are
written once the last pair is in, with what made them (provenance) and a checksum of the
errors; a sweep that finds its landscape already stored (it died between storing it and
finishing) returns that one.
"""

from __future__ import annotations

import statistics

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tunecost.service import landscapes as landscape_service
from tunecost.service import studies
from tunecost.service.analysis.fidelity import can_continue
from tunecost.service.db import session_scope
from tunecost.service.kinds.base import BestPoint, JobKind, Limits, Links, Progress, RunContext
from tunecost.service.kinds.sweep.chunks import ChunkedTraining
from tunecost.service.kinds.sweep.spec import Node, SweepResult, SweepSpec
from tunecost.service.models import Job, Landscape, LandscapePoint, SweepPair
from tunecost.service.specs import (
    task_metric,
)


class SweepKind(JobKind[SweepSpec, SweepResult]):
    name = "sweep"
    spec_model = SweepSpec
    result_model = SweepResult

    def admit(self, session: Session, job: Job, spec: SweepSpec, limits: Limits) -> None:
        limits.check_grid(spec.space.size)
        job.task, job.optimizer, job.recipe_hash = spec.task, spec.optimizer, spec.recipe_hash

    def links(self, job: Job) -> Links:
        result = self.result_of(job)
        return Links(landscape_id=None if result is None else result.landscape_id)

    def progress(self, session: Session, job: Job) -> Progress:
        """Once the landscape is stored: its grid nodes with a score, and the best node by its
        mean over seeds (``trial`` null). While it runs: the nodes trained with every seed of
        the first pass, the best of them, and how many nodes are ``missing`` one."""
        landscape_id = self.links(job).landscape_id
        if landscape_id is not None:
            return self._stored_progress(session, landscape_id)
        spec = self.parse_spec(job.spec)
        seeds = set(spec.seeds)
        size = len(spec.space.alphas) * len(spec.space.epsilons)
        latest: dict[Node, dict[int, tuple[int, float]]] = {}  # node -> seed -> (epochs, score)
        rows = session.execute(
            select(
                SweepPair.alpha_index,
                SweepPair.epsilon_index,
                SweepPair.seed,
                SweepPair.epochs,
                SweepPair.error,
            ).where(SweepPair.job_id == job.id)
        )
        for i, j, seed, epochs, error in rows:
            if seed in seeds:
                by_seed = latest.setdefault((i, j), {})
                by_seed[seed] = max(by_seed.get(seed, (epochs, error)), (epochs, error))
        done = {
            node: (min(e for e, _ in by_seed.values()), statistics.fmean(v for _, v in by_seed.values()))
            for node, by_seed in latest.items()
            if len(by_seed) == len(seeds)
        }
        # the best at the highest fidelity reached so far (successive halving: the latest rung)
        best = min(done, key=lambda node: (-done[node][0], done[node][1], node), default=None)
        point = None
        if best is not None:
            alpha, epsilon = spec.space.alphas[best[0]], spec.space.epsilons[best[1]]
            point = BestPoint(alpha=alpha, epsilon=epsilon, error=done[best][1], trial=None)
        missing = max(size - len(done), 0)
        return Progress(
            trials_done=len(done), best=point, missing=missing, total=len(done) + missing, unit="nodes"
        )

    @staticmethod
    def _stored_progress(session: Session, landscape_id: int) -> Progress:
        count = (
            session.scalar(
                select(func.count()).where(
                    LandscapePoint.landscape_id == landscape_id, LandscapePoint.error.is_not(None)
                )
            )
            or 0
        )
        best = landscape_service.best_point(session, landscape_id)
        point = (
            None
            if best is None
            else BestPoint(alpha=best.alpha, epsilon=best.epsilon, error=best.error, trial=None)
        )
        return Progress(trials_done=count, best=point, missing=0, total=count, unit="nodes")

    def total(self, spec: SweepSpec) -> int:
        """(seed, node) trainings planned: with successive halving, those of every rung; the run
        corrects it as promotions and the refinement region become known, so a bar ends at 100%."""
        return self._planned(spec, int(spec.space.size), 0)

    @staticmethod
    def _planned(spec: SweepSpec, alive: int, rung: int) -> int:
        """Trainings still planned with ``alive`` nodes at rung index ``rung``: each later rung
        keeps floor(n/eta) (at least one; the margin may keep more), then the refinement's most."""
        rungs = [spec.epochs] if spec.fidelity is None else spec.fidelity.rungs(spec.epochs)
        nodes = [alive]
        for _ in rungs[rung + 1 :]:
            nodes.append(max(1, nodes[-1] // spec.fidelity.eta))  # type: ignore[union-attr]
        refine = spec.refine
        extra = min(refine.max_configs, nodes[-1]) * len(refine.seeds) if refine else 0
        extra += len(spec.reference.seeds) if spec.reference else 0
        return sum(nodes) * len(spec.seeds) + extra

    def run(self, ctx: RunContext, spec: SweepSpec) -> SweepResult:
        grid = spec.space
        nodes = [(i, j) for i in range(len(grid.alphas)) for j in range(len(grid.epsilons))]
        with session_scope(ctx.url) as session:  # died after storing it, before finishing
            stored = session.scalars(select(Landscape).where(Landscape.job_id == ctx.job_id)).first()
            if stored is not None:
                return self._result_of(ctx, spec, stored.id, stored.seconds, nodes)
        trainer = ChunkedTraining(ctx, spec, self.total(spec))
        rungs = [spec.epochs] if spec.fidelity is None else spec.fidelity.rungs(spec.epochs)
        carry = spec.fidelity is not None and spec.fidelity.continues and can_continue(spec.recipe)
        alive, after = nodes, None
        for index, rung in enumerate(rungs):
            keep = carry and rung != rungs[-1]
            if not trainer.train({seed: alive for seed in spec.seeds}, rung, after=after, keep=keep):
                return SweepResult(cancelled_after=trainer.done, resumed=trainer.resumed)
            if spec.fidelity is not None and rung != rungs[-1]:
                promoted = spec.fidelity.promote(
                    {node: trainer.rung_score(node, spec.seeds, rung) for node in alive}
                )
                if carry:
                    trainer.drop_checkpoints([n for n in alive if n not in set(promoted)], rung)
                    after = rung
                alive = promoted
                trainer.total = trainer.done + self._planned(spec, len(alive), index + 1)
        region: list[Node] = []
        if spec.refine is not None:  # among the nodes that reached full fidelity
            last = rungs[-1]
            means = {
                node: statistics.fmean(trainer.results[(s, *node, last)].error for s in spec.seeds)
                for node in alive
            }
            region = spec.refine.region(means)
            todo = [(s, n) for s in spec.refine.seeds for n in region if (s, *n, last) not in trainer.results]
            trainer.total = trainer.done + len(todo)  # the region is known: the bar ends at 100%
            if not trainer.train({seed: region for seed in spec.refine.seeds}, rungs[-1]):
                return SweepResult(cancelled_after=trainer.done, resumed=trainer.resumed)
        best = None
        if spec.reference is not None:  # the best node by every seed trained there, trained afresh
            last = rungs[-1]
            means = {
                node: statistics.fmean(got)
                for node in alive
                if (got := [r.error for s in spec.all_seeds if (r := trainer.results.get((s, *node, last)))])
            }
            best = spec.reference.best(means)
            trainer.total = trainer.done + sum(
                (s, *best, last) not in trainer.results for s in spec.reference.seeds
            )
            if not trainer.train({seed: [best] for seed in spec.reference.seeds}, last):
                return SweepResult(cancelled_after=trainer.done, resumed=trainer.resumed)
        landscape_id = self._store(ctx, spec, trainer, trainer.seconds, best)
        trainer.drop_checkpoints()
        return self._result_of(ctx, spec, landscape_id, trainer.seconds, nodes, trainer, len(region))

    def _result_of(
        self,
        ctx: RunContext,
        spec: SweepSpec,
        landscape_id: int,
        seconds: float | None,
        nodes: list[Node],
        trainer: ChunkedTraining | None = None,
        refined: int | None = None,
    ) -> SweepResult:
        studies.write_sweep(ctx.url, ctx.study_name, landscape_id, ctx.job_id)  # for the dashboard
        if trainer is None:  # read back what the stored pairs say
            trainer = ChunkedTraining(ctx, spec, self.total(spec))
        with session_scope(ctx.url) as session:
            best = self._stored_progress(session, landscape_id).best
        if refined is None:
            extra = set(spec.refine.seeds if spec.refine else [])
            refined = len({(i, j) for (seed, i, j, _) in trainer.results if seed in extra})
        return SweepResult(
            landscape_id=landscape_id,
            configs=len(nodes),
            seeds=spec.all_seeds,
            refined=refined,
            nodes=trainer.nodes,
            seconds=seconds,
            best_error=None if best is None else best.error,
            resumed=trainer.resumed,
        )

    @staticmethod
    def _store(
        ctx: RunContext, spec: SweepSpec, trainer: ChunkedTraining, seconds: float, best: Node | None
    ) -> int:
        grid, seeds = spec.space, spec.all_seeds  # the reference's fresh seeds are not the points'
        final = trainer.final()  # (seed, i, j) -> the result at the highest fidelity it reached
        reference = None
        if best is not None and spec.reference is not None:
            fresh = [final[(s, *best)].error for s in spec.reference.seeds]
            reference = {
                "alpha_index": best[0],
                "epsilon_index": best[1],
                "alpha": grid.alphas[best[0]],
                "epsilon": grid.epsilons[best[1]],
                "seeds": list(spec.reference.seeds),
                "errors": fresh,
                "error": statistics.fmean(fresh),
                "std": statistics.stdev(fresh) if len(fresh) > 1 else None,
            }
        provenance = landscape_service.provenance("sweep", trainer.workers)
        provenance["compute"] = trainer.compute(spec)
        if spec.fidelity is not None:
            provenance["fidelity"] = spec.fidelity.provenance(spec.epochs)
        with session_scope(ctx.url) as session:
            landscape = Landscape(
                job_id=ctx.job_id,
                task=spec.task,
                optimizer=spec.optimizer,
                recipe_hash=spec.recipe_hash,
                recipe=spec.recipe,
                space=grid.to_json(),
                seeds=seeds,
                sweep_seeds=list(spec.seeds),
                refine=None if spec.refine is None else spec.refine.model_dump(mode="json"),
                fused=spec.fused,
                seconds=seconds,
                provenance=provenance,
                metric=task_metric(spec.task),
                reference=reference,
            )
            session.add(landscape)
            session.flush()

            def node_at(i: int, j: int) -> landscape_service.NodeRecord:
                runs = [final.get((s, i, j)) for s in seeds]  # None: not trained at this node
                return landscape_service.NodeRecord(
                    errors=[None if r is None else r.error for r in runs],
                    diverged=sum(bool(r and r.diverged) for r in runs),
                    curves=[[] if r is None else r.curve for r in runs],
                    seconds=[None if r is None else r.seconds for r in runs],
                    epochs=trainer.reached.get((i, j)) or None,  # 0 (analytic task): null
                )

            landscape_service.add_points(session, landscape, node_at)
            return landscape.id


KIND = SweepKind()
