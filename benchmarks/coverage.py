"""Coverage of tunecost's intervals against a known truth (the claims of docs/ARCHITECTURE.md,
"Confidence" and "Across tasks"), by simulation: many repetitions, each interval checked
against the truth it claims to hold, the share printed beside its target.

1. A cell's ratio: two optimizers' trials-to-delta drawn geometric (a searcher's luck on a
   landscape with a given share of good configs), capped at the budget; the paired t-interval
   of the ratio of restricted means against the true ratio of E[min(T, B)].
2. Interval and verdict: the share of lines whose corrected interval excludes 1 exactly when
   the correction (Holm, Benjamini-Hochberg) rejects (must be 100%).
3. Across tasks: per-task true log ratios spread around a mean (tau), each task's log ratio
   its truth plus normal noise of a standard error that differs between tasks (cycled from a
   list: equal, 0.05/0.3/0.6, 0.08/1.0), itself estimated (chi-squared with 20 df), as issue 46
   drew them; tunecost's interval (`statistics.across_tasks`: the plain mean, t on the spread)
   beside the precision-weighted random-effects one it replaced (Paule-Mandel,
   Hartung-Knapp-Sidik-Jonkman: statsmodels' `combine_effects`), against the mean ratio of
   tasks like these. Then tasks drawn as in 1 (40 replay seeds each), as before.

    python benchmarks/coverage.py [--reps 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from tunecost.service.analysis.statistics import Ratio, across_tasks, correct, paired_ratio


def _rmst(p: float, budget: float) -> float:
    """E[min(T, B)] for T ~ Geometric(p) on 1, 2, ...: the restricted mean's truth."""
    return (1 - (1 - p) ** budget) / p


def cells(rng: np.random.Generator, reps: int) -> None:
    print("1. a cell's paired ratio (trials to delta ~ geometric, capped at the budget 100)")
    print(f"   {'seeds':>5} {'p(a)':>6} {'p(b)':>6} {'censored a':>10} {'true ratio':>10} {'covered':>8}")
    budget = 100
    for n in (10, 20, 40, 100):
        for pa, pb in ((0.03, 0.08), (0.02, 0.02), (0.1, 0.3)):
            truth = _rmst(pa, budget) / _rmst(pb, budget)
            covered = 0
            for _ in range(reps):
                a = np.minimum(rng.geometric(pa, n), budget)
                b = np.minimum(rng.geometric(pb, n), budget)
                lo, hi = paired_ratio(a, b).interval()
                covered += lo <= truth <= hi
            print(
                f"   {n:>5} {pa:>6} {pb:>6} {(1 - pa) ** budget:>10.1%} {truth:>10.3f} {covered / reps:>8.1%}"
            )


def agreement(rng: np.random.Generator, reps: int) -> None:
    checked = agree = 0
    for m in [1, 2, 5, 12, 72, 400] * max(1, reps // 500):
        ratios = [
            paired_ratio(
                a := rng.integers(1, 60, n := int(rng.integers(5, 60))).astype(float),
                np.maximum(1.0, np.round(a * math.exp(rng.normal(0, 0.4)) + rng.normal(0, 8, n))),
            )
            for _ in range(m)
        ]
        for method in ("holm", "fdr_bh"):
            d = correct([r.p_value for r in ratios], method)
            for k, r in enumerate(ratios):
                lo, hi = r.interval(d.alphas[k])
                agree += (not lo <= 1 <= hi) == d.reject[k]
                checked += 1
    print(f"\n2. interval excludes 1 exactly when distinguishable: {agree} of {checked} lines")


def _weighted(ratios: list[Ratio]) -> tuple[float, float]:
    """The precision-weighted random-effects interval across_tasks replaced, for comparison."""
    from scipy.stats import t as student
    from statsmodels.stats.meta_analysis import combine_effects

    res = combine_effects(
        np.array([r.log for r in ratios]),
        np.array([r.se**2 for r in ratios]),
        method_re="iterated",
        use_t=True,
    )
    h = float(student.ppf(0.975, len(ratios) - 1)) * math.sqrt(res.var_hksj_re)
    return math.exp(res.mean_effect_re - h), math.exp(res.mean_effect_re + h)


def tasks(rng: np.random.Generator, reps: int) -> None:
    print("\n3. across tasks: the interval vs the mean ratio of tasks like these (target: >= 93%)")
    print("   tasks of unequal precision: each task's log ratio ~ N(truth, se), se estimated (chi2, 20 df)")
    cells = (
        (0.3, (0.1,)),
        (0.3, (0.05, 0.3, 0.6)),
        (0.3, (0.08, 1.0)),
        (1.0, (0.08, 1.0)),
        (0.0, (0.05, 0.3, 0.6)),
    )
    print(f"   {'tau':>5} {'se':>14} {'tasks':>5} {'covered':>8} {'width (x)':>10} {'weighted RE':>12}")
    mean = math.log(0.7)
    for spread, ses in cells:
        for k in (2, 3, 4, 8):
            se = np.array([ses[i % len(ses)] for i in range(k)])
            covered = old = 0
            widths = []
            for _ in range(reps):
                logs = rng.normal(mean, spread, k) + rng.normal(0.0, se)
                est = se * np.sqrt(rng.chisquare(20, k) / 20)
                ratios = [Ratio(float(y), float(e), 20) for y, e in zip(logs, est, strict=True)]
                lo, hi = across_tasks(ratios).interval()
                covered += lo <= math.exp(mean) <= hi
                widths.append(hi / lo if lo > 0 else math.inf)
                lo, hi = _weighted(ratios)
                old += lo <= math.exp(mean) <= hi
            label = "/".join(f"{v:g}" for v in ses)
            print(
                f"   {spread:>5} {label:>14} {k:>5} {covered / reps:>8.1%} {np.median(widths):>10.2f} {old / reps:>12.1%}"
            )
    print("   tasks drawn as in 1 (40 replay seeds each)")
    print(f"   {'tasks':>5} {'spread':>6} {'covered':>8} {'median width (x)':>17}")
    for k in (2, 3, 4, 8, 16):
        for spread in (0.0, 0.3):
            covered, widths = 0, []
            for _ in range(reps):
                ratios = []
                for theta in rng.normal(mean, spread, k):
                    pb = rng.uniform(0.03, 0.2)
                    pa = min(pb / math.exp(theta), 0.95)
                    ratios.append(paired_ratio(rng.geometric(pa, 40), rng.geometric(pb, 40)))
                lo, hi = across_tasks(ratios).interval()
                covered += lo <= math.exp(mean) <= hi
                widths.append(hi / lo if lo > 0 else math.inf)
            print(f"   {k:>5} {spread:>6} {covered / reps:>8.1%} {np.median(widths):>17.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=2000, help="repetitions per line (Monte-Carlo SE ~0.5%%)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    cells(rng, args.reps)
    agreement(rng, args.reps)
    tasks(rng, args.reps)
    print(f"\n({args.reps} repetitions per line, {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
