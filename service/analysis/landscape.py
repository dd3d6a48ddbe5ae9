"""A landscape as the analysis and the reports read it: its summary and its full detail
(plain data: the read model :mod:`tunecost.service.landscapes` fills them from the database)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class LandscapeSummary(BaseModel):
    id: int
    job_id: int | None
    task: str
    optimizer: str
    recipe_hash: str
    seeds: list[int] = Field(description="Every training seed; per-seed errors follow this order.")
    sweep_seeds: list[int] = Field(description="The seeds trained at every node.")
    refine: dict[str, Any] | None = Field(description="The rule that chose where the other seeds trained.")
    shape: tuple[int, int]
    grid_name: str | None = Field(description="A named grid (`paper`, `paper-adabelief`), if it is one.")
    fused: bool
    seconds: float | None
    provenance: dict[str, Any] | None = Field(
        description="What made it: versions, device, CPU; or its origin."
    )
    checksum: str | None = Field(description="sha256 of the per-seed errors: equal checksums, equal inputs.")
    fidelity: dict[str, Any] | None = Field(
        description="A multi-fidelity (successive-halving) landscape's rule: method, eta, "
        "min_epochs, rungs, the ranking rule; null: every node at the recipe's epochs."
    )
    compute: dict[str, Any] | None = Field(
        description="What a sweep trained: `epochs` (every model's, summed), `full_epochs` (a "
        "full-fidelity sweep's), their `share`, and training `seconds`; null for an import."
    )
    reference: dict[str, Any] | None = Field(
        None,
        description="e* measured apart from its selection: the best node (`alpha`, `epsilon`, its "
        "indices) trained again with fresh `seeds`, their `errors`, mean `error` and `std`; null: "
        "e* is the best node's mean over the seeds that selected it (biased low).",
    )
    metric: dict[str, Any] = Field(
        description="What the scores (`errors`) measure: name, unit, kind, bounds, the unit of a "
        "suboptimality (`delta_unit`) and `failure_score`, what a failed point scores."
    )


class LandscapeDetail(LandscapeSummary):
    alphas: list[float]
    epsilons: list[float]
    errors: list[list[float | None]] = Field(
        description="Mean score (the `metric`: validation error in % for the built-in tasks); rows "
        "follow `alphas`, columns `epsilons`; null where a point failed."
    )
    error_stds: list[list[float | None]] = Field(description="Spread over the sweep's seeds.")
    diverged: list[list[int]] = Field(description="Seeds that diverged at each point.")
    epochs: list[list[int | None]] = Field(
        description="The epochs of its schedule each point was trained to: the recipe's, or the "
        "successive-halving rung it stopped at (its score is that rung's); null for an analytic "
        "task or a landscape stored before this was recorded."
    )
    seed_errors: list[list[list[float | None]]] = Field(
        description="Per seed (in `seeds` order), the error at each point; null where that seed was not trained."
    )
    recipe: dict[str, object]
    curves: list[list[list[list[float]]]] | None = Field(
        None,
        description="With `?curves=true`: per seed, [alpha][epsilon] -> the score after each epoch "
        "(an epoch axis; [] where that seed did not train, or for a landscape from before sweeps "
        "recorded curves: then the field is null).",
    )
    node_seconds: list[list[list[float | None]]] | None = Field(
        None,
        description="With `?curves=true`: per seed, [alpha][epsilon] -> training seconds (in a fused "
        "chunk, the chunk's time per model-epoch times the epochs that config trained).",
    )
