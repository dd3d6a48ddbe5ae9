"""The tuning-cost estimators: random search in closed form, paired bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from search_spaces import GridSpace
from service.analysis.replay import Board, Run, replay
from service.analysis.statistics import (
    censored,
    median_interval,
    random_search_expected_best,
    random_search_reach_probability,
    ratio_interval,
)

GRID = GridSpace(
    tuple(float(f"1e{k}") for k in range(-10, 11)), tuple(float(f"1e{k}") for k in range(-10, 11))
)


@pytest.mark.slow  # 300 replays: 16 s
def test_closed_form_random_search_matches_replays_of_random_search() -> None:
    """The closed form against 300 replays of the real random searcher on one landscape:
    each k within four standard errors of the Monte-Carlo mean."""
    errors = np.random.default_rng(3).gamma(2.0, 3.0, (21, 21))
    ks = np.array([1, 2, 5, 10, 25, 50, 100])
    runs = [replay("random", Board(GRID, errors), s, 100, [1.0]) for s in range(300)]
    curves = np.array([r.curve for r in runs])  # suboptimality after t trials
    mc_mean, mc_se = curves[:, ks - 1].mean(0), curves[:, ks - 1].std(0, ddof=1) / np.sqrt(len(runs))
    closed = random_search_expected_best(errors, ks) - errors.min()
    assert np.all(np.abs(closed - mc_mean) <= 4 * mc_se + 1e-9), (closed, mc_mean, mc_se)
    reached = np.array(
        [[r.trials_to["1.0"] is not None and r.trials_to["1.0"] <= k for k in ks] for r in runs]
    )
    p = random_search_reach_probability(errors, 1.0, ks)
    assert np.all(np.abs(p - reached.mean(0)) <= 4 * np.sqrt(p * (1 - p) / len(runs)) + 1e-9)


def test_closed_form_edges() -> None:
    errors = np.array([[3.0, 1.0], [2.0, 4.0]])
    assert random_search_expected_best(errors, [1])[0] == pytest.approx(errors.mean())
    assert random_search_expected_best(errors, [4])[0] == pytest.approx(1.0)  # every config seen
    assert random_search_expected_best(errors, [2])[0] == pytest.approx((1 + 1 + 1 + 2 + 2 + 3) / 6)
    assert random_search_reach_probability(errors, 0.5, [1, 4]).tolist() == pytest.approx([0.25, 1.0])
    with pytest.raises(ValueError, match="k must be in 1..4"):
        random_search_expected_best(errors, [5])


def test_paired_bootstrap_tells_apart_what_differs_and_only_that() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(5, 15, 100).astype(float)
    assert ratio_interval(a, a.copy())[1:] == (1.0, 1.0)
    same = ratio_interval(a, rng.permutation(a))
    assert same[1] <= 1 <= same[2], "the same distribution: the interval holds 1"
    far = ratio_interval(a, a * 4)
    assert far[0] == pytest.approx(0.25) and far[2] < 1
    with pytest.raises(ValueError, match="finite"):
        ratio_interval(censored([3, None]), censored([3, 4]))


def test_median_interval_reaches_past_the_budget_when_most_runs_do_not_reach() -> None:
    lo, hi = median_interval(censored([10, 12, None, None, None, 11, None, None]))
    assert lo >= 10 and hi == np.inf


def _runs(trials_to: list[int | None], budget: int = 50) -> list[Run]:
    return [
        Run("gld", seed=s, budget=budget, curve=[], trials_to={"1.0": t}, stalled=False)
        for s, t in enumerate(trials_to)
    ]


def test_a_verdict_where_neither_side_reached_delta_says_so_not_a_certain_tie() -> None:
    from service.analysis.comparison import verdict

    v = verdict("avagrad", "adam", "gld", 1.0, _runs([None] * 8), _runs([None] * 8))
    assert v.text == "avagrad vs adam · gld · δ=1: neither reached δ within the budget of 50 trials"
    assert v.ratio is None and v.ci == (None, None) and not v.distinguishable and v.reached == (0.0, 0.0)


def test_a_verdict_where_one_side_never_reached_delta_calls_its_ratio_a_bound() -> None:
    from service.analysis.comparison import verdict

    v = verdict("avagrad", "adam", "gld", 1.0, _runs([5, 6, 7, 5, 6, 7, 5, 6]), _runs([None] * 8))
    assert v.reached == (1.0, 0.0) and v.distinguishable and v.ratio == pytest.approx(6 / 50)
    assert v.text.endswith(
        "— avagrad cheaper to tune (adam never reached δ within the budget of 50 trials: the ratio is an upper bound)"
    )
    w = verdict(
        "avagrad", "adam", "gld", 1.0, _runs([None] * 8), _runs([None, 40, None, None, 45, None, 48, 49])
    )
    assert "(avagrad never reached δ within the budget of 50 trials: the ratio is a lower bound)" in w.text
    both = verdict("avagrad", "adam", "gld", 1.0, _runs([5, 9, 7]), _runs([6, 8, 7]))
    assert "never reached" not in both.text and both.reached == (1.0, 1.0)
