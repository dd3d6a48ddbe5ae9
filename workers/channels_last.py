"""A fused CNN laid out channels-last on a CPU: the stacked convolutions and pools in oneDNN's layout.

``vmap`` over a CNN turns K stacked convolutions into one grouped convolution whose channels
hold the K configs side by side, laid out ``(N, K*C, H, W)``. Two things then run far below the
machine's pace on a CPU (issue 28; digits-cnn, 17 configs, one step):

* ``vmap``'s rule for ``max_pool2d`` folds the K configs into the *batch* dimension (a copy to
  ``(K*N, C, H, W)``) and torch's CPU pool in that layout walks each small plane apart: 5.0 ms
  forward, against 0.4 ms for the same pool over ``(N, K*C, H, W)`` channels-last, whose
  kernel runs along the K*C channels;
* an elementwise op over two tensors of different layouts (a ReLU's backward once one side is
  channels-last) runs ~4x slower than over one layout.

So on a CPU every tensor of the fused path is kept channels-last: a 4-d input is laid out so
(:func:`channels_last_input`), each conv weight is stacked so that ``vmap``'s grouped weight is
(:func:`stack_conv_weight`: oneDNN then writes channels-last outputs, and their gradients), and
each ``nn.MaxPool2d`` pools with the configs folded into the channels (:class:`FoldedMaxPool2d`),
taking and giving its gradient channels-last. One fused digits-cnn step (17 configs):
14.3 ms -> 10.7 ms; a whole fused run of 64 configs, 1.16x faster (1.10-1.24 over three
alternations in one process).
The maths is the same: a pool's maximum and where it came from do not depend on the layout,
and float64 training equals one config at a time (``tests/workers/test_fused.py``).

Hand-written: ``vmap`` has no channels-last support (``contiguous(memory_format=...)`` raises
under it) and its pool rule is fixed; :class:`torch.autograd.Function`'s ``vmap`` staticmethod
is torch's way to give an op its own rule.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch._C._functorch import is_batchedtensor

CL = torch.channels_last


def wanted(base: nn.Module) -> bool:
    """Whether a fused stack of ``base`` is laid out channels-last: a model with a 2-d
    convolution, on a CPU (where oneDNN's convolutions and torch's pools are measured faster
    so; on a GPU the layout is left as ``vmap`` makes it), made of torch's own layers only
    (``nn.Sequential`` and the layers of ``torch.nn``). A model with a forward of its own may
    ``view`` an activation, which a channels-last activation refuses: its layout is left as it
    is, and it trains as before."""
    params = list(base.parameters())
    on_cpu = bool(params) and params[0].device.type == "cpu"
    modules = list(base.modules())
    return (
        on_cpu
        and any(isinstance(m, nn.Conv2d) for m in modules)
        and all(type(m).__module__.startswith("torch.nn.modules.") for m in modules)
    )


def fold_pools(base: nn.Module) -> nn.Module:
    """``base`` with each plain ``nn.MaxPool2d`` (exactly that class: a subclass may pool
    otherwise) replaced by a :class:`FoldedMaxPool2d` of the same settings, in place."""
    for parent in list(base.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.MaxPool2d and not child.return_indices:
                setattr(parent, name, FoldedMaxPool2d.like(child))
    return base


def stack_conv_weight(p: torch.Tensor, k: int) -> torch.Tensor:
    """K copies of a conv weight ``(out, in, kh, kw)`` stacked ``(K, out, in, kh, kw)`` and laid
    out ``(K, out, kh, kw, in)`` in memory, so the grouped weight ``vmap`` makes by merging K
    and ``out`` is channels-last (a view, no copy), and oneDNN computes channels-last. One
    input channel: that layout is the contiguous one, stored with the contiguous strides, as
    autograd gives the gradient (a kernel walking memory compares strides)."""
    if p.shape[1] == 1:
        return p.unsqueeze(0).repeat(k, 1, 1, 1, 1)
    return p.permute(0, 2, 3, 1).unsqueeze(0).repeat(k, 1, 1, 1, 1).permute(0, 1, 4, 2, 3)


def channels_last_input(x: torch.Tensor) -> torch.Tensor:
    """A 4-d batch laid out channels-last, also where it has one channel (where torch's
    ``contiguous(memory_format=...)`` finds it already so, and convolutions read it as
    contiguous); any other tensor as it is. Called on every batch: the layout is checked by
    its strides, with nothing allocated unless a copy is made."""
    if x.dim() != 4:
        return x
    _, c, h, w = x.shape
    if x.stride() == (c * h * w, 1, w * c, c):  # channels-last already
        return x
    return torch.empty_like(x, memory_format=CL).copy_(x)


class FoldedMaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d``; under ``vmap`` (the fused path), the configs folded into the channels
    and pooled channels-last (:class:`_FoldedPool`). Outside ``vmap``, torch's pool as it is."""

    @classmethod
    def like(cls, pool: nn.MaxPool2d) -> FoldedMaxPool2d:
        return cls(pool.kernel_size, pool.stride, pool.padding, pool.dilation, False, pool.ceil_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not is_batchedtensor(x):
            return super().forward(x)
        return _FoldedPool.apply(x, self._settings())

    def _settings(self) -> tuple[Any, ...]:
        pair = nn.modules.utils._pair  # torch's pool sets a stride left None to the kernel size
        return (
            pair(self.kernel_size),
            pair(self.stride),
            pair(self.padding),
            pair(self.dilation),
            self.ceil_mode,
        )


class _FoldedPool(torch.autograd.Function):
    """A max-pool whose ``vmap`` rule folds the configs into the channels: the batched
    ``(N, K, C, H, W)`` (or ``(K, C, H, W)`` for one unbatched image) pooled as
    ``(N, K*C, H, W)`` channels-last by :class:`_ChannelsLastPool`, whose autograd the rule's
    tensors carry (the rule runs below ``vmap``, where torch's autograd records as usual)."""

    @staticmethod
    def forward(x: torch.Tensor, settings: tuple[Any, ...]) -> torch.Tensor:  # type: ignore[override]
        return F.max_pool2d(x, *settings)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:  # type: ignore[override]
        raise RuntimeError("FoldedMaxPool2d pools this way only under vmap")

    @staticmethod
    def vmap(info: Any, in_dims: tuple[Any, ...], x: torch.Tensor, settings: tuple[Any, ...]) -> Any:
        dim = in_dims[0]
        if dim is None:
            return F.max_pool2d(x, *settings), None
        if x.dim() == 5:  # a batch: (N, K, C, H, W)
            x = x.movedim(dim, 1)
            n, k, c, h, w = x.shape
            out = _ChannelsLastPool.apply(x.reshape(n, k * c, h, w), settings)
            return out.view(n, k, c, *out.shape[-2:]), 1
        x = x.movedim(dim, 0)  # one image: (K, C, H, W)
        k, c, h, w = x.shape
        out = _ChannelsLastPool.apply(x.reshape(1, k * c, h, w), settings)
        return out.view(k, c, *out.shape[-2:]), 0


class _ChannelsLastPool(torch.autograd.Function):
    """torch's max-pool over a channels-last ``(N, C, H, W)``, its gradient taken channels-last
    too (a gradient in the other layout costs the backward 1.4 ms against 0.2: 64 x 272 x 8 x 8,
    measured). Differentiable twice, as torch's is: the backward is torch's own op."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, settings: tuple[Any, ...]) -> torch.Tensor:  # type: ignore[override]
        x = x.contiguous(memory_format=CL)
        out, indices = torch.ops.aten.max_pool2d_with_indices(x, *settings)
        ctx.save_for_backward(x, indices)
        ctx.settings = settings
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:  # type: ignore[override]
        x, indices = ctx.saved_tensors
        grad = grad.contiguous(memory_format=CL)
        return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, *ctx.settings, indices), None
