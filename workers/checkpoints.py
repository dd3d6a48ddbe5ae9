"""A model's training state at the end of a rung, so a successive-halving sweep continues a
promoted node instead of training it again from scratch.

One config's state is its weights, its optimizer parameter group and that group's per-parameter
state, its share of the learning-rate scheduler's state, the data-order generator and torch's
RNG, and the loop's own record (curve, epochs run, seconds). The states of K configs, each saved
from whatever batch it trained in, are put back into a fresh optimizer and scheduler of K groups
through their own ``load_state_dict``: any ``torch.optim.Optimizer`` and torch scheduler, built-in
or a plugin's, without knowing its maths. Continuing gives bit for bit the run that never
stopped (``tests/service/test_runner.py`` checks the sweep against the full one). A Lookahead
wrapper (``recipe.lookahead``) keeps its slow weights outside the optimizer: such a recipe
trains every rung from scratch (``tunecost.service.analysis.fidelity.can_continue``).

A batched optimizer (:mod:`tunecost.workers.optimizers._batched`: one group over the stacked tensors)
is split the same way along the config dimension: config j's slice of each per-parameter
tensor and of each per-config group entry, the shared step and schedule as they are. A state
records which path wrote it (``"path"``); :func:`restore` puts back only states of the path it
is given, and the sweep trains from scratch rather than mix them (:func:`resumable`).

Hand-written: torch's ``state_dict`` covers a whole optimizer or scheduler; nothing in torch
or Ray Tune splits one per parameter group and joins groups from different runs.
"""

from __future__ import annotations

from typing import Any

import torch

PER_GROUP = ("base_lrs", "_last_lr")  # a torch scheduler's state that has one entry per group


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _batched(opt: Any) -> bool:
    # torch: only where training runs, never in the API process
    from tunecost.workers.optimizers import BatchedOptimizer

    return isinstance(opt, BatchedOptimizer)


def _slice(value: Any, j: int) -> Any:
    """Config j's part of a batched value: a tensor's j-th row; scalars (the step) are shared."""
    return value[j].detach().clone() if isinstance(value, torch.Tensor) and value.dim() > 0 else _clone(value)


def resumable(states: list[dict[str, Any]], path: str) -> bool:
    """Whether ``states`` were all written by the update ``path`` a batch will take now."""
    return all(state.get("path", "groups") == path for state in states)


def capture(
    weights: list[dict[str, torch.Tensor]],
    opt: torch.optim.Optimizer,
    sched: Any,
    order: torch.Generator,
    records: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Each config's state (config j: group j of the optimizer and of the scheduler, or its
    slices of a batched optimizer), detached and cloned; ``records`` adds the loop's own (epoch, curve, epochs run, seconds)."""
    state = opt.state_dict()
    sched_state = None if sched is None else sched.state_dict()
    batched = _batched(opt)
    out = []
    for j, record in enumerate(records):
        if batched:  # one group: config j's slices of it
            group = state["param_groups"][0]
            per_config = set(opt.per_config)  # type: ignore[attr-defined]
            kept = {
                k: (_slice(v, j) if k in per_config else _clone(v)) for k, v in group.items() if k != "params"
            }
            param_state = [
                None
                if index not in state["state"]
                else {k: _slice(v, j) for k, v in state["state"][index].items()}
                for index in group["params"]
            ]
        else:
            group = state["param_groups"][j]
            kept = {k: v for k, v in group.items() if k != "params"}
            param_state = [_clone(state["state"].get(index)) for index in group["params"]]
        out.append(
            {
                "path": "batched" if batched else "groups",
                "weights": _clone(weights[j]),
                "group": kept,
                "param_state": param_state,
                "sched": None
                if sched_state is None
                else {
                    k: ([v[j]] if k in PER_GROUP and not batched else _clone(v))
                    for k, v in sched_state.items()
                },
                "order": order.get_state(),
                "rng": torch.get_rng_state(),
                **record,
            }
        )
    return out


def restore(
    states: list[dict[str, Any]], opt: torch.optim.Optimizer, sched: Any, order: torch.Generator
) -> None:
    """Put K configs' states into a fresh optimizer and scheduler of K groups (same order), and
    the generators where the first config left them (every config of a sweep shares the seed,
    so they are the same)."""
    path = "batched" if _batched(opt) else "groups"
    if not resumable(states, path):
        raise ValueError(f"these states were not all written by the {path} update: train from scratch")
    state = opt.state_dict()
    if path == "batched":
        _restore_batched(states, opt, state)
    else:
        _restore_groups(states, state)
    opt.load_state_dict(state)
    if sched is not None:
        merged = dict(states[0]["sched"])
        for key in PER_GROUP:
            if key in merged and path == "groups":
                merged[key] = [saved["sched"][key][0] for saved in states]
        sched.load_state_dict(merged)
    order.set_state(states[0]["order"])
    torch.set_rng_state(states[0]["rng"])


def _join(values: list[Any]) -> Any:
    """K configs' slices stacked back; a shared value (a scalar, the step) taken from the first."""
    return torch.stack(values) if isinstance(values[0], torch.Tensor) else values[0]


def _restore_batched(states: list[dict[str, Any]], opt: Any, state: dict[str, Any]) -> None:
    group = state["param_groups"][0]
    per_config = set(opt.per_config)
    for key in states[0]["group"]:
        values = [saved["group"][key] for saved in states]
        group[key] = _join(values) if key in per_config and values[0] is not None else values[0]
    for n, index in enumerate(group["params"]):
        slices = [saved["param_state"][n] for saved in states]
        if slices[0] is not None:
            state["state"][index] = {key: _join([s[key] for s in slices]) for key in slices[0]}


def _restore_groups(states: list[dict[str, Any]], state: dict[str, Any]) -> None:
    for j, saved in enumerate(states):
        indices = state["param_groups"][j]["params"]
        state["param_groups"][j] = {**saved["group"], "params": indices}
        for index, param_state in zip(indices, saved["param_state"], strict=True):
            if param_state is not None:
                state["state"][index] = param_state
