"""The embedded commands as service functions: the tuning-cost study (the main job) and the
quickstart. Both queue jobs and run them in this process on the settings' database.

The study sweeps each optimizer's grid, replays every searcher, compares, writes the table and
the figures and attaches them to the replay's Optuna study. The CLI (``tunecost study``,
``tunecost quickstart``) only parses its options, shows progress and prints what comes back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tunecost.search_spaces import SEARCHERS
from tunecost.service import bests, kinds, studies
from tunecost.service import jobs as job_service
from tunecost.service import landscapes as landscape_service
from tunecost.service.analysis.fidelity import Fidelity
from tunecost.service.analysis.replay import PrunerSpec
from tunecost.service.comparisons import Comparison, compare, report_dir
from tunecost.service.db import session_scope, upgrade
from tunecost.service.errors import TunecostError
from tunecost.service.kinds.replay import ReplaySpec
from tunecost.service.kinds.search import SearchSpec
from tunecost.service.kinds.sweep import Reference, Refine, SweepSpec
from tunecost.service.models import Job
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings
from tunecost.service.specs import (
    DEFAULT_DELTAS,
    DELTAS_HELP,
    Deltas,
    OptimizerName,
    SearcherName,
    TaskName,
    validated_recipe,
)
from tunecost.service.states import JobState
from tunecost.workers.catalog import TASKS


class StudyPlan(BaseModel):
    """What to study: which optimizers to sweep on which task, which searchers to replay."""

    model_config = ConfigDict(extra="forbid")

    task: TaskName = "mnist5k-mlp"
    tasks: list[TaskName] = Field(
        default_factory=list,
        description="A suite: these tasks instead of `task`, answered one by one and across them "
        "(performance profiles, overall verdicts from a random-effects meta-analysis).",
    )
    baseline: OptimizerName | None = Field(
        None, description="What every verdict compares against; default the first optimizer."
    )
    correction: Literal["holm", "fdr_bh"] = Field(
        "holm", description="The correction over each family of verdicts (ReplaySpec.correction)."
    )
    target: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="An absolute score every optimizer is asked to reach (ReplaySpec.target; one task); "
        "default the baseline's e* + delta.",
    )
    optimizers: list[OptimizerName] = Field(
        default_factory=lambda: ["adam", "avagrad", "adabelief"], min_length=1
    )
    searchers: list[SearcherName] = Field(default_factory=lambda: list(SEARCHERS), min_length=1)
    seeds: int = Field(100, ge=1, le=10_000, description="Replay seeds per searcher and optimizer.")
    budget: int = Field(100, ge=1, description="Distinct trials per replay run.")
    deltas: Deltas = Field(default_factory=lambda: list(DEFAULT_DELTAS), description=DELTAS_HELP)
    sweep_seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    replicates: int | None = Field(
        None,
        ge=1,
        le=20,
        description="Training seeds in each landscape's region near its best (the sweep seeds, then the "
        "refine seeds), each one replicate of the landscape: every verdict's interval is over them, so "
        "it holds the training noise that made the landscapes (ReplaySpec.replicates). 1: intervals "
        "over replay seeds only, the landscapes taken as exact. Default 5, and 1 for a task that "
        "trains nothing (no training noise).",
    )
    refine_seeds: list[int] | None = Field(
        None,
        description="Extra training seeds for each landscape's region near its best (empty: none); "
        "default the seeds after the sweep seeds, up to `replicates`.",
    )
    reference_seeds: list[int] = Field(
        default_factory=lambda: list(range(1000, 1010)),
        max_length=50,
        description="Fresh training seeds that measure e* at each landscape's best node, apart from "
        "its selection (SweepSpec.reference; AlgoPerf's rule). Empty: e* is the best mean node.",
    )
    refine_margin: float = Field(
        2.0, ge=0, description="Points above the first-pass best that count as near it."
    )
    refine_top_k: int = Field(10, ge=1, description="At least this many of the best configs are refined.")
    noise: Literal["seed", "none"] = Field(
        "seed", description="What replayed searchers are told (ReplaySpec.noise)."
    )
    recipe: dict[str, Any] = Field(default_factory=dict)
    fused: bool = True
    fidelity: Fidelity | None = Field(
        None,
        description="Sweep with successive halving over the grid (SweepSpec.fidelity); None: every "
        "node at the recipe's epochs.",
    )
    resweep: bool = Field(False, description="Sweep again even if a matching landscape is stored.")
    early_stopping: PrunerSpec | None = Field(
        default_factory=lambda: PrunerSpec(name="asha"),
        description="A second replay with this pruner on the stored learning curves: does early "
        "stopping change which optimizer is cheaper to tune, and by how much compute? None: skip.",
    )
    early_stopping_searchers: list[SearcherName] = Field(
        default_factory=lambda: ["random", "tpe"], min_length=1, description="Searchers paired with it."
    )

    @field_validator("tasks")
    @classmethod
    def _distinct_tasks(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("tasks must be distinct")
        return value

    @field_validator("baseline")
    @classmethod
    def _baseline_swept(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value not in info.data.get("optimizers", [value]):
            raise ValueError(f"{value!r} is not among the optimizers")
        return value

    @field_validator("recipe")
    @classmethod
    def _valid_recipe(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        for task in info.data.get("tasks") or [info.data.get("task")]:
            if task is not None:
                validated_recipe(task, value)
        return value  # the overrides: each sweep spec fills in the task's defaults

    @property
    def task_list(self) -> list[str]:
        """The tasks the study sweeps: ``tasks``, else ``task``."""
        return self.tasks or [self.task]

    @property
    def subject(self) -> str:
        """How tables name what was studied: the task, or the suite's tasks."""
        return ", ".join(self.task_list)

    @model_validator(mode="after")
    def _enough_seeds(self) -> StudyPlan:
        analytic = [t for t in self.task_list if TASKS[t].analytic]
        if analytic and (self.replicates or 1) > 1:
            raise ValueError(
                f"replicates: {analytic[0]} trains nothing, so it has no training noise to replicate"
            )
        if self.k > len(self.training_seeds):
            raise ValueError(
                f"replicates: {self.k} need as many training seeds near the best; the sweep and "
                f"refine seeds give {len(self.training_seeds)}"
            )
        if self.k > 1 and self.seeds < 2 * self.k:
            raise ValueError(f"seeds: {self.k} replicates need at least {2 * self.k}")
        if set(self.reference_seeds) & set(self.training_seeds):
            raise ValueError("reference_seeds must be fresh: none of the sweep or refine seeds")
        return self

    @property
    def trains(self) -> bool:
        """Whether its tasks train (an analytic task has no training noise)."""
        return not any(TASKS[t].analytic for t in self.task_list)

    @property
    def k(self) -> int:
        """The replicates: ``replicates``, default 5 where the tasks train, else 1."""
        return self.replicates or (5 if self.trains else 1)

    @property
    def training_seeds(self) -> list[int]:
        """The seeds each landscape's region near its best is trained with: sweep, then refine."""
        if self.refine_seeds is not None:
            extra = [s for s in self.refine_seeds if s not in self.sweep_seeds]
        else:
            start = max(self.sweep_seeds) + 1
            extra = list(range(start, start + max(self.k - len(self.sweep_seeds), 0)))
        return [*self.sweep_seeds, *extra]

    def refine(self) -> Refine | None:
        """The sweeps' refinement: the training seeds not already swept everywhere."""
        seeds = self.training_seeds[len(self.sweep_seeds) :]
        return Refine(seeds=seeds, margin=self.refine_margin, top_k=self.refine_top_k) if seeds else None

    def reference(self) -> Reference | None:
        """The sweeps' fresh-seed e* (none for a task that trains nothing)."""
        return Reference(seeds=self.reference_seeds) if self.reference_seeds and self.trains else None


