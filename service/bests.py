"""What the database knows is best, read without knowing any job kind: a job's trials counted
with the best of them (``trial_progress``), the best finished trial of (task, optimizer)
(``best_config``), the config to use (``recommended``, ``GET /v1/best-configs``) and the e* a
search job without a reference measures its suboptimality from (``best_known_error``). Kinds
call these; :mod:`tunecost.service.jobs`, which dispatches to kinds, is above them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tunecost.service.analysis.comparison import at_grid_edge
from tunecost.service.errors import NotFound
from tunecost.service.kinds.base import BestPoint, Progress
from tunecost.service.landscapes import best_point, metric_of
from tunecost.service.models import Job, Landscape, LandscapePoint, Trial
from tunecost.service.specs import recipe_hash as hash_recipe
from tunecost.service.specs import validated_recipe
from tunecost.service.states import TrialStatus
from tunecost.workers.catalog import TASKS


class BestConfig(BaseModel):
    alpha: float
    epsilon: float
    error: float = Field(description="Its score: the mean over `seeds` where they are given.")
    job_id: int | None = Field(description="The job that measured it (a sweep, for a landscape's).")
    trial: int | None
    trials_considered: int = Field(
        description="Finished trials of (task, optimizer) the best was chosen from (a landscape's: its nodes)."
    )
    source: Literal["search", "landscape"] = Field(
        "search",
        description="`landscape`: a swept (or imported) landscape's best node; `search`: a search trial.",
    )
    landscape_id: int | None = None
    seeds: list[int] | None = Field(None, description="The training seeds `error` is the mean over.")
    error_std: float | None = Field(None, description="Their spread.")
    fresh: bool = Field(
        False,
        description="`error` was measured on seeds that did not select the config (a landscape's "
        "reference): unbiased. False: the lowest of many noisy scores, biased low.",
    )
    recipe_hash: str | None = Field(None, description="The recipe it is the best for; null: any.")
    default_recipe: bool = Field(False, description="The task's default recipe, since none was asked.")
    on_grid_edge: bool | None = Field(
        None,
        description="A landscape's best node lies on its grid's edge: the optimum may lie outside "
        "the grid, so widen it. Null: a search trial, which has no grid.",
    )


def best_config(session: Session, task: str, optimizer: str, *, recipe_hash: str | None = None) -> BestConfig:
    """Lowest validation error over every finished, non-cached trial of (task, optimizer)."""
    conditions = [
        Job.task == task,
        Job.optimizer == optimizer,
        Trial.status == TrialStatus.COMPLETE,
        Trial.cached.is_(False),
        Trial.error.is_not(None),
    ]
    if recipe_hash:
        conditions.append(Job.recipe_hash == recipe_hash)
    base = select(Trial).join(Job, Trial.job_id == Job.id).where(*conditions)
    best = session.scalars(base.order_by(Trial.error, Trial.diverged, Trial.id).limit(1)).first()
    if best is None:
        raise NotFound("Finished trial")
    considered = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return BestConfig(
        alpha=best.alpha,
        epsilon=best.epsilon,
        error=best.error,
        job_id=best.job_id,
        trial=best.number,
        trials_considered=considered,
    )


def landscapes_of(session: Session, task: str, optimizer: str, recipe_hash: str) -> list[Landscape]:
    """The landscapes of (task, optimizer, recipe) scored in the task's metric, newest first."""
    metric = TASKS[task].metric if task in TASKS else None
    query = (
        select(Landscape)
        .where(Landscape.task == task, Landscape.optimizer == optimizer, Landscape.recipe_hash == recipe_hash)
        .order_by(Landscape.id.desc())
    )
    return [ls for ls in session.scalars(query) if metric is None or metric_of(ls) == metric]


def recommended(session: Session, task: str, optimizer: str, recipe_hash: str | None = None) -> BestConfig:
    """``GET /v1/best-configs``: the config to use for (task, optimizer) and the recipe asked
    (the task's default recipe when none is, said in the answer): the best node of the newest
    landscape that measured it on fresh seeds (its error their mean, with their spread); else
    the newest landscape's best node by its mean over the seeds that chose it (``fresh``
    false); else the best finished search trial (one training run)."""
    default = recipe_hash is None and task in TASKS
    if default:
        recipe_hash = hash_recipe(task, validated_recipe(task, {}))
    said = {"recipe_hash": recipe_hash, "default_recipe": default}
    landscapes = landscapes_of(session, task, optimizer, recipe_hash) if recipe_hash else []
    fresh = next((ls for ls in landscapes if ls.reference is not None), None)
    if fresh is not None:
        ref = fresh.reference
        return BestConfig(
            alpha=ref["alpha"],
            epsilon=ref["epsilon"],
            error=ref["error"],
            job_id=fresh.job_id,
            trial=None,
            trials_considered=len(fresh.points),
            source="landscape",
            landscape_id=fresh.id,
            seeds=ref["seeds"],
            error_std=ref.get("std"),
            fresh=True,
            on_grid_edge=_on_edge(fresh, ref["alpha"], ref["epsilon"]),
            **said,
        )
    if landscapes:
        ls = landscapes[0]
        point = best_point(session, ls.id)
        if point is not None:
            return BestConfig(
                alpha=point.alpha,
                epsilon=point.epsilon,
                error=point.error,
                job_id=ls.job_id,
                trial=None,
                trials_considered=len(ls.points),
                source="landscape",
                landscape_id=ls.id,
                seeds=[s for s, e in zip(ls.seeds, point.errors, strict=False) if e is not None],
                error_std=point.error_std,
                on_grid_edge=_on_edge(ls, point.alpha, point.epsilon),
                **said,
            )
    found = best_config(session, task, optimizer, recipe_hash=recipe_hash)
    return found.model_copy(update=said)


