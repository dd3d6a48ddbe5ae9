"""A sweep's request body (:class:`SweepSpec`: the task, optimizer, recipe and grid, the seeds,
the refinement region, fresh reference seeds and successive-halving fidelity) and its result."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tunecost.service.analysis.fidelity import Fidelity
from tunecost.service.specs import (
    MAX_INT,
    SPEC_CONFIG,
    GridField,
    OptimizerName,
    Resources,
    Seeds,
    TaskName,
    TrainsOneTask,
    alpha_alone,
    default_space,
)
from tunecost.workers.catalog import TASKS

Node = tuple[int, int]


class Refine(BaseModel):
    """Which configs get extra training seeds after the first pass (documented rule, in order):
    rank the nodes by their first-pass mean error; take every node within ``margin`` points of
    the best, at least the ``top_k`` best, at most ``max_configs``."""

    model_config = SPEC_CONFIG

    seeds: Seeds = Field(min_length=1, max_length=20, description="Extra training seeds for the region.")
    margin: float = Field(
        2.0, ge=0, le=100, description="Points above the first-pass best that count as near it."
    )
    top_k: int = Field(10, ge=1, le=MAX_INT, description="At least this many of the best configs.")
    max_configs: int = Field(60, ge=1, le=MAX_INT, description="At most this many configs.")

    def region(self, means: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
        """The nodes to train again, best first."""
        ranked = sorted(means, key=lambda node: (means[node], node))
        if not ranked:
            return []
        best = means[ranked[0]]
        near = [node for node in ranked if means[node] <= best + self.margin + 1e-9]
        chosen = ranked[: max(len(near), self.top_k)]
        return chosen[: self.max_configs]


class Reference(BaseModel):
    """e* measured apart from its selection (AlgoPerf's rule for its targets): once the grid
    (and its refinement region) is trained, the best node by its mean over every seed trained
    there is trained again with ``seeds``, fresh ones; e* is their mean. The minimum of many
    noisy means is biased low (a lucky node wins); a measurement on seeds that did not select
    the node is not."""

    model_config = SPEC_CONFIG

    seeds: Seeds = Field(
        min_length=1,
        max_length=50,
        description="Fresh training seeds for the best node (AlgoPerf: 20; at most 50).",
    )

    def best(self, means: dict[Node, float]) -> Node:
        """The node to measure again: the lowest mean (ties: the first in grid order)."""
        return min(means, key=lambda node: (means[node], node))


class SweepSpec(TrainsOneTask):
    """Evaluate every node of a grid for one (task, optimizer, recipe): a landscape. An optimizer
    without epsilon is swept over alpha alone (one epsilon: its default grid is 'paper-alpha')."""

    model_config = ConfigDict(
        **SPEC_CONFIG,
        json_schema_extra={
            "examples": [
                {"kind": "sweep", "task": "digits-mlp", "optimizer": "adam", "seeds": [0]},
                {
                    "kind": "sweep",
                    "task": "mnist5k-mlp",
                    "optimizer": "avagrad",
                    "seeds": [0],
                    "refine": {"seeds": [1, 2], "margin": 2.0, "top_k": 10},
                },
            ]
        },
    )

    kind: Literal["sweep"]
    task: TaskName = Field(description="A task from the catalog.")
    optimizer: OptimizerName = Field(description="An optimizer from the catalog.")
    seeds: Seeds = Field(
        default_factory=lambda: [0],
        min_length=1,
        max_length=20,
        description="Training seeds at every node; the landscape stores their mean and spread.",
    )
    refine: Refine | None = Field(
        None, description="Train the region near the best again with more seeds (see `Refine`)."
    )
    reference: Reference | None = Field(
        None,
        description="Measure e* on fresh seeds at the best node (see `Reference`); null: e* is "
        "the best node's mean over the seeds that selected it.",
    )
    space: GridField = Field(
        None,  # type: ignore[assignment] - filled by the validator: the optimizer's default grid
        validate_default=True,
        description="A grid; default the paper's (AdaBelief: shifted).",
    )
    recipe: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="Overrides of the task's recipe."
    )
    fidelity: Fidelity | None = Field(
        None,
        description="Multi-fidelity: successive halving over the grid (see `Fidelity`); default "
        "null, every node at the recipe's epochs.",
    )
    fused: bool = Field(
        True,
        description="Train many configs at once (torch.func + vmap) where the model allows; else one at a time.",
    )
    chunk_size: int | None = Field(
        None,
        ge=1,
        le=MAX_INT,
        description="Configs per Ray task; default: split evenly over the cluster's CPUs.",
    )
    resources: Resources = Field(default_factory=Resources, description="Ray resources per chunk.")

    @field_validator("refine")
    @classmethod
    def _new_seeds(cls, value: Refine | None, info: ValidationInfo) -> Refine | None:
        if value is not None and set(value.seeds) & set(info.data.get("seeds", [])):
            raise ValueError("refine.seeds must differ from seeds")
        return value

    @field_validator("reference")
    @classmethod
    def _fresh_seeds(cls, value: Reference | None, info: ValidationInfo) -> Reference | None:
        refine = info.data.get("refine")
        used = set(info.data.get("seeds", [])) | set(refine.seeds if refine else [])
        if value is not None and set(value.seeds) & used:
            raise ValueError("reference.seeds must be fresh: none of seeds or refine.seeds")
        return value

    @field_validator("fidelity")
    @classmethod
    def _has_epochs(cls, value: Fidelity | None, info: ValidationInfo) -> Fidelity | None:
        if value is None or "task" not in info.data or "recipe" not in info.data:
            return value
        epochs = info.data["recipe"].get("epochs")
        if not epochs or TASKS[info.data["task"]].analytic:
            raise ValueError(f"task {info.data['task']!r} trains no epochs: it has no fidelity to vary")
        if value.min_epochs > epochs:
            raise ValueError(f"min_epochs {value.min_epochs} is above the recipe's {epochs} epochs")
        metric = TASKS[info.data["task"]].metric
        if metric.delta_unit != "points" and "margin" not in value.model_fields_set and value.margin:
            raise ValueError(
                f"margin: task {info.data['task']!r} scores {metric.name} ({metric.delta_unit}), not a "
                f"percentage; set fidelity.margin in its units (0: the textbook rule, the best 1/eta only)"
            )
        return value

    @field_validator("space", mode="wrap")
    @classmethod
    def _default_grid(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        optimizer = info.data.get("optimizer", "")
        return alpha_alone(optimizer, handler(value if value is not None else default_space(optimizer)))

    @property
    def all_seeds(self) -> list[int]:
        return list(self.seeds) + (list(self.refine.seeds) if self.refine else [])

    @property
    def epochs(self) -> int:
        """The recipe's epochs: full fidelity (0 for an analytic task)."""
        return 0 if TASKS[self.task].analytic else int(self.recipe.get("epochs") or 0)


class SweepResult(BaseModel):
    landscape_id: int | None = Field(None, description="The stored landscape; null if cancelled.")
    configs: int = Field(0, description="Grid nodes.")
    seeds: list[int] = Field(default_factory=list)
    refined: int = Field(0, description="Configs trained again with the refinement seeds.")
    nodes: dict[str, int] = Field(default_factory=dict, description="Ray node id -> configs it trained.")
    seconds: float | None = Field(
        None, description="Wall-clock of the training (a resumed sweep: its attempts' summed)."
    )
    resumed: int = Field(0, description="(seed, node) pairs found stored from earlier attempts.")
    best_error: float | None = Field(None, description="Best mean error over the grid (%).")
    cancelled_after: int | None = Field(None, description="Configs trained before a cancel.")
