"""The parts job specs share: typed fields for tasks, optimizers, spaces and recipes.

Each job kind's spec (``service/kinds/<kind>.py``) is a pydantic model built from these.
A spec is validated once, where it enters (the REST body, the CLI, the client); what is
stored is its normalized JSON, which validates again to the same typed spec when a runner
loads it. Validators raise ``ValueError`` so that pydantic's error names the field.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from tunecost.search_spaces import (
    MAX_AXIS_VALUES,
    MAX_NAME,
    NAMED_GRIDS,
    SEARCHERS,
    BoxSpace,
    GridSpace,
    Space,
    SpaceError,
    space_from_json,
)
from tunecost.workers.catalog import OPTIMIZERS, TASKS, OptimizerInfo, recipe_for
from tunecost.workers.catalog._static import EntryError


def _a_named_grid(info: Any) -> None:
    """A plugin optimizer's default space must be a grid ``search_spaces`` names. Checked here,
    where both are known: the catalog (``workers``) knows nothing of search spaces."""
    if isinstance(info, OptimizerInfo) and info.grid not in NAMED_GRIDS:
        raise EntryError("grid", f"{info.grid!r} is not a named grid; known: {sorted(NAMED_GRIDS)}")


OPTIMIZERS.add_check(_a_named_grid)


def _known(registry: Any, what: str) -> Any:
    def check(value: str) -> str:
        if value not in registry:
            failed = registry.failure(value) if hasattr(registry, "failure") else None  # a plugin catalog
            if failed is not None:
                raise ValueError(
                    f"{what} {value!r} is not in the catalog: its plugin ({failed.source}) failed to load: "
                    f"{failed.error} (see `plugin_errors` in GET /v1/catalog)"
                )
            raise ValueError(f"unknown {what} {value!r}; known: {sorted(registry)}")
        return value

    return AfterValidator(check)


# Seeds and ids fit the database's 32-bit integer columns (Postgres `integer`), so a job that
# is accepted can always be stored.
MAX_INT = 2**31 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_INT, strict=True)]  # strict: "0" is not a seed, as recipes


def _distinct_seeds(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise ValueError("seeds must be distinct")
    return value


Seeds = Annotated[list[Seed], AfterValidator(_distinct_seeds)]
Id = Annotated[int, Field(ge=1, le=MAX_INT, strict=True)]

MAX_DELTAS = 20  # each delta costs a pass over a replay's runs
DEFAULT_DELTAS = (0.5, 1.0)


def _distinct_sorted(value: list[float]) -> list[float]:
    return sorted(set(value))


# The delta rule, once: a replay's, a study's and a comparison query's suboptimality thresholds
Deltas = Annotated[
    list[Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]],
    Field(min_length=1, max_length=MAX_DELTAS),
    AfterValidator(_distinct_sorted),
]
DELTAS_HELP = (
    "Suboptimality thresholds, in the landscapes' delta unit (points of a percentage error; pass "
    f"smaller ones for an MSE): each in (0, 100], at most {MAX_DELTAS}."
)
# What every spec model shares: unknown fields refused, no NaN or infinity anywhere.
SPEC_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)

TaskName = Annotated[str, _known(TASKS, "task")]
OptimizerName = Annotated[str, _known(OPTIMIZERS, "optimizer")]
SearcherName = Annotated[str, _known(SEARCHERS, "searcher")]


def _parse_space(value: Any) -> Space:
    if isinstance(value, GridSpace | BoxSpace):
        return value
    try:
        return space_from_json(value)
    except SpaceError as exc:
        raise ValueError(str(exc)) from None


_NUMBERS = {
    "type": "array",
    "items": {"type": "number", "exclusiveMinimum": 0},
    "minItems": 1,
    "maxItems": MAX_AXIS_VALUES,
}
_SPACE_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "title": "grid",
            "properties": {
                "type": {"const": "grid"},
                "alphas": _NUMBERS,
                "epsilons": _NUMBERS,
                "name": {
                    "anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_NAME}, {"type": "null"}]
                },
            },
            "description": "A grid: increasing, distinct, positive values; or a named grid "
            '(`{"type": "grid", "name": "paper"}`).',
        },
        {
            "type": "object",
            "title": "box",
            "properties": {
                "type": {"const": "box"},
                "alpha": {**_NUMBERS, "minItems": 2, "maxItems": 2},
                "epsilon": {**_NUMBERS, "minItems": 2, "maxItems": 2},
            },
            "required": ["type", "alpha", "epsilon"],
            "description": "A continuous box, log-uniform in both coordinates: [low, high] each.",
        },
    ]
}
_as_json = PlainSerializer(lambda space: space.to_json(), return_type=dict)

# A typed space: a GridSpace or BoxSpace in Python, its JSON form on the wire and in the database.
# null: the optimizer's default grid (a spec's validator fills it in)
SpaceField = Annotated[
    Space,
    PlainValidator(_parse_space),
    _as_json,
    WithJsonSchema({"anyOf": [_SPACE_SCHEMA, {"type": "null"}]}),
]


def _grid_only(value: Any) -> GridSpace:
    space = _parse_space(value)
    if not isinstance(space, GridSpace):
        raise ValueError("needs a grid space, not a continuous box")
    return space


GridField = Annotated[
    GridSpace,
    PlainValidator(_grid_only),
    _as_json,
    WithJsonSchema({"anyOf": [_SPACE_SCHEMA["oneOf"][0], {"type": "null"}]}),
]


def default_space(optimizer: str) -> GridSpace:
    """The optimizer's default grid from its catalog entry: the paper's 21x21 grid, or a
    shifted one (AdaBelief's epsilon-shifted grid), or its alphas alone for an optimizer
    without epsilon. An unknown optimizer (its own field is the error) gets the paper's grid,
    so the other fields still validate."""
    info = OPTIMIZERS.get(optimizer)
    if info is not None and info.epsilon_arg is None and info.grid == "paper":
        return NAMED_GRIDS["paper-alpha"]()
    return NAMED_GRIDS[info.grid if info else "paper"]()


def alpha_alone(optimizer: str, space: Any) -> Any:
    """An optimizer without epsilon is tuned over alpha alone: a grid with several epsilons
    would count one training run as several trials (its landscape is flat along epsilon)."""
    info = OPTIMIZERS.get(optimizer)
    if (
        info is not None
        and info.epsilon_arg is None
        and isinstance(space, GridSpace)
        and len(space.epsilons) > 1
    ):
        raise ValueError(
            f"{optimizer} has no epsilon: give one epsilon value (it is not read), so each trial is a "
            f"distinct alpha; the default is the paper's alphas alone ('paper-alpha')"
        )
    return space


def task_metric(task: str | None) -> dict[str, Any] | None:
    """What a task's trials score (:meth:`tunecost.workers.catalog.Metric.to_json`); None for no task
    or one the catalog does not hold."""
    info = TASKS.get(task or "")
    return None if info is None else {**info.metric.to_json(), "failure_score": info.failure_score}


def validated_recipe(task: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The task's full recipe with ``overrides``, checked against the task's typed recipe."""
    try:
        return recipe_for(task, overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            known = sorted(TASKS[task].recipe_model.model_fields)
            raise ValueError(f"unknown key {key!r} for {task}; known: {known}") from None
        raise ValueError(f"{key}: {first['msg']}") from None


def recipe_hash(task: str, recipe: dict[str, Any]) -> str:
    """Identifies (task, full recipe): landscapes and best-known errors compare within one."""
    payload = json.dumps({"task": task, "recipe": recipe}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class TrainsOneTask(BaseModel):
    """For specs that train one task with one optimizer: they declare ``task``, ``optimizer``
    and ``recipe`` (task first); the recipe is the task's, validated and filled in."""

    @field_validator("recipe", check_fields=False)
    @classmethod
    def _valid_recipe(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return validated_recipe(info.data["task"], value) if "task" in info.data else value

    @property
    def recipe_hash(self) -> str:
        return recipe_hash(self.task, self.recipe)  # type: ignore[attr-defined]


class Resources(BaseModel):
    """Ray resources for one trial (or one sweep chunk). Fractional GPUs pack several on one GPU."""

    model_config = SPEC_CONFIG

    cpu: float = Field(1.0, gt=0, le=1024, description="CPUs per trial.")
    gpu: float = Field(
        0.0, ge=0, le=64, description="GPUs per trial; fractions allowed (0.25: four per GPU)."
    )
