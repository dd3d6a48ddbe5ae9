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
trains every rung from scratch (``service.analysis.fidelity.can_continue``).

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


def capture(
    weights: list[dict[str, torch.Tensor]],
    opt: torch.optim.Optimizer,
    sched: Any,
    order: torch.Generator,
    records: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Each config's state (config j: group j of the optimizer and of the scheduler), detached
    and cloned; ``records`` adds the loop's own (epoch, curve, epochs run, seconds)."""
    state = opt.state_dict()
    sched_state = None if sched is None else sched.state_dict()
    out = []
    for j, record in enumerate(records):
        group = state["param_groups"][j]
        out.append(
            {
                "weights": _clone(weights[j]),
                "group": {k: v for k, v in group.items() if k != "params"},
                "param_state": [_clone(state["state"].get(index)) for index in group["params"]],
                "sched": None
                if sched_state is None
                else {k: ([v[j]] if k in PER_GROUP else _clone(v)) for k, v in sched_state.items()},
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
    state = opt.state_dict()
    for j, saved in enumerate(states):
        indices = state["param_groups"][j]["params"]
        state["param_groups"][j] = {**saved["group"], "params": indices}
        for index, param_state in zip(indices, saved["param_state"], strict=True):
            if param_state is not None:
                state["state"][index] = param_state
    opt.load_state_dict(state)
    if sched is not None:
        merged = dict(states[0]["sched"])
        for key in PER_GROUP:
            if key in merged:
                merged[key] = [saved["sched"][key][0] for saved in states]
        sched.load_state_dict(merged)
    order.set_state(states[0]["order"])
    torch.set_rng_state(states[0]["rng"])
