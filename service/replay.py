"""Replays and comparisons: searchers x seeds against stored landscapes (hand-written analysis).

A replay is a lookup, not training: each run asks its searcher (a fresh in-memory
Optuna study) for configs and answers with the landscape's error there. Trials count
distinct configs (DESIGN.md: a re-proposal is answered from the cache and does not
count). Suboptimality s(t) = best of the first t errors - e*, e* = the landscape's best
mean error; tuning cost T(delta) = the first t with s(t) <= delta.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from sqlalchemy import select

from search_spaces import build_sampler, space_from_json
from service.db import session_scope
from service.errors import NotFound
from service.models import Job, Landscape, LandscapePoint, ReplayResult
from service.specs import ReplaySpec
from workers.registry import OPTIMIZERS, TASKS


def landscape_matrix(landscape: Landscape, points: list[LandscapePoint]) -> np.ndarray:
    """Errors as an (alphas x epsilons) array; a failed or missing point scores chance level."""
    chance = TASKS[landscape.task].chance_error if landscape.task in TASKS else 100.0
    matrix = np.full((len(landscape.space["alphas"]), len(landscape.space["epsilons"])), chance)
    for p in points:
        if p.error is not None:
            matrix[p.alpha_index, p.epsilon_index] = p.error
    return matrix


def landscape_summary(ls: Landscape) -> dict[str, Any]:
    return {
        "id": ls.id,
        "job_id": ls.job_id,
        "task": ls.task,
        "optimizer": ls.optimizer,
        "recipe_hash": ls.recipe_hash,
        "seeds": ls.seeds,
        "shape": (len(ls.space["alphas"]), len(ls.space["epsilons"])),
        "fused": ls.fused,
        "seconds": ls.seconds,
    }


def landscape_detail(url: str, landscape_id: int) -> dict[str, Any]:
    """A landscape as the API serves it: matrices indexed [alpha][epsilon], None where a point failed."""
    with session_scope(url) as session:
        ls = session.get(Landscape, landscape_id)
        if ls is None:
            raise NotFound("Landscape")
        points = list(
            session.scalars(select(LandscapePoint).where(LandscapePoint.landscape_id == landscape_id))
        )
        n_a, n_e = len(ls.space["alphas"]), len(ls.space["epsilons"])
        errors: list[list[float | None]] = [[None] * n_e for _ in range(n_a)]
        stds: list[list[float | None]] = [[None] * n_e for _ in range(n_a)]
        diverged = [[0] * n_e for _ in range(n_a)]
        for p in points:
            errors[p.alpha_index][p.epsilon_index] = p.error
            stds[p.alpha_index][p.epsilon_index] = p.error_std
            diverged[p.alpha_index][p.epsilon_index] = p.diverged
        return {
            **landscape_summary(ls),
            "alphas": ls.space["alphas"],
            "epsilons": ls.space["epsilons"],
            "errors": errors,
            "error_stds": stds,
            "diverged": diverged,
            "recipe": ls.recipe,
        }


def replay_one(
    searcher: str,
    options: dict[str, Any],
    space_json: dict[str, Any],
    errors: np.ndarray,
    seed: int,
    budget: int,
    deltas: list[float],
    default_point: tuple[float, float] | None = None,
    max_repeats: int = 100,
) -> dict[str, Any]:
    """One searcher run against a landscape: its suboptimality curve and trials-to-delta.

    A searcher that proposes only known configs ``max_repeats`` times in a row has stalled
    (CMA-ES does, once it has converged on a grid node): the run ends there, its curve is
    shorter than the budget, and a delta it has not reached counts as not reached.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = space_from_json(space_json)
    distributions = space.distributions()
    e_star = float(errors.min())
    study = optuna.create_study(
        sampler=build_sampler(searcher, space, seed=seed, options=options, default_point=default_point)
    )
    seen: set[tuple[int, int]] = set()
    best = math.inf
    curve: list[float] = []
    repeats = 0
    while repeats < max_repeats:
        trial = study.ask(distributions)
        key = (int(trial.params["alpha_index"]), int(trial.params["epsilon_index"]))
        value = float(errors[key])
        study.tell(trial, value)
        if key in seen:  # answered from the cache: free, but a stalled searcher must end
            repeats += 1
            continue
        repeats = 0
        seen.add(key)
        best = min(best, value)
        curve.append(best - e_star)
        if len(curve) == budget:
            break
    trials_to = {str(d): next((t + 1 for t, s in enumerate(curve) if s <= d + 1e-9), None) for d in deltas}
    return {
        "searcher": searcher,
        "seed": seed,
        "curve": curve,
        "trials_to": trials_to,
        "stalled": len(curve) < budget,
    }


