"""Answers across tasks (service.analysis.suite) and the headline a reader sees first, on
plain runs: no database, no Ray."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis.comparison import Subject, build
from service.analysis.replay import Run
from service.analysis.report import headline, to_text, tuning_cost_table
from service.analysis.statistics import holm
from service.analysis.suite import ALL_SEARCHERS, TaskRuns, suite

SEEDS = 40


def _runs(searcher: str, trials: np.ndarray, budget: int = 100) -> list[Run]:
    """Runs that first come within delta = 1 at ``trials`` (never, beyond the budget)."""
    return [
        Run(
            searcher,
            seed=s,
            budget=budget,
            curve=[5.0 if k + 1 < t else 0.5 for k in range(budget)],
            trials_to={"1.0": int(t) if t <= budget else None},
            stalled=False,
        )
        for s, t in enumerate(trials)
    ]


def _task(
    name: str, costs: dict[str, float], rng: np.random.Generator, searchers=("random", "tpe")
) -> TaskRuns:
    """Each optimizer's trials-to-delta: geometric noise around its typical cost."""
    runs = {}
    for optimizer, typical in costs.items():
        for searcher in searchers:
            runs[(optimizer, searcher)] = _runs(searcher, np.ceil(rng.exponential(typical, SEEDS)) + 1)
    return TaskRuns(name, list(costs), runs)


def test_holm_rejects_in_order_and_stops_at_the_first_p_above_its_threshold() -> None:
    # sorted: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2: stop; 0.04 is not rejected either
    assert holm([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    assert holm([0.2, 0.5]) == [False, False] and holm([]) == []


def test_a_performance_profile_counts_the_tasks_within_tau_of_the_best() -> None:
    fixed = lambda t: _runs("random", np.full(SEEDS, t))  # noqa: E731
    tasks = [
        TaskRuns("a", ["adam", "avagrad"], {("adam", "random"): fixed(10), ("avagrad", "random"): fixed(20)}),
        TaskRuns("b", ["adam", "avagrad"], {("adam", "random"): fixed(10), ("avagrad", "random"): fixed(10)}),
        TaskRuns(
            "c",
            ["adam", "avagrad"],
            {("adam", "random"): fixed(40), ("avagrad", "random"): _runs("random", np.full(SEEDS, 500))},
        ),
    ]
    found = suite(tasks, ["random"], [1.0], "adam")
    profile = {p.optimizer: dict(zip(p.tau, p.share, strict=True)) for p in found.profiles}
    assert profile["adam"][1.0] == 1.0  # the best (or tied) on every task
    assert profile["avagrad"][1.0] == pytest.approx(1 / 3)  # tied on b only
    assert profile["avagrad"][10.0] == pytest.approx(2 / 3)  # 2x on a; never reached on c: within no tau


def test_an_optimizer_cheaper_on_every_task_is_cheaper_overall_and_a_twin_is_not() -> None:
    rng = np.random.default_rng(0)
    tasks = [_task(f"t{k}", {"adam": 30.0, "avagrad": 8.0, "twin": 30.0}, rng) for k in range(4)]
    found = suite(tasks, ["random", "tpe"], [1.0], "adam")
    by = {(v.optimizer, v.searcher): v for v in found.verdicts}
    assert all(
        by[("avagrad", s)].distinguishable and by[("avagrad", s)].ratio < 0.6
        for s in ("random", "tpe", ALL_SEARCHERS)
    )
    assert not any(by[("twin", s)].distinguishable for s in ("random", "tpe", ALL_SEARCHERS))
    twin = by[("twin", ALL_SEARCHERS)]
    assert twin.ci[0] < 1 < twin.ci[1] and twin.tasks == 4
    assert by[("avagrad", "random")].comparisons == 4  # Holm over 2 optimizers x 2 searchers x 1 delta


def test_a_suite_needs_two_tasks_with_the_baseline() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="two tasks"):
        suite([_task("a", {"adam": 5.0}, rng)], ["random"], [1.0], "adam")
    with pytest.raises(ValueError, match="baseline 'sgd'"):
        suite([_task("a", {"adam": 5.0}, rng), _task("b", {"adam": 5.0}, rng)], ["random"], [1.0], "sgd")


def _subject(i: int, task: str, optimizer: str) -> Subject:
    errors = np.linspace(2.0, 30.0, 12).reshape(3, 4)
    return Subject(i, task, optimizer, optimizer, "validation error", "%", "points", errors, [0])


def test_a_comparison_of_two_tasks_opens_with_its_answer_per_task_and_across_them() -> None:
    rng = np.random.default_rng(2)
    subjects, groups = [], {}
    for k, task in enumerate(("digits-mlp", "wine-mlp")):
        t = _task(task, {"adam": 30.0, "avagrad": 6.0}, rng)
        for j, optimizer in enumerate(("adam", "avagrad")):
            subjects.append(_subject(2 * k + j + 1, task, optimizer))
            for searcher in ("random", "tpe"):
                groups[(2 * k + j + 1, searcher)] = t.runs[(optimizer, searcher)]
    comparison = build(7, [1.0], subjects, groups, baseline="adam")
    assert comparison.suite is not None and comparison.suite.tasks == ["digits-mlp", "wine-mlp"]
    # verdicts only against the baseline, per task, each with its task and Holm over all four
    assert {(v.task, v.optimizer, v.baseline) for v in comparison.verdicts} == {
        ("digits-mlp", "avagrad", "adam"),
        ("wine-mlp", "avagrad", "adam"),
    }
    assert all(v.comparisons == 4 and v.distinguishable for v in comparison.verdicts)
    lines = headline(comparison)
    assert lines[0].startswith(
        "On digits-mlp at δ = 1 pts: avagrad vs adam: cheaper to tune with 2 of 2 searchers, dearer with 0, "
        "not distinguishable with 0"
    )
    assert "Fewest trials to δ = 1 (median): avagrad, with 2 of 2 searchers." in lines[1]
    assert (
        lines[-1].startswith("Across 2 tasks at δ = 1 pts, avagrad vs adam: ")
        and "avagrad cheaper to tune" in lines[-1]
    )
    text = to_text(
        tuning_cost_table(comparison, task="digits-mlp, wine-mlp", seeds=SEEDS, budget=100, compact=True)
    )
    assert text.startswith(lines[0])  # the answer comes first
    table = text[text.index("tuning cost on") :]
    assert max(len(line) for line in table.splitlines()) <= 100  # the table fits a 100-column terminal