class StudyReport(BaseModel):
    plan: StudyPlan
    landscape_ids: list[int]
    reused: list[int] = Field(description="Landscapes found stored rather than swept.")
    replay_job_id: int
    comparison: Comparison
    table: str = Field(description="The tuning-cost table as text.")
    early_stopping_job_id: int | None = Field(None, description="The replay with the plan's pruner.")
    early_stopping: Comparison | None = None
    early_stopping_table: str | None = None
    out_dir: Path
    files: list[Path] = Field(description="The table, the comparison and the figures written.")


class StudyProgress(Protocol):
    """What the study reports while it runs (the CLI shows it as progress bars)."""

    def note(self, message: str) -> None: ...
    def job_started(self, job_id: int, label: str, total: int | None) -> None: ...
    def job_advanced(self, job_id: int, done: int, total: int | None = None) -> None: ...
    def job_finished(self, job_id: int) -> None: ...


class StudyFailed(TunecostError):
    """A sweep or the replay of the study did not succeed."""


class _Silent:
    def note(self, message: str) -> None:
        pass

    def job_started(self, job_id: int, label: str, total: int | None) -> None:
        pass

    def job_advanced(self, job_id: int, done: int, total: int | None = None) -> None:
        pass

    def job_finished(self, job_id: int) -> None:
        pass


