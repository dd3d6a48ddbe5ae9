"""Replay throughput: a tunecost replay job (Ray tasks, results written to the database)
against a plain single-process Optuna loop doing the same lookups, on the same landscape.

    python benchmarks/replay.py [--seeds 40] [--budget 100] [--searchers random tpe gld cgld]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import optuna

from tunecost.search_spaces import build_sampler, paper_grid


def plain_loop(searcher: str, errors: np.ndarray, seed: int, budget: int) -> int:
    """What a user would write by hand: ask, look up, tell, until `budget` distinct configs."""
    grid = paper_grid()
    study = optuna.create_study(sampler=build_sampler(searcher, grid, seed=seed))
    seen: set[tuple[int, int]] = set()
    repeats = 0
    while len(seen) < budget and repeats < 100:
        trial = study.ask(grid.distributions())
        key = (trial.params["alpha_index"], trial.params["epsilon_index"])
        study.tell(trial, float(errors[key]))
        repeats = repeats + 1 if key in seen else 0
        seen.add(key)
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--searchers", nargs="+", default=["random", "tpe", "gld", "cgld"])
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")

    from tunecost.service import jobs
    from tunecost.service.db import session_scope, upgrade
    from tunecost.service.kinds.replay import ReplaySpec
    from tunecost.service.models import Landscape, LandscapePoint
    from tunecost.service.ray_session import ensure_ray
    from tunecost.service.runner import JobRunner
    from tunecost.service.settings import Settings

    rng = np.random.default_rng(0)
    ai, ei = np.meshgrid(np.arange(21), np.arange(21), indexing="ij")
    errors = ((ai - 13) ** 2 + (ei - 4) ** 2) / 10 + rng.normal(0, 0.5, (21, 21)) + 5
    grid = paper_grid()

    settings = Settings(home=tempfile.mkdtemp(prefix="tunecost-bench-"), _env_file=None)
    url = settings.resolved_database_url
    upgrade(url)
    ensure_ray(settings)
    with session_scope(url) as session:
        landscape = Landscape(
            task="synthetic-bowl",
            optimizer="adam",
            recipe_hash="bench",
            recipe={},
            space=grid.to_json(),
            seeds=[0],
        )
        session.add(landscape)
        session.flush()
        for i, a in enumerate(grid.alphas):
            for j, e in enumerate(grid.epsilons):
                session.add(
                    LandscapePoint(
                        landscape_id=landscape.id,
                        alpha_index=i,
                        epsilon_index=j,
                        alpha=a,
                        epsilon=e,
                        error=float(errors[i, j]),
                        error_std=0.0,
                        errors=[float(errors[i, j])],
                        diverged=0,
                    )
                )
        landscape_id = landscape.id

    runs = len(args.searchers) * args.seeds
    runner = JobRunner(settings)
    with session_scope(url) as session:
        jobs.create_job(
            session,
            ReplaySpec(kind="replay", landscape_ids=[landscape_id], searchers=["random"], seeds=2, budget=5),
        )
    runner.run_once()  # warm-up: Ray workers, imports
    with session_scope(url) as session:
        job_id = jobs.create_job(
            session,
            ReplaySpec(
                kind="replay",
                landscape_ids=[landscape_id],
                searchers=args.searchers,
                seeds=args.seeds,
                budget=args.budget,
            ),
        ).id
    start = time.perf_counter()
    runner.run_once()
    t_tunecost = time.perf_counter() - start
    with session_scope(url) as session:
        job = jobs.get_job(session, job_id)
        if job.state != "succeeded":
            raise SystemExit("replay job failed")
        result = dict(job.result or {})

    start = time.perf_counter()
    for searcher in args.searchers:
        for seed in range(args.seeds):
            plain_loop(searcher, errors, seed, args.budget)
    t_plain = time.perf_counter() - start

    print(
        f"{runs} runs ({', '.join(args.searchers)} x {args.seeds} seeds), budget {args.budget}, one 21x21 landscape"
    )
    print(f"  plain Optuna loop, one process:        {t_plain:7.2f} s  ({runs / t_plain:6.1f} runs/s)")
    print(f"  tunecost replay job, Ray + DB writes:  {t_tunecost:7.2f} s  ({runs / t_tunecost:6.1f} runs/s)")
    cpus = int(__import__("ray").cluster_resources().get("CPU", 0)) or 1
    runs_s, report_s = result.get("seconds") or 0.0, result.get("report_seconds") or 0.0
    print(
        f"    of which the runs:                   {runs_s:7.2f} s  ({t_plain / max(runs_s, 1e-9):.2f}x the plain loop)"
    )
    print(f"    the report (table, figures, attach): {report_s:7.2f} s")
    print(f"    the rest (claim, load, bookkeeping): {t_tunecost - runs_s - report_s:7.2f} s")
    print(
        f"  throughput ratio tunecost / plain: {t_plain / t_tunecost:.2f}x on {cpus} CPUs (bound: {cpus:.2f}x)"
    )


if __name__ == "__main__":
    main()
