"""Per-trial overhead of a tunecost search job against a plain Optuna loop, same storage.

Both sides evaluate the same instant objective (the `synthetic-bowl` task: no training)
with the same sampler on the same database, so the difference is pure machinery: for
tunecost, Ray Tune's trial lifecycle, the caching searcher and one trial row per trial.

    python benchmarks/overhead.py [--trials 100] [--searcher random] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid

import optuna


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--searcher", default="random")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    from tunecost.search_spaces import build_sampler, paper_grid
    from tunecost.service import jobs
    from tunecost.service.db import session_scope, upgrade
    from tunecost.service.kinds.search import SearchSpec
    from tunecost.service.ray_session import ensure_ray
    from tunecost.service.runner import JobRunner
    from tunecost.service.settings import Settings
    from tunecost.workers.trainer import train_one

    home = tempfile.mkdtemp(prefix="tunecost-bench-")
    settings = Settings(home=home, database_url=args.database_url, _env_file=None)
    url = settings.resolved_database_url
    upgrade(url)
    ensure_ray(settings)  # Ray's start-up is paid once per process; not counted
    runner = JobRunner(settings)

    def tunecost_run(n: int, seed: int) -> float:
        spec = SearchSpec(
            task="synthetic-bowl", optimizer="adam", searcher=args.searcher, budget=n, seed=seed
        )
        with session_scope(url) as session:
            job_id = jobs.create_job(session, spec).id
        start = time.perf_counter()
        runner.run_once()
        elapsed = time.perf_counter() - start
        with session_scope(url) as session:
            done = jobs.get_job(session, job_id)
        if done.state != "succeeded" or done.result["trials"] != n:
            raise SystemExit(f"benchmark job did not finish cleanly: {done.state} {done.error}")
        return elapsed

    def optuna_run(n: int, seed: int) -> float:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = paper_grid()
        study = optuna.create_study(
            storage=url,
            study_name=f"plain-{seed}-{uuid.uuid4().hex[:8]}",
            sampler=build_sampler(args.searcher, space, seed=seed),
        )

        def objective(trial: optuna.Trial) -> float:
            alpha, eps = space.decode(
                {name: trial.suggest_int(name, d.low, d.high) for name, d in space.distributions().items()}
            )
            return train_one("synthetic-bowl", "adam", alpha, eps).error

        start = time.perf_counter()
        study.optimize(objective, n_trials=n)
        return time.perf_counter() - start

    tunecost_run(5, seed=999)  # warm up: Tune's actor and imports on the workers
    optuna_run(5, seed=999)
    t_tunecost = tunecost_run(args.trials, seed=1)
    t_optuna = optuna_run(args.trials, seed=1)

    per_tc, per_op = 1000 * t_tunecost / args.trials, 1000 * t_optuna / args.trials
    print(f"storage: {url.split('://')[0]}, searcher: {args.searcher}, {args.trials} trials each")
    print(f"{'':22}{'total s':>10}{'ms/trial':>10}")
    print(f"{'plain Optuna loop':22}{t_optuna:10.2f}{per_op:10.1f}")
    print(f"{'tunecost search job':22}{t_tunecost:10.2f}{per_tc:10.1f}")
    print(
        f"ratio tunecost / Optuna: {t_tunecost / t_optuna:.1f}x  (overhead {per_tc - per_op:.0f} ms per trial)"
    )


if __name__ == "__main__":
    main()
