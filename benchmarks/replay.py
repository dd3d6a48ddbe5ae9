"""Replay throughput: a tunecost replay job (Ray tasks, results written to the database)
against a plain single-process Optuna loop doing the same lookups, on the same landscape.

What the machine's CPUs give is measured too, not assumed: the same plain loops spread over
one process per CPU (``multiprocessing``, one run per task, as a user would by hand). On a
machine whose CPUs slow each other down (shared caches, a neighbour on the host), that ratio
is below the CPU count, and it is the bound a replay job can reach there.

The job, the plain loop and the loops in parallel alternate ``--repeats`` times in one
process, so that a machine's drift falls on all alike; each alternation's ratios are printed,
then the median (min-max).

    python benchmarks/replay.py [--seeds 40] [--budget 100] [--searchers random tpe gld cgld] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time

import numpy as np
import optuna

from tunecost.search_spaces import SEARCHERS, build_sampler, paper_grid


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
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the job and the plain loop")
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
    spec = ReplaySpec(
        kind="replay",
        landscape_ids=[landscape_id],
        searchers=args.searchers,
        seeds=args.seeds,
        budget=args.budget,
    )
    cpus = int(__import__("ray").cluster_resources().get("CPU", 0)) or 1
    print(
        f"{runs} runs ({', '.join(args.searchers)} x {args.seeds} seeds), budget {args.budget}, "
        f"one 21x21 landscape, {cpus} CPUs"
    )
    # costliest searcher first, one run per task: the by-hand parallel loop balances itself
    work = [
        (searcher, errors, seed, args.budget) for searcher in args.searchers for seed in range(args.seeds)
    ]
    work.sort(key=lambda w: -SEARCHERS[w[0]].cost_ms)
    pool = multiprocessing.get_context("spawn").Pool(
        cpus, initializer=optuna.logging.set_verbosity, initargs=(optuna.logging.ERROR,)
    )
    pool.starmap(plain_loop, work[:: max(1, len(work) // (4 * cpus))], chunksize=1)  # warm: imports

    rows: list[dict[str, float]] = []
    for repeat in range(args.repeats):
        with session_scope(url) as session:
            job_id = jobs.create_job(session, spec).id
        start = time.perf_counter()
        runner.run_once()
        t_job = time.perf_counter() - start
        with session_scope(url) as session:
            job = jobs.get_job(session, job_id)
            if job.state != "succeeded":
                raise SystemExit("replay job failed")
            result = dict(job.result or {})

        start = time.perf_counter()
        for w in work:
            plain_loop(*w)
        t_plain = time.perf_counter() - start
        start = time.perf_counter()
        pool.starmap(plain_loop, work, chunksize=1)
        t_parallel = time.perf_counter() - start
        row = {
            "plain": t_plain,
            "parallel": t_parallel,
            "job": t_job,
            "runs": result.get("seconds") or 1e-9,
            "report": result.get("report_seconds") or 0.0,
        }
        rows.append(row)
        print(
            f"  #{repeat + 1}: plain loop {t_plain:6.2f} s, in {cpus} processes {t_parallel:6.2f} s "
            f"({t_plain / t_parallel:.2f}x); job {t_job:6.2f} s ({t_plain / t_job:.2f}x): runs {row['runs']:5.2f} s "
            f"({t_plain / row['runs']:.2f}x), report {row['report']:4.2f} s, "
            f"the rest (claim, load, bookkeeping) {t_job - row['runs'] - row['report']:4.2f} s",
            flush=True,
        )
    pool.close()

    def spread(values: list[float], fmt: str = ".2f") -> str:
        return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"

    def ratio(name: str) -> str:
        return spread([r["plain"] / r[name] for r in rows])

    plain = [r["plain"] for r in rows]
    print(f"  seconds, median (min-max) over {args.repeats} alternations:")
    print(
        f"  plain Optuna loop, one process:            {spread(plain)} ({runs / statistics.median(plain):.1f} runs/s)"
    )
    print(f"  plain loops in {cpus} processes (the bound):   {spread([r['parallel'] for r in rows])}")
    print(f"  tunecost replay job, Ray + DB writes:      {spread([r['job'] for r in rows])}")
    print(f"    of which the runs:                       {spread([r['runs'] for r in rows])}")
    print(f"    the report (table, figures, attach):     {spread([r['report'] for r in rows])}")
    print(
        f"  throughput against the plain loop, per alternation: {cpus} processes {ratio('parallel')}x (the bound here),"
    )
    print(
        f"    job {ratio('job')}x, its runs {ratio('runs')}x; the job against the bound: "
        f"{spread([r['parallel'] / r['job'] for r in rows])}"
    )


if __name__ == "__main__":
    main()
