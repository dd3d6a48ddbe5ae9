"""The catalog's entries: what an optimizer or a task of the catalog is (:class:`OptimizerInfo`,
:class:`TaskInfo`), what a task's trials score (:class:`Metric`), and a plugin left out
(:class:`PluginError`). Torch-free plain data: the API reads them without importing torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

OPTIMIZER_GROUP = "tunecost.optimizers"  # names no module: an entry-point group
TASK_GROUP = "tunecost.tasks"  # names no module: an entry-point group
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
    parameter group per model (:mod:`tunecost.workers.optimizers._batched`); empty: the group path.
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
