"""What searchers cost on stored landscapes: the statistics over a replay's runs, built from
plain runs and landscapes (no database): tuning cost per (optimizer, searcher, delta) with
intervals, median/IQR curves, random search in closed form, and verdicts (hand-written
analysis; the definitions are docs/ARCHITECTURE.md's "Tuning cost"; the estimators are
:mod:`service.analysis.statistics`). :mod:`service.comparisons` reads a replay job's runs and
landscapes from the database and calls :func:`build`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from service.analysis.replay import Cost, Run, delta_key
from service.analysis.statistics import (
    CONFIDENCE,
    censored,
    holm,
    median_interval,
    random_search_expected_best,
    random_search_reach_probability,
    ratio_test,
)
from service.analysis.suite import Suite, TaskRuns, suite

EXPECTED_AT = (1, 5, 10, 25, 50, 100)
CLOSED_FORM = "random (closed form)"


LABEL = Field(
    description="How tables, figures and verdicts name the landscape: its optimizer, with "
    "`+lookahead(k, alpha)` when its recipe wraps it, and `#id` when two would read the same."
)


class LandscapeFacts(BaseModel):
    landscape_id: int
    task: str
    optimizer: str
    label: str = LABEL
    metric: str = Field(description="What the scores measure (the task's metric), e.g. `validation error`.")
    unit: str = Field(
        description="Its unit (`%` for an error); deltas and suboptimality are in `delta_unit`."
    )
    best_error: float = Field(description="e*: the landscape's best mean score, in `unit`.")
    seeds: list[int]
    noise_std_median: float | None = Field(
        description="Median spread over training seeds; null for one seed."
    )
    share_within: dict[str, float] = Field(description="delta -> share of configs within delta of e*.")
    random_expected_trials: dict[str, float] = Field(
        description="delta -> expected trials of random search without repeats to reach delta."
    )
    fidelity: dict[str, Any] | None = Field(
        None,
        description="A multi-fidelity landscape's rule (successive halving: eta, rungs, ranking); "
        "its stopped nodes score their rung, which is what a multi-fidelity tuner would observe.",
    )
    compute: dict[str, Any] | None = Field(
        None, description="What its sweep trained: epochs, full_epochs, share, seconds."
    )
    on_stopped: float | None = Field(
        None,
        description="A multi-fidelity landscape: the share of the replays' distinct trials that "
        "landed on nodes stopped before the last rung (told their rung's score).",
    )


class CostStats(BaseModel):
    """Cost to reach delta over the replay seeds, in one unit (epochs, seconds, wall-clock)."""

    median: float | None = Field(description="Null: the median run did not reach delta.")
    ci: tuple[float | None, float | None] = Field(description="95% bootstrap interval of the median.")
    q25: float | None
    q75: float | None


class TuningCostRow(BaseModel):
    landscape_id: int
    task: str = ""
    optimizer: str
    label: str = LABEL
    searcher: str
    delta: float
    median: float | None = Field(description="Median trials to reach delta; null: not within the budget.")
    q25: float | None
    q75: float | None
    mean: float | None = Field(description="Over the seeds that reach delta.")
    std: float | None
    success_rate: float = Field(description="Share of seeds that reach delta within the budget.")
    seeds: int
    budget: int
    median_ci: tuple[float | None, float | None] = Field(
        description="95% bootstrap interval of the median over replay seeds; null: beyond the budget."
    )
    costs: dict[str, CostStats] | None = Field(
        None,
        description="The same runs' cost to reach delta in `epochs`, `seconds` (summed over every trial "
        "started, pruned ones counting their partial runs) and simulated `wallclock` (the replay's "
        "workers in parallel); null where the landscape has no learning curves.",
    )
    pruned: float | None = Field(None, description="Mean trials pruned per run (a replay with a pruner).")


class CostCurve(BaseModel):
    """Suboptimality over a cost: at each x, the median and IQR over the runs, each at the best
    it had found by then (a run with no finished trial yet is infinitely far: null)."""

    x: list[float]
    median: list[float | None]
    q25: list[float | None]
    q75: list[float | None]


class CurveBand(BaseModel):
    landscape_id: int
    optimizer: str
    label: str = LABEL
    searcher: str
    median: list[float] = Field(description="Suboptimality after t = 1, 2, ... trials.")
    q25: list[float]
    q75: list[float]
    by_cost: dict[str, CostCurve] | None = Field(
        None,
        description="The same runs' suboptimality over epochs, seconds and wall-clock; null where the "
        "landscape has no learning curves.",
    )


class RandomSearchCurve(BaseModel):
    """Random search in closed form on a landscape: no replay, no sampling noise."""

    landscape_id: int
    optimizer: str
    label: str = LABEL
    expected: list[float] = Field(
        description="Expected suboptimality after k = 1, 2, ... distinct configs drawn uniformly without replacement."
    )
    reach_probability: dict[str, list[float]] = Field(
        description="delta -> P(within delta after k configs), k = 1, 2, ..."
    )


class ExpectedSuboptimality(BaseModel):
    landscape_id: int
    optimizer: str
    label: str = LABEL
    searcher: str = Field(description="A replayed searcher, or `random (closed form)`.")
    at: dict[str, float] = Field(description="k -> mean suboptimality (in `delta_unit`) after k trials.")


class Verdict(BaseModel):
    """Is one optimizer cheaper to tune than another with this searcher, beyond replay noise?"""

    searcher: str
    delta: float
    optimizer: str
    baseline: str
    task: str = ""
    ratio: float | None = Field(
        description="median T(delta) of optimizer / of baseline (a run that never reached delta counts "
        "as the budget); null: no run of either reached delta."
    )
    ci: tuple[float | None, float | None] = Field(description="95% paired-bootstrap interval of the ratio.")
    p_value: float | None = Field(None, description="Two-sided paired-bootstrap p-value of ratio = 1.")
    distinguishable: bool = Field(
        description="Holm's decision at 5% over the comparison's `comparisons` verdicts with a ratio."
    )
    comparisons: int = Field(1, description="How many verdicts the correction is over.")
    reached: tuple[float, float] = Field(
        description="Share of replay seeds that reached delta within the budget: optimizer, baseline."
    )
    budget: int = 0
    text: str


class Comparison(BaseModel):
    """Tuning cost per (optimizer, searcher, delta) with intervals and verdicts, median/IQR
    curves, random search in closed form, and landscape facts."""

    job_id: int
    deltas: list[float]
    delta_unit: str = Field(
        "points",
        description="The unit of deltas and suboptimality: `points` of a percentage, else the metric's.",
    )
    rows: list[TuningCostRow]
    curves: list[CurveBand]
    landscapes: list[LandscapeFacts]
    random_closed_form: list[RandomSearchCurve] = Field(default_factory=list)
    expected_suboptimality: list[ExpectedSuboptimality] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    baseline: str | None = Field(
        None, description="What the verdicts compare against (a landscape label); null: each task's first."
    )
    suite: Suite | None = Field(
        None,
        description="Across tasks (a replay of two tasks or more): performance profiles and overall "
        "verdicts against the baseline, from a hierarchical bootstrap (tasks, then replay seeds).",
    )


def share_within(errors: np.ndarray, delta: float) -> float:
    """Share of the landscape's configs within delta of its best: random search's odds per trial."""
    return float((errors <= errors.min() + delta + 1e-9).mean())


def expected_random_cost(errors: np.ndarray, delta: float) -> float:
    """Expected trials for random search without repeats to hit one of m good configs among N: (N+1)/(m+1)."""
    n = errors.size
    m = int((errors <= errors.min() + delta + 1e-9).sum())
    return (n + 1) / (m + 1)


def _finite(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x


def _nones(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in values]


def _cost_curves(group: list[Run], points: int = 60) -> dict[str, CostCurve] | None:
    """Each run's suboptimality as a step function of a cost (its value after the last trial
    that ended by x), sampled on one grid of x per cost, then median and IQR over the runs."""
    if any(r.at is None for r in group):
        return None
    out = {}
    for cost in Cost:
        marks = [np.asarray(r.at[cost], dtype=float) for r in group]  # type: ignore[index]
        ends = [m[-1] for m in marks if m.size]
        if not ends:
            continue
        x = np.linspace(min(m[0] for m in marks if m.size), max(ends), points)
        values = np.full((len(group), points), np.inf)  # nothing found yet: infinitely far
        for k, (r, m) in enumerate(zip(group, marks, strict=True)):
            idx = np.searchsorted(m, x, side="right") - 1  # the last trial ended by x
            ok = idx >= 0
            values[k, ok] = np.asarray(r.curve, dtype=float)[idx[ok]]
            if m.size:
                values[k, x > m[-1]] = r.curve[-1]  # a finished run keeps its best
        q25, med, q75 = np.percentile(values, [25, 50, 75], axis=0, method="lower")
        out[cost.value] = CostCurve(x=x.tolist(), median=_nones(med), q25=_nones(q25), q75=_nones(q75))
    return out


def _cost_stats(group: list[Run], delta: float) -> tuple[dict[str, CostStats] | None, float | None]:
    """Median (with its interval) and IQR of each cost to reach ``delta``; not reached counts
    as infinite, as for trials."""
    if any(r.cost_to is None for r in group):
        return None, None
    out = {}
    for cost in Cost:
        values = censored([r.cost_to[cost].get(delta_key(delta)) for r in group])  # type: ignore[index]
        lo, hi = median_interval(values)
        q25, med, q75 = (float(x) for x in np.percentile(values, [25, 50, 75], method="lower"))
        out[cost.value] = CostStats(
            median=_finite(med), ci=(_finite(lo), _finite(hi)), q25=_finite(q25), q75=_finite(q75)
        )
    return out, float(np.mean([r.pruned for r in group]))


def _row_stats(values: list[int | None]) -> dict[str, float | None]:
    reached = [v for v in values if v is not None]
    censored = np.array([v if v is not None else math.inf for v in values], dtype=float)
    q25, med, q75 = (float(x) for x in np.percentile(censored, [25, 50, 75], method="lower"))

    return {
        "median": _finite(med),
        "q25": _finite(q25),
        "q75": _finite(q75),
        "mean": float(np.mean(reached)) if reached else None,
        "std": float(np.std(reached, ddof=1)) if len(reached) > 1 else (0.0 if reached else None),
        "success_rate": len(reached) / len(values) if values else 0.0,
    }


@dataclass
class Subject:
    """One landscape as a comparison reads it: who trained it, what it measures, its mean
    scores (alphas x epsilons), and what its sweep recorded."""

    landscape_id: int
    task: str
    optimizer: str
    label: str
    metric: str
    unit: str
    delta_unit: str
    errors: np.ndarray
    seeds: list[int]
    noise_std_median: float | None = None
    fidelity: dict[str, Any] | None = None
    compute: dict[str, Any] | None = None


def labels(landscapes: dict[int, tuple[str, str, dict[str, Any] | None]]) -> dict[int, str]:
    """Each landscape's name in tables and figures, from its (task, optimizer, recipe): its
    optimizer, ``+lookahead(k, alpha)`` when the recipe wraps it in Lookahead, and ``#id``
    where two of one task would still read the same."""
    out = {}
    for i, (_, optimizer, recipe) in landscapes.items():
        lookahead = (recipe or {}).get("lookahead")
        out[i] = optimizer + (
            f"+lookahead({lookahead['k']}, {lookahead['alpha']:g})" if isinstance(lookahead, dict) else ""
        )
    counts: dict[tuple[str, str], int] = {}
    for i, label in out.items():
        counts[landscapes[i][0], label] = counts.get((landscapes[i][0], label), 0) + 1
    return {i: label if counts[landscapes[i][0], label] == 1 else f"{label} #{i}" for i, label in out.items()}


def build(
    job_id: int,
    deltas: list[float],
    subjects: list[Subject],
    groups: dict[tuple[int, str], list[Run]],
    baseline: str | None = None,
) -> Comparison:
    """The comparison of the runs of each (landscape id, searcher) on ``subjects``, its verdicts
    against ``baseline`` (a label; default each task's first landscape), and across tasks
    when there are two or more."""
    loaded = {s.landscape_id: s for s in subjects}
    groups = {k: v for k, v in groups.items() if k[0] in loaded and v}
    facts = []
    for s in subjects:
        runs = [r for (i, _), group in groups.items() if i == s.landscape_id for r in group]
        counted = [(r.stopped_trials, len(r.curve)) for r in runs if r.stopped_trials is not None]
        facts.append(
            LandscapeFacts(
                landscape_id=s.landscape_id,
                task=s.task,
                optimizer=s.optimizer,
                label=s.label,
                metric=s.metric,
                unit=s.unit,
                best_error=float(s.errors.min()),
                seeds=s.seeds,
                noise_std_median=s.noise_std_median,
                share_within={delta_key(d): share_within(s.errors, d) for d in deltas},
                random_expected_trials={delta_key(d): expected_random_cost(s.errors, d) for d in deltas},
                fidelity=s.fidelity,
                compute=s.compute,
                on_stopped=sum(a for a, _ in counted) / max(sum(b for _, b in counted), 1)
                if counted
                else None,
            )
        )
    rows, curves = [], []
    for (landscape_id, searcher), group in sorted(
        groups.items(), key=lambda kv: (loaded[kv[0][0]].task, loaded[kv[0][0]].label, kv[0][1])
    ):
        optimizer, label = loaded[landscape_id].optimizer, loaded[landscape_id].label
        budget = group[0].budget
        for d in deltas:
            values = [r.trials_to.get(delta_key(d)) for r in group]
            lo, hi = median_interval(censored(values))
            costs, pruned = _cost_stats(group, d)
            rows.append(
                TuningCostRow(
                    landscape_id=landscape_id,
                    task=loaded[landscape_id].task,
                    optimizer=optimizer,
                    label=label,
                    searcher=searcher,
                    delta=d,
                    seeds=len(values),
                    budget=budget,
                    median_ci=(_finite(lo), _finite(hi)),
                    costs=costs,
                    pruned=pruned,
                    **_row_stats(values),
                )
            )
        q25, med, q75 = np.percentile(_padded_curves(group), [25, 50, 75], axis=0)
        curves.append(
            CurveBand(
                landscape_id=landscape_id,
                optimizer=optimizer,
                label=label,
                searcher=searcher,
                median=med.tolist(),
                q25=q25.tolist(),
                q75=q75.tolist(),
                by_cost=_cost_curves(group),
            )
        )
    budget = max((r.budget for group in groups.values() for r in group), default=0)
    closed = [_closed_form(s, budget, deltas) for s in subjects]
    units = {s.delta_unit for s in subjects}
    return Comparison(
        job_id=job_id,
        deltas=deltas,
        delta_unit=units.pop() if len(units) == 1 else "mixed",
        rows=rows,
        curves=curves,
        landscapes=facts,
        random_closed_form=closed,
        expected_suboptimality=_expected_table(groups, loaded, closed),
        verdicts=_verdicts(groups, loaded, deltas, baseline),
        baseline=baseline or (subjects[0].label if subjects else None),
        suite=_suite(groups, subjects, deltas, baseline),
    )


def _suite(
    groups: dict[tuple[int, str], list[Run]],
    subjects: list[Subject],
    deltas: list[float],
    baseline: str | None,
) -> Suite | None:
    """The answers across tasks, where two tasks or more share the baseline and a searcher."""
    tasks: dict[str, TaskRuns] = {}
    for s in subjects:
        t = tasks.setdefault(s.task, TaskRuns(s.task, [], {}))
        t.optimizers.append(s.label)
        for (i, searcher), runs in groups.items():
            if i == s.landscape_id:
                t.runs[(s.label, searcher)] = runs
    base = baseline or (subjects[0].label if subjects else None)
    usable = [t for t in tasks.values() if base in t.optimizers]
    if len(usable) < 2:
        return None
    searchers = sorted(
        set.intersection(
            *({s for (o, s) in t.runs if all((p, s) in t.runs for p in t.optimizers)} for t in usable)
        )
    )
    if not searchers:
        return None
    return suite(usable, searchers, deltas, base)  # type: ignore[arg-type]


def _closed_form(subject: Subject, budget: int, deltas: list[float]) -> RandomSearchCurve:
    errors = subject.errors
    ks = np.arange(1, min(max(budget, 1), errors.size) + 1)
    return RandomSearchCurve(
        landscape_id=subject.landscape_id,
        optimizer=subject.optimizer,
        label=subject.label,
        expected=(random_search_expected_best(errors, ks) - errors.min()).tolist(),
        reach_probability={
            delta_key(d): random_search_reach_probability(errors, d, ks).tolist() for d in deltas
        },
    )


def _padded_curves(group: list[Run]) -> np.ndarray:
    """Runs' curves to the budget: a run that stalled keeps its best."""
    length = max(max(len(r.curve) for r in group), group[0].budget)
    return np.array([r.curve + [r.curve[-1]] * (length - len(r.curve)) for r in group])


def _expected_table(
    groups: dict[tuple[int, str], list[Run]],
    loaded: dict[int, Subject],
    closed: list[RandomSearchCurve],
) -> list[ExpectedSuboptimality]:
    """Mean suboptimality after k trials, per (optimizer, searcher), random search's closed form beside."""
    out = []
    for (landscape_id, searcher), group in groups.items():
        curves = _padded_curves(group)
        at = {str(k): float(curves[:, k - 1].mean()) for k in EXPECTED_AT if k <= curves.shape[1]}
        out.append(
            ExpectedSuboptimality(
                landscape_id=landscape_id,
                optimizer=loaded[landscape_id].optimizer,
                label=loaded[landscape_id].label,
                searcher=searcher,
                at=at,
            )
        )
    for c in closed:
        at = {str(k): c.expected[k - 1] for k in EXPECTED_AT if k <= len(c.expected)}
        out.append(
            ExpectedSuboptimality(
                landscape_id=c.landscape_id, optimizer=c.optimizer, label=c.label, searcher=CLOSED_FORM, at=at
            )
        )
    return sorted(out, key=lambda e: (e.label, e.searcher))


def _verdicts(
    groups: dict[tuple[int, str], list[Run]],
    loaded: dict[int, Subject],
    deltas: list[float],
    baseline: str | None,
) -> list[Verdict]:
    """Each other landscape of a task against the task's baseline (the landscape labelled
    ``baseline``, else the task's first), per searcher and delta (``optimizer`` and ``baseline``
    of a verdict are the landscapes' labels); Holm's correction over every verdict with a ratio."""
    by_task: dict[str, list[int]] = {}
    for i, subject in loaded.items():
        by_task.setdefault(subject.task, []).append(i)
    out = []
    for ids in by_task.values():
        base = next((i for i in ids if loaded[i].label == baseline), ids[0])
        for a in ids:
            if a == base:
                continue
            for searcher in sorted(
                {s for (i, s) in groups if i == a} & {s for (i, s) in groups if i == base}
            ):
                runs_a, runs_b = groups[(a, searcher)], groups[(base, searcher)]
                if [r.seed for r in runs_a] == [r.seed for r in runs_b]:  # else not paired: a partial replay
                    for d in deltas:
                        v = verdict(loaded[a].label, loaded[base].label, searcher, d, runs_a, runs_b)
                        v.task = loaded[a].task
                        out.append(v)
    family = [v for v in out if v.p_value is not None]
    for v, reject in zip(family, holm([v.p_value for v in family]), strict=True):  # type: ignore[misc]
        v.comparisons, v.distinguishable = len(family), reject
    for v in out:
        v.text = _verdict_text(v, with_task=len(by_task) > 1)
    return out


def _share_reached(runs: list[Run], key: str) -> float:
    return sum(r.trials_to.get(key) is not None for r in runs) / len(runs)


def verdict(
    optimizer: str,
    baseline: str,
    searcher: str,
    delta: float,
    runs: list[Run],
    baseline_runs: list[Run],
) -> Verdict:
    """The ratio of median trials-to-delta with a paired bootstrap over the replay seeds, and its
    p-value; alone, distinguishable at 5% (:func:`_verdicts` corrects a family by Holm). A run
    that never reached delta counts as the budget: conservative, it can only shrink a gap. Where
    no run of one side reached delta, the ratio is only a bound and the text says so; where no run
    of either did, there is no ratio: neither reached delta within the budget."""
    budget = runs[0].budget
    key = delta_key(delta)
    reached = (_share_reached(runs, key), _share_reached(baseline_runs, key))
    ratio = lo = hi = p = None
    if reached != (0.0, 0.0):
        ta = censored([r.trials_to.get(key) for r in runs], at=budget)
        tb = censored([r.trials_to.get(key) for r in baseline_runs], at=budget)
        ratio, lo, hi, p = ratio_test(ta, tb)
    v = Verdict(
        searcher=searcher,
        delta=delta,
        optimizer=optimizer,
        baseline=baseline,
        ratio=ratio,
        ci=(lo, hi),
        p_value=p,
        distinguishable=p is not None and p <= 1 - CONFIDENCE,
        reached=reached,
        budget=budget,
        text="",
    )
    v.text = _verdict_text(v)
    return v


def _verdict_text(v: Verdict, *, with_task: bool = False) -> str:
    where = f"{v.task} · " if with_task else ""
    text = f"{v.optimizer} vs {v.baseline} · {where}{v.searcher} · δ={v.delta:g}:"
    if v.ratio is None:
        return text + f" neither reached δ within the budget of {v.budget} trials"
    lo, hi = v.ci
    text += f" {v.ratio:.2f}× [{lo:.2f}, {hi:.2f}]"
    holm_note = f", Holm over {v.comparisons}" if v.comparisons > 1 else ""
    if v.distinguishable:
        text += f" — {v.optimizer if v.ratio < 1 else v.baseline} cheaper to tune"
        text += f" (p={v.p_value:.3f}{holm_note})" if holm_note else ""
    else:
        text += " — not distinguishable at 95%" + (f" (p={v.p_value:.3f}{holm_note})" if holm_note else "")
    for side, share, bound in (
        (v.optimizer, v.reached[0], "a lower"),
        (v.baseline, v.reached[1], "an upper"),
    ):
        if share == 0.0:
            text += f" ({side} never reached δ within the budget of {v.budget} trials: the ratio is {bound} bound)"
    return text
