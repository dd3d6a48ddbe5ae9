"""Conformance checks a plugin's own test suite can run (as ``optuna.testing`` does for samplers).

    from tunecost.testing import check_optimizer, check_task

    def test_my_optimizer():
        check_optimizer("my-optimizer")   # the name of its catalog entry

Each raises ``AssertionError`` with what went wrong. Needs the ``train`` extra (torch).
"""

from __future__ import annotations

from typing import Any

CONFIGS = [(1e-3, 1e-8), (1e-2, 1e-4)]


def _agree(task: str, optimizer: str, recipe: dict[str, Any]) -> None:
    import torch

    from workers.fused import can_fuse, train_fused
    from workers.trainer import train_one

    ones = [train_one(task, optimizer, a, e, seed=1, recipe=recipe, dtype=torch.float64) for a, e in CONFIGS]
    assert all(not one.diverged for one in ones), f"{optimizer} on {task} diverged at {CONFIGS}"
    if not can_fuse(task, optimizer):
        return
    fused = train_fused(task, optimizer, CONFIGS, seed=1, recipe=recipe, dtype=torch.float64)
    for (a, e), one, f in zip(CONFIGS, ones, fused, strict=True):
        gap = abs(one.val_loss - f.val_loss)
        assert gap < 1e-8, f"fused and one-config training differ by {gap:.2e} at alpha={a}, eps={e}"


def _loaded(name: str, catalog: Any, what: str) -> None:
    from workers.registry import plugin_errors

    broken = [e for e in plugin_errors() if e.name == name]
    assert not broken, f"plugin {name!r} failed to load: {broken[0].error}"
    assert name in catalog, f"no {what} {name!r} in the catalog; known: {sorted(catalog)}"


def check_optimizer(name: str, *, task: str = "digits-mlp") -> None:
    """The entry loads, its class builds from param groups, trains ``task`` without diverging
    at small (alpha, epsilon), and fused training equals one-config training in float64."""
    from workers.optimizers import optimizer_class
    from workers.registry import OPTIMIZERS

    _loaded(name, OPTIMIZERS, "optimizer")
    optimizer_class(OPTIMIZERS[name])
    _agree(task, name, {"epochs": 2, "subset": 300})


def check_task(name: str, *, optimizer: str = "adam") -> None:
    """The entry loads, its default recipe validates, its module loads data and builds a model,
    and one-config (and, where the model allows, fused) training agree in float64."""
    from workers.registry import TASKS, recipe_for
    from workers.tasks import task_module

    _loaded(name, TASKS, "task")
    recipe = recipe_for(name, {"epochs": 2})
    module = task_module(name)
    data = module.load_data(recipe, None)
    assert len(data.x_train) and len(data.x_val), "empty training or validation split"
    module.build_model(recipe)
    _agree(name, optimizer, {"epochs": 2})
