"""Answers across tasks: is one optimizer cheaper to tune than a baseline on every domain, or
only on some? (Savarese et al.'s "domain-independent" claim, asked of the user's own tasks.)

From the replay runs of several tasks (each task's optimizers replayed with the same searchers
and replay seeds), per searcher and delta:

* **Performance profiles** (Dolan & Moré 2002, as AlgoPerf scores training algorithms): for
  each optimizer, rho(tau) = the share of tasks on which its median trials-to-delta is within
  tau times the best optimizer's on that task, tau from 1 to 10. A median that never reached
  delta is infinitely far: it is within no tau.
* **Overall verdicts against a baseline**: the geometric mean over tasks of the per-task ratio
  median T(delta) of the optimizer / of the baseline (a run that never reached delta counts as
  the budget, as in the per-task verdicts), with a 95% hierarchical bootstrap interval:
  resample the tasks, then within each drawn task the replay seeds (paired: one draw of seeds
  serves both optimizers). Its two-sided bootstrap p-value enters Holm's step-down correction
  over every overall comparison made (optimizers x searchers x deltas); ``distinguishable``
  is Holm's decision at 5%. "All searchers" pools the searchers: the geometric mean over
  (task, searcher) cells, resampled by task and then by seed.

Hand-written: no maintained library bootstraps nested (task, seed) samples of censored trial
counts. Holm's correction is :func:`service.analysis.statistics.holm`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from service.analysis.replay import Run, delta_key
from service.analysis.statistics import BOOTSTRAP_SAMPLES, CONFIDENCE, bootstrap_p, censored, holm

TAUS = [round(float(t), 4) for t in np.geomspace(1.0, 10.0, 25)]
ALL_SEARCHERS = "all searchers"
ALPHA = 1 - CONFIDENCE


@dataclass
class TaskRuns:
    """One task's replays: ``runs[(optimizer, searcher)]`` the runs of one landscape with one
    searcher, ordered by replay seed (the same seeds for every optimizer of the task)."""

    task: str
    optimizers: list[str]
    runs: dict[tuple[str, str], list[Run]]


class Profile(BaseModel):
    """A performance profile: the share of tasks within tau of the best optimizer there."""

    searcher: str
    delta: float
    optimizer: str
    tau: list[float]
    share: list[float] = Field(
        description="At each tau: share of tasks with median T(delta) <= tau x the best's."
    )
    tasks: int


class OverallVerdict(BaseModel):
    """An optimizer against the baseline across tasks, per searcher (or all pooled) and delta."""

    searcher: str
    delta: float
    optimizer: str
    baseline: str
    ratio: float | None = Field(
        description="Geometric mean over tasks of median T(delta) ratios; null: none reached."
    )
    ci: tuple[float | None, float | None] = Field(
        description="95% hierarchical-bootstrap interval (tasks, then seeds)."
    )
    p_value: float | None = Field(description="Two-sided bootstrap p-value of ratio = 1.")
    distinguishable: bool = Field(description="Holm's decision at 5% over `comparisons` comparisons.")
    comparisons: int = Field(description="The family Holm corrects over.")
    tasks: int
    text: str


class Suite(BaseModel):
    """The answers across tasks: profiles and overall verdicts against ``baseline``."""

    tasks: list[str]
    baseline: str
    optimizers: list[str]
    profiles: list[Profile]
    verdicts: list[OverallVerdict]


def _trials(runs: list[Run], delta: float) -> np.ndarray:
    budget = runs[0].budget
    return censored([r.trials_to.get(delta_key(delta)) for r in runs], at=budget)


def profiles(tasks: list[TaskRuns], searchers: list[str], deltas: list[float]) -> list[Profile]:
    out = []
    optimizers = _shared(tasks)
    for searcher in searchers:
        for delta in deltas:
            ratios = {o: [] for o in optimizers}  # per task: median / best median
            for t in tasks:
                medians = {
                    o: float(
                        np.median(
                            censored([r.trials_to.get(delta_key(delta)) for r in t.runs[(o, searcher)]])
                        )
                    )
                    for o in optimizers
                }
                best = min(medians.values())
                for o in optimizers:
                    ratios[o].append(medians[o] / best if math.isfinite(medians[o]) else math.inf)
            for o in optimizers:
                r = np.array(ratios[o])
                share = [float((r <= tau + 1e-9).mean()) for tau in TAUS]
                out.append(
                    Profile(
                        searcher=searcher, delta=delta, optimizer=o, tau=TAUS, share=share, tasks=len(tasks)
                    )
                )
    return out


def _shared(tasks: list[TaskRuns]) -> list[str]:
    """The optimizers every task replayed, in the first task's order."""
    return [o for o in tasks[0].optimizers if all(o in t.optimizers for t in tasks)]


