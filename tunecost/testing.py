"""Conformance checks a plugin's own test suite can run (as ``optuna.testing`` does for samplers).

    from tunecost.testing import check_optimizer, check_task

    def test_my_optimizer():
        check_optimizer("my-optimizer")   # the name of its catalog entry

Each raises ``AssertionError`` with what went wrong, whatever went wrong: an exception the
plugin's code raised (an import, a constructor, a training step) becomes an ``AssertionError``
that says which check it broke, with the original as its cause. Needs the ``train`` extra (torch).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CONFIGS = [(1e-3, 1e-8), (1e-2, 1e-4)]


@contextmanager
def _checking(what: str) -> Iterator[None]:
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _agree(task: str, optimizer: str, recipe: dict[str, Any]) -> None:
    # torch: only where training runs, never in the API process
    import torch

    # torch: only where training runs, never in the API process
    from tunecost.workers.fused import can_fuse, train_fused
    from tunecost.workers.trainer import train_one

    with _checking(f"training {task} with {optimizer}, one config at a time"):
        ones = [
            train_one(task, optimizer, a, e, seed=1, recipe=recipe, dtype=torch.float64) for a, e in CONFIGS
        ]
    assert all(not one.diverged for one in ones), f"{optimizer} on {task} diverged at {CONFIGS}"
    if not can_fuse(task, optimizer):
        return
    # torch: only where training runs, never in the API process
    from tunecost.workers.build import has_batched

    # every update a fused sweep may take: one parameter group per model, and the batched step
    for path in ["groups", "batched"] if has_batched(optimizer) else ["groups"]:
        with _checking(f"training {task} with {optimizer}, fused ({path} update)"):
            fused = train_fused(
                task, optimizer, CONFIGS, seed=1, recipe=recipe, dtype=torch.float64, path=path
            )
        for (a, e), one, f in zip(CONFIGS, ones, fused, strict=True):
            gap = abs(one.val_loss - f.val_loss)
            assert gap < 1e-8, (
                f"fused ({path} update) and one-config training differ by {gap:.2e} at alpha={a}, eps={e}"
            )


def _loaded(name: str, catalog: Any, what: str) -> None:
    # the catalog loads when a check runs: importing tunecost.testing stays light; the service's
    # own checks on entries (a default grid must be a named one) come with service.specs
    import tunecost.service.specs  # noqa: F401
    from tunecost.workers.catalog import plugin_errors

    broken = [e for e in plugin_errors() if e.name == name]
    assert not broken, f"plugin {name!r} failed to load: {broken[0].error}"
    assert name in catalog, f"no {what} {name!r} in the catalog; known: {sorted(catalog)}"


def check_optimizer(name: str, *, task: str = "digits-mlp") -> None:
    """The entry loads, its class builds from param groups, trains ``task`` without diverging
    at small (alpha, epsilon), and fused training equals one-config training in float64 (each
    update a fused sweep may take: one group per model, and the entry's batched step if any)."""
    # torch: only where training runs, never in the API process
    from tunecost.workers.build import optimizer_class
    from tunecost.workers.catalog import OPTIMIZERS

    _loaded(name, OPTIMIZERS, "optimizer")
    with _checking(f"importing {OPTIMIZERS[name].optimizer!r} (the entry's `optimizer`)"):
        optimizer_class(OPTIMIZERS[name])
    _agree(task, name, {"epochs": 2, "subset": 300})


def check_task(name: str, *, optimizer: str = "adam") -> None:
    """The entry loads, its default recipe validates, its module loads data and builds a model,
    and one-config (and, where the model allows, fused) training agree in float64."""
    # the catalog loads when a check runs: importing tunecost.testing stays light
    from tunecost.workers.build import task_module
    from tunecost.workers.catalog import TASKS, recipe_for

    _loaded(name, TASKS, "task")
    with _checking("the default recipe with epochs=2"):
        recipe = recipe_for(name, {"epochs": 2})
    with _checking(f"importing {TASKS[name].module!r} (the entry's `module`)"):
        module = task_module(name)
    with _checking("load_data(recipe, data_dir=None)"):
        data = module.load_data(recipe, None)
    assert len(data.x_train) and len(data.x_val), "empty training or validation split"
    with _checking("build_model(recipe)"):
        module.build_model(recipe)
    _agree(name, optimizer, {"epochs": 2})
