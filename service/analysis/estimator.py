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
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.analysis.replay import Cost, Run, delta_key
from service.analysis.statistics import Estimate, Ratio, estimate, paired_ratio, restricted


def trials_to(runs: list[Run], delta: float) -> list[int | None]:
    key = delta_key(delta)
    return [r.trials_to.get(key) for r in runs]


def cell(runs: list[Run], delta: float) -> Estimate:
    """A cell's tuning cost in trials: the restricted mean of trials-to-delta at the budget."""
    return estimate(trials_to(runs, delta), runs[0].budget)


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
    return estimate(values, spent)


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


def pair(runs: list[Run], baseline_runs: list[Run], delta: float) -> Pair:
    """The two cells and their paired ratio (``runs[i]`` and ``baseline_runs[i]`` share a
    replay seed)."""
    ta, tb = trials_to(runs, delta), trials_to(baseline_runs, delta)
    a, b = estimate(ta, runs[0].budget), estimate(tb, baseline_runs[0].budget)
    if a.reached == 0.0 and b.reached == 0.0:
        return Pair(a, b, None, Status.NEITHER)
    ratio = paired_ratio(restricted(ta, runs[0].budget), restricted(tb, baseline_runs[0].budget))
    return Pair(a, b, ratio, Status.TESTED if a.reaches or b.reaches else Status.BUDGET_BOUND)


def paired(runs: list[Run], baseline_runs: list[Run]) -> bool:
    """Whether two groups of runs share their replay seeds, in order (else a partial replay)."""
    return [r.seed for r in runs] == [r.seed for r in baseline_runs]
