"""The ``sweep`` kind: every node of a grid for one (task, optimizer, recipe), stored as a landscape.

Configs are split into chunks that run in parallel as Ray tasks with the spec's ``{cpu, gpu}``
each. A chunk trains its configs fused (:func:`workers.fused.train_fused`: one process, all
configs at once) where the task and optimizer allow it, else one config at a time.

Seed-aware at low cost (``refine``): after every node is trained with ``seeds``, the region
that decides a verdict (every config within ``margin`` points of the best, at least the
``top_k`` best, at most ``max_configs``) is trained again with ``refine.seeds``; a point's
error is then the mean over the seeds it was trained with, and its spread is stored.

Resumable: each chunk's (seed, node) pairs are stored as the chunk arrives, one transaction
per chunk (:class:`service.models.SweepPair`). A sweep claimed again -- its runner died, or
handed it back on SIGTERM -- trains only the pairs it lacks; the refinement region is chosen
again from the stored first pass, so it is the same region. The landscape and its points are
written once the last pair is in, with what made them (provenance) and a checksum of the
errors; a sweep that finds its landscape already stored (it died between storing it and
finishing) returns that one.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import statistics
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import landscapes as landscape_service
from service import studies
from service.analysis.fidelity import Fidelity, can_continue
from service.db import session_scope
from service.kinds import BestPoint, JobKind, Limits, Links, Progress, RunContext
from service.models import Job, Landscape, LandscapePoint, SweepPair
from service.specs import (
    MAX_INT,
    SPEC_CONFIG,
    GridField,
    OptimizerName,
    Resources,
    Seeds,
    TaskName,
    TrainsOneTask,
    alpha_alone,
    default_space,
    task_metric,
)
from workers.catalog import TASKS
from workers.trainer import TrialResult

Node = tuple[int, int]


class Refine(BaseModel):
    """Which configs get extra training seeds after the first pass (documented rule, in order):
    rank the nodes by their first-pass mean error; take every node within ``margin`` points of
    the best, at least the ``top_k`` best, at most ``max_configs``."""

    model_config = SPEC_CONFIG

    seeds: Seeds = Field(min_length=1, max_length=20, description="Extra training seeds for the region.")
    margin: float = Field(
        2.0, ge=0, le=100, description="Points above the first-pass best that count as near it."
    )
    top_k: int = Field(10, ge=1, le=MAX_INT, description="At least this many of the best configs.")
    max_configs: int = Field(60, ge=1, le=MAX_INT, description="At most this many configs.")

    def region(self, means: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
        """The nodes to train again, best first."""
        ranked = sorted(means, key=lambda node: (means[node], node))
        if not ranked:
            return []
        best = means[ranked[0]]
        near = [node for node in ranked if means[node] <= best + self.margin + 1e-9]
        chosen = ranked[: max(len(near), self.top_k)]
        return chosen[: self.max_configs]


class Reference(BaseModel):
    """e* measured apart from its selection (AlgoPerf's rule for its targets): once the grid
    (and its refinement region) is trained, the best node by its mean over every seed trained
    there is trained again with ``seeds``, fresh ones; e* is their mean. The minimum of many
    noisy means is biased low (a lucky node wins); a measurement on seeds that did not select
    the node is not."""

    model_config = SPEC_CONFIG

    seeds: Seeds = Field(
        min_length=1,
        max_length=50,
        description="Fresh training seeds for the best node (AlgoPerf: 20; at most 50).",
    )

    def best(self, means: dict[Node, float]) -> Node:
        """The node to measure again: the lowest mean (ties: the first in grid order)."""
        return min(means, key=lambda node: (means[node], node))


class SweepSpec(TrainsOneTask):
    """Evaluate every node of a grid for one (task, optimizer, recipe): a landscape. An optimizer
    without epsilon is swept over alpha alone (one epsilon: its default grid is 'paper-alpha')."""

    model_config = ConfigDict(
        **SPEC_CONFIG,
        json_schema_extra={
            "examples": [
                {"kind": "sweep", "task": "digits-mlp", "optimizer": "adam", "seeds": [0]},
                {
                    "kind": "sweep",
                    "task": "mnist5k-mlp",
                    "optimizer": "avagrad",
                    "seeds": [0],
                    "refine": {"seeds": [1, 2], "margin": 2.0, "top_k": 10},
                },
            ]
        },
    )

    kind: Literal["sweep"]
    task: TaskName = Field(description="A task from the catalog.")
    optimizer: OptimizerName = Field(description="An optimizer from the catalog.")
    seeds: Seeds = Field(
        default_factory=lambda: [0],
        min_length=1,
        max_length=20,
        description="Training seeds at every node; the landscape stores their mean and spread.",
    )
    refine: Refine | None = Field(
        None, description="Train the region near the best again with more seeds (see `Refine`)."
    )
    reference: Reference | None = Field(
        None,
        description="Measure e* on fresh seeds at the best node (see `Reference`); null: e* is "
        "the best node's mean over the seeds that selected it.",
    )
    space: GridField = Field(
        None,  # type: ignore[assignment] - filled by the validator: the optimizer's default grid
        validate_default=True,
        description="A grid; default the paper's (AdaBelief: shifted).",
    )
    recipe: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="Overrides of the task's recipe."
    )
    fidelity: Fidelity | None = Field(
        None,
        description="Multi-fidelity: successive halving over the grid (see `Fidelity`); default "
        "null, every node at the recipe's epochs.",
    )
    fused: bool = Field(
        True,
        description="Train many configs at once (torch.func + vmap) where the model allows; else one at a time.",
    )
    chunk_size: int | None = Field(
        None,
        ge=1,
        le=MAX_INT,
        description="Configs per Ray task; default: split evenly over the cluster's CPUs.",
    )
    resources: Resources = Field(default_factory=Resources, description="Ray resources per chunk.")

    @field_validator("refine")
    @classmethod
    def _new_seeds(cls, value: Refine | None, info: ValidationInfo) -> Refine | None:
        if value is not None and set(value.seeds) & set(info.data.get("seeds", [])):
            raise ValueError("refine.seeds must differ from seeds")
        return value

    @field_validator("reference")
    @classmethod
    def _fresh_seeds(cls, value: Reference | None, info: ValidationInfo) -> Reference | None:
        refine = info.data.get("refine")
        used = set(info.data.get("seeds", [])) | set(refine.seeds if refine else [])
        if value is not None and set(value.seeds) & used:
            raise ValueError("reference.seeds must be fresh: none of seeds or refine.seeds")
        return value

    @field_validator("fidelity")
    @classmethod
    def _has_epochs(cls, value: Fidelity | None, info: ValidationInfo) -> Fidelity | None:
        if value is None or "task" not in info.data or "recipe" not in info.data:
            return value
        epochs = info.data["recipe"].get("epochs")
        if not epochs or TASKS[info.data["task"]].analytic:
            raise ValueError(f"task {info.data['task']!r} trains no epochs: it has no fidelity to vary")
        if value.min_epochs > epochs:
            raise ValueError(f"min_epochs {value.min_epochs} is above the recipe's {epochs} epochs")
        metric = TASKS[info.data["task"]].metric
        if metric.delta_unit != "points" and "margin" not in value.model_fields_set and value.margin:
            raise ValueError(
                f"margin: task {info.data['task']!r} scores {metric.name} ({metric.delta_unit}), not a "
                f"percentage; set fidelity.margin in its units (0: the textbook rule, the best 1/eta only)"
            )
        return value

    @field_validator("space", mode="wrap")
    @classmethod
    def _default_grid(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        optimizer = info.data.get("optimizer", "")
        return alpha_alone(optimizer, handler(value if value is not None else default_space(optimizer)))

    @property
    def all_seeds(self) -> list[int]:
        return list(self.seeds) + (list(self.refine.seeds) if self.refine else [])

    @property
    def epochs(self) -> int:
        """The recipe's epochs: full fidelity (0 for an analytic task)."""
        return 0 if TASKS[self.task].analytic else int(self.recipe.get("epochs") or 0)


class SweepResult(BaseModel):
    landscape_id: int | None = Field(None, description="The stored landscape; null if cancelled.")
    configs: int = Field(0, description="Grid nodes.")
    seeds: list[int] = Field(default_factory=list)
    refined: int = Field(0, description="Configs trained again with the refinement seeds.")
    nodes: dict[str, int] = Field(default_factory=dict, description="Ray node id -> configs it trained.")
    seconds: float | None = Field(
        None, description="Wall-clock of the training (a resumed sweep: its attempts' summed)."
    )
    resumed: int = Field(0, description="(seed, node) pairs found stored from earlier attempts.")
    best_error: float | None = Field(None, description="Best mean error over the grid (%).")
    cancelled_after: int | None = Field(None, description="Configs trained before a cancel.")


def _train_chunk(
    task: str,
    optimizer: str,
    configs: list[tuple[float, float]],
    seed: int,
    recipe: dict[str, Any],
    data_dir: str | None,
    fused: bool,
    threads: int,
    epochs: int | None = None,
    checkpoints: list[tuple[str | None, str | None]] | None = None,
    gpu_share: float | None = None,
) -> tuple[list[TrialResult], dict[str, Any], int]:
    """One Ray task: a chunk of configs, fused where possible, trained for ``epochs`` of the
    recipe's schedule (None: all); what trained them; and the epoch training started from.

    ``checkpoints``, per config, (the file to continue from, the file to save the state to);
    the chunk continues only if every config's file is there, else it trains from scratch
    (the same numbers, at the cost of the earlier epochs). ``gpu_share``: the fraction of a GPU
    the chunk holds; its fused batches stay within that share of the device's memory."""
    import torch  # in the Ray worker, never in the API process

    # torch: only where training runs, never in the API process
    from workers.checkpoints import resumable
    from workers.fused import PathChoice, choose_path, train_fused
    from workers.trainer import train_one

    torch.set_num_threads(max(1, threads))
    # fused or one at a time: whichever is faster here (measured once per worker process)
    path = (
        choose_path(task, optimizer, recipe, data_dir=data_dir, gpu_share=gpu_share)
        if fused
        else PathChoice("one at a time", "groups")
    )
    resume: list[dict[str, Any]] | None = None
    sources = [source for source, _ in checkpoints or []]
    if sources and all(source is not None and os.path.exists(source) for source in sources):
        resume = [torch.load(source, weights_only=False) for source in sources if source is not None]
        if not resumable(resume, path.update):  # written by another update: the same run from scratch
            resume = None
    keep: list[dict[str, Any]] | None = [] if any(target for _, target in checkpoints or []) else None
    where = f"{optimizer} on {task}, seed {seed}" + ("" if epochs is None else f", {epochs} epochs")
    try:
        if path.mode == "fused":
            where += f", {len(configs)} configs fused: alpha {_span([a for a, _ in configs])}, "
            where += f"epsilon {_span([e for _, e in configs])}"
            results = train_fused(
                task,
                optimizer,
                configs,
                seed=seed,
                recipe=recipe,
                data_dir=data_dir,
                epochs=epochs,
                resume=resume,
                keep=keep,
                gpu_share=gpu_share,
                path=path.update,
                width=path.width,
            )
        else:
            results = []
            for n, (a, e) in enumerate(configs):
                where = f"{optimizer} on {task}, seed {seed}, alpha={a:g}, epsilon={e:g}"
                results.append(
                    train_one(
                        task,
                        optimizer,
                        a,
                        e,
                        seed=seed,
                        recipe=recipe,
                        data_dir=data_dir,
                        epochs=epochs,
                        resume=None if resume is None else resume[n],
                        keep=keep,
                    )
                )
    except Exception as exc:
        exc.add_note(where)  # which configs: the job's error names them (service.errors.one_line)
        raise
    for (_, target), state in zip(checkpoints or [], keep or [], strict=False):
        if target is not None:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            torch.save(state, target + ".part")
            os.replace(target + ".part", target)  # whole or absent, even if killed mid-write
    # Ray: only in a runner, never in the API process
    import ray

    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = 0 if resume is None else int(resume[0]["epoch"])
    return (
        results,
        {
            "torch": torch.__version__,
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "cpu": _cpu_model(),
            "machine": platform.machine(),
            "node_id": ray.get_runtime_context().get_node_id(),
            "path": path.to_json(),
        },
        started,
    )


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}..{high:g}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


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
        seeds = set(job.spec.get("seeds") or [0])
        space = job.spec.get("space") or {}
        size = len(space.get("alphas") or []) * len(space.get("epsilons") or [])
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
            alpha, epsilon = space["alphas"][best[0]], space["epsilons"][best[1]]
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
        trainer = _ChunkedTraining(ctx, spec, self.total(spec))
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
        trainer: _ChunkedTraining | None = None,
        refined: int | None = None,
    ) -> SweepResult:
        studies.write_sweep(ctx.url, ctx.study_name, landscape_id, ctx.job_id)  # for the dashboard
        if trainer is None:  # read back what the stored pairs say
            trainer = _ChunkedTraining(ctx, spec, self.total(spec))
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
        ctx: RunContext, spec: SweepSpec, trainer: _ChunkedTraining, seconds: float, best: Node | None
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

            def errors_at(i: int, j: int) -> list[float | None]:  # None: not trained at this node
                return [None if (r := final.get((s, i, j))) is None else r.error for s in seeds]

            def diverged_at(i: int, j: int) -> int:
                return sum(bool((r := final.get((s, i, j))) and r.diverged) for s in seeds)

            def curves_at(i: int, j: int) -> list[list[float]]:  # [] where a seed did not train
                return [[] if (r := final.get((s, i, j))) is None else r.curve for s in seeds]

            def seconds_at(i: int, j: int) -> list[float | None]:
                return [None if (r := final.get((s, i, j))) is None else r.seconds for s in seeds]

            def epochs_at(i: int, j: int) -> int | None:
                return trainer.reached.get((i, j)) or None  # 0 (analytic task): null

            landscape_service.add_points(
                session,
                landscape,
                errors_at,
                diverged_at,
                curves_at=curves_at,
                seconds_at=seconds_at,
                epochs_at=epochs_at,
            )
            return landscape.id


class _ChunkedTraining:
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
        from service.ray_session import (  # before Ray: it sets Ray's environment
            check_placeable,
            ensure_ray,
            gather,
        )

        import ray  # only runners import Ray  # isort: skip

        spec, grid = self.spec, self.spec.space
        ensure_ray(self.ctx.settings)
        check_placeable(spec.resources.cpu, spec.resources.gpu, "chunk of configs")
        cpus = max(1, int(ray.available_resources().get("CPU", 1) // max(spec.resources.cpu, 1)))
        remote = ray.remote(_train_chunk).options(num_cpus=spec.resources.cpu, num_gpus=spec.resources.gpu)
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


KIND = SweepKind()
