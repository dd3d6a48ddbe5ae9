from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tunecost.workers.build import task_module
from tunecost.workers.catalog import TASKS
from tunecost.workers.tasks import DataMissingError
from tunecost.workers.trainer import train_one

CPU_TASKS = ["digits-mlp", "digits-cnn", "breast-cancer-mlp", "char-lm", "mnist5k-mlp", "mnist5k-cnn"]


@pytest.mark.parametrize("task", CPU_TASKS)
def test_training_is_deterministic_per_seed(task: str) -> None:
    recipe = {"epochs": 1, "subset": 600}
    a = train_one(task, "adam", 1e-2, 1e-8, seed=3, recipe=recipe)
    b = train_one(task, "adam", 1e-2, 1e-8, seed=3, recipe=recipe)
    c = train_one(task, "adam", 1e-2, 1e-8, seed=4, recipe=recipe)
    assert (a.error, a.val_loss, a.train_loss) == (b.error, b.val_loss, b.train_loss)
    assert a.val_loss != c.val_loss
    assert 0 <= a.error < TASKS[task].failure_score and not a.diverged


def test_the_tabular_task_standardizes_with_training_statistics_only() -> None:
    data = task_module("breast-cancer-mlp").load_data(TASKS["breast-cancer-mlp"].recipe)
    x_train = np.asarray(data.x_train)
    assert np.allclose(x_train.mean(0), 0, atol=1e-4) and np.allclose(x_train.std(0), 1, atol=1e-2)
    assert not np.allclose(np.asarray(data.x_val).mean(0), 0, atol=1e-4)  # its own statistics were not used


@pytest.mark.parametrize("task", CPU_TASKS)
def test_validation_split_is_carved_from_training_data_and_fixed(task: str) -> None:
    module = task_module(task)
    recipe = TASKS[task].recipe
    data = module.load_data(recipe)
    again = module.load_data({**recipe, "subset": 100})
    assert data.x_val.shape == again.x_val.shape and bool((data.x_val == again.x_val).all())
    assert again.x_train.shape[0] == 100
    total = data.x_train.shape[0] + data.x_val.shape[0]
    edges = 3 if task == "char-lm" else 1  # text windows near a split's end have no next character
    assert data.x_val.shape[0] == pytest.approx(recipe["val_fraction"] * total, abs=edges)
    if task == "char-lm":  # contiguous text, not stratified: the split is a position in the text
        assert data.x_val.shape[0] < data.x_train.shape[0] and set(data.y_val.tolist()) <= set(range(48))
    else:
        assert set(data.y_val.tolist()) == set(range(TASKS[task].num_classes))  # stratified: every class


def test_mnist5k_label_is_the_last_column() -> None:
    data = task_module("mnist5k-mlp").load_data(TASKS["mnist5k-mlp"].recipe)
    assert data.x_train.shape[1] == 784
    counts = np.bincount(np.concatenate([data.y_train.numpy(), data.y_val.numpy()]))
    assert counts.tolist() == [400] * 10  # 500 per digit, 20% test split held out


def test_non_finite_training_is_diverged_at_chance_level() -> None:
    result = train_one("digits-mlp", "sgd", 1e30, 1e-8, recipe={"epochs": 2})
    assert result.diverged and result.error == TASKS["digits-mlp"].failure_score
    assert result.val_loss is None and result.epochs_run == 1


def test_the_objective_depends_on_alpha_and_epsilon() -> None:
    good = train_one("digits-mlp", "adam", 1e-2, 1e-8).error
    tiny_lr = train_one("digits-mlp", "adam", 5e-7, 1e-8).error
    huge_eps = train_one("digits-mlp", "adam", 1e-2, 1e2).error
    assert good < 10 and tiny_lr > 50 and huge_eps > 50


def write_fake_cifar(folder: Path, per_batch: int = 24) -> None:
    """Five training batches in the real format (pickled dicts of uint8 N x 3072 + labels)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        labels = [int(k % 10) for k in range(per_batch)]
        batch = {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": labels,
            b"batch_label": b"fake",
        }
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump(batch, f)


def test_cifar10_wrn_trains_on_a_tiny_file_in_the_real_format(tmp_path: Path) -> None:
    write_fake_cifar(tmp_path / "cifar-10-batches-py")
    recipe = {"epochs": 1, "batch_size": 16, "depth": 10, "widen": 1, "val_fraction": 0.2}
    result = train_one("cifar10-wrn", "avagrad", 0.1, 0.1, recipe=recipe, data_dir=str(tmp_path))
    assert not result.diverged and 0 <= result.error <= 100
    data = task_module("cifar10-wrn").load_data({**TASKS["cifar10-wrn"].recipe, **recipe}, str(tmp_path))
    assert tuple(data.x_train.shape[1:]) == (3, 32, 32) and data.x_train.shape[0] + data.x_val.shape[0] == 120


def test_missing_cifar_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match=str(tmp_path / "cifar-10-batches-py")):
        train_one("cifar10-wrn", "adam", 1e-3, 1e-8, data_dir=str(tmp_path))


def test_wrn_28_10_has_the_published_size() -> None:
    model = task_module("cifar10-wrn").build_model(TASKS["cifar10-wrn"].recipe)
    n = sum(p.numel() for p in model.parameters())
    assert 36.4e6 < n < 36.6e6  # WRN-28-10: 36.5M parameters
