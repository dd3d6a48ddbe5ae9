"""The batched update: K configs of one optimizer stepped as one, over stacked tensors.

A fused sweep trains K copies of a model stacked along a leading dimension
(:class:`tunecost.workers.fused.StackedModels`). The plain way to update them is one optimizer with one
parameter group per copy: the same maths for any optimizer, but a Python loop of ~7 small
kernels per tensor per config (41% of a fused MLP step on a CPU, issue 28). A *batched*
optimizer updates each stacked tensor once, with each config's alpha and epsilon as a tensor of
K values broadcast along the leading dimension -- as ``torch/optim/adam.py`` keeps
``_multi_tensor_adam`` beside ``_single_tensor_adam``, each optimizer's batched step sits
beside its plain one and is checked equal to it in float64 (``tests/workers/test_fused.py``).

The contract (:class:`BatchedOptimizer`), which a plugin may implement too (docs/PLUGINS.md):

* ``Class(params, alpha, eps, **options)``: ``params`` the stacked tensors ``(K, ...)``,
  ``alpha`` and ``eps`` K floats each; ``options`` as the plain class takes them (same
  defaults);
* one parameter group, whose ``lr`` is the learning-rate schedule's *scale* (1.0 at the start;
  torch's schedulers multiply it as they would each plain group's alpha), so config k steps
  with ``lr * alpha[k]``;
* per-config values live in the group under the names in ``per_config`` (tensors of K values),
  per-parameter state as tensors with the leading K, and shared counters (the step) as
  scalars: :mod:`tunecost.workers.checkpoints` splits a batched state per config and joins it back on
  that rule alone.

Hand-written: torch's ``foreach`` kernels batch a *list* of tensors, each with one scalar
learning rate; nothing in torch steps a stacked tensor with a learning rate per slice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from tunecost.workers.optimizers._common import evaluate_closure, params_with_grads, rectification

BLOCK_FLOATS = 65_536  # of one stacked tensor, updated at once: with its gradient, state and a
# temporary, about 1 MiB, one core's L2 on the machine it was measured on


def column(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """K per-config values shaped to broadcast along ``like``'s leading (config) dimension."""
    return values.view(-1, *([1] * (like.dim() - 1)))


class BatchedOptimizer(Optimizer):
    """Base of the batched optimizers: one group over stacked tensors, alpha and epsilon per config.

    Subclasses implement :meth:`update` for one stacked tensor; ``step`` counts the shared step
    and hands each tensor its per-config learning rate ``lr * alpha`` and epsilon.
    """

    per_config: tuple[str, ...] = ("alpha", "eps")  # group entries holding one value per config
    buffers: tuple[str, ...] = ()  # per-parameter state tensors, created as zeros

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float],
        defaults: dict[str, Any],
    ) -> None:
        params = list(params)
        if not params:
            raise ValueError("a batched optimizer needs at least one stacked tensor")
        k = params[0].shape[0]
        if len(alpha) != k or len(eps) != k or any(p.dim() == 0 or p.shape[0] != k for p in params):
            raise ValueError(f"a batched optimizer needs K = {k} alphas, epsilons and stacked tensors of K")
        like = {"device": params[0].device, "dtype": params[0].dtype}
        super().__init__(
            params,
            {
                "lr": 1.0,
                "alpha": torch.tensor(list(alpha), **like),
                "eps": torch.tensor(list(eps), **like),
                **defaults,
            },
        )

    def update(
        self, group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], t: int
    ) -> None:
        raise NotImplementedError

    def finish(self, group: dict[str, Any]) -> None:
        """After every tensor of the group is updated (AvaGrad's gamma)."""

    def kernel_step(
        self, group: dict[str, Any], tensors: list[tuple[torch.Tensor, torch.Tensor, dict[str, Any]]]
    ) -> bool:
        """Step every tensor of ``group`` by a kernel of torch's own, if this optimizer has one
        that serves (:meth:`BatchedAdam.kernel_step`); False: :meth:`update` steps them."""
        return False

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's, then each state buffer laid out as its weights: a state joined from
        per-config slices (:mod:`tunecost.workers.checkpoints`) comes back stacked contiguous,
        and the update runs several times slower over mixed strides (:meth:`kernel_step`, which
        walks memory, declines them)."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p, {})
                for name in self.buffers:
                    if name in state and state[name].stride() != p.stride():
                        state[name] = torch.empty_like(p).copy_(state[name])

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """By :meth:`kernel_step` where it serves; else each stacked tensor updated in blocks of
        configs small enough that the update's passes (~10 trips through the tensor) stay in
        cache: streaming a whole (K, ...) tensor through memory ten times made a batched AvaGrad
        1.4x slower than one group per model on a 101k-parameter MLP, whose groups each fit in
        cache."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            tensors = list(params_with_grads(self, group, self.buffers))
            for _, _, state in tensors:
                state["step"] += 1
            if self.kernel_step(group, tensors):
                self.finish(group)
                continue
            for p, grad, state in tensors:
                block = max(1, BLOCK_FLOATS // max(p[0].numel(), 1))
                k = p.shape[0]
                for lo in range(0, k, block):
                    configs = slice(lo, min(lo + block, k))
                    self.update(
                        self._part(group, configs, k),
                        p[configs],
                        grad[configs],
                        {
                            n: v[configs] if isinstance(v, torch.Tensor) and v.dim() else v
                            for n, v in state.items()
                        },
                        state["step"],
                    )
            self.finish(group)
        return loss

    def _part(self, group: dict[str, Any], configs: slice, k: int) -> dict[str, Any]:
        """The group as configs ``configs`` see it: each per-config entry sliced, and the slice
        itself under ``"configs"`` (for an update that gathers per config, AvaGrad's gamma)."""
        part = {**group, "configs": configs}
        for name in self.per_config:
            value = group.get(name)
            if isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == k:
                part[name] = value[configs]
        return part


class BatchedSGD(BatchedOptimizer):
    """``torch.optim.SGD``'s single-tensor step, batched (no epsilon: ``eps`` is carried, unused)."""

    buffers = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float] | None = None,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        params = list(params)
        k = params[0].shape[0] if params else 0
        defaults = {
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, alpha, [0.0] * k if eps is None else eps, defaults)

    def update(
        self, group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], t: int
    ) -> None:
        lr = column(group["lr"] * group["alpha"], p)
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        momentum = group["momentum"]
        if momentum != 0:
            buf = state["momentum_buffer"]
            if t == 1:  # torch starts the buffer at the first gradient
                buf.copy_(grad)
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        p.sub_(grad * lr)


