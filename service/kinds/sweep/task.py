"""The Ray task of a sweep: one chunk of configs for one seed, trained fused or one config at a
time as the task's width on the device decides (:func:`tunecost.workers.fused.choose_path`), continued
from checkpoints where every config has one; returns the trial results and what trained them."""

from __future__ import annotations

import os
import platform
from typing import Any

from tunecost.workers.trainer import TrialResult


def train_chunk(
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
    from tunecost.workers.checkpoints import resumable
    from tunecost.workers.fused import PathChoice, choose_path, train_fused
    from tunecost.workers.trainer import train_one

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
