"""The fused sweep trainer equals the one-config trainer, in float64, config by config."""

from __future__ import annotations

import copy
import json
from unittest import mock

import pytest
import torch

from tunecost.workers.catalog import OPTIMIZERS, recipe_for
from tunecost.workers.fused import can_fuse, train_fused
from tunecost.workers.trainer import train_one

# well-behaved configs (chaotic ones at the edge of divergence amplify rounding differences)
CONFIGS = [(1e-3, 1e-8), (1e-2, 1e-6), (5e-2, 1e-3), (1e-4, 1e-2), (0.1, 1.0)]
RECIPE = {"epochs": 3, "weight_decay": 1e-3, "subset": 600}


def test_every_optimizer_of_the_catalog_has_a_fused_path() -> None:
    assert all(can_fuse("digits-mlp", name) for name in OPTIMIZERS)


def _equal_to_one_config(optimizer: str, recipe: dict) -> None:
    fused = train_fused("digits-mlp", optimizer, CONFIGS, seed=1, recipe=recipe, dtype=torch.float64)
    for (alpha, eps), f in zip(CONFIGS, fused, strict=True):
        one = train_one("digits-mlp", optimizer, alpha, eps, seed=1, recipe=recipe, dtype=torch.float64)
        assert one.diverged == f.diverged
        if one.diverged:
            continue
        assert abs(one.error - f.error) < 1e-8
        assert abs(one.val_loss - f.val_loss) < 1e-8
        assert abs(one.train_loss - f.train_loss) < 1e-8
        # the learning curve: the validation score after each epoch, the last one the result
        assert len(one.curve) == len(f.curve) == recipe["epochs"] and one.curve[-1] == one.error
        assert max(abs(a - b) for a, b in zip(one.curve, f.curve, strict=True)) < 1e-8


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_fused_equals_one_config_trainer_in_float64(optimizer: str) -> None:
    _equal_to_one_config(optimizer, RECIPE)


@pytest.mark.parametrize("optimizer", ["adam", "avagrad"])
def test_fused_equals_one_config_with_sgdr_and_lookahead(optimizer: str) -> None:
    recipe = {
        **RECIPE,
        "schedule": "sgdr",
        "restarts": {"period": 1, "mult": 2},
        "lookahead": {"k": 3, "alpha": 0.5},
    }
    _equal_to_one_config(optimizer, recipe)
    plain = train_one("digits-mlp", optimizer, *CONFIGS[1], seed=1, recipe=RECIPE)
    wrapped = train_one("digits-mlp", optimizer, *CONFIGS[1], seed=1, recipe=recipe)
    assert plain.val_loss != wrapped.val_loss  # the options reach the training


