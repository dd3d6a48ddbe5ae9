"""Answers across tasks: is one optimizer cheaper to tune than a baseline on every domain, or
only on some? (Savarese et al.'s "domain-independent" claim, asked of the user's own tasks.)

From the replay runs of several tasks (each task's optimizers replayed with the same searchers
and replay seeds), per delta, with the one estimator (:mod:`tunecost.service.analysis.estimator`: the
restricted mean of trials-to-delta):

* **Performance profiles** (Dolan & Moré 2002, as AlgoPerf scores training algorithms): for
  each optimizer, rho(tau) = the share of problems (tasks, for one searcher; (task, searcher)
  cells, for all searchers) on which its tuning cost is within tau times the best optimizer's
  there, tau from 1 to 10. A cell that does not reach delta (fewer than half its runs did) is
  infinitely far: within no tau. The **benchmark score** is AlgoPerf's: the profile's integral
  from tau = 1 to 4, over 3 (1: the best everywhere; 0: never within 4x of the best).
* **Overall verdicts against a baseline**: the mean of the per-task log ratios (each task's
  ratio pooled over its searchers for the headline family; one searcher's for the per-searcher
  family), with Student's t on their spread
  (:func:`tunecost.service.analysis.statistics.across_tasks`): it speaks of tasks *like these*, and
  says so; below :data:`FEW_TASKS` tasks it warns that the interval is wide. A task where the
  pair is budget-bound (neither side reached delta in half its runs) has no ratio and sits out.
  Each family is corrected on its own (Holm by default), intervals at the corrected level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from tunecost.service.analysis.estimator import Pair, Status, cell, own_best_noise, pair, paired, pooled_pairs
from tunecost.service.analysis.replay import Run
from tunecost.service.analysis.statistics import METHODS, Meta, across_tasks, correct_lines

TAUS = [round(float(t), 4) for t in np.geomspace(1.0, 10.0, 25)]
SCORE_TAU = 4.0  # AlgoPerf's r_max: the benchmark score integrates the profile over [1, 4]
ALL_SEARCHERS = "all searchers"
FEW_TASKS = 5  # below this many tasks, the across-task interval is wide and the text says so


@dataclass
class TaskRuns:
    """One task's replays: ``runs[(optimizer, searcher)]`` the runs of one landscape with one
    searcher, ordered by replay seed (the same seeds for every optimizer of the task)."""

    task: str
    optimizers: list[str]
    runs: dict[tuple[str, str], list[Run]]
    e_star_noise: dict[str, tuple[float, float]] = field(default_factory=dict)  # label: (se, df)


class Profile(BaseModel):
    """A performance profile: the share of problems within tau of the best optimizer there."""

    searcher: str = Field(
        description="A searcher (problems: tasks), or `all searchers` (problems: (task, searcher) cells)."
    )
    delta: float
    optimizer: str
    tau: list[float]
    share: list[float] = Field(
        description="At each tau: share of problems with tuning cost <= tau x the best's (a cell that "
        "does not reach delta is within no tau)."
    )
    problems: int
    score: float = Field(
        description="AlgoPerf's benchmark score: the profile's integral over tau in [1, 4], over 3."
    )


class OverallVerdict(BaseModel):
    """An optimizer against the baseline across tasks, per delta: pooled over the searchers
    (the headline family) or for one searcher."""

    family: Literal["headline", "per searcher"]
    searcher: str
    delta: float
    optimizer: str
    baseline: str
    ratio: float | None = Field(
        description="Geometric mean ratio over tasks; null: under two tasks have one."
    )
    ci: tuple[float | None, float | None] = Field(
        description="Student t interval over the tasks' log ratios at `confidence` (the corrected level)."
    )
    confidence: float | None = None
    p_value: float | None = Field(description="Two-sided t-test (k - 1 df) of mean ratio = 1.")
    p_adjusted: float | None = None
    distinguishable: bool = Field(description="The correction's decision at 5% over its family.")
    comparisons: int = Field(description="The family the correction is over.")
    correction: str = "Holm"
    tasks: int = Field(description="Tasks with a ratio (a budget-bound task sits out).")
    tau: float | None = Field(None, description="Between-task spread of the log ratio (Paule-Mandel).")
    text: str


class Suite(BaseModel):
    """The answers across tasks: profiles and overall verdicts against ``baseline``."""

    tasks: list[str]
    baseline: str
    optimizers: list[str]
    profiles: list[Profile]
    verdicts: list[OverallVerdict]


def _shared(tasks: list[TaskRuns]) -> list[str]:
    """The optimizers every task replayed, in the first task's order."""
    return [o for o in tasks[0].optimizers if all(o in t.optimizers for t in tasks)]


