"""Answers across tasks (service.analysis.suite) and the headline a reader sees first, on
plain runs: no database, no Ray."""

from __future__ import annotations

import numpy as np
import pytest

from tunecost.service.analysis.comparison import Subject, build
from tunecost.service.analysis.replay import Run
from tunecost.service.analysis.report import headline, to_text, tuning_cost_table
from tunecost.service.analysis.statistics import correct
from tunecost.service.analysis.suite import ALL_SEARCHERS, TaskRuns, suite

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
    d = correct([0.01, 0.04, 0.03, 0.005])
    assert d.reject == [True, False, False, True]
    assert d.p_adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert correct([0.2, 0.5]).reject == [False, False] and correct([]).reject == []
    # Benjamini-Hochberg: every p at or below its step-up line goes, 0.04 <= 4/4 * 0.05 takes all
    assert correct([0.01, 0.04, 0.03, 0.005], "fdr_bh").reject == [True, True, True, True]
    with pytest.raises(ValueError, match="unknown correction 'bonf'"):
        correct([0.1], "bonf")


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
    mine = [p for p in found.profiles if p.searcher == "random"]
    profile = {p.optimizer: dict(zip(p.tau, p.share, strict=True)) for p in mine}
    assert profile["adam"][1.0] == 1.0  # the best (or tied) on every task
    assert profile["avagrad"][1.0] == pytest.approx(1 / 3)  # tied on b only
    assert profile["avagrad"][10.0] == pytest.approx(2 / 3)  # 2x on a; never reached on c: within no tau
    score = {p.optimizer: p.score for p in mine}  # AlgoPerf: mean of max(0, 4 - ratio) / 3
    assert score["adam"] == 1.0 and score["avagrad"] == pytest.approx((2 / 3 + 1 + 0) / 3)


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
    assert twin.ci[0] < 1 < twin.ci[1] and twin.tasks == 4 and twin.family == "headline"
    assert twin.comparisons == 2  # the headline family: 2 optimizers x 1 delta
    assert by[("avagrad", "random")].comparisons == 4  # per searcher: 2 optimizers x 2 searchers x 1 delta
    assert "4 tasks: below 5 this interval is wide" in twin.text and "tasks like these" in twin.text


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
    # verdicts only against the baseline, per task: a headline line pooled over the searchers
    # (Holm over the two tasks' lines) and one per searcher (Holm over the four)
    assert {(v.task, v.optimizer, v.baseline) for v in comparison.verdicts} == {
        ("digits-mlp", "avagrad", "adam"),
        ("wine-mlp", "avagrad", "adam"),
    }
    assert all(v.distinguishable for v in comparison.verdicts)
    assert sorted((v.family, v.comparisons) for v in comparison.verdicts) == [
        ("headline", 2),
        ("headline", 2),
        *[("per searcher", 4)] * 4,
    ]
    lines = headline(comparison)
    assert lines[0].startswith(
        "On digits-mlp at δ = 1 pts of each optimizer's own e*, over 2 searchers (Holm over 2 headline verdicts; landscapes taken as exact): "
    )
    assert "avagrad vs adam" in lines[0] and "avagrad cheaper to tune" in lines[0]
    assert "Fewest trials to δ = 1 (restricted mean), of 2 searchers: avagrad with 2." in lines[1]
    assert lines[-1].startswith("Across tasks: avagrad vs adam · all searchers · δ=1: ")
    assert "over 2 tasks like these" in lines[-1]
    text = to_text(
        tuning_cost_table(comparison, task="digits-mlp, wine-mlp", seeds=SEEDS, budget=100, compact=True)
    )
    assert text.startswith(lines[0])  # the answer comes first
    table = text[text.index("tuning cost on") :]
    assert max(len(line) for line in table.splitlines()) <= 100  # the table fits a 100-column terminal


def test_table_verdicts_profiles_and_headline_read_the_same_estimate_on_every_cell() -> None:
    """Rebuild every view of one comparison from the table's cells: each per-searcher verdict's
    ratio is the quotient of its two rows' `trials`, each headline ratio their geometric mean
    over the searchers, each profile ratio a row over the best row of its cell, the headline's
    'fewest trials' the strict minimum of the rows."""
    rng = np.random.default_rng(5)
    subjects, groups = [], {}
    costs = {"adam": 20.0, "avagrad": 9.0, "adabelief": 22.0}
    t = _task("digits-mlp", costs, rng, searchers=("random", "tpe", "cgld"))
    for j, optimizer in enumerate(costs):
        subjects.append(_subject(j + 1, "digits-mlp", optimizer))
        for searcher in ("random", "tpe", "cgld"):
            groups[(j + 1, searcher)] = t.runs[(optimizer, searcher)]
    comparison = build(3, [1.0], subjects, groups, baseline="adam")
    rows = {(r.label, r.searcher): r for r in comparison.rows}
    for v in comparison.verdicts:
        if v.family == "per searcher":
            assert v.ratio == pytest.approx(
                rows[(v.optimizer, v.searcher)].trials / rows[("adam", v.searcher)].trials
            )
            assert v.reached == (rows[(v.optimizer, v.searcher)].reached, rows[("adam", v.searcher)].reached)
        else:
            quotients = [
                rows[(v.optimizer, s)].trials / rows[("adam", s)].trials for s in ("random", "tpe", "cgld")
            ]
            assert v.ratio == pytest.approx(float(np.exp(np.mean(np.log(quotients)))))
    for p in comparison.profiles:
        ratios = []
        for s in ("random", "tpe", "cgld"):
            best = min(rows[(o, s)].trials for o in costs if rows[(o, s)].reaches)
            ratios.append(rows[(p.optimizer, s)].trials / best if rows[(p.optimizer, s)].reaches else np.inf)
        assert p.share == [pytest.approx(float((np.array(ratios) <= tau + 1e-9).mean())) for tau in p.tau]
    fewest = headline(comparison)[1]
    wins = {}
    for s in ("random", "tpe", "cgld"):
        best = min(costs, key=lambda o: rows[(o, s)].trials)
        wins[best] = wins.get(best, 0) + 1
    assert all(f"{o} with {n}" in fewest for o, n in wins.items())


def test_a_tie_is_said_as_a_tie_in_the_headline_not_counted_as_a_win() -> None:
    subjects = [_subject(1, "t", "adam"), _subject(2, "t", "adabelief")]
    same = _runs("cgld", np.full(SEEDS, 13))
    groups = {(1, "cgld"): same, (2, "cgld"): same}
    line = headline(build(4, [1.0], subjects, groups))[1]
    assert line.endswith("of 1 searchers: a tie with 1.")
