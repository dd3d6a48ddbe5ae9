"""What searchers cost on stored landscapes: the statistics over a replay's runs, built from
plain runs and landscapes (no database): tuning cost per (optimizer, searcher, delta) with
intervals, median/IQR curves, random search in closed form, and verdicts (hand-written
analysis; the definitions are docs/ARCHITECTURE.md's "Tuning cost"; the one estimator is
:mod:`tunecost.service.analysis.estimator`, on :mod:`tunecost.service.analysis.statistics`).
:mod:`tunecost.service.comparisons` reads a replay job's runs and landscapes from the database
and calls :func:`build`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr

from tunecost.service.analysis.costs import Cost
from tunecost.service.analysis.estimator import (
    Pair,
    Status,
    TargetNoise,
    answering,
    cell,
    cost_cell,
    cost_to,
    own_best_noise,
    pair,
    paired,
    pooled_pairs,
    replicates,
    retarget,
    trials_to,
)
from tunecost.service.analysis.replay import Run, delta_key
from tunecost.service.analysis.statistics import (
    METHODS,
    REACHES,
    Ratio,
    correct_lines,
    quartiles,
    random_search_expected_best,
    random_search_reach_probability,
)
from tunecost.service.analysis.suite import ALL_SEARCHERS, Profile, Suite, TaskRuns, profiles, suite

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
    best_error: float = Field(description="The landscape's best mean score, in `unit`.")
    e_star: float | None = Field(
        None,
        description="e*, what suboptimality is measured from: the best node measured on fresh seeds "
        "(`e_star_fresh`), else `best_error`.",
    )
    e_star_fresh: bool = Field(False, description="e* was measured on fresh seeds, apart from its selection.")
    e_star_se: float | None = Field(
        None,
        description="e*'s standard error over its fresh seeds (std / sqrt(n), in `delta_unit`); every "
        "verdict's interval holds it. None where e* is not measured on fresh seeds.",
    )
    seeds: list[int]
    noise_std_median: float | None = Field(
        description="Median spread over training seeds, in `delta_unit`; null for one seed."
    )
    resolution: float | None = Field(
        None,
        description="The smallest step between two distinct scores any seed reached, in `delta_unit`: "
        "one validation sample's worth for an error in %; a delta below it cannot be told apart.",
    )
    share_within: dict[str, float] = Field(
        description="delta -> share of the grid's nodes within delta of e* (delta in `delta_unit`)."
    )
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
    lr_sensitivity: float | None = Field(
        None,
        description="Learning-rate sensitivity (Wortsman et al. 2023): the mean over the alpha grid, "
        "at the best epsilon, of min(score, chance) - e*, in `delta_unit`; lower is more forgiving. "
        "Null for a one-row grid.",
    )


class CostStats(BaseModel):
    """Cost to reach delta over the replay seeds, in one unit (epochs, seconds, wall-clock): the
    same estimator as trials, a run that never reached delta counting what it spent."""

    mean: float = Field(description="Restricted mean cost to reach delta over the replay seeds.")
    ci: tuple[float, float] = Field(description="95% t-interval of the restricted mean.")
    q25: float | None = Field(description="Descriptive quartile; null: beyond what the runs spent.")
    q75: float | None


class TuningCostRow(BaseModel):
    landscape_id: int
    task: str = ""
    optimizer: str
    label: str = LABEL
    searcher: str
    delta: float
    trials: float = Field(
        description="Tuning cost: the restricted mean of trials to reach delta over the replay seeds, "
        "a run that never reached it counting the budget (docs/ARCHITECTURE.md, 'Tuning cost'). The "
        "verdicts, profiles, scores and headline are made of these."
    )
    ci: tuple[float, float] = Field(description="95% t-interval of `trials` over the replay seeds.")
    reached: float = Field(description="Share of replay seeds that reached delta within the budget.")
    reaches: bool = Field(
        description="At least half the seeds reached delta: the cost is the optimizer's; else the "
        "budget bounds it (the table marks it, profiles count it as never reaching delta)."
    )
    q25: float | None = Field(description="Descriptive quartile of trials to delta; null: beyond the budget.")
    q75: float | None
    seeds: int
    budget: int
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


HEADLINE = "headline"
PER_SEARCHER = "per searcher"
OWN = "own best"  # trials to within delta of each optimizer's own e*
SHARED = "shared target"  # trials to the baseline's e* + delta


class Verdict(BaseModel):
    """Is one optimizer cheaper to tune than the baseline, beyond replay noise? The headline
    family pools the searchers (per task, optimizer and delta); per-searcher lines are a
    second family, corrected on their own."""

    family: Literal["headline", "per searcher"] = Field(
        description="`headline`: the ratio pooled over the searchers (its geometric mean), the "
        "declared family the answer is read from; `per searcher`: one searcher's, secondary."
    )
    searcher: str = Field(description="The searcher, or `all searchers` for a headline line.")
    question: Literal["own best", "shared target"] = Field(
        OWN,
        description="`own best`: trials to within delta of each optimizer's own e*; `shared target`: "
        "trials to the baseline's e* + delta, the same error for both.",
    )
    delta: float
    target: float | None = Field(
        None,
        description="The absolute score of a `shared target` line asked for one (the replay's `target`).",
    )
    optimizer: str
    baseline: str
    task: str = ""
    ratio: float | None = Field(
        description="Tuning cost of optimizer / of baseline (restricted mean trials to delta; a "
        "geometric mean over searchers for a headline line); null: no run of either reached delta."
    )
    ci: tuple[float | None, float | None] = Field(
        description="Interval of the ratio at `confidence`: the level the correction applied to this "
        "comparison, so it excludes 1 exactly when `distinguishable`."
    )
    confidence: float | None = Field(None, description="The level of `ci` (0.95 for a family of one).")
    p_value: float | None = Field(
        None, description="Two-sided t-test of ratio = 1 (paired by replay seed); null: not tested."
    )
    p_adjusted: float | None = Field(None, description="`p_value` adjusted over the family.")
    distinguishable: bool = Field(description="The correction's decision at 5% over its family.")
    comparisons: int = Field(1, description="How many verdicts the family holds.")
    correction: str = Field("Holm", description="Holm, or Benjamini-Hochberg.")
    status: Status = Field(
        description="`tested`; `budget-bound`: neither side reached delta in half its runs, so the "
        "budget, not the optimizer, sets both costs (no test); `neither`: no run of either reached it."
    )
    reached: tuple[float, float] = Field(
        description="Share of replay seeds that reached delta within the budget: optimizer, baseline "
        "(averaged over the searchers for a headline line)."
    )
    searchers: int = Field(1, description="How many searchers' ratios a headline line pools.")
    cautions: list[str] = Field(
        default_factory=list,
        description="Why delta may be too fine for this verdict: below the landscapes' seed noise, or "
        "below the metric's resolution (one validation sample).",
    )
    budget: int = 0
    text: str
    _ratio: Ratio | None = PrivateAttr(None)  # the estimate behind ratio, ci and p_value


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
    correction: str = Field("holm", description="The multiple-comparison correction: `holm` or `fdr_bh`.")
    profiles: list[Profile] = Field(
        default_factory=list,
        description="Performance profiles and AlgoPerf benchmark scores per delta over every (task, "
        "searcher) cell: how close each optimizer's tuning cost comes to the best one's.",
    )
    baseline: str | None = Field(
        None, description="What the verdicts compare against (a landscape label); null: each task's first."
    )
    replicates: int | None = Field(
        None,
        description="Training-seed replicates the runs were made on (each interval is over them); "
        "null: one landscape each, intervals over the replay seeds only.",
    )
    target: float | None = Field(
        None,
        description="The replay's absolute target, the shared question's score; null: the baseline's e* + delta.",
    )
    shared: list[Verdict] = Field(
        default_factory=list,
        description="The same verdicts to a target shared by the optimizers compared (AlgoPerf's fixed "
        "target): trials to reach the baseline's e* + delta, not each its own; corrected as families of "
        "their own.",
    )
    suite: Suite | None = Field(
        None,
        description="Across tasks (a replay of two tasks or more): per-searcher performance profiles "
        "and overall verdicts against the baseline, from a random-effects meta-analysis of the "
        "per-task ratios.",
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
    """Each cost's restricted mean to reach ``delta`` (a run that never reached it counting what
    it spent), its interval and descriptive quartiles."""
    out = {}
    for cost in Cost:
        values = cost_to(group, delta, cost)
        if values is None:
            return None, None
        e = cost_cell(group, values, cost)
        q25, q75 = quartiles(values)
        out[cost.value] = CostStats(mean=e.mean, ci=e.interval(), q25=q25, q75=q75)
    return out, float(np.mean([r.pruned for r in group]))


def _row_stats(group: list[Run], delta: float) -> dict[str, Any]:
    e = cell(group, delta)
    q25, q75 = quartiles(trials_to(group, delta))
    return {
        "trials": e.mean,
        "ci": e.interval(),
        "reached": e.reached,
        "reaches": e.reaches,
        "q25": q25,
        "q75": q75,
    }


def lr_sensitivity(errors: np.ndarray, chance: float | None) -> float | None:
    """Wortsman et al. (2023): the mean over the alpha axis, at the best epsilon, of
    min(score, chance) - e* (a diverged or failed node counts chance, not worse)."""
    if errors.shape[0] < 2:
        return None
    best = np.unravel_index(int(np.argmin(errors)), errors.shape)
    column = errors[:, best[1]]
    if chance is not None:
        column = np.minimum(column, chance)
    return float(np.mean(column) - errors.min())


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
    resolution: float | None = None  # the smallest step between distinct per-seed scores
    fidelity: dict[str, Any] | None = None
    compute: dict[str, Any] | None = None
    chance: float | None = None  # what a failed or diverged point scores (the metric's failure score)
    e_star: float | None = None  # measured on fresh seeds (the landscape's reference); None: errors.min()
    e_star_se: float = 0.0  # e*'s standard error over its fresh seeds (0: taken as exact)
    e_star_df: float = 0.0

    @property
    def target_base(self) -> float:
        """e*: the fresh-seed reference, else the best mean score."""
        return float(self.errors.min()) if self.e_star is None else self.e_star


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
    correction: str = "holm",
    target: float | None = None,
) -> Comparison:
    """The comparison of the runs of each (landscape id, searcher) on ``subjects``, its verdicts
    against ``baseline`` (a label; default each task's first landscape), corrected by
    ``correction`` (``holm`` or ``fdr_bh``), and across tasks when there are two or more. The
    shared target is the baseline's e* + delta, or ``target`` (a score, one task only)."""
    if correction not in METHODS:
        raise ValueError(f"unknown correction {correction!r}: one of {', '.join(METHODS)}")
    loaded = {s.landscape_id: s for s in subjects}
    # a delta the replay did not record is read off the stored curves (estimator.answering)
    groups = {k: [answering(r, deltas) for r in v] for k, v in groups.items() if k[0] in loaded and v}
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
                e_star=s.target_base,
                e_star_fresh=s.e_star is not None,
                e_star_se=s.e_star_se if s.e_star is not None and s.e_star_se > 0 else None,
                seeds=s.seeds,
                noise_std_median=s.noise_std_median,
                resolution=s.resolution,
                share_within={delta_key(d): share_within(s.errors, d) for d in deltas},
                random_expected_trials={delta_key(d): expected_random_cost(s.errors, d) for d in deltas},
                fidelity=s.fidelity,
                compute=s.compute,
                on_stopped=sum(a for a, _ in counted) / max(sum(b for _, b in counted), 1)
                if counted
                else None,
                lr_sensitivity=lr_sensitivity(s.errors, s.chance),
            )
        )
    rows, curves = [], []
    for (landscape_id, searcher), group in sorted(
        groups.items(), key=lambda kv: (loaded[kv[0][0]].task, loaded[kv[0][0]].label, kv[0][1])
    ):
        optimizer, label = loaded[landscape_id].optimizer, loaded[landscape_id].label
        budget = group[0].budget
        for d in deltas:
            costs, pruned = _cost_stats(group, d)
            rows.append(
                TuningCostRow(
                    landscape_id=landscape_id,
                    task=loaded[landscape_id].task,
                    optimizer=optimizer,
                    label=label,
                    searcher=searcher,
                    delta=d,
                    seeds=len(group),
                    budget=budget,
                    costs=costs,
                    pruned=pruned,
                    **_row_stats(group, d),
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
        verdicts=_verdicts(groups, loaded, deltas, baseline, correction),
        replicates=_replicate_count(groups),
        shared=_shared(groups, loaded, deltas, baseline, correction, target),
        target=target,
        correction=correction,
        profiles=_profiles(groups, subjects, deltas),
        baseline=baseline or (subjects[0].label if subjects else None),
        suite=_suite(groups, subjects, deltas, baseline, correction),
    )


def _tasks(groups: dict[tuple[int, str], list[Run]], subjects: list[Subject]) -> dict[str, TaskRuns]:
    tasks: dict[str, TaskRuns] = {}
    for s in subjects:
        t = tasks.setdefault(s.task, TaskRuns(s.task, [], {}))
        t.optimizers.append(s.label)
        t.e_star_noise[s.label] = (s.e_star_se, s.e_star_df)
        for (i, searcher), runs in groups.items():
            if i == s.landscape_id:
                t.runs[(s.label, searcher)] = runs
    return tasks


def _complete_searchers(tasks: list[TaskRuns]) -> list[str]:
    """The searchers that replayed every optimizer of every task."""
    found = [{s for (_, s) in t.runs if all((p, s) in t.runs for p in t.optimizers)} for t in tasks]
    return sorted(set.intersection(*found)) if found else []


def _profiles(
    groups: dict[tuple[int, str], list[Run]], subjects: list[Subject], deltas: list[float]
) -> list[Profile]:
    """Profiles over every (task, searcher) cell that replayed each shared optimizer."""
    tasks = list(_tasks(groups, subjects).values())
    searchers = _complete_searchers(tasks)
    if not tasks or not searchers or len(tasks[0].optimizers) < 2:
        return []
    return profiles(tasks, searchers, deltas)


def _suite(
    groups: dict[tuple[int, str], list[Run]],
    subjects: list[Subject],
    deltas: list[float],
    baseline: str | None,
    correction: str,
) -> Suite | None:
    """The answers across tasks, where two tasks or more share the baseline and a searcher."""
    base = baseline or (subjects[0].label if subjects else None)
    usable = [t for t in _tasks(groups, subjects).values() if base in t.optimizers]
    if len(usable) < 2:
        return None
    searchers = _complete_searchers(usable)
    if not searchers:
        return None
    return suite(usable, searchers, deltas, base, correction)  # type: ignore[arg-type]


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


def _replicate_count(groups: dict[tuple[int, str], list[Run]]) -> int | None:
    counts = {len(g) if (g := replicates(runs)) else None for runs in groups.values()}
    return counts.pop() if len(counts) == 1 else None


def _bases(loaded: dict[int, Subject], baseline: str | None) -> dict[str, int]:
    """Per task, its baseline landscape: the one labelled ``baseline``, else the task's first."""
    by_task: dict[str, list[int]] = {}
    for i, subject in loaded.items():
        by_task.setdefault(subject.task, []).append(i)
    return {t: next((i for i in ids if loaded[i].label == baseline), ids[0]) for t, ids in by_task.items()}


def _retargeted(
    groups: dict[tuple[int, str], list[Run]],
    loaded: dict[int, Subject],
    deltas: list[float],
    baseline: str | None,
) -> dict[tuple[int, str], list[Run]]:
    """Every run asked the shared question: trials to its task's baseline's e* + delta."""
    bases = _bases(loaded, baseline)
    out = {}
    for (i, searcher), runs in groups.items():
        shift = loaded[bases[loaded[i].task]].target_base - loaded[i].target_base
        out[(i, searcher)] = [retarget(r, shift, deltas) for r in runs]
    return out


def _shared(
    groups: dict[tuple[int, str], list[Run]],
    loaded: dict[int, Subject],
    deltas: list[float],
    baseline: str | None,
    correction: str,
    target: float | None,
) -> list[Verdict]:
    """The verdicts to a target both sides share: the baseline's e* + delta, or ``target``
    (one line per question, not per delta: its delta is the target's distance from the
    baseline's e*)."""
    if target is not None:
        bases = _bases(loaded, baseline)
        if len(bases) != 1:
            raise ValueError("an absolute target is one task's: compare one task")
        deltas = [target - loaded[next(iter(bases.values()))].target_base]
    return _verdicts(
        _retargeted(groups, loaded, deltas, baseline), loaded, deltas, baseline, correction, SHARED, target
    )


def _verdicts(
    groups: dict[tuple[int, str], list[Run]],
    loaded: dict[int, Subject],
    deltas: list[float],
    baseline: str | None,
    correction: str = "holm",
    question: str = OWN,
    target: float | None = None,
) -> list[Verdict]:
    """Each other landscape of a task against the task's baseline (the landscape labelled
    ``baseline``, else the task's first), per delta: a headline line pooled over the searchers
    and one line per searcher (``optimizer`` and ``baseline`` of a verdict are the landscapes'
    labels). Each family is corrected on its own. Each interval holds the noise of the e* its
    question is scored to (:func:`_target_noise`)."""
    bases = _bases(loaded, baseline)
    out = []
    for task, base in bases.items():
        for a in (i for i in loaded if loaded[i].task == task):
            if a == base:
                continue
            searchers = sorted({s for (i, s) in groups if i == a} & {s for (i, s) in groups if i == base})
            searchers = [s for s in searchers if paired(groups[(a, s)], groups[(base, s)])]
            noise = _target_noise(loaded[a], loaded[base], question, target)
            for d in deltas:
                pairs = {s: pair(groups[(a, s)], groups[(base, s)], d, noise) for s in searchers}
                if not pairs:
                    continue
                budget = groups[(a, searchers[0])][0].budget
                common = {
                    "delta": d,
                    "optimizer": loaded[a].label,
                    "baseline": loaded[base].label,
                    "question": question,
                }
                out.append(_headline_verdict(pairs, budget, task=loaded[a].task, **common))
                for s, p in pairs.items():
                    out.append(_one(p, PER_SEARCHER, s, budget, task=loaded[a].task, **common))
    decide(out, correction)
    by_label = {(s.task, s.label): s for s in loaded.values()}
    for v in out:
        v.cautions = cautions(v.delta, [by_label[(v.task, v.optimizer)], by_label[(v.task, v.baseline)]])
        if target is not None:  # an absolute target: its delta is no tolerance, so no delta caution
            v.target = target
            v.cautions = [c for c in v.cautions if not c.startswith("δ")]
        v.text = _verdict_text(v, with_task=len(bases) > 1)
    return out


def _target_noise(a: Subject, base: Subject, question: str, target: float | None) -> list[TargetNoise]:
    """The e*s a pair's question is scored to, each with its measurement noise: each side's own
    (own best), the baseline's for both sides (a shared target), none (an absolute target)."""
    if target is not None:
        return []
    if question == SHARED:
        return [TargetNoise(base.e_star_se, base.e_star_df, a=True, b=True)]
    return own_best_noise((a.e_star_se, a.e_star_df), (base.e_star_se, base.e_star_df))


def cautions(delta: float, subjects: list[Subject]) -> list[str]:
    """Why a verdict at ``delta`` needs care: delta below the landscapes' seed noise (which
    nodes lie within delta of e* is then itself noise), or below their resolution; spaces of
    different sizes (an optimizer without epsilon is tuned over alpha alone); a best node on its
    grid's edge (the optimum, and so e*, may lie outside the grid)."""
    out = [
        f"{s.label}'s best node lies on its grid's edge: its optimum, and e*, may lie outside the grid"
        for s in subjects
        if on_grid_edge(s.errors)
    ]
    unit = "pts" if subjects[0].delta_unit == "points" else subjects[0].delta_unit
    noise = max((s.noise_std_median for s in subjects if s.noise_std_median is not None), default=None)
    if noise is not None and delta < noise:
        out.append(
            f"δ is below the seed noise ({noise:.2f} {unit} median std): which configs lie within δ is noise"
        )
    step = max((s.resolution for s in subjects if s.resolution is not None), default=None)
    if step is not None and delta < step:
        out.append(f"δ is finer than the metric's resolution (one step is {step:.2f} {unit})")
    sizes = {s.label: s.errors.size for s in subjects}
    if len(set(sizes.values())) > 1:
        out.append(
            "the spaces differ: "
            + ", ".join(
                f"{label} is tuned over {n} configs ({'α alone' if s.errors.shape[1] == 1 else 'α × ε'})"
                for (label, n), s in zip(sizes.items(), subjects, strict=True)
            )
            + "; the smaller space is part of the smaller cost"
        )
    return out


def at_grid_edge(point: Sequence[float], axes: Sequence[Sequence[float]]) -> bool:
    """Whether ``point`` lies at an end of one of ``axes`` that has more than one value: the
    one rule for "on the grid's edge", by index or by value."""
    return any(
        len(set(values)) > 1 and v in (min(values), max(values))
        for v, values in zip(point, axes, strict=True)
    )


def on_grid_edge(errors: np.ndarray) -> bool:
    """Whether the best node (lowest mean) lies on the grid's edge (:func:`at_grid_edge`)."""
    if not np.isfinite(errors).any():
        return False
    at = np.unravel_index(int(np.nanargmin(errors)), errors.shape)
    return at_grid_edge([int(i) for i in at], [range(n) for n in errors.shape])


def resolution(scores: np.ndarray) -> float | None:
    """The smallest step between two distinct scores (NaN: missing): for an error in % over n
    validation samples, 100/n, one sample's worth; None for fewer than two distinct scores."""
    values = np.unique(np.round(scores[np.isfinite(scores)], 9))
    return float(np.diff(values).min()) if values.size > 1 else None


def _one(p: Pair, family: str, searcher: str, budget: int, **common: Any) -> Verdict:
    v = Verdict(
        family=family,  # type: ignore[arg-type]
        searcher=searcher,
        ratio=None if p.ratio is None else p.ratio.ratio,
        ci=(None, None),
        p_value=p.ratio.p_value if p.ratio is not None and p.status == Status.TESTED else None,
        distinguishable=False,
        status=p.status,
        reached=(p.a.reached, p.b.reached),
        budget=budget,
        text="",
        **common,
    )
    v._ratio = p.ratio
    return v


def _headline_verdict(pairs: dict[str, Pair], budget: int, **common: Any) -> Verdict:
    """The ratio pooled over the searchers whose pair is tested (geometric mean); budget-bound
    where none is, and no ratio where no run of either side reached delta with any searcher."""
    tested = [p for p in pairs.values() if p.status == Status.TESTED and p.ratio is not None]
    reached = (
        float(np.mean([p.a.reached for p in pairs.values()])),
        float(np.mean([p.b.reached for p in pairs.values()])),
    )
    if tested:
        ratio, status, n = pooled_pairs(tested), Status.TESTED, len(tested)
    else:
        bound = [p for p in pairs.values() if p.ratio is not None]
        ratio = pooled_pairs(bound) if bound else None
        status = Status.BUDGET_BOUND if bound else Status.NEITHER
        n = len(bound)
    v = Verdict(
        family=HEADLINE,
        searcher=ALL_SEARCHERS,
        ratio=None if ratio is None else ratio.ratio,
        ci=(None, None),
        p_value=ratio.p_value if status == Status.TESTED and ratio is not None else None,
        distinguishable=False,
        status=status,
        reached=reached,
        searchers=n,
        budget=budget,
        text="",
        **common,
    )
    v._ratio = ratio
    return v


def decide(verdicts: list[Verdict], correction: str = "holm") -> None:
    """Correct each family of ``verdicts`` over its tested lines: adjusted p-values, decisions,
    and each interval at the level the correction applied to it (so it excludes 1 exactly when
    the line is distinguishable); an untested line keeps its 95% interval, or none."""
    for family in (HEADLINE, PER_SEARCHER):
        mine = [v for v in verdicts if v.family == family]
        tested = [v.p_value is not None for v in mine]
        for v, line in zip(mine, correct_lines([v._ratio for v in mine], tested, correction), strict=True):
            v.ci = line.ci or (None, None)
            v.confidence, v.p_adjusted, v.distinguishable = (
                line.confidence,
                line.p_adjusted,
                line.distinguishable,
            )
            if v.p_value is not None:
                v.comparisons, v.correction = sum(tested), METHODS[correction]


def verdict(
    optimizer: str,
    baseline: str,
    searcher: str,
    delta: float,
    runs: list[Run],
    baseline_runs: list[Run],
) -> Verdict:
    """One searcher's verdict alone (a family of one): the ratio of tuning costs paired by
    replay seed, its 95% interval and t-test."""
    p = pair(runs, baseline_runs, delta)
    v = _one(p, PER_SEARCHER, searcher, runs[0].budget, delta=delta, optimizer=optimizer, baseline=baseline)
    decide([v])
    v.text = _verdict_text(v)
    return v


def _verdict_text(v: Verdict, *, with_task: bool = False) -> str:
    where = f"{v.task} · " if with_task else ""
    who = "all searchers" if v.family == HEADLINE else v.searcher
    to = f"{v.baseline}'s e* + δ" if v.question == SHARED else "δ"
    asked = f"δ={v.delta:g}:" if v.question != SHARED else f"to {v.baseline}'s e* + {v.delta:g}:"
    if v.target is not None:
        to = f"the target {v.target:g}"
        asked = f"to the target {v.target:g}:"
    text = f"{v.optimizer} vs {v.baseline} · {where}{who} · {asked}"
    if v.status == Status.NEITHER:
        return text + f" neither reached {to} within the budget of {v.budget} trials"
    lo, hi = v.ci
    level = f"{v.confidence:.1%}".replace(".0%", "%") if v.confidence is not None else "95%"
    text += f" {v.ratio:.2f}× [{lo:.2f}, {hi:.2f}]"
    if v.status == Status.BUDGET_BOUND:
        return text + (
            f" — no verdict: each reached δ in under half its runs ({v.reached[0]:.0%}, {v.reached[1]:.0%}); "
            f"the budget of {v.budget} trials, not the optimizer, sets both costs"
        )
    family = f", {v.correction} over {v.comparisons}" if v.comparisons > 1 else ""
    stats = f"(p={v.p_value:.2g}, adjusted {v.p_adjusted:.2g}{family}; {level} interval)"
    if v.comparisons == 1:
        stats = f"(p={v.p_value:.2g})"
    if v.distinguishable:
        text += f" — {v.optimizer if (v.ratio or 1) < 1 else v.baseline} cheaper to tune {stats}"
    else:
        text += f" — not distinguishable {stats}"
    for side, share, bound in (
        (v.optimizer, v.reached[0], "larger still"),
        (v.baseline, v.reached[1], "smaller still"),
    ):
        if share < REACHES:
            text += f" ({side} reached {to} in {share:.0%} of runs within {v.budget} trials: the unrestricted ratio is {bound})"
    return text + "".join(f" [caution: {c}]" for c in v.cautions)
