"""Step-by-step parity of the hand-written optimizers with reference implementations, in float64.

    python -m tests.workers.parity        # prints the parity table

References (test dependencies, pinned in pyproject.toml): ``adabelief-pytorch`` 0.2.1 (the
AdaBelief authors' package), ``adabound`` 0.0.5 (the AdaBound authors' package),
``pytorch-optimizer``'s AvaGrad (which mirrors the AvaGrad authors' code), Lookahead and
AdaShift (the AdaShift paper's algorithm; see workers/optimizers/_adashift.py for the departures), torch itself for the built-ins, and for Delayed Adam (no published code) a
plain NumPy transcription of its equations.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from tunecost.workers.build import make_optimizer
from tunecost.workers.optimizers import (
    AdaBelief,
    AdaBound,
    AdaShift,
    AMSBound,
    AvaGrad,
    AvaGradW,
    DelayedAdam,
)

STEPS = 150
Factory = Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer]


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()


def _batches(seed: int, steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(16, 6, generator=gen, dtype=torch.float64), torch.randint(0, 3, (16,), generator=gen))
        for _ in range(steps)
    ]


def max_abs_diff(ours: Factory, reference: Factory, *, steps: int = STEPS, seed: int = 0) -> float:
    """Train two copies of one model on the same batches; the largest parameter gap seen."""
    a, b = _model(seed), _model(seed)
    opt_a, opt_b = ours(list(a.parameters())), reference(list(b.parameters()))
    worst = 0.0
    for step, (x, y) in enumerate(_batches(seed, steps), start=1):
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        if step == 1 and getattr(opt_b, "_tunecost_after_first_step", None):
            opt_b._tunecost_after_first_step()
        gap = max((pa - pb).abs().max().item() for pa, pb in zip(a.parameters(), b.parameters(), strict=True))
        worst = max(worst, gap)
    return worst


def _AdaShiftReference(params: list[torch.nn.Parameter], **kw: object) -> torch.optim.Optimizer:  # noqa: N802
    from pytorch_optimizer import AdaShift as Reference

    return Reference(params, foreach=False, **kw)  # the loop the paper's algorithm reads as


def _adabound_reference(**kw: object) -> Factory:
    def build(params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        import warnings

        from adabound import AdaBound as Reference

        with warnings.catch_warnings():  # the package uses torch's deprecated add_(scalar, tensor)
            warnings.simplefilter("ignore")
            return _Quiet(Reference(params, **kw))

    return build


class _Quiet:
    """Steps a reference optimizer with its deprecation warnings silenced."""

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.opt = opt

    def zero_grad(self) -> None:
        self.opt.zero_grad()

    def step(self) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.opt.step()


def _lookahead_reference(k: int, alpha: float, inner: Factory | None = None) -> Factory:
    def build(params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        from pytorch_optimizer import Lookahead

        base = inner(params) if inner else torch.optim.Adam(params, lr=1e-2, eps=1e-8)
        return Lookahead(base, k=k, alpha=alpha)

    return build


def _adabelief_reference(**kw: object) -> Factory:
    from adabelief_pytorch import AdaBelief as Reference

    def build(params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints its change log
            return Reference(params, print_change_log=False, **kw)

    return build


def _avagrad_reference(*, decoupled: bool, lr: float, eps: float, weight_decay: float = 0.0) -> Factory:
    from pytorch_optimizer import AvaGrad as Reference

    def build(params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        first_decay = 0.0 if decoupled else weight_decay
        opt = Reference(
            params, lr=lr, eps=eps, weight_decay=first_decay, weight_decouple=decoupled, foreach=False
        )
        if decoupled:
            # The AvaGrad authors' AvaGradW starts decaying at step 2 (with the first update);
            # pytorch-optimizer decays from step 1. Switch its decay on after step 1.
            def enable_decay() -> None:
                for group in opt.param_groups:
                    group["weight_decay"] = weight_decay

            opt._tunecost_after_first_step = enable_decay  # type: ignore[attr-defined]
        return opt

    return build


class _NumpyDelayedAdam(torch.optim.Optimizer):
    """Delayed Adam's equations, transcribed with NumPy, one scalar array per parameter."""

    def __init__(
        self, params: list[torch.nn.Parameter], lr: float, betas: tuple[float, float], eps: float
    ) -> None:
        super().__init__(params, {"lr": lr})
        self.b1, self.b2, self.eps, self.t = betas[0], betas[1], eps, 0
        self.m = [np.zeros(p.shape) for p in params]
        self.v = [np.zeros(p.shape) for p in params]

    @torch.no_grad()
    def step(self, closure: object = None) -> None:  # type: ignore[override]
        self.t += 1
        lr = self.param_groups[0]["lr"]
        for i, p in enumerate(self.param_groups[0]["params"]):
            g = p.grad.numpy()
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            if self.t > 1:
                v_hat = self.v[i] / (1 - self.b2 ** (self.t - 1))
                update = lr / (1 - self.b1**self.t) * self.m[i] / (np.sqrt(v_hat) + self.eps)
                p.sub_(torch.from_numpy(update))
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g


