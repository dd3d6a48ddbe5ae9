"""A replay job's comparison and report, read from the database: its landscapes and runs,
handed to the analysis core (:func:`tunecost.service.analysis.comparison.build`, and
:mod:`tunecost.service.analysis.report` for the files and the page), which knows no database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tunecost.service import landscapes as landscape_service
from tunecost.service.analysis.comparison import Comparison, Subject, build, labels, resolution
from tunecost.service.analysis.estimator import UnrecordedDelta
from tunecost.service.analysis.landscape import LandscapeDetail
from tunecost.service.analysis.replay import Run
from tunecost.service.analysis.report import Drawer, draw_here, html_page, write_files
from tunecost.service.errors import InvalidField, NotFound
from tunecost.service.kinds.replay.spec import ReplaySpec
from tunecost.service.models import Job, Landscape, ReplayLandscape, ReplayRun
from tunecost.service.settings import Settings
from tunecost.service.states import JobState


def replay_job(session: Session, job_id: int | None, task: str | None = None) -> Job:
    """The replay job ``job_id``, or the newest succeeded replay covering ``task``."""
    if job_id is not None:
        job = session.get(Job, job_id)
        linked = session.scalar(
            select(ReplayLandscape.job_id).where(ReplayLandscape.job_id == job_id).limit(1)
        )
        if job is None or linked is None:  # a replay is a job linked to landscapes
            raise NotFound("Replay job")
        return job
    if task is None:
        raise NotFound("Replay job")
    newest = session.scalars(
        select(Job)
        .join(ReplayLandscape, ReplayLandscape.job_id == Job.id)
        .join(Landscape, Landscape.id == ReplayLandscape.landscape_id)
        .where(Job.state == JobState.SUCCEEDED, Landscape.task == task)
        .order_by(Job.id.desc())
        .limit(1)
    ).first()
    if newest is None:
        raise NotFound("Replay job")
    return newest


def landscape_labels(landscapes: dict[int, Landscape]) -> dict[int, str]:
    """Each landscape's name in tables and figures (:func:`tunecost.service.analysis.comparison.labels`)."""
    return labels({i: (ls.task, ls.optimizer, ls.recipe) for i, ls in landscapes.items()})


def linked_landscapes(session: Session, job_id: int) -> dict[int, landscape_service.Stored]:
    """A replay job's landscapes, read whole, in the job's order."""
    linked = session.scalars(
        select(ReplayLandscape.landscape_id)
        .where(ReplayLandscape.job_id == job_id)
        .order_by(ReplayLandscape.position)
    )
    return landscape_service.read(session, list(linked))


