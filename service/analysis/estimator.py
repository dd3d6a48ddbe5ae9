"""The one estimator of tuning cost, applied to replay runs: every view (the table, the
verdicts, the profiles, the scores, the headline, the answers across tasks) reads a cell's
cost and a pair's ratio from here, so none can disagree with another (docs/ARCHITECTURE.md,
Definitions: "Tuning cost").

* A **cell** (one landscape, one searcher, one delta, over the replay seeds) costs the
  restricted mean of trials-to-delta, a run that never reached delta counting the budget
  (:func:`tunecost.service.analysis.statistics.estimate`), and *reaches* delta when at least half its
  runs did.
* A **pair** (an optimizer and the baseline, one searcher, one delta, the same replay seeds)
  has the ratio of their cells' costs, paired by seed, when at least one side reaches delta;
  where neither does, the budget sets both costs and the pair is *budget-bound*: no test, no
  verdict; where no run of either reached delta, there is no ratio at all.
* **Replicates.** Runs made on a landscape's training-seed replicates (a replay with
  ``replicates``; :meth:`tunecost.service.analysis.replay.Board.replicate`) are two-stage: a cell's cost
  is the mean over replicates of each replicate's restricted mean, its standard error their
  spread over sqrt(K), t with K - 1 degrees of freedom; a pair is paired by replicate. The
  interval then holds the training noise that made each landscape (which configs lie within
  delta, and where the searcher is led), not only the replay seeds' dice. A pooled ratio over
  searchers (:func:`pooled_pairs`) is taken jointly per replicate, since every searcher ran on
  the same replicates.
* **The target's noise.** e* is a mean over a few fresh training seeds; every run of an
  optimizer is scored to the same e*, so its error is common to all of them and no spread over
  replay seeds or replicates can show it. A pair adds it by the delta method
  (:class:`TargetNoise`): the log ratio's change when e* moves by one standard error, measured
  by scoring the same runs to the moved target.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from tunecost.service.analysis.costs import Cost
from tunecost.service.analysis.replay import Run, delta_key
from tunecost.service.analysis.statistics import (
    Estimate,
    Ratio,
    estimate,
    paired_ratio,
    paired_ratios,
    pooled,
    replicated_estimate,
    restricted,
    widened,
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
    return dataclasses.replace(run, trials_to=reached, cost_to=costs, target_shift=shift)


class UnrecordedDelta(ValueError):
    """A delta a run did not record whose costs its stored record cannot give (a run stored
    before replays kept each trial's costs)."""


def answering(run: Run, deltas: list[float]) -> Run:
    """The run with trials-to-delta (and, with curves, costs) for each of ``deltas``: one the
    replay did not record is read off the run's curve, exactly as the replay counts it (the
    first t with s(t) <= delta), and its costs off each trial's costs (``Run.at``)."""
    if all(delta_key(d) in run.trials_to for d in deltas):
        return run
    if run.cost_to is not None and run.at is None:
        raise UnrecordedDelta(
            f"run {run.searcher}/{run.seed} recorded deltas {', '.join(run.trials_to)} and not each "
            "trial's costs, so no other delta can be answered from it"
        )
    wanted = sorted({*deltas, *(float(k) for k in run.trials_to)})
    return retarget(run, run.target_shift, wanted)


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
class TargetNoise:
    """One independent source of noise in a pair's targets: an e* measured on fresh seeds,
    ``se`` its standard error (std / sqrt(n)), ``df`` n - 1, moving the optimizer's target
    (``a``), the baseline's (``b``), or both (a target both share: the baseline's e* + delta)."""

    se: float
    df: float
    a: bool
    b: bool


def own_best_noise(a: tuple[float, float], b: tuple[float, float]) -> list[TargetNoise]:
    """Within delta of each side's own best: each side's e* ((se, df) of the optimizer, ``a``,
    and of the baseline, ``b``) moves that side's target alone."""
    return [TargetNoise(*a, a=True, b=False), TargetNoise(*b, a=False, b=True)]


def _curves(runs: list[Run]) -> np.ndarray:
    """The runs' suboptimality curves, one row each, padded with +inf past a run's end."""
    width = max(len(r.curve) for r in runs)
    out = np.full((len(runs), width), np.inf)
    for k, r in enumerate(runs):
        out[k, : len(r.curve)] = r.curve
    return out


def _trials_at(curves: np.ndarray, levels: np.ndarray) -> list[int | None]:
    """Each run's first trial whose suboptimality is at most its level (None: never)."""
    hit = curves <= levels[:, None] + 1e-9
    first = hit.argmax(axis=1)
    return [int(f) + 1 if h else None for f, h in zip(first, hit.any(axis=1), strict=True)]


def _moved_log(runs: list[Run], curves: np.ndarray, delta: float, move: float) -> float:
    """The log of one side's cost (its restricted mean; over replicates, the mean of theirs)
    with its target moved by ``move`` (in the metric's units): the same runs (``curves``:
    :func:`_curves` of them), scored to e* + shift + move + delta."""
    levels = np.array([delta + r.target_shift + move for r in runs])
    x = restricted(_trials_at(curves, levels), runs[0].budget)
    groups = replicates(runs)
    return math.log(x.mean() if groups is None else np.mean([x[g].mean() for g in groups]))


def _target_terms(
    runs: list[Run], baseline_runs: list[Run], delta: float, noise: Sequence[TargetNoise]
) -> tuple[tuple[float, float], ...]:
    """Per source of target noise, (the log ratio's change over one standard error, df): the
    central difference at +-se, which for trials-to-delta (a step function of the target) is the
    slope at the scale the noise acts on. A side the source does not move adds nothing to it."""
    sides = {"a": runs, "b": baseline_runs}
    curves: dict[str, np.ndarray] = {}

    def change(side: str, se: float) -> float:
        if side not in curves:
            curves[side] = _curves(sides[side])
        moved = [_moved_log(sides[side], curves[side], delta, m) for m in (se, -se)]
        return (moved[0] - moved[1]) / 2

    return tuple(
        ((change("a", n.se) if n.a else 0.0) - (change("b", n.se) if n.b else 0.0), n.df)
        for n in noise
        if n.se > 0 and (n.a or n.b)
    )


@dataclass(frozen=True)
class Pair:
    """An optimizer against the baseline in one (searcher, delta): both cells and their ratio."""

    a: Estimate
    b: Estimate
    ratio: Ratio | None
    status: Status
    units: tuple[np.ndarray, np.ndarray] | None = None  # per replicate, each side's cost
    target_terms: tuple[tuple[float, float], ...] = ()  # per TargetNoise: (log ratio change, df)
    sampling: Ratio | None = None  # the ratio before the target terms (replay seeds, replicates)


def pair(runs: list[Run], baseline_runs: list[Run], delta: float, noise: Sequence[TargetNoise] = ()) -> Pair:
    """The two cells and their paired ratio (``runs[i]`` and ``baseline_runs[i]`` share a
    replay seed; on replicates, the replicate means are paired), its interval widened by the
    targets' ``noise``."""
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
    terms = _target_terms(runs, baseline_runs, delta, noise)
    status = Status.TESTED if a.reaches or b.reaches else Status.BUDGET_BOUND
    return Pair(a, b, widened(ratio, terms), status, units, terms, ratio)


def pooled_pairs(pairs: list[Pair]) -> Ratio:
    """The geometric mean of the pairs' ratios (one per searcher): jointly over replicates
    where every pair was made on the same ones (their ratios share the training noise), else
    as independent ratios (:func:`tunecost.service.analysis.statistics.pooled`)."""
    units = [p.units for p in pairs]
    if all(u is not None for u in units) and len({u[0].size for u in units}) == 1:  # type: ignore[index]
        ratio = paired_ratios(
            np.column_stack([u[0] for u in units]),  # type: ignore[index]
            np.column_stack([u[1] for u in units]),  # type: ignore[index]
        )
    else:
        ratio = pooled([p.sampling or p.ratio for p in pairs if p.ratio is not None])
    # one target per optimizer, shared by every searcher: its terms average, not add in quadrature
    counts = {len(p.target_terms) for p in pairs}
    if counts == {0} or len(counts) != 1:
        return ratio
    k = len(pairs)
    terms = [
        (sum(p.target_terms[j][0] for p in pairs) / k, pairs[0].target_terms[j][1])
        for j in range(counts.pop())
    ]
    return widened(ratio, terms)


def paired(runs: list[Run], baseline_runs: list[Run]) -> bool:
    """Whether two groups of runs share their replay seeds, in order (else a partial replay)."""
    return [r.seed for r in runs] == [r.seed for r in baseline_runs]