def _adam_moments(
    group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], lr: torch.Tensor
) -> None:
    """What torch's Adam and RAdam steps share: weight decay (L2 into the gradient, or decoupled:
    the weights shrunk by ``lr`` (a column) times the decay), then both moments."""
    beta1, beta2 = group["betas"]
    weight_decay = group["weight_decay"]
    if weight_decay != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(p, alpha=weight_decay)
    state["exp_avg"].lerp_(grad, 1 - beta1)
    state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)


class BatchedAdam(BatchedOptimizer):
    """``torch.optim.Adam``'s single-tensor step (``amsgrad``, L2 or decoupled decay), batched."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float],
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        self.buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
        self._kept_rows: tuple[tuple[Any, ...], list[list[list[torch.Tensor]]] | None] | None = None
        defaults = {
            "betas": tuple(betas),
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, alpha, eps, defaults)

    def update(
        self, group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], t: int
    ) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = column(group["lr"] * group["alpha"], p), column(group["eps"], p)
        _adam_moments(group, p, grad, state, lr)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        bias_correction1 = 1 - beta1**t
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        if group["amsgrad"]:
            torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        denom = second.sqrt().div_(bias_correction2_sqrt).add_(eps)
        p.sub_(torch.div(exp_avg, denom, out=denom).mul_(lr / bias_correction1))  # no new tensor

    def kernel_step(
        self, group: dict[str, Any], tensors: list[tuple[torch.Tensor, torch.Tensor, dict[str, Any]]]
    ) -> bool:
        """torch's fused Adam kernel (what ``torch.optim.Adam(fused=True)`` runs), called once
        per config over its slices of every tensor: one trip through memory where the broadcast
        update makes about ten (mnist5k-mlp, 19 configs: 1.9 ms a step against 4.9). Only on a
        CPU, where each config holds at least :data:`KERNEL_MIN_FLOATS` (below it, K calls cost
        more than the trips they save: digits-mlp's 208 configs of 9.6k floats step 1.8x
        slower), and where each tensor, its gradient and its state share one layout (the
        kernel walks memory, not indices: mixed strides would update the wrong elements)."""
        if not tensors or tensors[0][0].device.type != "cpu":
            return False
        if sum(p[0].numel() for p, _, _ in tensors) < KERNEL_MIN_FLOATS:
            return False
        per_config = self._kernel_rows(tensors)
        if per_config is None:
            return False
        kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
        beta1, beta2 = group["betas"]
        steps = [torch.tensor(float(state["step"]), dtype=torch.float64) for _, _, state in tensors]
        scale = float(group["lr"])
        alphas, epsilons = group["alpha"].tolist(), group["eps"].tolist()
        for (params, grads, exp_avgs, exp_avg_sqs, *maxima), alpha, eps in zip(
            per_config, alphas, epsilons, strict=True
        ):
            kernel(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                maxima[0] if maxima else [],
                steps,
                lr=scale * alpha,
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=eps,
                amsgrad=group["amsgrad"],
                maximize=False,
            )
        return True

    def _kernel_rows(
        self, tensors: list[tuple[torch.Tensor, torch.Tensor, dict[str, Any]]]
    ) -> list[list[list[torch.Tensor]]] | None:
        """Per config, the lists the kernel takes: its rows (:func:`_rows`) of the weights, the
        gradients and each state buffer, in ``buffers``' order (exp_avg, exp_avg_sq, then
        max_exp_avg_sq with amsgrad); None where a tensor, its gradient and its state are not
        laid out alike. The weights' and the state's rows are made once and kept while the same
        memory holds them (a loaded state replaces them): making K views of every tensor cost
        about a quarter of a step (mnist5k-mlp, 19 configs: 2.0 ms a step against 1.6). The
        kept views hold their memory, so no other tensor can take its address. A gradient is a
        new tensor every step (:meth:`tunecost.workers.fused.StackedModels.backward`): its rows
        are made anew."""
        laid = [(p, *(state[n] for n in self.buffers)) for p, _, state in tensors]
        key = tuple((t.data_ptr(), t.shape, t.stride()) for per_tensor in laid for t in per_tensor)
        if self._kept_rows is None or self._kept_rows[0] != key:
            rows = [[_rows(t) for t in per_tensor] for per_tensor in laid]
            alike = all(t.stride() == per_tensor[0].stride() for per_tensor in laid for t in per_tensor)
            kept = None
            if alike and all(r is not None for per_tensor in rows for r in per_tensor):
                kept = [
                    [[r[i][k] for r in rows] for i in range(len(rows[0]))] for k in range(len(rows[0][0]))
                ]
            self._kept_rows = (key, kept)
        kept = self._kept_rows[1]
        if kept is None or any(grad.stride() != p.stride() for p, grad, _ in tensors):
            return None
        grads = [_rows(grad) for _, grad, _ in tensors]
        if any(r is None for r in grads):
            return None
        return [
            [params, [r[k] for r in grads], *state]  # type: ignore[index]
            for k, (params, *state) in enumerate(kept)
        ]


KERNEL_MIN_FLOATS = 32_768  # per config, for torch's fused kernel to beat the broadcast update


def _rows(t: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
    """Each config's elements of a stacked ``t`` as one contiguous vector in memory order (views),
    or None where a config's elements are not one dense block led by the config dimension. A
    transposed weight's slice is dense but not contiguous, and the fused kernel would copy it to
    a contiguous one and back, every step."""
    order = [0, *sorted(range(1, t.dim()), key=lambda d: -t.stride(d))]
    dense = t.permute(order)
    return dense.reshape(t.shape[0], -1).unbind(0) if dense.is_contiguous() else None


class BatchedAdamW(BatchedAdam):
    """``torch.optim.AdamW`` batched: Adam with decoupled decay, default ``weight_decay=1e-2``."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float],
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, alpha, eps, betas, weight_decay, amsgrad, decoupled_weight_decay=True)


class BatchedRAdam(BatchedOptimizer):
    """``torch.optim.RAdam``'s single-tensor step, batched (the rectification depends on the
    step only, so it is one scalar for every config)."""

    buffers = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        alpha: Sequence[float],
        eps: Sequence[float],
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "betas": tuple(betas),
            "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, alpha, eps, defaults)

    def update(
        self, group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], t: int
    ) -> None:
        beta1, beta2 = group["betas"]
        lr = column(group["lr"] * group["alpha"], p)
        _adam_moments(group, p, grad, state, lr)
        corrected = state["exp_avg"] / (1 - beta1**t)
        # RAdam's rectification, sqrt(1 - beta2^t) included (None while rho_t < 5: no adaptive step)
        rect = rectification(beta2, t)
        if rect is not None:
            p.sub_(corrected * lr * rect / state["exp_avg_sq"].sqrt().add_(column(group["eps"], p)))
        else:
            p.sub_(corrected * lr)