def benchmark_score(ratios: np.ndarray) -> float:
    """AlgoPerf's score, exactly: (1 / (4 - 1)) * integral over [1, 4] of rho(tau); a problem at
    ratio r >= 1 adds max(0, 4 - r) to the integral."""
    r = np.maximum(np.asarray(ratios, dtype=float), 1.0)
    return float(np.mean(np.clip(SCORE_TAU - r, 0.0, SCORE_TAU - 1.0)) / (SCORE_TAU - 1.0)) if r.size else 0.0


def _profile(
    searcher: str, delta: float, optimizers: list[str], cells: list[dict[str, list[Run]]]
) -> list[Profile]:
    """Profiles over ``cells`` (each: optimizer -> its runs on one problem)."""
    ratios: dict[str, list[float]] = {o: [] for o in optimizers}
    for runs in cells:
        costs = {}
        for o in optimizers:
            e = cell(runs[o], delta)
            costs[o] = e.mean if e.reaches else math.inf
        best = min(costs.values())
        for o in optimizers:
            ratios[o].append(costs[o] / best if math.isfinite(best) else math.inf)
    out = []
    for o in optimizers:
        r = np.array(ratios[o])
        out.append(
            Profile(
                searcher=searcher,
                delta=delta,
                optimizer=o,
                tau=TAUS,
                share=[float((r <= tau + 1e-9).mean()) for tau in TAUS],
                problems=len(cells),
                score=benchmark_score(r),
            )
        )
    return out


def profiles(
    tasks: list[TaskRuns], searchers: list[str], deltas: list[float], *, per_searcher: bool = False
) -> list[Profile]:
    """Per delta: over every (task, searcher) cell (``all searchers``: a comparison's), or with
    ``per_searcher``, one profile per searcher over the tasks (a suite's)."""
    optimizers = _shared(tasks)
    out = []
    for delta in deltas:
        if not per_searcher:
            every = [{o: t.runs[(o, s)] for o in optimizers} for t in tasks for s in searchers]
            out += _profile(ALL_SEARCHERS, delta, optimizers, every)
            continue
        for s in searchers:
            out += _profile(s, delta, optimizers, [{o: t.runs[(o, s)] for o in optimizers} for t in tasks])
    return out


def _task_pairs(
    t: TaskRuns, optimizer: str, baseline: str, searchers: list[str], delta: float
) -> dict[str, Pair]:
    """One task's tested pairs, by searcher (a budget-bound or unpaired pair has no ratio),
    each with its e*s' noise."""
    out = {}
    for s in searchers:
        a, b = t.runs[(optimizer, s)], t.runs[(baseline, s)]
        if paired(a, b):
            noise = own_best_noise(*(t.e_star_noise.get(o, (0.0, 0.0)) for o in (optimizer, baseline)))
            p = pair(a, b, delta, noise)
            if p.status == Status.TESTED and p.ratio is not None:
                out[s] = p
    return out


