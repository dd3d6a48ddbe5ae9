"""Job specifications: what a user submits, validated once and stored normalized.

These pydantic models are the single source of truth for a job's inputs: the REST
API uses them as request bodies (so a bad field is a 422 naming it), the CLI and
the runner re-validate stored specs with them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from search_spaces import (
    SEARCHERS,
    SpaceError,
    adabelief_grid,
    build_sampler,
    paper_grid,
    space_from_json,
    validate_options,
)
from workers.registry import OPTIMIZERS, TASKS, recipe_for


class Resources(BaseModel):
    """Ray resources for one trial. Fractional GPUs pack several trials on one GPU."""

    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(1.0, gt=0, description="CPUs per trial.")
    gpu: float = Field(0.0, ge=0, description="GPUs per trial; fractions allowed (0.25: four per GPU).")


def default_space(optimizer: str) -> dict[str, Any]:
    """The paper's 21x21 grid; AdaBelief gets its epsilon-shifted grid."""
    return (adabelief_grid() if optimizer == "adabelief" else paper_grid()).to_json()


def recipe_hash(task: str, recipe: dict[str, Any]) -> str:
    """Identifies (task, full recipe): landscapes and best-known errors compare within one."""
    payload = json.dumps({"task": task, "recipe": recipe}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


SEARCH_EXAMPLE = {
    "kind": "search",
    "task": "digits-mlp",
    "optimizer": "adam",
    "searcher": "tpe",
    "budget": 12,
    "seed": 0,
}


class SearchSpec(BaseModel):
    """A live tuning job: each trial trains ``task`` with ``optimizer`` at the searcher's (alpha, epsilon)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SEARCH_EXAMPLE]})

    kind: Literal["search"] = "search"
    task: str = Field(description="A task from `GET /v1/catalog`, e.g. `digits-mlp`.")
    optimizer: str = Field(description="An optimizer from the catalog, e.g. `adam`.")
    searcher: str = Field("tpe", description="A searcher from the catalog, e.g. `tpe`.")
    searcher_options: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="Searcher options (see the catalog)."
    )
    space: dict[str, Any] | None = Field(
        None,
        validate_default=True,
        description="Search space; default the paper's 21x21 grid (AdaBelief: its shifted grid). "
        '`{"type": "grid", "alphas": [...], "epsilons": [...]}`, `{"type": "grid", "name": "paper"}` '
        'or `{"type": "box", "alpha": [lo, hi], "epsilon": [lo, hi]}`.',
    )
    budget: int = Field(gt=0, description="Distinct (alpha, epsilon) configs to train.")
    seed: int = Field(0, ge=0, description="Seeds the searcher and the training run.")
    recipe: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="Overrides of the task's recipe."
    )
    resources: Resources = Field(default_factory=Resources)
    max_concurrent: int = Field(1, ge=1, le=256, description="Trials running at once.")
    max_failures: int = Field(1, ge=0, le=10, description="Retries of a trial that raised.")
    reference_error: float | None = Field(
        None,
        ge=0,
        le=100,
        description="e*, the best achievable error (%), for suboptimality; default: best known.",
    )

    # Field validators run in field order and see earlier valid fields in `info.data`,
    # so every error carries the name of the field it is about.
    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:
        if value not in TASKS:
            raise ValueError(f"unknown task {value!r}; known: {sorted(TASKS)}")
        return value

    @field_validator("optimizer")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        if value not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {value!r}; known: {sorted(OPTIMIZERS)}")
        return value

    @field_validator("searcher")
    @classmethod
    def _known_searcher(cls, value: str) -> str:
        if value not in SEARCHERS:
            raise ValueError(f"unknown searcher {value!r}; known: {sorted(SEARCHERS)}")
        return value

    @field_validator("searcher_options")
    @classmethod
    def _valid_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "searcher" not in info.data:
            return value
        try:
            return validate_options(info.data["searcher"], value)
        except SpaceError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("space")
    @classmethod
    def _valid_space(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        try:
            space = (
                space_from_json(value)
                if value is not None
                else space_from_json(default_space(info.data.get("optimizer", "")))
            )
            if "searcher" in info.data and "searcher_options" in info.data:
                # a dry run: catches searcher/space mismatches (grid search on a box) at submit time
                build_sampler(
                    info.data["searcher"],
                    space,
                    seed=0,
                    options=info.data["searcher_options"],
                    default_point=(1e-3, 1e-8),
                )
        except SpaceError as exc:
            raise ValueError(str(exc)) from None
        return space.to_json()

    @field_validator("budget")
    @classmethod
    def _budget_fits_space(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("space") is not None:
            size = space_from_json(info.data["space"]).size
            if value > size:
                raise ValueError(f"{value} exceeds the {size} distinct configs of the space")
        return value

    @field_validator("recipe")
    @classmethod
    def _valid_recipe(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        task = info.data.get("task")
        if task is None:
            return value
        try:
            recipe = recipe_for(task, value)
        except KeyError as exc:
            known = sorted(TASKS[task].recipe)
            raise ValueError(f"unknown key {exc.args[0]!r} for {task}; known: {known}") from None
        for key, default in TASKS[task].recipe.items():
            given = recipe[key]
            if default is None or given is None or key not in value:
                continue
            numeric = isinstance(default, int | float) and not isinstance(default, bool)
            ok = (
                isinstance(given, int | float) and not isinstance(given, bool)
                if numeric
                else isinstance(given, type(default))
            )
            if not ok or (numeric and given < 0):
                raise ValueError(f"{key} must be a non-negative {type(default).__name__}, got {given!r}")
        return recipe

    @property
    def recipe_hash(self) -> str:
        return recipe_hash(self.task, self.recipe)


class SweepSpec(BaseModel):
    """Evaluate every node of a grid for one (task, optimizer, recipe): a landscape."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "sweep", "task": "digits-mlp", "optimizer": "adam", "seeds": [0]}]
        },
    )

    kind: Literal["sweep"]
    task: str = Field(description="A task from the catalog.")
    optimizer: str = Field(description="An optimizer from the catalog.")
    seeds: list[int] = Field(
        default_factory=lambda: [0],
        min_length=1,
        max_length=20,
        description="Training seeds; the landscape stores their mean and spread.",
    )
    space: dict[str, Any] | None = Field(
        None, validate_default=True, description="A grid; default the paper's (AdaBelief: shifted)."
    )
    recipe: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="Overrides of the task's recipe."
    )
    fused: bool = Field(
        True,
        description="Train many configs at once (torch.func + vmap) where the model allows; else one at a time.",
    )
    chunk_size: int | None = Field(
        None, ge=1, description="Configs per Ray task; default: split evenly over the cluster's CPUs."
    )
    resources: Resources = Field(default_factory=Resources, description="Ray resources per chunk.")

    _known_task = field_validator("task")(SearchSpec._known_task.__func__)  # type: ignore[attr-defined]
    _known_optimizer = field_validator("optimizer")(SearchSpec._known_optimizer.__func__)  # type: ignore[attr-defined]
    _valid_recipe = field_validator("recipe")(SearchSpec._valid_recipe.__func__)  # type: ignore[attr-defined]

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        if any(s < 0 for s in value) or len(set(value)) != len(value):
            raise ValueError("seeds must be distinct and >= 0")
        return value

    @field_validator("space")
    @classmethod
    def _grid_only(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any]:
        try:
            space = space_from_json(
                value if value is not None else default_space(info.data.get("optimizer", ""))
            )
        except SpaceError as exc:
            raise ValueError(str(exc)) from None
        if space.kind != "grid":
            raise ValueError("a sweep needs a grid space")
        return space.to_json()

    @property
    def recipe_hash(self) -> str:
        return recipe_hash(self.task, self.recipe)