def run_here(settings: Settings, spec: BaseModel, label: str, progress: StudyProgress, *, owner: str) -> Job:
    """Queue ``spec`` and run queued jobs in this process until it has finished (older ones
    first); returns its finished row."""
    url = settings.resolved_database_url
    with session_scope(url) as session:
        job_id = job_service.create_job(session, spec, owner=owner).id
    progress.job_started(job_id, label, kinds.get(spec.kind).total(spec))  # type: ignore[attr-defined]
    said = False

    def advanced(job: int, done: int, total: int | None) -> None:
        nonlocal said
        progress.job_advanced(job, done, total)
        if isinstance(spec, ReplaySpec) and total and done >= total and not said:  # a report takes a while
            progress.note(f"{label} (job {job}): every run done; writing its report (table, figures)")
            said = True

    runner = JobRunner(settings, on_progress=advanced)
    try:
        return runner.run_until(job_id)
    finally:
        progress.job_finished(job_id)


def _copy_report(settings: Settings, job_id: int, out_dir: Path) -> list[Path]:
    """A replay's report, made when it finished (and attached to its study), copied to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    copies = []
    for source in sorted(report_dir(settings, job_id).iterdir()):
        shutil.copy2(source, out_dir / source.name)
        copies.append(out_dir / source.name)
    return copies


def run_study(
    settings: Settings, plan: StudyPlan, out_dir: Path, progress: StudyProgress | None = None
) -> StudyReport:
    """Run the study on the settings' database; everything it makes stays there (jobs,
    landscapes, replay runs) for the API and the dashboard, and a rerun reuses stored landscapes."""
    progress = progress or _Silent()
    url = settings.resolved_database_url
    upgrade(url)

    def run(spec: SweepSpec | ReplaySpec, label: str) -> Job:
        job = run_here(settings, spec, label, progress, owner="study")
        if job.state != JobState.SUCCEEDED or job.result is None:
            raise StudyFailed(f"{label} (job {job.id}) {job.state}: {job.error}")
        return job

    landscape_ids, reused = [], []
    for task, optimizer in ((t, o) for t in plan.task_list for o in plan.optimizers):
        spec = SweepSpec(
            kind="sweep",
            task=task,
            optimizer=optimizer,
            seeds=plan.sweep_seeds,
            refine=plan.refine(),
            reference=plan.reference(),
            recipe=plan.recipe,
            fused=plan.fused,
            fidelity=plan.fidelity,
        )
        with session_scope(url) as session:
            match = landscape_service.find_matching(
                session,
                task=spec.task,
                optimizer=optimizer,
                recipe_hash=spec.recipe_hash,
                grid=spec.space,
                seeds=spec.seeds,
                refine=None if spec.refine is None else spec.refine.model_dump(mode="json"),
                fidelity=None if spec.fidelity is None else spec.fidelity.model_dump(mode="json"),
                reference=None if spec.reference is None else list(spec.reference.seeds),
            )
        if match is not None and not plan.resweep:
            progress.note(f"{task}/{optimizer}: reusing landscape {match}")
            landscape_ids.append(match)
            reused.append(match)
            continue
        landscape_id = kinds.links(run(spec, f"sweep {task}/{optimizer}")).landscape_id
        assert landscape_id is not None, "a sweep that succeeded stored its landscape"
        landscape_ids.append(landscape_id)

    replay = ReplaySpec(
        kind="replay",
        landscape_ids=landscape_ids,
        searchers=plan.searchers,
        seeds=plan.seeds,
        budget=plan.budget,
        deltas=plan.deltas,
        noise=plan.noise,
        baseline=plan.baseline or plan.optimizers[0],
        correction=plan.correction,
        replicates=plan.k if plan.k > 1 else None,
        target=plan.target,
    )
    replay_job_id = run(replay, "replay").id
    with session_scope(url) as session:
        comparison = compare(session, job_id=replay_job_id)
        study_name = job_service.get_job(session, replay_job_id).study_name or ""
    studies.open_study(url, study_name).set_user_attr("plan", json.loads(plan.model_dump_json()))
    files = _copy_report(settings, replay_job_id, out_dir)
    table = (out_dir / "tuning_cost.txt").read_text().rstrip("\n")
    figures = sorted(p for p in files if p.suffix == ".png")
    early_id = early = early_table = None
    if plan.early_stopping is not None:
        with session_scope(url) as session:
            stored = landscape_service.read(session, landscape_ids)
        without = [i for i in landscape_ids if stored[i].curves is None]
        if without:
            progress.note(
                f"no early-stopping rows: landscapes {without} have no learning curves "
                "(swept before sweeps recorded them; --resweep makes new ones)"
            )
        else:
            pruned = ReplaySpec(
                kind="replay",
                landscape_ids=landscape_ids,
                searchers=plan.early_stopping_searchers,
                seeds=plan.seeds,
                budget=plan.budget,
                deltas=plan.deltas,
                noise=plan.noise,
                baseline=plan.baseline or plan.optimizers[0],
                correction=plan.correction,
                replicates=plan.k if plan.k > 1 else None,
                target=plan.target,
                pruner=plan.early_stopping,
            )
            early_id = run(pruned, f"replay with {plan.early_stopping.name}").id
            with session_scope(url) as session:
                early = compare(session, job_id=early_id)
            early_dir = out_dir / f"early_stopping_{plan.early_stopping.name}"
            _copy_report(settings, early_id, early_dir)
            early_table = (early_dir / "tuning_cost.txt").read_text().rstrip("\n")
    return StudyReport(
        plan=plan,
        landscape_ids=landscape_ids,
        reused=reused,
        replay_job_id=replay_job_id,
        comparison=comparison,
        table=table,
        early_stopping_job_id=early_id,
        early_stopping=early,
        early_stopping_table=early_table,
        out_dir=out_dir.resolve(),
        files=[
            out_dir / "tuning_cost.txt",
            out_dir / "tuning_cost.csv",
            out_dir / "comparison.json",
            *figures,
        ],
    )


class QuickstartReport(BaseModel):
    job_id: int
    state: JobState
    error: str | None
    study_name: str
    curve: list[job_service.CurvePoint]
    best: bests.BestConfig | None
    reference_error: float | None
    reference_source: str | None
    database: str


def quickstart(
    settings: Settings, spec: SearchSpec, progress: StudyProgress | None = None
) -> QuickstartReport:
    """One search job end to end in this process: its curve and the best config found."""
    progress = progress or _Silent()
    url = settings.resolved_database_url
    upgrade(url)
    job = run_here(settings, spec, f"{spec.searcher} tunes {spec.optimizer}", progress, owner="quickstart")
    with session_scope(url) as session:
        best = None
        if job.state == JobState.SUCCEEDED:
            best = bests.best_config(session, spec.task, spec.optimizer, recipe_hash=spec.recipe_hash)
        return QuickstartReport(
            job_id=job.id,
            state=JobState(job.state),
            error=job.error,
            study_name=job.study_name or job_service.study_name_for(job.id),
            curve=job_service.curve(session, job.id),
            best=best,
            reference_error=job.reference_error,
            reference_source=job.reference_source,
            database=url,
        )
