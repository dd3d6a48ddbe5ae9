"""The ``sweep`` kind: every node of a grid for one (task, optimizer, recipe), stored as a landscape.

Configs are split into chunks that run in parallel as Ray tasks with the spec's ``{cpu, gpu}``
each. A chunk trains its configs fused (:func:`workers.fused.train_fused`: one process, all
configs at once) where the task and optimizer allow it, else one config at a time.

Seed-aware at low cost (``refine``): after every node is trained with ``seeds``, the region
that decides a verdict (every config within ``margin`` points of the best, at least the
``top_k`` best, at most ``max_configs``) is trained again with ``refine.seeds``; a point's
error is then the mean over the seeds it was trained with, and its spread is stored. The
landscape and its points are written once all chunks are in, with what made them
(provenance) and a checksum of the errors; a sweep has no resume (a restarted sweep trains again).
"""

from __future__ import annotations

import math
import platform
import statistics
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import landscapes as landscape_service
from service import studies
from service.db import session_scope
from service.kinds import BestPoint, JobKind, Limits, Progress, RunContext
from service.models import Job, Landscape, LandscapePoint
from service.specs import (
    MAX_INT,
    SPEC_CONFIG,
    GridField,
    OptimizerName,
    Resources,
    Seeds,
    TaskName,
    TrainsOneTask,
    default_space,
    task_metric,
)
from workers.trainer import TrialResult


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


class SweepSpec(TrainsOneTask):
    """Evaluate every node of a grid for one (task, optimizer, recipe): a landscape."""

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
    space: GridField = Field(
        None,  # type: ignore[assignment] - filled by the validator: the optimizer's default grid
        validate_default=True,
        description="A grid; default the paper's (AdaBelief: shifted).",
    )
    recipe: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="Overrides of the task's recipe."
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

    @field_validator("space", mode="wrap")
    @classmethod
    def _default_grid(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        return handler(value if value is not None else default_space(info.data.get("optimizer", "")))

    @property
    def all_seeds(self) -> list[int]:
        return list(self.seeds) + (list(self.refine.seeds) if self.refine else [])


class SweepResult(BaseModel):
    landscape_id: int | None = Field(None, description="The stored landscape; null if cancelled.")
    configs: int = Field(0, description="Grid nodes.")
    seeds: list[int] = Field(default_factory=list)
    refined: int = Field(0, description="Configs trained again with the refinement seeds.")
    nodes: dict[str, int] = Field(default_factory=dict, description="Ray node id -> configs it trained.")
    seconds: float | None = Field(None, description="Wall-clock of the training.")
    best_error: float | None = Field(None, description="Best mean error over the grid (%).")
    cancelled_after: int | None = Field(None, description="Configs trained before a cancel.")


Node = tuple[int, int]


def _train_chunk(
    task: str,
    optimizer: str,
    configs: list[tuple[float, float]],
    seed: int,
    recipe: dict[str, Any],
    data_dir: str | None,
    fused: bool,
    threads: int,
) -> tuple[list[TrialResult], dict[str, Any]]:
    """One Ray task: a chunk of configs, fused where possible; and what trained them."""
    import torch  # in the Ray worker, never in the API process

    from workers.fused import can_fuse, train_fused
    from workers.trainer import train_one

    torch.set_num_threads(max(1, threads))
    where = f"{optimizer} on {task}, seed {seed}"
    try:
        if fused and can_fuse(task, optimizer):
            where += f", {len(configs)} configs fused: alpha {_span([a for a, _ in configs])}, "
            where += f"epsilon {_span([e for _, e in configs])}"
            results = train_fused(task, optimizer, configs, seed=seed, recipe=recipe, data_dir=data_dir)
        else:
            results = []
            for a, e in configs:
                where = f"{optimizer} on {task}, seed {seed}, alpha={a:g}, epsilon={e:g}"
                results.append(train_one(task, optimizer, a, e, seed=seed, recipe=recipe, data_dir=data_dir))
    except Exception as exc:
        exc.add_note(where)  # which configs: the job's error names them (service.errors.one_line)
        raise
    import ray

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return results, {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "node_id": ray.get_runtime_context().get_node_id(),
    }


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

    def progress(self, session: Session, job: Job) -> Progress:
        """Grid nodes with a score, and the best node by its mean over seeds (``trial`` null),
        once the landscape is stored; nothing before (a running sweep reports through its
        progress bar)."""
        landscape_id = SweepResult.model_validate(job.result or {}).landscape_id
        if landscape_id is None:
            return Progress()
        scored = select(LandscapePoint).where(
            LandscapePoint.landscape_id == landscape_id, LandscapePoint.error.is_not(None)
        )
        count = session.scalar(select(func.count()).select_from(scored.subquery())) or 0
        best = session.scalars(
            scored.order_by(LandscapePoint.error, LandscapePoint.alpha_index, LandscapePoint.epsilon_index)
        ).first()
        point = (
            None
            if best is None
            else BestPoint(alpha=best.alpha, epsilon=best.epsilon, error=best.error, trial=None)
        )
        return Progress(trials_done=count, best=point)

    def total(self, spec: SweepSpec) -> int:
        refine = spec.refine
        extra = min(refine.max_configs, spec.space.size) * len(refine.seeds) if refine else 0
        return spec.space.size * len(spec.seeds) + extra

    def run(self, ctx: RunContext, spec: SweepSpec) -> SweepResult:
        from service.ray_session import check_placeable, ensure_ray

        ensure_ray(ctx.settings)
        check_placeable(spec.resources.cpu, spec.resources.gpu, "chunk of configs")
        grid = spec.space
        nodes = [(i, j) for i in range(len(grid.alphas)) for j in range(len(grid.epsilons))]
        start = time.perf_counter()
        trainer = _ChunkedTraining(ctx, spec, self.total(spec))
        if not trainer.train({seed: nodes for seed in spec.seeds}):
            return SweepResult(cancelled_after=trainer.done)
        region: list[Node] = []
        if spec.refine is not None:
            means = {
                node: statistics.fmean(trainer.results[(s, *node)].error for s in spec.seeds)
                for node in nodes
            }
            region = spec.refine.region(means)
            if not trainer.train({seed: region for seed in spec.refine.seeds}):
                return SweepResult(cancelled_after=trainer.done)
        seconds = time.perf_counter() - start
        landscape_id, best = self._store(ctx, spec, trainer, seconds)
        studies.write_sweep(ctx.url, ctx.study_name, landscape_id, ctx.job_id)  # for the dashboard
        return SweepResult(
            landscape_id=landscape_id,
            configs=len(nodes),
            seeds=spec.all_seeds,
            refined=len(region),
            nodes=trainer.nodes,
            seconds=seconds,
            best_error=best,
        )

    @staticmethod
    def _store(
        ctx: RunContext, spec: SweepSpec, trainer: _ChunkedTraining, seconds: float
    ) -> tuple[int, float]:
        grid, seeds = spec.space, spec.all_seeds
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
                provenance=landscape_service.provenance("sweep", trainer.workers),
                metric=task_metric(spec.task),
            )
            session.add(landscape)
            session.flush()

            def errors_at(i: int, j: int) -> list[float | None]:  # None: not trained at this node
                return [None if (r := trainer.results.get((s, i, j))) is None else r.error for s in seeds]

            def diverged_at(i: int, j: int) -> int:
                return sum(bool((r := trainer.results.get((s, i, j))) and r.diverged) for s in seeds)

            def curves_at(i: int, j: int) -> list[list[float]]:  # [] where a seed did not train
                return [[] if (r := trainer.results.get((s, i, j))) is None else r.curve for s in seeds]

            def seconds_at(i: int, j: int) -> list[float | None]:
                return [None if (r := trainer.results.get((s, i, j))) is None else r.seconds for s in seeds]

            best = landscape_service.add_points(
                session, landscape, errors_at, diverged_at, curves_at=curves_at, seconds_at=seconds_at
            )
            return landscape.id, best