def _log_ratio_samples(
    tasks: list[TaskRuns],
    cells: list[tuple[int, str]],
    optimizer: str,
    baseline: str,
    delta: float,
    seed: int,
) -> tuple[float, np.ndarray]:
    """The geometric-mean ratio over (task, searcher) ``cells``, and its hierarchical-bootstrap
    samples of the log: draw tasks with replacement, then seeds within each drawn task."""
    rng = np.random.default_rng(seed)
    by_task: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for k, searcher in cells:
        t = tasks[k]
        by_task.setdefault(k, []).append(
            (_trials(t.runs[(optimizer, searcher)], delta), _trials(t.runs[(baseline, searcher)], delta))
        )
    keys = list(by_task)
    per_task = np.empty((len(keys), BOOTSTRAP_SAMPLES))  # each task's mean log ratio under a seed resample
    points = []
    for row, k in enumerate(keys):
        n = by_task[k][0][0].size
        idx = rng.integers(0, n, size=(BOOTSTRAP_SAMPLES, n))
        per_task[row] = np.mean(
            [np.log(np.median(a[idx], axis=1) / np.median(b[idx], axis=1)) for a, b in by_task[k]], axis=0
        )
        points.append(np.mean([np.log(np.median(a) / np.median(b)) for a, b in by_task[k]]))
    # a bootstrap sample draws the tasks with replacement, each drawn task with a fresh seed resample
    draws = rng.integers(0, len(keys), size=(BOOTSTRAP_SAMPLES, len(keys)))
    fresh = rng.integers(0, BOOTSTRAP_SAMPLES, size=(BOOTSTRAP_SAMPLES, len(keys)))
    samples = per_task[draws, fresh].mean(axis=1)
    point = float(np.mean(points))
    return point, samples


def overall_verdicts(
    tasks: list[TaskRuns], searchers: list[str], deltas: list[float], baseline: str
) -> list[OverallVerdict]:
    optimizers = [o for o in _shared(tasks) if o != baseline]
    found: list[tuple[str, float, str, float, float, float, float]] = []
    for delta in deltas:
        for optimizer in optimizers:
            for searcher in [*searchers, ALL_SEARCHERS]:
                names = searchers if searcher == ALL_SEARCHERS else [searcher]
                cells = [(k, s) for k in range(len(tasks)) for s in names]
                point, samples = _log_ratio_samples(tasks, cells, optimizer, baseline, delta, seed=len(found))
                tail = ALPHA / 2 * 100
                lo, hi = np.percentile(samples, [tail, 100 - tail], method="lower")
                found.append((searcher, delta, optimizer, point, float(lo), float(hi), bootstrap_p(samples)))
    # Holm over the per-searcher comparisons; the pooled lines are summaries, each tested alone
    family = [i for i, f in enumerate(found) if f[0] != ALL_SEARCHERS]
    decided = dict(zip(family, holm([found[i][6] for i in family]), strict=True))
    out = []
    for i, (searcher, delta, optimizer, point, lo, hi, p) in enumerate(found):
        ratio, clo, chi = math.exp(point), math.exp(lo), math.exp(hi)
        pooled = searcher == ALL_SEARCHERS
        distinguishable = p <= ALPHA if pooled else decided[i]
        text = f"{optimizer} vs {baseline} · {searcher} · δ={delta:g} across {len(tasks)} tasks: {ratio:.2f}× [{clo:.2f}, {chi:.2f}]"
        if distinguishable:
            text += f" — {optimizer if ratio < 1 else baseline} cheaper to tune"
        else:
            text += " — not distinguishable"
        text += f" (p={p:.3f}" + ("" if pooled else f", Holm over {len(family)}") + ")"
        out.append(
            OverallVerdict(
                searcher=searcher,
                delta=delta,
                optimizer=optimizer,
                baseline=baseline,
                ratio=ratio,
                ci=(clo, chi),
                p_value=p,
                distinguishable=distinguishable,
                comparisons=1 if pooled else len(family),
                tasks=len(tasks),
                text=text,
            )
        )
    return out


def suite(tasks: list[TaskRuns], searchers: list[str], deltas: list[float], baseline: str) -> Suite:
    """Profiles and overall verdicts over ``tasks`` (at least two, each with ``baseline``)."""
    if len(tasks) < 2:
        raise ValueError("a suite needs at least two tasks")
    if any(baseline not in t.optimizers for t in tasks):
        raise ValueError(f"baseline {baseline!r} is not replayed on every task")
    return Suite(
        tasks=[t.task for t in tasks],
        baseline=baseline,
        optimizers=_shared(tasks),
        profiles=profiles(tasks, searchers, deltas),
        verdicts=overall_verdicts(tasks, searchers, deltas, baseline),
    )
