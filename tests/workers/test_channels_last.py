"""A fused CNN on a CPU, laid out channels-last: the same maths as torch's own layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import vmap

from tunecost.workers import channels_last
from tunecost.workers.channels_last import FoldedMaxPool2d

SETTINGS = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 2, "ceil_mode": True},
    {"kernel_size": 2, "dilation": 2},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
@pytest.mark.parametrize("shape", [(5, 3, 4, 7, 9), (3, 4, 7, 9)], ids=["a batch", "one image"])
@pytest.mark.parametrize("config_dim", [0, 1])
def test_the_folded_pool_is_torchs_pool_forward_and_backward(
    settings: dict, shape: tuple[int, ...], config_dim: int
) -> None:
    """K configs' activations pooled under ``vmap`` (the config dimension first or not, images
    batched or one): the values and the gradient are torch's ``MaxPool2d``'s, to the bit."""
    torch.manual_seed(0)
    x = torch.randn(*shape, dtype=torch.float64).movedim(0, config_dim)
    x = x.round(decimals=1)  # ties: the same element must win in both layouts
    out_grad = None
    results = []
    for pool in (nn.MaxPool2d(**settings), FoldedMaxPool2d(**settings)):
        leaf = x.clone().requires_grad_(True)
        out = vmap(pool, in_dims=config_dim)(leaf)
        if out_grad is None:
            out_grad = torch.randn_like(out)
        out.backward(out_grad)
        results.append((out.detach(), leaf.grad))
    (want, want_grad), (got, got_grad) = results
    assert torch.equal(want, got)
    assert torch.equal(want_grad, got_grad)


def test_outside_vmap_the_folded_pool_is_torchs() -> None:
    x = torch.randn(2, 3, 6, 6)
    assert torch.equal(FoldedMaxPool2d(2)(x), nn.MaxPool2d(2)(x))


def test_the_channels_last_pool_is_differentiable_twice() -> None:
    """Its backward is torch's own op, so a second-order optimizer (a Hessian-vector product)
    differentiates through it as through torch's pool."""
    from tunecost.workers.channels_last import _ChannelsLastPool

    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 5, dtype=torch.float64, requires_grad=True)
    settings = ((2, 2), (2, 2), (0, 0), (1, 1), False)
    assert torch.autograd.gradcheck(lambda t: _ChannelsLastPool.apply(t, settings), (x,))
    assert torch.autograd.gradgradcheck(lambda t: _ChannelsLastPool.apply(t, settings), (x,))


def test_only_a_plain_max_pool_is_replaced() -> None:
    class OwnPool(nn.MaxPool2d):  # a subclass may pool otherwise: left as it is
        pass

    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, stride=1), nn.Sequential(OwnPool(2)), nn.Flatten()
    )
    channels_last.fold_pools(model)
    assert type(model[1]) is FoldedMaxPool2d and model[1].stride == 1
    assert type(model[2][0]) is OwnPool


class ViewingCNN(nn.Module):
    """A plugin's CNN with a forward of its own that ``view``s a conv's activation, as much
    CNN code does: a channels-last activation would refuse the view."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        return self.fc(h.view(h.size(0), -1))


def test_only_a_cnn_of_torchs_own_layers_on_a_cpu_is_laid_out_so_and_any_other_still_fuses() -> None:
    from tunecost.workers.fused import StackedModels

    assert channels_last.wanted(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()))
    assert not channels_last.wanted(nn.Sequential(nn.Linear(3, 2)))  # no convolution
    assert not channels_last.wanted(ViewingCNN())
    torch.manual_seed(0)
    model = ViewingCNN()
    models = StackedModels(model, 2)
    assert not models.channels_last
    x = torch.randn(7, 3, 6, 6)
    assert torch.allclose(models.logits(x)[1], model(x), atol=1e-6)  # copy 1 is the model itself


def test_a_fused_cnn_its_gradients_and_its_optimizer_state_share_one_channels_last_layout() -> None:
    """What makes the layout pay: oneDNN computes channels-last, and the weights, their
    gradients and Adam's state stay alike (no step copies or mixes strides)."""
    from tunecost.workers.build import make_batched_optimizer, task_module
    from tunecost.workers.catalog import recipe_for
    from tunecost.workers.fused import StackedModels
    from tunecost.workers.trainer import model_losses

    module = task_module("digits-cnn")
    recipe = recipe_for("digits-cnn")
    data = module.load_data(recipe, None)
    models = StackedModels(module.build_model(recipe), 3)
    assert models.channels_last
    x, y = data.x_train[:16], data.y_train[:16]
    opt = make_batched_optimizer("adam", models.tensors, [(1e-3, 1e-8)] * 3)
    models.backward(model_losses(models.logits(x), y, False))
    opt.step()
    convs = [p for p in models.tensors if p.dim() == 5]
    assert convs
    for p in convs:
        grouped = p.flatten(0, 1)  # the weight vmap hands the grouped convolution
        assert grouped.is_contiguous(memory_format=torch.channels_last)
    for p in models.tensors:
        assert opt.state[p]["exp_avg"].stride() == p.stride() == p.grad.stride()