class _ChunkedTraining:
    """Trains (seed, node) pairs in chunks of Ray tasks; keeps every result and what trained it."""

    def __init__(self, ctx: RunContext, spec: SweepSpec, total: int) -> None:
        self.ctx, self.spec, self.total = ctx, spec, total
        self.results: dict[tuple[int, int, int], TrialResult] = {}
        self.workers: list[dict[str, Any]] = []  # each distinct (torch, device, CPU, node)
        self.nodes: dict[str, int] = {}  # node id -> configs trained there
        self.done = 0

    def train(self, nodes_by_seed: dict[int, list[Node]]) -> bool:
        """False when cancelled before all were trained."""
        from service.ray_session import gather  # before Ray: it sets Ray's environment

        import ray  # only runners import Ray  # isort: skip

        spec, grid = self.spec, self.spec.space
        cpus = max(1, int(ray.available_resources().get("CPU", 1) // max(spec.resources.cpu, 1)))
        remote = ray.remote(_train_chunk).options(num_cpus=spec.resources.cpu, num_gpus=spec.resources.gpu)
        pending: dict[Any, tuple[int, list[Node]]] = {}
        for seed, nodes in nodes_by_seed.items():
            chunk = spec.chunk_size or math.ceil(len(nodes) / cpus)
            for lo in range(0, len(nodes), chunk):
                part = nodes[lo : lo + chunk]
                configs = [(grid.alphas[i], grid.epsilons[j]) for i, j in part]
                ref = remote.remote(
                    spec.task,
                    spec.optimizer,
                    configs,
                    seed,
                    spec.recipe,
                    str(self.ctx.settings.data_dir),
                    spec.fused,
                    int(spec.resources.cpu),
                )
                pending[ref] = (seed, part)

        def store(tag: tuple[int, list[Node]], answer: tuple[list[TrialResult], dict[str, Any]]) -> None:
            seed, part = tag
            results, worker = answer
            for node, result in zip(part, results, strict=True):
                self.results[(seed, *node)] = result
            if worker not in self.workers:
                self.workers.append(worker)
            self.nodes[worker["node_id"]] = self.nodes.get(worker["node_id"], 0) + len(results)
            self.done += len(results)
            self.ctx.progress(self.done, self.total)

        return gather(pending, self.ctx.stop, store)


KIND = SweepKind()