def _on_edge(landscape: Landscape, alpha: float, epsilon: float) -> bool:
    """Whether (alpha, epsilon) lies on the edge of the landscape's grid."""
    axes = ([p.alpha for p in landscape.points], [p.epsilon for p in landscape.points])
    return at_grid_edge((alpha, epsilon), axes)


def best_known_error(
    session: Session, task: str, optimizer: str, recipe_hash: str, *, job_id: int | None = None
) -> tuple[float | None, str | None]:
    """e* for a job without a user-given reference, and where it came from, for the same task,
    optimizer, recipe and metric:

    * ``landscape``: a stored landscape's reference, its best node measured on fresh seeds (the
      e* its replays use; the newest such landscape);
    * ``best-known``: else the lowest score any run reached: a finished search trial, or one
      seed at one node of a landscape (swept or imported; of a successive-halving landscape,
      only the nodes trained to the recipe's epochs);
    * ``own best``: the lowest is job ``job_id``'s own and nothing else was run: its
      suboptimality is relative to its own best, and reaches 0 by construction.

    (None, None) when nothing was reached yet."""
    landscapes = landscapes_of(session, task, optimizer, recipe_hash)
    fresh = next((ls.reference for ls in landscapes if ls.reference is not None), None)
    if fresh is not None:
        return float(fresh["error"]), "landscape"
    try:
        found = best_config(session, task, optimizer, recipe_hash=recipe_hash)
        best, mine = found.error, found.job_id == job_id
        others = session.scalar(
            select(func.count())
            .select_from(Trial)
            .join(Job, Trial.job_id == Job.id)
            .where(
                Job.task == task,
                Job.optimizer == optimizer,
                Job.recipe_hash == recipe_hash,
                Job.id != job_id,
                Trial.error.is_not(None),
            )
        )
    except NotFound:
        best, mine, others = None, False, 0
    for landscape in landscapes:
        points = select(LandscapePoint.errors).where(LandscapePoint.landscape_id == landscape.id)
        if landscape.full_fidelity is not None:  # multi-fidelity: only its nodes at the recipe's epochs
            points = points.where(LandscapePoint.epochs == landscape.full_fidelity)
        for errors in session.scalars(points):
            for error in errors:
                if error is not None and (best is None or error < best):
                    best, mine = error, False
    if best is None:
        return None, None
    return best, "own best" if mine and not others and not landscapes else "best-known"


def trial_progress(session: Session, jobs: list[Job]) -> dict[int, Progress]:
    """Per job: its distinct trials so far and the best of them (two queries per call)."""
    job_ids = [job.id for job in jobs]
    out = {j.id: Progress(total=j.spec.get("budget")) for j in jobs}
    if not job_ids:
        return out
    counts = session.execute(
        select(Trial.job_id, func.count())
        .where(Trial.job_id.in_(job_ids), Trial.number.is_not(None))
        .group_by(Trial.job_id)
    ).all()
    for job_id, n in counts:
        out[job_id].trials_done = n
    ranked = (
        select(
            Trial.job_id,
            Trial.alpha,
            Trial.epsilon,
            Trial.error,
            Trial.number,
            Trial.optuna_trial_number,
            func.row_number()
            .over(partition_by=Trial.job_id, order_by=(Trial.error, Trial.number))
            .label("rank"),
        )
        .where(Trial.job_id.in_(job_ids), Trial.number.is_not(None), Trial.error.is_not(None))
        .subquery()
    )
    for job_id, alpha, epsilon, error, number, optuna_number, _rank in session.execute(
        select(ranked).where(ranked.c.rank == 1)
    ):
        out[job_id].best = BestPoint(
            alpha=alpha, epsilon=epsilon, error=error, trial=number, optuna_trial=optuna_number
        )
    return out
