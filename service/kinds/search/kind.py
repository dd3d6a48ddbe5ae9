"""The ``search`` kind: a Ray Tune experiment (:mod:`tunecost.service.kinds.search.experiment`) over the
job's (alpha, epsilon) space, trials recorded as they finish; its spec in
:mod:`tunecost.service.kinds.search.spec`."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from tunecost.service import bests
from tunecost.service.db import session_scope
from tunecost.service.kinds.base import JobKind, Limits, Outcome, RunContext
from tunecost.service.kinds.search.spec import SearchResult, SearchSpec
from tunecost.service.models import Job, Trial
from tunecost.service.states import JobState


class SearchKind(JobKind[SearchSpec, SearchResult]):
    name = "search"
    spec_model = SearchSpec
    result_model = SearchResult

    def warnings(self, job: Job) -> list[str]:
        """A model-based searcher whose budget is within its random start: TPE's first
        ``n_startup_trials`` (10 by default) are random, so a TPE search of 6 trials is a random
        search of 6 (the same configs, for the same seed). A job whose e* is its own best."""
        spec = job.spec
        out = []
        if job.reference_source == "own best":
            out.append(
                "e* is this job's own best (no reference_error, and no other run or landscape of this "
                "task, optimizer and recipe): its suboptimality reaches 0 by construction. Give "
                "reference_error, or sweep a landscape with a fresh-seed reference, to measure it."
            )
        startup = (spec.get("searcher_options") or {}).get("n_startup_trials")
        if (
            spec.get("searcher") in ("tpe", "cmaes")
            and startup is not None
            and spec.get("budget", 0) <= startup
        ):
            out.append(
                f"{spec['searcher']}: its first {startup} trials (searcher_options.n_startup_trials) are "
                f"random, and the budget is {spec['budget']}: this search is a random search. Lower "
                f"n_startup_trials or raise the budget for {spec['searcher']} to model anything."
            )
        return out

    def admit(self, session: Session, job: Job, spec: SearchSpec, limits: Limits) -> None:
        limits.check_budget(spec.budget)
        limits.check_grid(spec.space.size)
        job.task, job.optimizer, job.searcher = spec.task, spec.optimizer, spec.searcher
        job.recipe_hash = spec.recipe_hash
        if spec.reference_error is not None:
            job.reference_error, job.reference_source = spec.reference_error, "user"

    def total(self, spec: SearchSpec) -> int:
        return spec.budget

    def run(self, ctx: RunContext, spec: SearchSpec) -> SearchResult:
        # Ray Tune is imported only where a job runs, never in the API process.
        from tunecost.service.kinds.search.experiment import run_search
        from tunecost.service.ray_session import check_placeable, ensure_ray

        ensure_ray(ctx.settings)
        check_placeable(spec.resources.cpu, spec.resources.gpu, "trial")
        return SearchResult(study_name=ctx.study_name, **asdict(run_search(ctx, spec)))

    def finish(self, ctx: RunContext, spec: SearchSpec, result: SearchResult) -> tuple[SearchResult, Outcome]:
        """Fill suboptimality against the best known error when the user gave no e*."""
        with session_scope(ctx.url) as session:
            row = session.get(Job, ctx.job_id)
            if row is None:  # deleted while it ran: nothing to finalize
                return result, Outcome(JobState.SUCCEEDED)
            if row.reference_source != "user":
                row.reference_error, row.reference_source = bests.best_known_error(
                    session, spec.task, spec.optimizer, spec.recipe_hash, job_id=ctx.job_id
                )
            e_star = row.reference_error
            trials = list(
                session.scalars(select(Trial).where(Trial.job_id == ctx.job_id).order_by(Trial.position))
            )
            for t in trials:
                t.suboptimality = (
                    None if (t.best_so_far is None or e_star is None) else t.best_so_far - e_star
                )
            counted = [t for t in trials if t.number is not None and t.error is not None]
            session.flush()
            best = bests.trial_progress(session, [row])[
                row.id
            ].best  # the one rule: lowest error, earliest trial
            result = result.model_copy(
                update={
                    "trials": len(counted),
                    "cached": sum(t.cached for t in trials),
                    "diverged": sum(t.diverged for t in counted),
                    "reference_error": e_star,
                    "best": best,
                }
            )
            if result.trained == 0 and result.resumed_from == 0:
                first = next((t.message for t in trials if t.message), None)
                result = result.model_copy(update={"first_error": first})
                return result, Outcome(JobState.FAILED, first or "no trial finished")
        return result, Outcome(JobState.SUCCEEDED)


KIND = SearchKind()
