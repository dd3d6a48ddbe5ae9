"""The one estimator of tuning cost, applied to replay runs: every view (the table, the
verdicts, the profiles, the scores, the headline, the answers across tasks) reads a cell's
cost and a pair's ratio from here, so none can disagree with another (docs/ARCHITECTURE.md,
Definitions: "Tuning cost").

* A **cell** (one landscape, one searcher, one delta, over the replay seeds) costs the
  restricted mean of trials-to-delta, a run that never reached delta counting the budget
  (:func:`service.analysis.statistics.estimate`), and *reaches* delta when at least half its
  runs did.
* A **pair** (an optimizer and the baseline, one searcher, one delta, the same replay seeds)
  has the ratio of their cells' costs, paired by seed, when at least one side reaches delta;
  where neither does, the budget sets both costs and the pair is *budget-bound*: no test, no
  verdict; where no run of either reached delta, there is no ratio at all.
* **Replicates.** Runs made on a landscape's training-seed replicates (a replay with
  ``replicates``; :meth:`service.analysis.replay.Board.replicate`) are two-stage: a cell's cost
  is the mean over replicates of each replicate's restricted mean, its standard error their
  spread over sqrt(K), t with K - 1 degrees of freedom; a pair is paired by replicate. The
  interval then holds the training noise that made each landscape (which configs lie within
  delta, and where the searcher is led), not only the replay seeds' dice. A pooled ratio over
  searchers (:func:`pooled_pairs`) is taken jointly per replicate, since every searcher ran on
  the same replicates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from service.analysis.replay import Cost, Run, delta_key
from service.analysis.statistics import (
    Estimate,
    Ratio,
    estimate,
    paired_ratio,
    paired_ratios,
    pooled,
    replicated_estimate,
    restricted,
)


def trials_to(runs: list[Run], delta: float) -> list[int | None]:
    key = delta_key(delta)
    return [r.trials_to.get(key) for r in runs]


def retarget(run: Run, shift: float, deltas: list[float]) -> Run:
    """The run asked another question: trials (and costs) to reach e* + shift + delta, e* its
    board's (``shift``: another landscape's e* minus its own, for a target both share). Its
    curve is unchanged: s(t) is still from its own e*."""
    reached = {
        delta_key(d): next((t + 1 for t, s in enumerate(run.curve) if s <= d + shift + 1e-9), None)
        for d in deltas
    }
    costs = None
    if run.at is not None and run.cost_to is not None:
        costs = {
            c: {k: None if t is None else float(run.at[c][t - 1]) for k, t in reached.items()} for c in Cost
        }
    return dataclasses.replace(run, trials_to=reached, cost_to=costs)


def replicates(runs: list[Run]) -> list[list[int]] | None:
    """The runs' indices grouped by the replicate each ran on, ordered by their first replay
    seed; None unless every run names one and there are two or more."""
    if not runs or any(r.replicate is None for r in runs):
        return None
    groups: dict[int, list[int]] = {}
    for k, r in sorted(enumerate(runs), key=lambda kr: kr[1].seed):
        groups.setdefault(r.replicate, []).append(k)  # type: ignore[arg-type]
    return list(groups.values()) if len(groups) > 1 else None


def _estimate(runs: list[Run], values: Sequence[float | None], cap: float | Sequence[float]) -> Estimate:
    groups = replicates(runs)
    return estimate(values, cap) if groups is None else replicated_estimate(values, cap, groups)


def cell(runs: list[Run], delta: float) -> Estimate:
    """A cell's tuning cost in trials: the restricted mean of trials-to-delta at the budget
    (over replicates, where the runs were made on them)."""
    return _estimate(runs, trials_to(runs, delta), runs[0].budget)


def cost_to(runs: list[Run], delta: float, cost: Cost) -> list[float | None] | None:
    """Each run's cost (epochs, seconds, wall-clock) to reach delta, None where it did not;
    None where the runs have no costs."""
    if any(r.cost_to is None or r.totals is None for r in runs):
        return None
    return [r.cost_to[cost].get(delta_key(delta)) for r in runs]  # type: ignore[index]


def cost_cell(runs: list[Run], values: list[float | None], cost: Cost) -> Estimate:
    """The same estimator in epochs, seconds or wall-clock (``values``: :func:`cost_to`): a run
    that never reached delta counts what it spent (its total)."""
    spent = [max(r.totals[cost], v or 0.0) for r, v in zip(runs, values, strict=True)]  # type: ignore[index]
    return _estimate(runs, values, spent)


class Status(StrEnum):
    TESTED = "tested"  # at least one side reaches delta: the ratio is the optimizers'
    BUDGET_BOUND = "budget-bound"  # neither side reaches delta in half its runs: the budget sets both
    NEITHER = "neither"  # no run of either reached delta: no ratio


@dataclass(frozen=True)
class Pair:
    """An optimizer against the baseline in one (searcher, delta): both cells and their ratio."""

    a: Estimate
    b: Estimate
    ratio: Ratio | None
    status: Status
    units: tuple[np.ndarray, np.ndarray] | None = None  # per replicate, each side's cost


def pair(runs: list[Run], baseline_runs: list[Run], delta: float) -> Pair:
    """The two cells and their paired ratio (``runs[i]`` and ``baseline_runs[i]`` share a
    replay seed; on replicates, the replicate means are paired)."""
    ta, tb = trials_to(runs, delta), trials_to(baseline_runs, delta)
    a, b = _estimate(runs, ta, runs[0].budget), _estimate(baseline_runs, tb, baseline_runs[0].budget)
    if a.reached == 0.0 and b.reached == 0.0:
        return Pair(a, b, None, Status.NEITHER)
    xa, xb = restricted(ta, runs[0].budget), restricted(tb, baseline_runs[0].budget)
    ga, gb = replicates(runs), replicates(baseline_runs)
    units = None
    if ga is not None and gb is not None and len(ga) == len(gb):
        units = (np.array([xa[g].mean() for g in ga]), np.array([xb[g].mean() for g in gb]))
        ratio = paired_ratio(*units)
    else:
        ratio = paired_ratio(xa, xb)
    return Pair(a, b, ratio, Status.TESTED if a.reaches or b.reaches else Status.BUDGET_BOUND, units)


def pooled_pairs(pairs: list[Pair]) -> Ratio:
    """The geometric mean of the pairs' ratios (one per searcher): jointly over replicates
    where every pair was made on the same ones (their ratios share the training noise), else
    as independent ratios (:func:`service.analysis.statistics.pooled`)."""
    units = [p.units for p in pairs]
    if all(u is not None for u in units) and len({u[0].size for u in units}) == 1:  # type: ignore[index]
        return paired_ratios(
            np.column_stack([u[0] for u in units]),  # type: ignore[index]
            np.column_stack([u[1] for u in units]),  # type: ignore[index]
        )
    return pooled([p.ratio for p in pairs if p.ratio is not None])


def paired(runs: list[Run], baseline_runs: list[Run]) -> bool:
    """Whether two groups of runs share their replay seeds, in order (else a partial replay)."""
    return [r.seed for r in runs] == [r.seed for r in baseline_runs]