@dataclass(frozen=True)
class Case:
    name: str
    reference: str
    ours: Factory
    theirs: Factory


def cases() -> list[Case]:
    return [
        Case(
            "AvaGrad",
            "pytorch-optimizer AvaGrad(weight_decouple=False)",
            lambda p: AvaGrad(p, lr=0.5, eps=0.1),
            _avagrad_reference(decoupled=False, lr=0.5, eps=0.1),
        ),
        Case(
            "AvaGrad wd=1e-2",
            "pytorch-optimizer AvaGrad(weight_decouple=False)",
            lambda p: AvaGrad(p, lr=0.5, eps=1e-3, weight_decay=1e-2),
            _avagrad_reference(decoupled=False, lr=0.5, eps=1e-3, weight_decay=1e-2),
        ),
        Case(
            "AvaGradW wd=1e-2",
            "pytorch-optimizer AvaGrad(weight_decouple=True), decay from step 2",
            lambda p: AvaGradW(p, lr=0.5, eps=1e-2, weight_decay=1e-2),
            _avagrad_reference(decoupled=True, lr=0.5, eps=1e-2, weight_decay=1e-2),
        ),
        Case(
            "AdaBelief",
            "adabelief-pytorch 0.2.1 (defaults)",
            lambda p: AdaBelief(p, lr=1e-2, eps=1e-12),
            _adabelief_reference(lr=1e-2, eps=1e-12),
        ),
        Case(
            "AdaBelief rectify=False",
            "adabelief-pytorch 0.2.1",
            lambda p: AdaBelief(p, lr=1e-2, eps=1e-8, rectify=False),
            _adabelief_reference(lr=1e-2, eps=1e-8, rectify=False),
        ),
        Case(
            "AdaBelief amsgrad, L2 wd",
            "adabelief-pytorch 0.2.1",
            lambda p: AdaBelief(p, lr=1e-2, eps=1e-8, amsgrad=True, weight_decouple=False, weight_decay=1e-3),
            _adabelief_reference(lr=1e-2, eps=1e-8, amsgrad=True, weight_decouple=False, weight_decay=1e-3),
        ),
        Case(
            "AdaBelief AdamW-style wd",
            "adabelief-pytorch 0.2.1",
            lambda p: AdaBelief(p, lr=1e-2, eps=1e-16, weight_decay=5e-2),
            _adabelief_reference(lr=1e-2, eps=1e-16, weight_decay=5e-2),
        ),
        Case(
            "DelayedAdam",
            "NumPy transcription of its equations",
            lambda p: DelayedAdam(p, lr=1e-2, eps=1e-8),
            lambda p: _NumpyDelayedAdam(p, lr=1e-2, betas=(0.9, 0.999), eps=1e-8),
        ),
        Case(
            "AdaBound",
            "adabound 0.0.5",
            lambda p: AdaBound(p, lr=1e-2, eps=1e-8),
            _adabound_reference(lr=1e-2, eps=1e-8),
        ),
        Case(
            "AdaBound L2 wd, gamma 0.1",
            "adabound 0.0.5",
            lambda p: AdaBound(p, lr=1e-2, gamma=0.1, final_lr=0.05, weight_decay=1e-3),
            _adabound_reference(lr=1e-2, gamma=0.1, final_lr=0.05, weight_decay=1e-3),
        ),
        Case(
            "AMSBound",
            "adabound 0.0.5 (amsbound=True)",
            lambda p: AMSBound(p, lr=1e-2, eps=1e-8),
            _adabound_reference(lr=1e-2, eps=1e-8, amsbound=True),
        ),
        Case(
            "AdaShift",
            "pytorch-optimizer AdaShift (keep_num 10, torch.max)",
            lambda p: AdaShift(p, lr=1e-2, eps=1e-8),
            lambda p: _AdaShiftReference(p, lr=1e-2, eps=1e-8),
        ),
        Case(
            "AdaShift n=3, beta1 0.5",
            "pytorch-optimizer AdaShift",
            lambda p: AdaShift(p, lr=3e-3, betas=(0.5, 0.99), keep_num=3, eps=1e-6),
            lambda p: _AdaShiftReference(p, lr=3e-3, betas=(0.5, 0.99), keep_num=3, eps=1e-6),
        ),
        Case(
            "Lookahead(Adam) k=5 alpha=0.5",
            "pytorch-optimizer Lookahead",
            lambda p: make_optimizer("adam", [(p, 1e-2, 1e-8)], lookahead={"k": 5, "alpha": 0.5}),
            _lookahead_reference(5, 0.5),
        ),
        Case(
            "Lookahead(AvaGrad) k=3 alpha=0.8",
            "pytorch-optimizer Lookahead",
            lambda p: make_optimizer("avagrad", [(p, 0.1, 0.1)], lookahead={"k": 3, "alpha": 0.8}),
            _lookahead_reference(3, 0.8, inner=lambda p: AvaGrad(p, lr=0.1, eps=0.1)),
        ),
        Case(
            "registry sgd",
            "torch.optim.SGD(momentum=0.9)",
            lambda p: make_optimizer("sgd", [(p, 0.1, 1e-8)]),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        ),
        Case(
            "registry adam",
            "torch.optim.Adam",
            lambda p: make_optimizer("adam", [(p, 1e-2, 1e-6)]),
            lambda p: torch.optim.Adam(p, lr=1e-2, eps=1e-6),
        ),
        Case(
            "registry amsgrad",
            "torch.optim.Adam(amsgrad=True)",
            lambda p: make_optimizer("amsgrad", [(p, 1e-2, 1e-6)]),
            lambda p: torch.optim.Adam(p, lr=1e-2, eps=1e-6, amsgrad=True),
        ),
        Case(
            "registry adamw",
            "torch.optim.AdamW",
            lambda p: make_optimizer("adamw", [(p, 1e-2, 1e-6)]),
            lambda p: torch.optim.AdamW(p, lr=1e-2, eps=1e-6),
        ),
        Case(
            "registry radam",
            "torch.optim.RAdam",
            lambda p: make_optimizer("radam", [(p, 1e-2, 1e-6)]),
            lambda p: torch.optim.RAdam(p, lr=1e-2, eps=1e-6),
        ),
    ]


def main() -> None:
    print(f"{'optimizer':28} {'reference':62} {'steps':>5} {'max abs diff':>13}")
    for case in cases():
        print(f"{case.name:28} {case.reference:62} {STEPS:>5} {max_abs_diff(case.ours, case.theirs):13.3e}")


if __name__ == "__main__":
    main()