def overall_verdicts(
    tasks: list[TaskRuns],
    searchers: list[str],
    deltas: list[float],
    baseline: str,
    correction: str = "holm",
) -> list[OverallVerdict]:
    """Per optimizer and delta, the answer over the tasks' ratios pooled over the
    searchers (the headline family), and one per searcher (the second family)."""
    optimizers = [o for o in _shared(tasks) if o != baseline]
    found: dict[str, list[tuple[str, float, str, Meta | None]]] = {"headline": [], "per searcher": []}
    for delta in deltas:
        for optimizer in optimizers:
            per_task = [_task_pairs(t, optimizer, baseline, searchers, delta) for t in tasks]
            for searcher in [ALL_SEARCHERS, *searchers]:
                if searcher == ALL_SEARCHERS:
                    have = [pooled_pairs(list(r.values())) for r in per_task if r]
                else:
                    have = [r[searcher].ratio for r in per_task if searcher in r]
                meta = across_tasks(have) if len(have) >= 2 else None
                family = "headline" if searcher == ALL_SEARCHERS else "per searcher"
                found[family].append((searcher, delta, optimizer, meta))
    out: list[OverallVerdict] = []
    for family, mine in found.items():
        metas = [meta for *_, meta in mine]
        lines = correct_lines(metas, [m is not None for m in metas], correction)
        for (searcher, delta, optimizer, meta), line in zip(mine, lines, strict=True):
            v = OverallVerdict(
                family=family,  # type: ignore[arg-type]
                searcher=searcher,
                delta=delta,
                optimizer=optimizer,
                baseline=baseline,
                ratio=None if meta is None else meta.ratio,
                ci=line.ci or (None, None),
                confidence=line.confidence,
                p_value=None if meta is None else meta.p_value,
                p_adjusted=line.p_adjusted,
                distinguishable=line.distinguishable,
                comparisons=sum(m is not None for m in metas),
                correction=METHODS[correction],
                tasks=0 if meta is None else meta.k,
                tau=None if meta is None else meta.tau,
                text="",
            )
            v.text = _overall_text(v, len(tasks))
            out.append(v)
    return out


def _overall_text(v: OverallVerdict, total: int) -> str:
    text = f"{v.optimizer} vs {v.baseline} · {v.searcher} · δ={v.delta:g}:"
    if v.ratio is None:
        return (
            text + f" fewer than two of the {total} tasks have a ratio (the rest are budget-bound): no answer"
        )
    lo, hi = v.ci
    level = f"{v.confidence:.1%}".replace(".0%", "%")
    decision = (
        f"{v.optimizer if v.ratio < 1 else v.baseline} cheaper to tune"
        if v.distinguishable
        else "not distinguishable"
    )
    family = f", {v.correction} over {v.comparisons}" if v.comparisons > 1 else ""
    text += (
        f" {v.ratio:.2f}× [{lo:.2f}, {hi:.2f}] over {v.tasks} tasks like these — {decision} "
        f"(p={v.p_value:.2g}, adjusted {v.p_adjusted:.2g}{family}; {level} interval over tasks; "
        f"between-task spread τ={v.tau:.2f})"
    )
    if v.tasks < FEW_TASKS:
        text += f"; {v.tasks} tasks: below {FEW_TASKS} this interval is wide, the per-task lines speak of these tasks"
    return text


def suite(
    tasks: list[TaskRuns], searchers: list[str], deltas: list[float], baseline: str, correction: str = "holm"
) -> Suite:
    """Profiles and overall verdicts over ``tasks`` (at least two, each with ``baseline``)."""
    if len(tasks) < 2:
        raise ValueError("a suite needs at least two tasks")
    if any(baseline not in t.optimizers for t in tasks):
        raise ValueError(f"baseline {baseline!r} is not replayed on every task")
    return Suite(
        tasks=[t.task for t in tasks],
        baseline=baseline,
        optimizers=_shared(tasks),
        profiles=profiles(tasks, searchers, deltas, per_searcher=True),
        verdicts=overall_verdicts(tasks, searchers, deltas, baseline, correction),
    )
