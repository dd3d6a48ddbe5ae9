"""The chunk scheduler of a sweep: cuts the missing (seed, node) pairs into chunks, runs them as
Ray tasks (:mod:`tunecost.service.kinds.sweep.task`), stores each chunk's pairs as it arrives (one
transaction: :class:`tunecost.service.models.SweepPair`, so a resume trains only what is missing), keeps
the checkpoints a successive-halving rung continues from, and reports progress."""

from __future__ import annotations

import math
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tunecost.service.db import session_scope
from tunecost.service.kinds.base import RunContext
from tunecost.service.kinds.sweep.spec import Node, SweepSpec
from tunecost.service.kinds.sweep.task import train_chunk
from tunecost.service.models import SweepPair
from tunecost.workers.trainer import TrialResult


class ChunkedTraining:
    """Trains (seed, node) pairs in chunks of Ray tasks and stores each chunk's pairs as it
    arrives; starts from the pairs earlier attempts of the job stored, and trains only the rest."""

    def __init__(self, ctx: RunContext, spec: SweepSpec, total: int) -> None:
        self.ctx, self.spec, self.total = ctx, spec, total
        self.results: dict[tuple[int, int, int, int], TrialResult] = {}  # (seed, i, j, epochs) ->
        self.workers: list[dict[str, Any]] = []  # each distinct (torch, device, CPU, node)
        self.nodes: dict[str, int] = {}  # node id -> configs trained there
        self.started: dict[tuple[int, int, int, int], int] = {}  # the epoch each pair started from
        self.start = time.perf_counter()
        earlier: dict[int, float] = {}  # attempt -> its last chunk's arrival, seconds into it
        with session_scope(ctx.url) as session:
            rows = session.scalars(
                select(SweepPair).where(SweepPair.job_id == ctx.job_id).order_by(SweepPair.id)
            )
            for row in rows:
                self.results[(row.seed, row.alpha_index, row.epsilon_index, row.epochs)] = TrialResult(
                    row.error,
                    row.val_loss,
                    row.train_loss,
                    row.diverged,
                    row.seconds,
                    row.epochs_run,
                    list(row.curve),
                )
                self.started[(row.seed, row.alpha_index, row.epsilon_index, row.epochs)] = row.from_epoch
                self._count(row.worker, 1)
                earlier[row.attempt] = max(earlier.get(row.attempt, 0.0), row.elapsed)
        self.earlier_seconds = sum(seconds for attempt, seconds in earlier.items() if attempt != ctx.attempt)
        self.done = self.resumed = len(self.results)

    @property
    def seconds(self) -> float:
        """Wall-clock of the training: this attempt's so far, plus each earlier attempt's up to
        its last stored chunk."""
        return self.earlier_seconds + time.perf_counter() - self.start

    def rung_score(self, node: Node, seeds: list[int], epochs: int) -> float | None:
        """The node's score after ``epochs``, mean over ``seeds``; None if any seed diverged."""
        results = [self.results[(seed, *node, epochs)] for seed in seeds]
        return None if any(r.diverged for r in results) else statistics.fmean(r.error for r in results)

    def final(self) -> dict[tuple[int, int, int], TrialResult]:
        """Per (seed, i, j), the result at the most epochs it was trained to."""
        out: dict[tuple[int, int, int], tuple[int, TrialResult]] = {}
        for (seed, i, j, epochs), result in self.results.items():
            if (seed, i, j) not in out or epochs > out[(seed, i, j)][0]:
                out[(seed, i, j)] = (epochs, result)
        return {key: result for key, (_, result) in out.items()}

    @property
    def reached(self) -> dict[Node, int]:
        """Per node, the most epochs any seed was trained to there."""
        out: dict[Node, int] = {}
        for _seed, i, j, epochs in self.results:
            out[(i, j)] = max(out.get((i, j), 0), epochs)
        return out

    def compute(self, spec: SweepSpec) -> dict[str, Any]:
        """What the sweep trained (epochs every model ran, summed; their seconds) against what
        training every node with every sweep seed, and its refinement region with the refine
        seeds, at the recipe's epochs would have. A pair continued from an earlier rung's
        checkpoint counts only the epochs and seconds it added."""
        extra = set(spec.refine.seeds if spec.refine else [])
        refined = {(i, j) for (seed, i, j, _) in self.results if seed in extra}
        fresh = len(spec.reference.seeds) if spec.reference else 0
        full_runs = spec.space.size * len(spec.seeds) + len(refined) * len(spec.all_seeds[len(spec.seeds) :])
        epochs, seconds = 0, 0.0
        for (seed, i, j, rung), result in self.results.items():
            start = self.started.get((seed, i, j, rung), 0)
            before = self.results.get((seed, i, j, start)) if start else None
            epochs += (result.epochs_run - before.epochs_run) if before else max(result.epochs_run, 1)
            seconds += result.seconds - (before.seconds if before else 0.0)
        full = (int(full_runs) + fresh) * spec.epochs
        return {
            "epochs": epochs if spec.epochs else 0,
            "full_epochs": full,
            "share": None if not full else epochs / full,
            "seconds": seconds,
        }

    def checkpoint(self, seed: int, node: Node, epochs: int) -> str:
        """Where a (seed, node)'s state at ``epochs`` is kept between rungs."""
        return str(self.checkpoints / f"seed-{seed}" / f"{node[0]}-{node[1]}-at-{epochs}.pt")

    @property
    def checkpoints(self) -> Path:
        return Path(self.ctx.settings.home) / "checkpoints" / f"job-{self.ctx.job_id}"

    def drop_checkpoints(self, nodes: list[Node] | None = None, epochs: int | None = None) -> None:
        """Remove the checkpoints of ``nodes`` at ``epochs`` (stopped there); all of them by default."""
        if nodes is None or epochs is None:
            shutil.rmtree(self.checkpoints, ignore_errors=True)
            return
        for seed in self.spec.seeds:
            for node in nodes:
                Path(self.checkpoint(seed, node, epochs)).unlink(missing_ok=True)

    def _count(self, worker: dict[str, Any], configs: int) -> None:
        if worker not in self.workers:
            self.workers.append(worker)
        self.nodes[worker["node_id"]] = self.nodes.get(worker["node_id"], 0) + configs

    def train(
        self,
        nodes_by_seed: dict[int, list[Node]],
        epochs: int,
        *,
        after: int | None = None,
        keep: bool = False,
    ) -> bool:
        """Train the pairs not yet stored at ``epochs`` of the schedule (the recipe's: full
        fidelity), continuing from their checkpoints at ``after`` epochs where those are kept,
        and keeping theirs at ``epochs`` if ``keep``; False when cancelled before all were trained."""
        todo = {
            seed: [node for node in nodes if (seed, *node, epochs) not in self.results]
            for seed, nodes in nodes_by_seed.items()
        }
        todo = {seed: nodes for seed, nodes in todo.items() if nodes}
        if not todo:
            self.ctx.progress(self.done, self.total)
            return True
        from tunecost.service.ray_session import (  # before Ray: it sets Ray's environment
            cancellable_task,
            check_placeable,
            ensure_ray,
            gather,
        )

        import ray  # only runners import Ray  # isort: skip

        spec, grid = self.spec, self.spec.space
        ensure_ray(self.ctx.settings)
        check_placeable(spec.resources.cpu, spec.resources.gpu, "chunk of configs")
        cpus = max(1, int(ray.available_resources().get("CPU", 1) // max(spec.resources.cpu, 1)))
        remote = cancellable_task(train_chunk, num_cpus=spec.resources.cpu, num_gpus=spec.resources.gpu)
        pending: dict[Any, tuple[int, list[Node]]] = {}
        for seed, nodes in todo.items():
            chunk = spec.chunk_size or math.ceil(len(nodes) / cpus)
            for lo in range(0, len(nodes), chunk):
                part = nodes[lo : lo + chunk]
                configs = [(grid.alphas[i], grid.epsilons[j]) for i, j in part]
                files = [
                    (
                        None if after is None else self.checkpoint(seed, node, after),
                        self.checkpoint(seed, node, epochs) if keep else None,
                    )
                    for node in part
                ]
                ref = remote.remote(
                    spec.task,
                    spec.optimizer,
                    configs,
                    seed,
                    spec.recipe,
                    str(self.ctx.settings.data_dir),
                    spec.fused,
                    int(spec.resources.cpu),
                    None if epochs == spec.epochs else epochs,
                    files if after is not None or keep else None,
                    spec.resources.gpu or None,
                )
                pending[ref] = (seed, part)

        def store(tag: tuple[int, list[Node]], answer: tuple[list[TrialResult], dict[str, Any], int]) -> None:
            seed, part = tag
            results, worker, started = answer
            elapsed = time.perf_counter() - self.start
            with session_scope(self.ctx.url) as session:  # one transaction per chunk
                session.add_all(
                    SweepPair(
                        job_id=self.ctx.job_id,
                        seed=seed,
                        alpha_index=i,
                        epsilon_index=j,
                        epochs=epochs,
                        error=r.error,
                        val_loss=r.val_loss,
                        train_loss=r.train_loss,
                        diverged=r.diverged,
                        seconds=r.seconds,
                        epochs_run=r.epochs_run,
                        from_epoch=started,
                        curve=r.curve,
                        worker=worker,
                        attempt=self.ctx.attempt,
                        elapsed=elapsed,
                    )
                    for (i, j), r in zip(part, results, strict=True)
                )
            for node, result in zip(part, results, strict=True):
                self.results[(seed, *node, epochs)] = result
                self.started[(seed, *node, epochs)] = started
            self._count(worker, len(results))
            self.done += len(results)
            self.ctx.progress(self.done, self.total)

        return gather(pending, self.ctx.stop, store)
