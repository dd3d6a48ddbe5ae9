from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.workers.parity import STEPS, cases, max_abs_diff
from tunecost.workers.build import make_optimizer
from tunecost.workers.catalog import OPTIMIZERS
from tunecost.workers.optimizers import AdaBelief, AdaBound, AdaShift, AvaGrad, AvaGradW, DelayedAdam

HAND_WRITTEN = [AvaGrad, AvaGradW, AdaBelief, DelayedAdam, AdaBound, AdaShift]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_parity_with_reference_in_float64(case) -> None:  # type: ignore[no-untyped-def]
    assert STEPS >= 100
    assert max_abs_diff(case.ours, case.theirs) < 1e-12


def test_parity_check_catches_a_wrong_epsilon() -> None:
    """The parity harness itself must be able to fail."""
    (case,) = [c for c in cases() if c.name == "AvaGrad"]
    assert max_abs_diff(lambda p: AvaGrad(p, lr=0.5, eps=0.2), case.theirs) > 1e-4


@pytest.mark.parametrize("cls", HAND_WRITTEN)
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, "Invalid learning rate: -1.0"),
        ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
        ({"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
        ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
        ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
        ({"lr": float("nan")}, "Invalid learning rate: nan"),
    ],
)
def test_bad_hyperparameters_raise_naming_them(cls: type, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cls([torch.nn.Parameter(torch.zeros(2))], **kwargs)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_registered_optimizer_minimizes_a_quadratic(name: str) -> None:
    torch.manual_seed(0)
    target = torch.randn(10)
    w = torch.nn.Parameter(torch.zeros(10))
    info = OPTIMIZERS[name]
    # library defaults, with alpha at least 1e-2 so 1000 steps can cover the distance
    opt = make_optimizer(name, [([w], max(info.default_alpha, 1e-2), info.default_epsilon)])
    start = ((w - target) ** 2).sum().item()
    for _ in range(1000):
        opt.zero_grad()
        loss = ((w - target) ** 2).sum()
        loss.backward()
        opt.step()
    assert ((w - target) ** 2).sum().item() < 0.05 * start


@pytest.mark.parametrize("cls", [AvaGrad, AvaGradW, DelayedAdam])
def test_delayed_methods_do_not_move_at_step_one(cls: type) -> None:
    w = torch.nn.Parameter(torch.ones(3))
    opt = cls([w], lr=0.1)
    w.grad = torch.full((3,), 5.0)
    opt.step()
    assert torch.equal(w.detach(), torch.ones(3))
    opt.step()
    assert not torch.equal(w.detach(), torch.ones(3))


def test_avagrad_with_huge_epsilon_is_sgd_with_ema_momentum() -> None:
    """gamma cancels epsilon's scale: as eps grows, AvaGrad becomes SGD on the EMA m_t with the
    same alpha (the paper's point that alpha and epsilon decouple), unlike Adam, whose step vanishes."""
    torch.manual_seed(0)
    start = torch.randn(5, dtype=torch.float64)
    w = torch.nn.Parameter(start.clone())
    opt = AvaGrad([w], lr=0.01, eps=1e9)
    ref, m = start.clone(), torch.zeros(5, dtype=torch.float64)
    for t in range(1, 31):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
        m = 0.9 * m + 0.1 * (2 * ref)
        if t > 1:
            ref = ref - 0.01 * m / (1 - 0.9**t)
    torch.testing.assert_close(w.detach(), ref, rtol=1e-6, atol=1e-9)
    assert (w.detach() - start).abs().max() > 0.05, "it moved like SGD would"


def test_state_dict_round_trip_continues_identically() -> None:
    def run(resume: bool) -> torch.Tensor:
        torch.manual_seed(0)
        w = torch.nn.Parameter(torch.randn(4, dtype=torch.float64))
        opt = AvaGrad([w], lr=0.05, eps=1e-3)
        for i in range(10):
            if resume and i == 5:
                state = opt.state_dict()
                opt = AvaGrad([w], lr=0.05, eps=1e-3)
                opt.load_state_dict(state)
            opt.zero_grad()
            (w**2).sum().backward()
            opt.step()
        return w.detach()

    torch.testing.assert_close(run(False), run(True))


def test_adashift_without_bias_correction_is_the_papers_algorithm_3() -> None:
    """A NumPy transcription of the paper's pseudo-code: m_t the explicit windowed sum, v_t from
    the max of the gradient n steps back, no step for t <= n; epsilon is our one addition."""
    n, beta1, beta2, lr, eps = 3, 0.8, 0.9, 0.05, 1e-8
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(12, 4))
    w = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    opt = AdaShift([w], lr=lr, betas=(beta1, beta2), keep_num=n, eps=eps, bias_correction=False)
    theta, v = np.zeros(4), 0.0
    weights = beta1 ** np.arange(n)
    for t in range(1, len(grads) + 1):
        w.grad = torch.from_numpy(grads[t - 1].copy())
        opt.step()
        if t > n:
            m = sum(weights[i] * grads[t - 1 - i] for i in range(n)) / weights.sum()
            v = beta2 * v + (1 - beta2) * np.max(grads[t - 1 - n] ** 2)
            theta = theta - lr * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(w.detach().numpy(), theta, rtol=1e-12, atol=1e-15)
    assert np.abs(theta).max() > 0.1  # it moved