def compare(
    session: Session,
    *,
    job_id: int | None = None,
    task: str | None = None,
    optimizers: list[str] | None = None,
    searchers: list[str] | None = None,
    deltas: list[float] | None = None,
    stored: dict[int, landscape_service.Stored] | None = None,
) -> Comparison:
    """Tuning cost per (optimizer, searcher, delta), verdicts, profiles and landscape facts.

    By ``job_id`` (a replay job), or by ``task`` (+ ``optimizers``): then the newest replay
    job covering that task is used. ``stored``: the job's landscapes, where the caller has
    read them already (:func:`linked_landscapes`).
    """
    job = replay_job(session, job_id, task)
    spec = ReplaySpec.model_validate(job.spec)
    deltas = [float(d) for d in deltas] if deltas else list(spec.deltas)
    loaded = stored if stored is not None else linked_landscapes(session, job.id)
    if task:
        loaded = {i: v for i, v in loaded.items() if v.row.task == task}
    if optimizers:
        loaded = {i: v for i, v in loaded.items() if v.row.optimizer in optimizers}
    names = landscape_labels({i: stored.row for i, stored in loaded.items()})
    subjects = []
    for i, stored in loaded.items():
        ls, metric = stored.row, stored.metric
        e_star_se, e_star_df = landscape_service.e_star_noise(ls)
        subjects.append(
            Subject(
                landscape_id=i,
                task=ls.task,
                optimizer=ls.optimizer,
                label=names[i],
                metric=metric.name,
                unit=metric.unit,
                delta_unit=metric.delta_unit,
                errors=stored.errors,
                seeds=ls.seeds,
                noise_std_median=landscape_service.noise_std_median(stored.points),
                resolution=resolution(stored.seed_errors),
                fidelity=ls.fidelity,
                compute=ls.compute,
                chance=float(landscape_service.metric_json(ls)["failure_score"]),
                e_star=None if ls.reference is None else float(ls.reference["error"]),
                e_star_se=e_star_se,
                e_star_df=e_star_df,
            )
        )
    query = select(ReplayRun).where(ReplayRun.job_id == job.id, ReplayRun.landscape_id.in_(list(loaded)))
    if searchers:
        query = query.where(ReplayRun.searcher.in_(searchers))
    groups: dict[tuple[int, str], list[Run]] = {}
    for r in session.scalars(query.order_by(ReplayRun.landscape_id, ReplayRun.searcher, ReplayRun.seed)):
        groups.setdefault((r.landscape_id, r.searcher), []).append(
            Run.from_stored(
                searcher=r.searcher,
                seed=r.seed,
                budget=r.budget,
                curve=r.curve,
                trials_to=r.trials_to,
                cost_to=r.cost_to,
                stopped_trials=r.stopped_trials,
                replicate=r.replicate,
            )
        )
    try:
        return build(
            job.id,
            deltas,
            subjects,
            groups,
            baseline=spec.baseline,
            correction=spec.correction,
            target=spec.target,
        )
    except UnrecordedDelta as exc:
        raise InvalidField("deltas", str(exc), where="query") from None


def report_dir(settings: Settings, job_id: int) -> Path:
    return settings.reports_dir / f"job-{job_id}"


def write_report(
    session: Session, settings: Settings, job: Job, draw: Drawer = draw_here
) -> tuple[Comparison, list[LandscapeDetail], list[Path]]:
    """The one place a replay's report is assembled: its comparison, its landscapes and its
    files in :func:`report_dir` (table first); ``draw`` draws its figures
    (:func:`tunecost.service.analysis.report.write_files`)."""
    spec = ReplaySpec.model_validate(job.spec)
    stored = linked_landscapes(session, job.id)
    comparison = compare(session, job_id=job.id, stored=stored)
    landscapes = [stored[f.landscape_id].detail() for f in comparison.landscapes]
    task = ", ".join(dict.fromkeys(ls.task for ls in landscapes))
    files = write_files(
        comparison,
        landscapes,
        report_dir(settings, job.id),
        task=task,
        seeds=spec.seeds,
        budget=spec.budget,
        draw=draw,
    )
    return comparison, landscapes, files


def _report_files(session: Session, settings: Settings, job: Job) -> list[Path]:
    """The report's files as the runner wrote them; written now if it has not (a replay
    finished before reports existed, or an API that does not share the runner's home)."""
    out_dir = report_dir(settings, job.id)
    if (out_dir / "tuning_cost.txt").exists():
        return sorted(out_dir.iterdir())
    return write_report(session, settings, job)[2]


def page(session: Session, settings: Settings, job_id: int) -> str:
    """``GET /v1/comparisons/{job_id}/report``: the replay's report page."""
    job = replay_job(session, job_id)
    spec = ReplaySpec.model_validate(job.spec)
    facts = {"seeds": spec.seeds, "budget": spec.budget, "study_name": job.study_name}
    if job.state != JobState.SUCCEEDED:
        return html_page(job.id, job.state, None, [], **facts)
    files = _report_files(session, settings, job)
    return html_page(
        job.id, job.state, compare(session, job_id=job.id), sorted(p.name for p in files), **facts
    )


def report_file(session: Session, settings: Settings, job_id: int, name: str) -> Path:
    """One file of the replay's report (a figure, the CSV), by its name in the listing."""
    job = replay_job(session, job_id)
    if job.state != JobState.SUCCEEDED:
        raise NotFound("Report file")
    found = {p.name: p for p in _report_files(session, settings, job)}
    if name not in found:  # names from the listing only: no path reaches outside it
        raise NotFound("Report file")
    return found[name]