@pytest.mark.parametrize("task", ["mnist5k-cnn", "digits-cnn"])
def test_fused_cnn_and_cosine_schedule(task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CNN fused on a CPU (laid out channels-last, its pools folded) trains each config as
    one config at a time does."""
    from tunecost.workers import channels_last

    pooled = []
    original = channels_last._ChannelsLastPool.apply
    monkeypatch.setattr(channels_last._ChannelsLastPool, "apply", lambda *a: pooled.append(1) or original(*a))
    recipe = {"epochs": 2, "subset": 300, "schedule": "cosine", "channels": 4}
    configs = CONFIGS[:2]
    fused = train_fused(task, "avagrad", configs, recipe=recipe, dtype=torch.float64)
    assert pooled  # the folded pool ran
    for (alpha, eps), f in zip(configs, fused, strict=True):
        one = train_one(task, "avagrad", alpha, eps, recipe=recipe, dtype=torch.float64)
        assert abs(one.val_loss - f.val_loss) < 1e-8


def test_a_diverging_config_is_flagged_and_does_not_touch_the_others() -> None:
    configs = [(1e-2, 1e-8), (1e300, 1e-8)]
    fused = train_fused("digits-mlp", "sgd", configs, recipe={"epochs": 2}, dtype=torch.float64)
    assert [f.diverged for f in fused] == [False, True] and fused[1].error == 90.0
    alone = train_one("digits-mlp", "sgd", 1e-2, 1e-8, recipe={"epochs": 2}, dtype=torch.float64)
    assert abs(alone.val_loss - fused[0].val_loss) < 1e-8


def test_models_with_buffers_or_no_training_are_not_fused() -> None:
    assert can_fuse("digits-mlp", "adam")
    assert not can_fuse("cifar10-wrn", "adam")  # BatchNorm buffers, augmentation
    assert not can_fuse("synthetic-bowl", "adam")


def test_a_fused_batch_is_as_wide_as_the_memory_budget_allows() -> None:
    from tunecost.workers.fused import fused_width

    mib = 2**20
    # 441 configs, 1 GiB fixed, 100 MiB each, a 10 GiB budget of which 85% may be planned
    assert fused_width(441, 1024 * mib, 100 * mib, 10 * 1024 * mib) == (
        int(10 * 1024 * mib * 0.85) - 1024 * mib
    ) // (100 * mib)
    assert fused_width(5, 0, mib, 1024 * mib) == 5, "never wider than the chunk"
    quarter = 141 * 1024 * mib // 4  # an H200's quarter, for a chunk with resources.gpu 0.25
    assert fused_width(441, 50 * mib, 300 * mib, quarter) < fused_width(441, 50 * mib, 300 * mib, 4 * quarter)
    with pytest.raises(MemoryError, match="ask for a larger share of the GPU"):
        fused_width(441, 900 * mib, 200 * mib, 1024 * mib)


def test_the_memory_a_config_adds_is_its_weights_gradients_and_optimizer_state_on_a_cpu() -> None:
    from tunecost.workers.build import task_module
    from tunecost.workers.fused import config_bytes

    recipe = recipe_for("digits-mlp")
    params = sum(p.numel() for p in task_module("digits-mlp").build_model(recipe).parameters())
    fixed, adam = config_bytes("digits-mlp", "adam", recipe, "cpu", torch.float32)
    _, sgd = config_bytes("digits-mlp", "sgd", recipe, "cpu", torch.float32)
    # weights, gradients, exp_avg, exp_avg_sq: four floats per parameter, and a step count per tensor
    assert 4 * params * 4 <= adam <= 4 * params * 4 + 64
    assert adam > sgd and fixed > 0, "the data stay on the device whatever the width"


BATCHED = sorted(name for name, info in OPTIMIZERS.items() if info.batched)


def test_the_optimizers_of_the_papers_have_a_batched_step() -> None:
    assert {"sgd", "adam", "amsgrad", "adamw", "adabelief", "avagrad", "avagradw"} <= set(BATCHED)


KERNELED = [
    "adam",
    "adamw",
    "amsgrad",
]  # stepped by torch's fused Adam kernel on a CPU, where configs are large


@pytest.mark.parametrize(
    "optimizer, kernel",
    [(name, False) for name in BATCHED] + [(name, True) for name in KERNELED],
    ids=lambda v: {True: "torch-kernel", False: "broadcast"}.get(v, v) if isinstance(v, bool) else v,
)
def test_the_batched_step_equals_one_group_per_model_in_float64(
    optimizer: str, kernel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunecost.workers.optimizers import _batched

    calls = []
    if kernel:  # digits-mlp's configs are small: let the kernel take them, and count that it did
        monkeypatch.setattr(_batched, "KERNEL_MIN_FLOATS", 0)
        for name in ("_fused_adam_", "_fused_adamw_"):
            original = getattr(torch, name)
            monkeypatch.setattr(torch, name, lambda *a, _f=original, **kw: calls.append(1) or _f(*a, **kw))
    # a step schedule (the scheduler scales the batched group's lr, each plain group's alpha)
    recipe = {**RECIPE, "schedule": "step", "milestones": [0.3, 0.6], "gamma": 0.1}
    batched = train_fused(
        "digits-mlp", optimizer, CONFIGS, seed=2, recipe=recipe, dtype=torch.float64, path="batched"
    )
    groups = train_fused(
        "digits-mlp", optimizer, CONFIGS, seed=2, recipe=recipe, dtype=torch.float64, path="groups"
    )
    for b, g in zip(batched, groups, strict=True):
        assert b.diverged == g.diverged
        assert len(b.curve) == len(g.curve)
        assert max((abs(x - y) for x, y in zip(b.curve, g.curve, strict=True)), default=0.0) < 1e-8
        if not b.diverged:
            assert abs(b.val_loss - g.val_loss) < 1e-10 and abs(b.train_loss - g.train_loss) < 1e-10
    assert bool(calls) == kernel


def test_a_linear_weight_its_gradient_and_its_state_share_one_layout() -> None:
    """The stacked matrices are laid out as the batched product writes their gradients, so a
    step takes each gradient as autograd leaves it, and torch's fused kernel can walk the
    weights, the gradient and the state alike."""
    from tunecost.workers.build import make_batched_optimizer, task_module
    from tunecost.workers.fused import StackedModels
    from tunecost.workers.trainer import model_losses

    module = task_module("mnist5k-mlp")
    recipe = recipe_for("mnist5k-mlp")
    data = module.load_data(recipe, None)
    models = StackedModels(module.build_model(recipe), 3)
    x, y = data.x_train[:32], data.y_train[:32]
    raw = torch.autograd.grad(model_losses(models.logits(x), y, False).sum(), list(models.stacked.values()))
    for weights, grad in zip(models.stacked.values(), raw, strict=True):
        assert weights.stride() == grad.stride()
    opt = make_batched_optimizer("adam", models.tensors, [(1e-3, 1e-8)] * 3)
    models.backward(model_losses(models.logits(x), y, False))
    opt.step()
    for p in models.tensors:
        assert opt.state[p]["exp_avg"].stride() == p.stride() == p.grad.stride()


@pytest.mark.parametrize("gradient", ["laid out as the weights", "laid out apart"])
def test_torchs_kernel_steps_only_tensors_laid_out_alike_and_each_config_is_adams(
    gradient: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel walks memory: handed a gradient of other strides it would pair the wrong
    elements. It declines those (the broadcast update takes them); either way each config is
    torch's Adam with its own alpha and epsilon."""
    from tunecost.workers.optimizers import _batched

    monkeypatch.setattr(_batched, "KERNEL_MIN_FLOATS", 0)
    calls = []
    original = torch._fused_adam_
    monkeypatch.setattr(torch, "_fused_adam_", lambda *a, **kw: calls.append(1) or original(*a, **kw))
    torch.manual_seed(0)
    configs = [(1e-2, 1e-8), (3e-3, 1e-3)]
    weights = torch.randn(2, 64, 48, dtype=torch.float64).transpose(1, 2)  # (2, 48, 64), transposed in memory
    stacked = weights.clone()  # keeps the strides
    grads = [torch.randn(2, 48, 64, dtype=torch.float64) for _ in range(3)]
    alike = gradient == "laid out as the weights"
    stacked.grad = torch.empty_like(stacked) if alike else torch.empty(2, 48, 64, dtype=torch.float64)
    assert (stacked.grad.stride() == stacked.stride()) == alike
    opt = _batched.BatchedAdam([stacked], [a for a, _ in configs], [e for _, e in configs], weight_decay=0.1)
    plain = [weights[k].detach().clone().requires_grad_(True) for k in range(2)]
    reference = [
        torch.optim.Adam([w], lr=a, eps=e, weight_decay=0.1) for w, (a, e) in zip(plain, configs, strict=True)
    ]
    for g in grads:
        stacked.grad.copy_(g)
        opt.step()
        for k, (w, ref) in enumerate(zip(plain, reference, strict=True)):
            w.grad = g[k].clone()
            ref.step()
    assert bool(calls) == alike
    for k in range(2):
        assert torch.allclose(stacked[k], plain[k].detach(), rtol=0, atol=1e-14)


def test_the_kernel_steps_a_state_loaded_mid_run_not_the_one_it_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel keeps its per-config views of the weights, gradients and state between steps.
    A state loaded into the same optimizer replaces the state's tensors: the next step must
    move the loaded moments (the step a run rewound to step 1 takes again), not the old ones."""
    from tunecost.workers.optimizers import _batched

    monkeypatch.setattr(_batched, "KERNEL_MIN_FLOATS", 0)
    calls = []
    original = torch._fused_adam_
    monkeypatch.setattr(torch, "_fused_adam_", lambda *a, **kw: calls.append(1) or original(*a, **kw))
    torch.manual_seed(0)
    configs = [(1e-2, 1e-8), (3e-3, 1e-3), (1e-3, 1e-6)]
    start = torch.randn(3, 40, 24, dtype=torch.float64)
    grads = [torch.randn(3, 40, 24, dtype=torch.float64) for _ in range(3)]

    def run(rewind: bool) -> torch.Tensor:
        stacked = start.clone()
        stacked.grad = torch.empty_like(stacked)
        opt = _batched.BatchedAdam([stacked], [a for a, _ in configs], [e for _, e in configs])
        stacked.grad.copy_(grads[0])
        opt.step()
        saved = copy.deepcopy((opt.state_dict(), stacked.detach().clone()))
        if rewind:  # a step that is then undone: weights and state back to step 1
            stacked.grad.copy_(grads[1])
            opt.step()
            opt.load_state_dict(copy.deepcopy(saved[0]))
            stacked.detach().copy_(saved[1])
        for g in grads[1:]:
            stacked.grad.copy_(g)
            opt.step()
        return stacked.detach()

    straight, rewound = run(False), run(True)
    assert len(calls) == len(configs) * (3 + 4)  # every step by the kernel, the rewound run's included
    assert torch.equal(straight, rewound)


@pytest.mark.parametrize("path", ["batched", "groups", "batched-kernel"])
def test_a_fused_run_stopped_and_continued_in_another_batch_is_the_run_that_never_stopped(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunecost.workers.checkpoints import restore, resumable
    from tunecost.workers.optimizers import _batched

    optimizer = "avagrad"
    if path == "batched-kernel":  # Adam through torch's kernel: a restored state is stacked, laid out anew
        monkeypatch.setattr(_batched, "KERNEL_MIN_FLOATS", 0)
        path, optimizer = "batched", "adam"

    recipe = {"epochs": 3, "subset": 300, "schedule": "cosine", "weight_decay": 1e-3}
    full = train_fused("digits-mlp", optimizer, CONFIGS, recipe=recipe, dtype=torch.float64, path=path)
    kept: list[dict] = []
    train_fused(
        "digits-mlp", optimizer, CONFIGS, recipe=recipe, dtype=torch.float64, path=path, epochs=1, keep=kept
    )
    assert [state["path"] for state in kept] == [path] * len(CONFIGS)
    # continued in the reverse order, two batches: each config's state finds its own place
    order = list(reversed(range(len(CONFIGS))))
    stepped: list[bool] = []  # by torch's kernel, each step of the continued run (batched-kernel)
    original = _batched.BatchedAdam.kernel_step
    monkeypatch.setattr(
        _batched.BatchedAdam,
        "kernel_step",
        lambda self, *a: stepped.append(original(self, *a)) or stepped[-1],
    )
    continued = train_fused(
        "digits-mlp",
        optimizer,
        [CONFIGS[i] for i in order],
        recipe=recipe,
        dtype=torch.float64,
        path=path,
        width=3,
        resume=[kept[i] for i in order],
    )
    for i, result in zip(order, continued, strict=True):
        assert result.curve == pytest.approx(full[i].curve, abs=1e-12)
        assert result.val_loss == pytest.approx(full[i].val_loss, abs=1e-12)
    if optimizer == "adam":  # the restored state was laid out as the weights: the kernel took every step
        assert stepped and all(stepped)
    other = "groups" if path == "batched" else "batched"
    assert resumable(kept, path) and not resumable(kept, other)
    with pytest.raises(ValueError, match="train from scratch"):
        train_fused("digits-mlp", optimizer, CONFIGS, recipe=recipe, path=other, resume=kept)
    assert restore  # the one entry point both paths share


def test_a_chunk_fuses_at_the_tasks_width_and_a_cnn_that_fills_the_cache_does_not() -> None:
    from tunecost.workers import fused

    mlp = fused.choose_path("digits-mlp", "adam", device="cpu")
    # as wide as about two million stacked parameters (and four million activations) allow
    assert (mlp.mode, mlp.update) == ("fused", "batched") and 100 < mlp.width < 441
    assert fused.choose_path("digits-mlp", "adashift", device="cpu").update == "groups"  # no batched step
    assert fused.choose_path("cifar10-wrn", "adam", device="cpu").mode == "one at a time"  # no fused path
    # MNIST-5k's CNN (2.2M activations a config), channels-last on a CPU: four wide
    assert fused.choose_path("mnist5k-cnn", "adam", device="cpu").to_json() == {
        "mode": "fused",
        "update": "batched",
        "width": 4,
    }
    # the digits CNN is small: fused, narrower than an MLP (0.23M activations a config: 39 wide)
    assert 2 <= fused.choose_path("digits-cnn", "adam", device="cpu").width < mlp.width
    # in vmap's layout (a plugin's CNN with a forward of its own) the same activations fill the
    # cache at two configs, and fused loses: one at a time
    floats = fused._model_floats("mnist5k-cnn", json.dumps(recipe_for("mnist5k-cnn"), sort_keys=True), None)
    assert floats[2]  # made of torch's layers: channels-last
    with mock.patch.object(fused, "_model_floats", return_value=(*floats[:2], False)):
        assert fused.choose_path("mnist5k-cnn", "adam", device="cpu").mode == "one at a time"
    # the choice is the task's, whatever a chunk holds: a sweep cut in any way trains alike
    recipe = {"epochs": 2, "subset": 300}
    assert fused.choose_path("digits-mlp", "adam", recipe) == fused.choose_path("digits-mlp", "adam", recipe)
