"""A replay's request body (:class:`ReplaySpec`: landscapes, searchers, seeds, budget, deltas,
noise, replicates, pruner and workers, baseline and correction) and its result."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tunecost.search_spaces import SEARCHERS, SpaceError, validate_options
from tunecost.service.analysis.replay import PrunerSpec
from tunecost.service.specs import DEFAULT_DELTAS, DELTAS_HELP, MAX_INT, SPEC_CONFIG, Deltas, Id, SearcherName


class ReplaySpec(BaseModel):
    """Run searchers x seeds against stored landscapes: lookups, no training."""

    model_config = ConfigDict(
        **SPEC_CONFIG,
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
    landscape_ids: list[Id] = Field(
        min_length=1, max_length=100, description="Landscapes from sweep jobs (or imported)."
    )
    searchers: list[SearcherName] = Field(
        default_factory=lambda: list(SEARCHERS),
        min_length=1,
        max_length=64,
        description="Searchers to compare.",
    )
    seeds: int = Field(100, ge=1, le=10_000, strict=True, description="Seeds per searcher and landscape.")
    budget: int = Field(
        100,
        ge=1,
        le=MAX_INT,
        strict=True,
        description="Distinct configs each run may evaluate (at most the grid size).",
    )
    deltas: Deltas = Field(default_factory=lambda: list(DEFAULT_DELTAS), description=DELTAS_HELP)
    searcher_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-searcher options."
    )
    pruner: PrunerSpec | None = Field(
        None,
        description="Early stopping on the landscapes' stored learning curves (service.analysis.replay): a "
        "pruned trial costs only the epochs it ran. Needs landscapes swept with curves.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=1024,
        description="Simulated asynchronous workers: trials run in parallel in simulated time, each "
        "told when it finishes; gives wall-clock to delta. Needs landscapes swept with curves.",
    )
    baseline: str | None = Field(
        None,
        max_length=200,
        description="The optimizer every verdict compares against, on each task and across tasks (a "
        "landscape's label: its optimizer, e.g. `adam`); default: each task's first landscape.",
    )
    correction: Literal["holm", "fdr_bh"] = Field(
        "holm",
        description="The multiple-comparison correction over each family of verdicts: Holm's "
        "step-down (family-wise error) or Benjamini-Hochberg (`fdr_bh`, false discovery rate).",
    )
    noise: Literal["seed", "none"] = Field(
        "seed",
        description="What a searcher is told: one training seed's error per config (`seed`, as a real "
        "tuner sees), or the mean over seeds (`none`). Scored on the mean landscape either way.",
    )
    target: float | None = Field(
        None,
        ge=0,
        le=1e12,
        allow_inf_nan=False,
        description="An absolute score for the shared question (trials to reach it, the same for every "
        "optimizer; one task only); default the baseline's e* + delta.",
    )
    replicates: int | None = Field(
        None,
        ge=2,
        le=20,
        strict=True,
        description="Put the training noise in the intervals: the first `replicates` training seeds "
        "of each landscape (its sweep seeds, then its refine seeds) are its replicates, each the "
        "landscape that one seed made; replay seed s runs on replicate s mod K, told and scored on "
        "that seed's errors, and every interval is over the replicates (t with K - 1 degrees of "
        "freedom). Overrides `noise`. Null: one landscape, intervals over the replay seeds only.",
    )

    @field_validator("landscape_ids")
    @classmethod
    def _distinct_landscapes(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("landscape_ids must be distinct")
        return value

    @field_validator("searchers")
    @classmethod
    def _distinct_searchers(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("searchers must be distinct")
        return value

    @field_validator("replicates")
    @classmethod
    def _a_run_per_replicate(cls, value: int | None, info: ValidationInfo) -> int | None:
        seeds = info.data.get("seeds")
        if value is not None and seeds is not None and seeds < 2 * value:
            raise ValueError(
                f"{value} replicates need at least {2 * value} seeds (two runs each); got {seeds}"
            )
        return value

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


class ReplayResult(BaseModel):
    runs: int = Field(0, description="Searcher runs stored (landscapes x searchers x seeds).")
    landscape_ids: list[int] = Field(default_factory=list)
    cancelled_after: int | None = Field(None, description="Runs stored before a cancel.")
    seconds: float | None = Field(None, description="Wall-clock of the runs (the report not included).")
    report_seconds: float | None = Field(None, description="Wall-clock of writing and attaching the report.")
    report_files: list[str] = Field(
        default_factory=list,
        description="The report's files, attached to the study and served under /v1/comparisons/{job_id}/report.",
    )