class ReplaySpec(BaseModel):
    """Run searchers x seeds against stored landscapes: lookups, no training."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "replay",
                    "landscape_ids": [1, 2],
                    "searchers": ["grid", "random", "tpe", "cmaes", "gld", "cgld"],
                    "seeds": 100,
                    "budget": 100,
                }
            ]
        },
    )

    kind: Literal["replay"]
    landscape_ids: list[int] = Field(min_length=1, description="Landscapes from sweep jobs.")
    searchers: list[str] = Field(
        default_factory=lambda: list(SEARCHERS), min_length=1, description="Searchers to compare."
    )
    seeds: int = Field(100, ge=1, le=10_000, description="Seeds per searcher and landscape.")
    budget: int = Field(
        100, ge=1, description="Distinct configs each run may evaluate (at most the grid size)."
    )
    deltas: list[float] = Field(
        default_factory=lambda: [0.5, 1.0], min_length=1, description="Suboptimality thresholds, points."
    )
    searcher_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-searcher options."
    )

    @field_validator("searchers")
    @classmethod
    def _known_searchers(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in SEARCHERS]
        if unknown:
            raise ValueError(f"unknown searcher {unknown[0]!r}; known: {sorted(SEARCHERS)}")
        if len(set(value)) != len(value):
            raise ValueError("searchers must be distinct")
        return value

    @field_validator("deltas")
    @classmethod
    def _positive_deltas(cls, value: list[float]) -> list[float]:
        if any(d <= 0 for d in value):
            raise ValueError("deltas must be > 0")
        return sorted(set(value))

    @field_validator("searcher_options")
    @classmethod
    def _valid_options(
        cls, value: dict[str, dict[str, Any]], info: ValidationInfo
    ) -> dict[str, dict[str, Any]]:
        out = {}
        for name, options in value.items():
            if name not in info.data.get("searchers", []):
                raise ValueError(f"options for {name!r}, which is not among the searchers")
            try:
                out[name] = validate_options(name, options)
            except SpaceError as exc:
                raise ValueError(str(exc)) from None
        return out


JobSpec = Annotated[SearchSpec | SweepSpec | ReplaySpec, Field(discriminator="kind")]
JOB_KINDS = ("search", "sweep", "replay")
