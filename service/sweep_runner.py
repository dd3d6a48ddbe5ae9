"""Runs a ``sweep`` job: every node of a grid, as chunks of configs in Ray tasks, into a landscape.

Each chunk trains its configs fused (:func:`workers.fused.train_fused`: one process,
all configs at once) where the task and optimizer allow it, else one config at a time;
chunks run in parallel as Ray tasks with the spec's ``{cpu, gpu}`` each. The landscape
and its points are written once all chunks are in.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import ray

from search_spaces import GridSpace, space_from_json
from service.db import session_scope
from service.models import Landscape, LandscapePoint
from service.ray_session import gather
from service.specs import SweepSpec


@ray.remote
def _train_chunk(
    task: str,
    optimizer: str,
    configs: list[tuple[float, float]],
    seed: int,
    recipe: dict[str, Any],
    data_dir: str | None,
    fused: bool,
    threads: int,
) -> list[dict[str, Any]]:
    import torch

    from workers.fused import can_fuse, train_fused
    from workers.trainer import train_one

    torch.set_num_threads(max(1, threads))
    if fused and can_fuse(task, optimizer):
        results = train_fused(task, optimizer, configs, seed=seed, recipe=recipe, data_dir=data_dir)
    else:
        results = [
            train_one(task, optimizer, a, e, seed=seed, recipe=recipe, data_dir=data_dir) for a, e in configs
        ]
    return [r.to_dict() for r in results]


def run_sweep(
    *,
    url: str,
    job_id: int,
    spec: SweepSpec,
    stop_event: threading.Event,
    data_dir: str | None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    grid = space_from_json(spec.space or {})
    if not isinstance(grid, GridSpace):  # pragma: no cover - the spec validates it
        raise ValueError("a sweep needs a grid space")
    nodes = [(i, j) for i in range(len(grid.alphas)) for j in range(len(grid.epsilons))]
    configs = [(grid.alphas[i], grid.epsilons[j]) for i, j in nodes]
    cpus = max(1, int(ray.available_resources().get("CPU", 1) // max(spec.resources.cpu, 1)))
    chunk = spec.chunk_size or math.ceil(len(configs) / cpus)
    remote = _train_chunk.options(num_cpus=spec.resources.cpu, num_gpus=spec.resources.gpu)
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
                data_dir,
                spec.fused,
                int(spec.resources.cpu),
            )
            pending[ref] = (s, lo)
    results: list[list[dict[str, Any] | None]] = [[None] * len(configs) for _ in spec.seeds]
    total, done = len(configs) * len(spec.seeds), 0

    def store(tag: tuple[int, int], chunk_results: list[dict[str, Any]]) -> None:
        nonlocal done
        s, lo = tag
        results[s][lo : lo + len(chunk_results)] = chunk_results
        done += len(chunk_results)
        if on_progress:
            on_progress(done, total)

    if not gather(pending, stop_event, store):
        return {"cancelled_after": done}
    seconds = time.perf_counter() - start

    with session_scope(url) as session:
        landscape = Landscape(
            job_id=job_id,
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
        best = math.inf
        for n, (i, j) in enumerate(nodes):
            per_seed = [r[n] for r in results]
            errors = [None if r is None else r["error"] for r in per_seed]
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
                    diverged=sum(bool(r and r["diverged"]) for r in per_seed),
                )
            )
        landscape_id = landscape.id
    return {
        "landscape_id": landscape_id,
        "configs": len(configs),
        "seeds": list(spec.seeds),
        "seconds": seconds,
        "best_error": best,
    }
