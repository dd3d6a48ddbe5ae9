"""The ``sweep`` kind: every node of a grid for one (task, optimizer, recipe), stored as a landscape.

Configs are split into chunks that run in parallel as Ray tasks with the spec's ``{cpu, gpu}``
each. A chunk trains its configs fused (:func:`workers.fused.train_fused`: one process, all
configs at once) where the task and optimizer allow it, else one config at a time. The
landscape and its points are written once all chunks are in; a sweep has no resume (a
restarted sweep trains again).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.orm import Session

from service.db import session_scope
from service.kinds import JobKind, Limits, RunContext
from service.models import Job, Landscape, LandscapePoint
from service.specs import (
    GridField,
    OptimizerName,
    Resources,
    TaskName,
    TrainsOneTask,
    default_space,
)
from workers.trainer import TrialResult


class SweepSpec(TrainsOneTask):
    """Evaluate every node of a grid for one (task, optimizer, recipe): a landscape."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "sweep", "task": "digits-mlp", "optimizer": "adam", "seeds": [0]}]
        },
    )

    kind: Literal["sweep"]
    task: TaskName = Field(description="A task from the catalog.")
    optimizer: OptimizerName = Field(description="An optimizer from the catalog.")
    seeds: list[int] = Field(
        default_factory=lambda: [0],
        min_length=1,
        max_length=20,
        description="Training seeds; the landscape stores their mean and spread.",
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
        None, ge=1, description="Configs per Ray task; default: split evenly over the cluster's CPUs."
    )
    resources: Resources = Field(default_factory=Resources, description="Ray resources per chunk.")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        if any(s < 0 for s in value) or len(set(value)) != len(value):
            raise ValueError("seeds must be distinct and >= 0")
        return value

    @field_validator("space", mode="wrap")
    @classmethod
    def _default_grid(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        return handler(value if value is not None else default_space(info.data.get("optimizer", "")))


class SweepResult(BaseModel):
    landscape_id: int | None = Field(None, description="The stored landscape; null if cancelled.")
    configs: int = Field(0, description="Grid nodes.")
    seeds: list[int] = Field(default_factory=list)
    seconds: float | None = Field(None, description="Wall-clock of the training.")
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
) -> list[TrialResult]:
    """One Ray task: a chunk of configs, fused where possible."""
    import torch  # in the Ray worker, never in the API process

    from workers.fused import can_fuse, train_fused
    from workers.trainer import train_one

    torch.set_num_threads(max(1, threads))
    if fused and can_fuse(task, optimizer):
        return train_fused(task, optimizer, configs, seed=seed, recipe=recipe, data_dir=data_dir)
    return [train_one(task, optimizer, a, e, seed=seed, recipe=recipe, data_dir=data_dir) for a, e in configs]


class SweepKind(JobKind[SweepSpec, SweepResult]):
    name = "sweep"
    spec_model = SweepSpec
    result_model = SweepResult

    def admit(self, session: Session, job: Job, spec: SweepSpec, limits: Limits) -> None:
        job.task, job.optimizer, job.recipe_hash = spec.task, spec.optimizer, spec.recipe_hash

    def total(self, spec: SweepSpec) -> int:
        return spec.space.size * len(spec.seeds)

    def run(self, ctx: RunContext, spec: SweepSpec) -> SweepResult:
        import ray  # only runners import Ray

        from service.ray_session import ensure_ray, gather

        ensure_ray(ctx.settings)
        grid = spec.space
        nodes = [(i, j) for i in range(len(grid.alphas)) for j in range(len(grid.epsilons))]
        configs = [(grid.alphas[i], grid.epsilons[j]) for i, j in nodes]
        cpus = max(1, int(ray.available_resources().get("CPU", 1) // max(spec.resources.cpu, 1)))
        chunk = spec.chunk_size or math.ceil(len(configs) / cpus)
        remote = ray.remote(_train_chunk).options(num_cpus=spec.resources.cpu, num_gpus=spec.resources.gpu)
        start = time.perf_counter()
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (seed index, first config index)
        for s, seed in enumerate(spec.seeds):
            for lo in range(0, len(configs), chunk):
                ref = remote.remote(
                    spec.task,
                    spec.optimizer,
                    configs[lo : lo + chunk],
                    seed,
                    spec.recipe,
                    str(ctx.settings.data_dir),
                    spec.fused,
                    int(spec.resources.cpu),
                )
                pending[ref] = (s, lo)
        results: list[list[TrialResult | None]] = [[None] * len(configs) for _ in spec.seeds]
        total, done = self.total(spec), 0

        def store(tag: tuple[int, int], chunk_results: list[TrialResult]) -> None:
            nonlocal done
            s, lo = tag
            results[s][lo : lo + len(chunk_results)] = chunk_results
            done += len(chunk_results)
            ctx.progress(done, total)

        if not gather(pending, ctx.stop, store):
            return SweepResult(cancelled_after=done)
        seconds = time.perf_counter() - start
        landscape_id, best = self._store(ctx, spec, nodes, results, seconds)
        return SweepResult(
            landscape_id=landscape_id,
            configs=len(configs),
            seeds=list(spec.seeds),
            seconds=seconds,
            best_error=best,
        )

    @staticmethod
    def _store(
        ctx: RunContext,
        spec: SweepSpec,
        nodes: list[tuple[int, int]],
        results: list[list[TrialResult | None]],
        seconds: float,
    ) -> tuple[int, float]:
        grid = spec.space
        best = math.inf
        with session_scope(ctx.url) as session:
            landscape = Landscape(
                job_id=ctx.job_id,
                task=spec.task,
                optimizer=spec.optimizer,
                recipe_hash=spec.recipe_hash,
                recipe=spec.recipe,
                space=grid.to_json(),
                seeds=list(spec.seeds),
                fused=spec.fused,
                seconds=seconds,
            )
            session.add(landscape)
            session.flush()
            for n, (i, j) in enumerate(nodes):
                per_seed = [r[n] for r in results]
                errors = [None if r is None else r.error for r in per_seed]
                finite = [e for e in errors if e is not None]
                mean = statistics.fmean(finite) if finite else None
                best = min(best, mean) if mean is not None else best
                session.add(
                    LandscapePoint(
                        landscape_id=landscape.id,
                        alpha_index=i,
                        epsilon_index=j,
                        alpha=grid.alphas[i],
                        epsilon=grid.epsilons[j],
                        error=mean,
                        error_std=statistics.stdev(finite) if len(finite) > 1 else (0.0 if finite else None),
                        errors=errors,
                        diverged=sum(bool(r and r.diverged) for r in per_seed),
                    )
                )
            return landscape.id, best


KIND = SweepKind()
