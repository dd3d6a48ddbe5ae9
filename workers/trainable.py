"""The Ray Tune trainable: one trial trains one (alpha, epsilon), reports its validation score
after every epoch and its result once, at the end (``final``)."""

from __future__ import annotations

import math
from typing import Any

from tunecost.workers.trainer import train_one


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
    """Function trainable for ``tune.Tuner``; reports ``error`` (the task's validation score)
    after each epoch but the last (``final: False``: the Optuna trial's intermediate values, at
    step = epoch), then the whole result (``final: True``) at step = epochs."""
    # Ray: only in a runner, never in the API process
    import ray
    from ray import tune

    if threads >= 1:
        # torch: only where training runs, never in the API process
        import torch

        torch.set_num_threads(threads)
    epochs = recipe.get("epochs")

    def report_epoch(epoch: int, score: float | None) -> None:
        if score is not None and epoch != epochs:  # the last epoch's score is the final result's
            tune.report({"error": score, "epoch": epoch, "final": False})

    result = train_one(
        task,
        optimizer,
        config["alpha"],
        config["epsilon"],
        seed=seed,
        recipe=recipe,
        data_dir=data_dir,
        on_epoch=report_epoch,
    )
    metrics = {k: (math.nan if v is None else v) for k, v in result.to_dict().items() if k != "curve"}
    metrics["node_id"] = ray.get_runtime_context().get_node_id()  # which node of the cluster trained it
    metrics["final"] = True
    tune.report(metrics)