def _replay_many(
    searcher: str,
    options: dict[str, Any],
    space_json: dict[str, Any],
    errors: np.ndarray,
    seeds: list[int],
    budget: int,
    deltas: list[float],
    default_point: tuple[float, float] | None,
) -> list[dict[str, Any]]:
    return [
        replay_one(searcher, options, space_json, errors, s, budget, deltas, default_point) for s in seeds
    ]


def run_replay(
    *,
    url: str,
    job_id: int,
    spec: ReplaySpec,
    stop_event: threading.Event,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    with session_scope(url) as session:
        landscapes = {
            ls.id: ls for ls in session.scalars(select(Landscape).where(Landscape.id.in_(spec.landscape_ids)))
        }
        matrices = {
            i: landscape_matrix(
                ls, list(session.scalars(select(LandscapePoint).where(LandscapePoint.landscape_id == i)))
            )
            for i, ls in landscapes.items()
        }
    import ray  # the API process imports this module for the comparisons; only runners need Ray

    replay_chunk = ray.remote(num_cpus=1)(_replay_many)
    seeds = list(range(spec.seeds))
    per_task = max(
        1, math.ceil(spec.seeds / 4)
    )  # a few Ray tasks per (landscape, searcher) keep every CPU busy
    pending: dict[Any, tuple[int, str]] = {}
    for landscape_id, ls in landscapes.items():
        info = OPTIMIZERS.get(ls.optimizer)
        default = (info.default_alpha, info.default_epsilon) if info else None
        errors_ref = ray.put(matrices[landscape_id])
        for searcher in spec.searchers:
            options = spec.searcher_options.get(searcher, {})
            for lo in range(0, len(seeds), per_task):
                ref = replay_chunk.remote(
                    searcher,
                    options,
                    ls.space,
                    errors_ref,
                    seeds[lo : lo + per_task],
                    spec.budget,
                    spec.deltas,
                    default,
                )
                pending[ref] = (landscape_id, searcher)
    total, done = len(landscapes) * len(spec.searchers) * len(seeds), 0

    def store(tag: tuple[int, str], rows: list[dict[str, Any]]) -> None:
        nonlocal done
        landscape_id, searcher = tag
        with session_scope(url) as session:
            session.add_all(
                ReplayResult(
                    job_id=job_id,
                    landscape_id=landscape_id,
                    searcher=searcher,
                    optimizer=landscapes[landscape_id].optimizer,
                    seed=r["seed"],
                    budget=spec.budget,
                    trials_to=r["trials_to"],
                    curve=r["curve"],
                )
                for r in rows
            )
        done += len(rows)
        if on_progress:
            on_progress(done, total)

    from service.ray_session import gather

    if not gather(pending, stop_event, store):
        return {"cancelled_after": done}
    return {"runs": done, "landscape_ids": spec.landscape_ids}


# --------------------------------------------------------------------------- analysis
def share_within(errors: np.ndarray, delta: float) -> float:
    """Share of the landscape's configs within delta of its best: random search's odds per trial."""
    return float((errors <= errors.min() + delta + 1e-9).mean())


def expected_random_cost(errors: np.ndarray, delta: float) -> float:
    """Expected trials for random search without repeats to hit one of m good configs among N: (N+1)/(m+1)."""
    n = errors.size
    m = int((errors <= errors.min() + delta + 1e-9).sum())
    return (n + 1) / (m + 1)


def _stats(values: list[int | None], budget: int) -> dict[str, Any]:
    reached = [v for v in values if v is not None]
    censored = np.array([v if v is not None else math.inf for v in values], dtype=float)
    q25, med, q75 = (float(x) for x in np.percentile(censored, [25, 50, 75], method="lower"))

    def finite(x: float) -> float | None:
        return None if math.isinf(x) else x

    return {
        "median": finite(med),
        "q25": finite(q25),
        "q75": finite(q75),
        "mean": float(np.mean(reached)) if reached else None,
        "std": float(np.std(reached, ddof=1)) if len(reached) > 1 else (0.0 if reached else None),
        "success_rate": len(reached) / len(values) if values else 0.0,
        "seeds": len(values),
        "budget": budget,
    }


def compare(
    url: str,
    *,
    job_id: int | None = None,
    task: str | None = None,
    optimizers: list[str] | None = None,
    searchers: list[str] | None = None,
    deltas: list[float] | None = None,
) -> dict[str, Any]:
    """Tuning cost per (optimizer, searcher, delta), with median/IQR curves and landscape facts.

    By ``job_id`` (a replay job), or by ``task`` (+ ``optimizers``): then the newest replay
    job covering that task is used.
    """
    with session_scope(url) as session:
        if job_id is None:
            if task is None:
                raise NotFound("Replay job")
            candidates = session.scalars(
                select(Job).where(Job.kind == "replay", Job.state == "succeeded").order_by(Job.id.desc())
            ).all()
            job = next((j for j in candidates if task in j.task.split(",")), None)
            if job is None:
                raise NotFound("Replay job")
            job_id = job.id
        else:
            job = session.get(Job, job_id)
            if job is None or job.kind != "replay":
                raise NotFound("Replay job")
        deltas = deltas or [float(d) for d in job.spec["deltas"]]
        rows = list(session.scalars(select(ReplayResult).where(ReplayResult.job_id == job_id)))
        landscape_ids = sorted({r.landscape_id for r in rows} | set(job.spec["landscape_ids"]))
        landscapes = {
            ls.id: ls for ls in session.scalars(select(Landscape).where(Landscape.id.in_(landscape_ids)))
        }
        points = {
            i: list(session.scalars(select(LandscapePoint).where(LandscapePoint.landscape_id == i)))
            for i in landscapes
        }
    if task:
        landscapes = {i: ls for i, ls in landscapes.items() if ls.task == task}
    if optimizers:
        landscapes = {i: ls for i, ls in landscapes.items() if ls.optimizer in optimizers}
    rows = [r for r in rows if r.landscape_id in landscapes and (not searchers or r.searcher in searchers)]

    facts = []
    for i, ls in landscapes.items():
        matrix = landscape_matrix(ls, points[i])
        stds = [p.error_std for p in points[i] if p.error_std is not None]
        facts.append(
            {
                "landscape_id": i,
                "task": ls.task,
                "optimizer": ls.optimizer,
                "best_error": float(matrix.min()),
                "seeds": ls.seeds,
                "noise_std_median": float(np.median(stds)) if stds and len(ls.seeds) > 1 else None,
                "share_within": {str(d): share_within(matrix, d) for d in deltas},
                "random_expected_trials": {str(d): expected_random_cost(matrix, d) for d in deltas},
            }
        )

    out_rows, curves = [], []
    groups: dict[tuple[int, str], list[ReplayResult]] = {}
    for r in rows:
        groups.setdefault((r.landscape_id, r.searcher), []).append(r)
    for (landscape_id, searcher), group in sorted(
        groups.items(), key=lambda kv: (landscapes[kv[0][0]].optimizer, kv[0][1])
    ):
        optimizer = landscapes[landscape_id].optimizer
        budget = group[0].budget
        for d in deltas:
            values = [r.trials_to.get(str(d), r.trials_to.get(str(float(d)))) for r in group]
            out_rows.append(
                {
                    "landscape_id": landscape_id,
                    "optimizer": optimizer,
                    "searcher": searcher,
                    "delta": d,
                    **_stats(values, budget),
                }
            )
        length = max(len(r.curve) for r in group)
        padded = np.array([r.curve + [r.curve[-1]] * (length - len(r.curve)) for r in group])
        q25, med, q75 = np.percentile(padded, [25, 50, 75], axis=0)
        curves.append(
            {
                "landscape_id": landscape_id,
                "optimizer": optimizer,
                "searcher": searcher,
                "median": med.tolist(),
                "q25": q25.tolist(),
                "q75": q75.tolist(),
            }
        )
    return {"job_id": job_id, "deltas": deltas, "rows": out_rows, "curves": curves, "landscapes": facts}
