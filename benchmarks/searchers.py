"""Searchers on three synthetic 21 x 21 landscapes, and what each suggestion costs.

1. Trials to reach the optimum (median and IQR over seeds) for every searcher on
   - ``separable``: a bowl, (i - 13)^2 + (j - 4)^2 in grid-index units;
   - ``coupled``: a diagonal valley -- once epsilon is large the best alpha grows with it
     (as for Adam, where alpha / epsilon acts as SGD's learning rate);
   - ``noisy``: the bowl plus i.i.d. Gaussian noise (std 1.5, fixed), so the optimum is
     one lucky node among near-ties.
   Trials count distinct configs, as in tunecost's jobs: a re-proposal is answered from
   the cache and costs nothing. A seed that has not found the optimum after ``--budget``
   distinct trials counts as budget + 1 (the table also gives the share that did).
2. Suggestion cost: milliseconds per ask/tell of each searcher on an in-memory study,
   and the ratio to Optuna's RandomSampler, measured side by side in one run.

    python benchmarks/searchers.py [--seeds 100] [--budget 200] [--jobs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import optuna

from tunecost.search_spaces import SEARCHERS, build_sampler, paper_grid

GRID = paper_grid()
AI, EI = np.meshgrid(np.arange(21), np.arange(21), indexing="ij")
LANDSCAPES = {
    "separable": ((AI - 13) ** 2 + (EI - 4) ** 2).astype(float),
    "coupled": ((AI - (8 + np.maximum(0, EI - 8))) ** 2 + 0.1 * (EI - 12) ** 2).astype(float),
    "noisy": ((AI - 13) ** 2 + (EI - 4) ** 2) + np.random.default_rng(0).normal(0, 1.5, (21, 21)),
}


def trials_to_optimum(searcher: str, landscape: str, seed: int, budget: int) -> int:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    f = LANDSCAPES[landscape]
    best = f.min()
    study = optuna.create_study(sampler=build_sampler(searcher, GRID, seed=seed, default_point=(1e-3, 1e-8)))
    seen: dict[tuple[int, int], float] = {}
    for _ in range(50 * budget):  # proposals, cached ones included
        trial = study.ask(GRID.distributions())
        key = (trial.params["alpha_index"], trial.params["epsilon_index"])
        value = float(f[key])
        study.tell(trial, value)
        if key not in seen:
            seen[key] = value
            if value == best:
                return len(seen)
            if len(seen) >= budget:
                break
    return budget + 1


def suggestion_cost_ms(searcher: str, n: int = 300) -> float:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    f = LANDSCAPES["noisy"]
    study = optuna.create_study(sampler=build_sampler(searcher, GRID, seed=0, default_point=(1e-3, 1e-8)))
    start = time.perf_counter()
    for _ in range(n):
        trial = study.ask(GRID.distributions())
        study.tell(trial, float(f[trial.params["alpha_index"], trial.params["epsilon_index"]]))
    return 1000 * (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--searchers", nargs="+", default=list(SEARCHERS))
    parser.add_argument("--cost-only", action="store_true", help="only the suggestion-cost table")
    args = parser.parse_args()

    print(f"median trials to the optimum [q25-q75] (reached within {args.budget}), {args.seeds} seeds")
    print(f"{'searcher':10}" + "".join(f"{name:>26}" for name in LANDSCAPES))
    with ProcessPoolExecutor(args.jobs) as pool:
        for searcher in [] if args.cost_only else args.searchers:
            cells = []
            for landscape in LANDSCAPES:
                counts = list(
                    pool.map(
                        trials_to_optimum,
                        [searcher] * args.seeds,
                        [landscape] * args.seeds,
                        range(args.seeds),
                        [args.budget] * args.seeds,
                    )
                )
                q25, med, q75 = np.percentile(counts, [25, 50, 75])
                reached = sum(c <= args.budget for c in counts) / len(counts)
                cells.append(f"{med:6.0f} [{q25:.0f}-{q75:.0f}] ({reached:4.0%})")
            print(f"{searcher:10}" + "".join(f"{c:>26}" for c in cells), flush=True)

    print("\nsuggestion cost, in-memory study, 300 ask/tell each, median of 5 interleaved runs")
    names = sorted(set(args.searchers) | {"random"})
    for name in names:  # warm-up: imports, first-call caches
        suggestion_cost_ms(name, n=20)
    runs: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(5):
        for name in names:
            runs[name].append(suggestion_cost_ms(name))
    random_ms = statistics.median(runs["random"])
    print(f"{'searcher':10}{'ms/trial':>10}{'x random':>10}")
    for name in names:
        ms = statistics.median(runs[name])
        print(f"{name:10}{ms:10.2f}{ms / random_ms:10.2f}")


if __name__ == "__main__":
    main()
