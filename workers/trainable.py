"""The Ray Tune trainable: one trial trains one (alpha, epsilon) and reports once."""

from __future__ import annotations

import math
from typing import Any

from workers.trainer import train_one


def run_trial(
    config: dict[str, Any],
    *,
    task: str,
    optimizer: str,
    seed: int,
    recipe: dict[str, Any],
    data_dir: str | None = None,
    threads: int = 1,
) -> None:
    """Function trainable for ``tune.Tuner``; reports ``error`` (validation error, %)."""
    import ray
    from ray import tune

    if threads >= 1:
        import torch

        torch.set_num_threads(threads)
    result = train_one(
        task, optimizer, config["alpha"], config["epsilon"], seed=seed, recipe=recipe, data_dir=data_dir
    )
    metrics = {k: (math.nan if v is None else v) for k, v in result.to_dict().items()}
    metrics["node_id"] = ray.get_runtime_context().get_node_id()  # which node of the cluster trained it
    tune.report(metrics)
