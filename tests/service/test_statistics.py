"""The tuning-cost estimators: random search in closed form; the restricted mean, its paired
ratios and their intervals; corrections whose intervals agree with their decisions; coverage
measured against a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from tunecost.search_spaces import GridSpace
from tunecost.service.analysis.comparison import Subject, build, lr_sensitivity, verdict
from tunecost.service.analysis.replay import Board, Run, replay
from tunecost.service.analysis.statistics import (
    across_tasks,
    correct,
    estimate,
    paired_ratio,
    random_search_expected_best,
    random_search_reach_probability,
    restricted,
)
from tunecost.service.analysis.suite import ALL_SEARCHERS, benchmark_score

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


def _rmst_geometric(p: float, budget: int) -> float:
    """E[min(T, B)] for T ~ Geometric(p) on 1, 2, ...: the restricted mean's truth."""
    return (1 - (1 - p) ** budget) / p


def test_the_restricted_mean_counts_a_run_that_never_reached_delta_as_the_budget() -> None:
    e = estimate([4, None, 10, None], 50)
    assert e.mean == pytest.approx((4 + 50 + 10 + 50) / 4) and e.reached == 0.5 and e.reaches
    assert restricted([3, None], [7.0, 9.5]).tolist() == [3.0, 9.5]  # a cost caps at what it spent
    lo, hi = estimate([5, 6, 7, 5, 6], 50).interval()
    assert 4.5 < lo < 5.8 < hi < 7  # t with 4 df: 5.8 ± 2.78 × 0.37
    assert not estimate([None, None, 12], 50).reaches


def test_a_paired_ratio_tells_apart_what_differs_and_only_that() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(5, 15, 100).astype(float)
    assert paired_ratio(a, a.copy()).interval() == (1.0, 1.0)
    lo, hi = paired_ratio(a, rng.permutation(a)).interval()
    assert lo <= 1 <= hi, "the same distribution: the interval holds 1"
    far = paired_ratio(a, a * 4)
    assert far.ratio == pytest.approx(0.25) and far.interval()[1] < 1 and far.p_value < 1e-12
    with pytest.raises(ValueError, match="finite, positive"):
        paired_ratio(np.array([3.0, np.inf]), np.array([3.0, 4.0]))


def test_the_paired_ratio_covers_a_known_truth_about_95_percent_of_the_time() -> None:
    """Trials-to-delta drawn geometric (a searcher's luck), capped at the budget: the share of
    2,000 intervals holding the true ratio of restricted means."""
    rng = np.random.default_rng(1)
    budget, pa, pb, n = 100, 0.03, 0.08, 40
    truth = _rmst_geometric(pa, budget) / _rmst_geometric(pb, budget)
    covered = 0
    for _ in range(2000):
        lo, hi = paired_ratio(
            np.minimum(rng.geometric(pa, n), budget), np.minimum(rng.geometric(pb, n), budget)
        ).interval()
        covered += lo <= truth <= hi
    assert 0.93 <= covered / 2000 <= 0.97, covered / 2000


def test_an_interval_excludes_1_exactly_when_its_corrected_verdict_says_distinguishable() -> None:
    """10,000 random paired samples in families of 1 to 2,000, Holm and Benjamini-Hochberg: the
    interval drawn at the corrected level excludes 1 in exactly the cases the correction rejects."""
    rng = np.random.default_rng(2)
    checked = rejected = 0
    for m in [1, 2, 5, 12, 72, 400, 2000] * 4 + [32]:
        ratios = []
        for _ in range(m):
            n = int(rng.integers(5, 60))
            shift = float(np.exp(rng.normal(0, 0.4)))
            a = rng.integers(1, 60, n).astype(float)
            b = np.maximum(1.0, np.round(a * shift + rng.normal(0, 8, n)))
            ratios.append(paired_ratio(a, b))
        for method in ("holm", "fdr_bh"):
            d = correct([r.p_value for r in ratios], method)
            for k, r in enumerate(ratios):
                lo, hi = r.interval(d.alphas[k])
                assert (not lo <= 1 <= hi) == d.reject[k], (method, m, r, d.p_adjusted[k], lo, hi)
                rejected += d.reject[k]
        checked += m
    assert checked == 10_000 and 0 < rejected < 2 * checked  # both outcomes were exercised


def test_holm_by_hand_equals_statsmodels_multipletests() -> None:
    """The hand-written Holm (statsmodels' runs gc.collect() per call) gives statsmodels'
    adjusted p-values and rejections on 300 random families of 1 to 500, ties and p = 1 included."""
    from statsmodels.stats.multitest import multipletests

    from tunecost.service.analysis.statistics import holm

    rng = np.random.default_rng(5)
    rejected = 0
    for _ in range(300):
        m = int(rng.integers(1, 500))
        p = np.concatenate([rng.uniform(0, 1, m) ** 4, [0.001, 0.001, 1.0]])[: m + int(rng.integers(0, 4))]
        adjusted, reject = holm(p)
        theirs_reject, theirs, _, _ = multipletests(p, alpha=0.05, method="holm")
        np.testing.assert_allclose(adjusted, theirs, rtol=1e-12, atol=0)
        assert (reject == theirs_reject).all()
        rejected += int(reject.sum())
    assert rejected > 0


def test_the_issue_example_gives_an_interval_and_a_verdict_that_agree() -> None:
    a = [
        29,
        24,
        28,
        13,
        5,
        26,
        22,
        43,
        10,
        46,
        10,
        7,
        55,
        56,
        20,
        40,
        13,
        4,
        14,
        50,
        49,
        58,
        51,
        50,
        34,
        1,
        44,
    ]
    b = [
        53,
        56,
        47,
        13,
        12,
        63,
        36,
        39,
        23,
        95,
        25,
        6,
        85,
        72,
        20,
        82,
        18,
        4,
        15,
        109,
        90,
        68,
        102,
        52,
        67,
        2,
        36,
    ]
    v = verdict("avagrad", "adam", "tpe", 1.0, _runs(a, budget=120), _runs(b, budget=120))
    lo, hi = v.ci
    assert v.distinguishable == (hi < 1 or lo > 1)
    assert v.ratio == pytest.approx(np.mean(a) / np.mean(b))


def _family_of(optimizers: int, ratio: float, seeds: int) -> list:
    """One task, a baseline and ``optimizers`` others, each ``ratio`` times as costly to tune,
    replayed by 6 searchers at 2 deltas: 12 * optimizers per-searcher verdicts."""
    rng = np.random.default_rng(3)
    budget, p = 100, 0.2
    subjects, groups = [], {}
    for k in range(optimizers + 1):
        errors = np.linspace(2.0, 30.0, 12).reshape(3, 4)
        subjects.append(Subject(k + 1, "t", f"o{k}", f"o{k}", "validation error", "%", "points", errors, [0]))
        q = p if k == 0 else p / ratio
        for searcher in ("grid", "random", "tpe", "cmaes", "gld", "cgld"):
            first = rng.geometric(q, seeds)
            groups[(k + 1, searcher)] = [
                Run(
                    searcher,
                    seed=s,
                    budget=budget,
                    curve=[5.0],
                    trials_to={
                        "0.5": int(t) + 1 if t + 1 <= budget else None,
                        "1.0": int(t) if t <= budget else None,
                    },
                    stalled=False,
                )
                for s, t in enumerate(first)
            ]
    return build(1, [0.5, 1.0], subjects, groups, baseline="o0").verdicts


def test_a_family_of_72_verdicts_with_a_true_5x_ratio_at_100_seeds_is_distinguishable() -> None:
    """The issue's case: 72 per-searcher verdicts, each 5x at 100 replay seeds. A bootstrap's
    p-value floor (2/2001) could never pass Holm's 0.05/72; a t-test's can."""
    per_searcher = [v for v in _family_of(6, 5.0, 100) if v.family == "per searcher"]
    assert len(per_searcher) == 72 and all(v.comparisons == 72 for v in per_searcher)
    assert all(v.distinguishable and v.ratio > 1 and v.ci[0] > 1 for v in per_searcher)
    assert all(v.p_adjusted < 0.05 and v.confidence > 0.95 for v in per_searcher)


def test_the_headline_family_pools_the_searchers_and_is_corrected_apart() -> None:
    verdicts = _family_of(2, 1.0, 60)
    headline = [v for v in verdicts if v.family == "headline"]
    assert len(headline) == 4 and all(v.searcher == ALL_SEARCHERS and v.searchers == 6 for v in headline)
    assert all(v.comparisons == 4 for v in headline)
    per = [v for v in verdicts if v.family == "per searcher"]
    for h in headline:  # the headline ratio is the geometric mean of its searchers' ratios
        mine = [v.ratio for v in per if v.optimizer == h.optimizer and v.delta == h.delta]
        assert h.ratio == pytest.approx(float(np.exp(np.mean(np.log(mine)))))
    assert all(v.confidence == pytest.approx(1 - 0.05 * v.p_value / v.p_adjusted) for v in headline)


def test_a_pair_that_rarely_reached_delta_gets_no_verdict_not_a_precise_tie() -> None:
    """Each side reached delta in 10% of runs: the budget sets both costs; the old median gave
    1.00x [1.00, 1.00]."""
    a = [None] * 9 + [30]
    b = [None] * 9 + [40]
    v = verdict("avagrad", "adam", "gld", 1.0, _runs(a * 4), _runs(b * 4))
    assert v.status == "budget-bound" and not v.distinguishable and v.p_value is None
    assert "no verdict" in v.text and "the budget of 50 trials, not the optimizer, sets both costs" in v.text


def test_across_tasks_the_interval_covers_the_mean_ratio_of_tasks_like_these() -> None:
    """Tasks' true log ratios spread around a mean (0.3 between them, or 0); each task's runs
    drawn geometric, at 40 seeds each or at 6, 40 and 400 in turn (tasks of unequal precision,
    where a precision-weighted random-effects interval held 76-89%); the share of 600 intervals
    that hold the mean."""
    rng = np.random.default_rng(4)
    mean = np.log(0.7)
    for k, spread, seeds, low, high in (
        (3, 0.3, (40,), 0.93, 1.0),
        (4, 0.3, (40,), 0.93, 1.0),
        (8, 0.3, (40,), 0.93, 1.0),
        (4, 0.0, (40,), 0.0, 0.97),
        (3, 0.3, (6, 40, 400), 0.93, 1.0),
        (4, 0.3, (6, 400), 0.93, 1.0),
    ):
        covered = 0
        for _ in range(600):
            ratios = []
            for i, theta in enumerate(rng.normal(mean, spread, k)):
                pb = rng.uniform(0.03, 0.2)
                pa = min(pb / np.exp(theta), 0.95)
                n = seeds[i % len(seeds)]
                ratios.append(paired_ratio(rng.geometric(pa, n), rng.geometric(pb, n)))
            lo, hi = across_tasks(ratios).interval()
            covered += lo <= np.exp(mean) <= hi
        assert low <= covered / 600 <= high, (k, spread, seeds, covered / 600)


def test_across_tasks_is_students_one_sample_t_on_the_log_ratios() -> None:
    from scipy.stats import ttest_1samp

    rng = np.random.default_rng(5)
    ratios = [paired_ratio(rng.geometric(0.1, 20), rng.geometric(0.15, 20)) for _ in range(5)]
    meta = across_tasks(ratios)
    t = ttest_1samp([r.log for r in ratios], 0.0)
    lo, hi = t.confidence_interval(0.9)
    assert meta.p_value == pytest.approx(t.pvalue) and meta.k == 5 and meta.tau >= 0
    assert meta.interval(0.1) == pytest.approx((np.exp(lo), np.exp(hi)))
    with pytest.raises(ValueError, match="at least two tasks"):
        across_tasks(ratios[:1])


def test_the_benchmark_score_is_algoperfs_integral_of_the_profile() -> None:
    ratios = np.array([1.0, 1.5, 3.0, 6.0, np.inf])
    taus = np.linspace(1, 4, 300_001)
    rho = (ratios[None, :] <= taus[:, None]).mean(axis=1)
    assert benchmark_score(ratios) == pytest.approx(np.trapezoid(rho, taus) / 3, abs=1e-4)
    assert benchmark_score(np.ones(3)) == 1.0 and benchmark_score(np.full(2, np.inf)) == 0.0


def test_learning_rate_sensitivity_is_the_mean_gap_along_alpha_at_the_best_epsilon() -> None:
    errors = np.array([[90.0, 80.0], [5.0, 3.0], [20.0, 95.0]])  # best at (1, 1)
    assert lr_sensitivity(errors, chance=90.0) == pytest.approx((80 + 3 + 90) / 3 - 3)
    assert lr_sensitivity(errors[:1], chance=90.0) is None


def _runs(trials_to: list[int | None], budget: int = 50) -> list[Run]:
    return [
        Run("gld", seed=s, budget=budget, curve=[], trials_to={"1.0": t}, stalled=False)
        for s, t in enumerate(trials_to)
    ]


def test_a_verdict_where_neither_side_reached_delta_says_so_not_a_certain_tie() -> None:
    v = verdict("avagrad", "adam", "gld", 1.0, _runs([None] * 8), _runs([None] * 8))
    assert v.text == "avagrad vs adam · gld · δ=1: neither reached δ within the budget of 50 trials"
    assert v.ratio is None and v.ci == (None, None) and not v.distinguishable and v.reached == (0.0, 0.0)


def test_a_verdict_where_one_side_never_reached_delta_says_the_true_ratio_is_further() -> None:
    v = verdict("avagrad", "adam", "gld", 1.0, _runs([5, 6, 7, 5, 6, 7, 5, 6]), _runs([None] * 8))
    assert v.reached == (1.0, 0.0) and v.distinguishable and v.ratio == pytest.approx(5.875 / 50)
    assert "— avagrad cheaper to tune" in v.text
    assert v.text.endswith(
        "(adam reached δ in 0% of runs within 50 trials: the unrestricted ratio is smaller still)"
    )
    w = verdict("avagrad", "adam", "gld", 1.0, _runs([None] * 8), _runs([None, 40, 30, 20, 45, None, 48, 49]))
    assert (
        "(avagrad reached δ in 0% of runs within 50 trials: the unrestricted ratio is larger still)" in w.text
    )
    both = verdict("avagrad", "adam", "gld", 1.0, _runs([5, 9, 7]), _runs([6, 8, 7]))
    assert "reached δ in" not in both.text and both.reached == (1.0, 1.0)


def test_a_delta_finer_than_the_landscape_can_tell_is_said_in_the_verdict_and_the_headline() -> None:
    """breast-cancer-mlp has 91 validation samples: one is 1.10 points, finer than δ = 0.5 or 1;
    a landscape whose seeds disagree by 0.8 points cannot place a node within δ = 0.5 of e*."""
    from tunecost.service.analysis.comparison import resolution
    from tunecost.service.analysis.report import headline

    scores = np.array([[0.0, 100 / 91], [2 * 100 / 91, np.nan]])
    assert resolution(scores) == pytest.approx(100 / 91) and resolution(np.array([3.0, 3.0])) is None
    rng = np.random.default_rng(6)
    subjects, groups = [], {}
    for k, (optimizer, noise, step) in enumerate((("adam", 0.8, 100 / 91), ("avagrad", 0.3, 100 / 91))):
        errors = np.linspace(2.0, 30.0, 12).reshape(3, 4)[[1, 0, 2]][:, [1, 0, 2, 3]]  # best inside
        subjects.append(
            Subject(
                k + 1,
                "bc",
                optimizer,
                optimizer,
                "validation error",
                "%",
                "points",
                errors,
                [0, 1],
                noise,
                step,
            )
        )
        groups[(k + 1, "random")] = [
            Run(
                "random",
                seed=s,
                budget=50,
                curve=[5.0],
                trials_to={"0.5": int(t), "1.0": int(t)},
                stalled=False,
            )
            for s, t in enumerate(rng.integers(1, 30, 40))
        ]
    verdicts = build(1, [0.5, 1.0], subjects, groups).verdicts
    at_half = [v for v in verdicts if v.delta == 0.5]
    assert len(at_half) == 2  # the headline line and the one searcher's
    assert all(
        v.cautions
        == [
            "δ is below the seed noise (0.80 pts median std): which configs lie within δ is noise",
            "δ is finer than the metric's resolution (one step is 1.10 pts)",
        ]
        for v in at_half
    )
    assert all("[caution: δ is below the seed noise" in v.text for v in at_half)
    assert all(
        v.cautions == ["δ is finer than the metric's resolution (one step is 1.10 pts)"]
        for v in verdicts
        if v.delta == 1.0
    )
    lines = headline(build(1, [0.5, 1.0], subjects, groups))
    assert lines[2] == "  Caution at δ = 1: δ is finer than the metric's resolution (one step is 1.10 pts)."


def test_a_best_node_on_its_grid_s_edge_is_said_in_every_verdict_that_reads_it_and_the_headline() -> None:
    """avagrad's best node sits at the largest epsilon of its grid (the main job's case): its
    optimum, and so the e* every verdict is scored to, may lie outside the grid."""
    from tunecost.service.analysis.comparison import on_grid_edge
    from tunecost.service.analysis.report import headline

    inside, edge = _bowl((4, 4), 2.0), _bowl((4, 8), 2.0)
    assert not on_grid_edge(inside) and on_grid_edge(edge)
    assert not on_grid_edge(inside[:1, :]) and on_grid_edge(edge[:1, :])  # an axis of one value has no edge
    rng = np.random.default_rng(8)
    subjects = [
        Subject(k + 1, "t", o, o, "validation error", "%", "points", e, [0])
        for k, (o, e) in enumerate((("adam", inside), ("avagrad", edge)))
    ]
    groups = {
        (k + 1, "random"): [
            Run("random", seed=s, budget=50, curve=[5.0], trials_to={"1.0": int(t)}, stalled=False)
            for s, t in enumerate(rng.integers(1, 30, 20))
        ]
        for k in range(2)
    }
    comparison = build(1, [1.0], subjects, groups)
    said = "avagrad's best node lies on its grid's edge: its optimum, and e*, may lie outside the grid"
    assert comparison.verdicts and all(said in v.cautions and said in v.text for v in comparison.verdicts)
    assert any(said in line for line in headline(comparison))


def _bowl(center: tuple[int, int], width: float, size: int = 9) -> np.ndarray:
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return 5.0 + ((i - center[0]) ** 2 + (j - center[1]) ** 2) / width


def _expected_random_cost(values: np.ndarray, target: float, budget: int) -> float:
    """E[min(T, B)] for random search without replacement told ``values``: sum_t P(T > t)."""
    from scipy.special import comb

    n, m = values.size, int((values <= target + 1e-9).sum())
    return float(sum(comb(n - m, t) / comb(n, t) for t in range(budget)))


@pytest.mark.slow  # 2,400 replays: about 40 s
def test_an_interval_over_replicates_and_e_stars_noise_covers_the_truth_and_one_landscape_does_not() -> None:
    """Two optimizers' true landscapes, each trained run off by Gaussian noise (0.6 pts), and
    each e* measured on 4 fresh seeds at the best node (so it is off too): the estimand is the
    ratio of expected tuning costs to the true e* + delta over that noise and the replay's dice
    (exact per landscape for random search, averaged over 4,000 noise draws). An interval over
    K = 5 replicates that holds e*'s noise (TargetNoise) must hold it about 95% of the time; the
    same interval taking e* as exact falls short, and one landscape's interval over its replay
    seeds, which takes the landscape as exact too, falls far short (the issue's 65%)."""
    from tunecost.service.analysis.estimator import TargetNoise, pair

    grid = GridSpace(tuple(10.0 ** np.linspace(-4, 0, 9)), tuple(10.0 ** np.linspace(-8, 0, 9)))
    truths = {"a": _bowl((4, 4), 2.0), "b": _bowl((3, 5), 5.0)}
    sigma, delta, budget, k, per, fresh = 0.6, 1.0, 30, 5, 6, 4
    rng = np.random.default_rng(7)

    def draw(name: str, n: int) -> np.ndarray:
        return truths[name] + rng.normal(0, sigma, (n, *truths[name].shape))

    expected = {
        name: np.mean([_expected_random_cost(layer, 5.0 + delta, budget) for layer in draw(name, 4000)])
        for name in truths
    }
    true_ratio = expected["a"] / expected["b"]

    def runs(layers: np.ndarray, e_star: float, replicated: bool, trial: int) -> list[Run]:
        out = []
        for r, layer in enumerate(layers):
            board = Board(grid=grid, errors=layer, e_star=e_star)
            for s in range(r, k * per, k) if replicated else range(k * per):
                run = replay("random", board, 1000 * trial + s, budget, [delta])
                run.replicate = r if replicated else None
                out.append(run)
        return sorted(out, key=lambda x: x.seed)

    covered = {"replicates and e*": 0, "replicates, e* exact": 0, "one landscape": 0}
    trials = 40
    for trial in range(trials):
        a, b = draw("a", k), draw("b", k)
        measured = {name: 5.0 + rng.normal(0, sigma, fresh) for name in truths}  # the best node's fresh seeds
        e_star = {name: float(x.mean()) for name, x in measured.items()}
        se = {name: float(x.std(ddof=1)) / fresh**0.5 for name, x in measured.items()}
        noise = [
            TargetNoise(se["a"], fresh - 1, a=True, b=False),
            TargetNoise(se["b"], fresh - 1, a=False, b=True),
        ]
        ra, rb = runs(a, e_star["a"], True, trial), runs(b, e_star["b"], True, trial)
        one = pair(runs(a[:1], e_star["a"], False, trial), runs(b[:1], e_star["b"], False, trial), delta)
        for design, p in (
            ("replicates and e*", pair(ra, rb, delta, noise)),
            ("replicates, e* exact", pair(ra, rb, delta)),
            ("one landscape", one),
        ):
            lo, hi = p.ratio.interval()
            covered[design] += lo <= true_ratio <= hi
    assert covered["replicates and e*"] >= 0.85 * trials, covered
    assert covered["replicates, e* exact"] <= covered["replicates and e*"] - 0.1 * trials, covered
    assert covered["one landscape"] <= 0.75 * trials, covered


def test_e_stars_noise_widens_a_pair_by_the_change_of_its_ratio_over_one_standard_error() -> None:
    """The delta method's term is the log ratio's central difference when e* moves by one
    standard error, the runs scored to the moved target; a target both sides share moves both;
    an exact e* (se 0) adds nothing."""
    from tunecost.service.analysis.estimator import TargetNoise, pair, retarget

    grid = GridSpace(tuple(10.0 ** np.linspace(-4, 0, 9)), tuple(10.0 ** np.linspace(-8, 0, 9)))
    a = [
        replay("random", Board(grid=grid, errors=_bowl((4, 4), 2.0), e_star=5.0), s, 30, [1.0])
        for s in range(40)
    ]
    b = [
        replay("random", Board(grid=grid, errors=_bowl((3, 5), 5.0), e_star=5.0), s, 30, [1.0])
        for s in range(40)
    ]
    bare = pair(a, b, 1.0)
    assert pair(a, b, 1.0, [TargetNoise(0.0, 9, a=True, b=False)]).ratio == bare.ratio

    def log_ratio(shift_a: float, shift_b: float) -> float:
        moved = pair([retarget(r, shift_a, [1.0]) for r in a], [retarget(r, shift_b, [1.0]) for r in b], 1.0)
        return moved.ratio.log

    own = pair(a, b, 1.0, [TargetNoise(0.4, 9, a=True, b=False), TargetNoise(0.3, 4, a=False, b=True)])
    d_a, d_b = (log_ratio(0.4, 0) - log_ratio(-0.4, 0)) / 2, (log_ratio(0, 0.3) - log_ratio(0, -0.3)) / 2
    assert d_a < 0 < d_b  # a higher e* of a makes a cheaper; of the baseline, the ratio dearer
    assert [x for term in own.target_terms for x in term] == pytest.approx([d_a, 9, d_b, 4])
    assert own.ratio.se == pytest.approx((bare.ratio.se**2 + d_a**2 + d_b**2) ** 0.5)
    assert own.ratio.log == bare.ratio.log and own.ratio.df < bare.ratio.df
    shared = pair(a, b, 1.0, [TargetNoise(0.4, 9, a=True, b=True)])
    d = (log_ratio(0.4, 0.4) - log_ratio(-0.4, -0.4)) / 2
    assert [x for term in shared.target_terms for x in term] == pytest.approx([d, 9])


def test_e_star_from_fresh_seeds_is_unbiased_where_the_best_mean_is_biased_low() -> None:
    """The minimum of 81 noisy means is biased low (a lucky node wins); the same node measured
    again on fresh seeds (SweepSpec.reference) is unbiased for that node's true error."""
    from tunecost.service.kinds.sweep import Reference

    truth = _bowl((4, 4), 20.0)  # a flat basin: many nodes within a point of the best
    rng = np.random.default_rng(3)
    old, fresh, selected = [], [], []
    for _ in range(2000):
        seen = truth + rng.normal(0, 0.5, truth.shape)
        best = Reference(seeds=list(range(100, 110))).best(
            {(i, j): float(seen[i, j]) for i in range(9) for j in range(9)}
        )
        old.append(seen.min())
        fresh.append(float(np.mean(truth[best] + rng.normal(0, 0.5, 10))))
        selected.append(truth[best])
    assert np.mean(old) - np.mean(selected) < -0.3  # the old e*: far below what it selected
    assert abs(np.mean(fresh) - np.mean(selected)) < 0.02  # fresh seeds: on it (se 0.0035)


def test_a_comparison_widens_each_interval_by_its_e_stars_noise_and_says_it() -> None:
    """Landscapes whose e* was measured on fresh seeds carry its standard error into every
    interval of both questions (wider than with e* taken as exact, the same point), and the
    table names it beside e*."""
    from io import StringIO

    from rich.console import Console

    from tunecost.service.analysis.report import tuning_cost_table

    grid = GridSpace(tuple(10.0 ** np.linspace(-4, 0, 9)), tuple(10.0 ** np.linspace(-8, 0, 9)))
    sharp, wide = _bowl((4, 4), 2.0), _bowl((3, 5), 5.0)
    groups = {
        (i, "random"): [
            replay("random", Board(grid=grid, errors=e, e_star=5.0), s, 30, [1.0]) for s in range(40)
        ]
        for i, e in ((1, sharp), (2, wide))
    }

    def compare(se: float):
        subjects = [
            Subject(
                i, "t", o, o, "validation error", "%", "points", e, [0], e_star=5.0, e_star_se=se, e_star_df=9
            )
            for i, o, e in ((1, "adam", sharp), (2, "wide", wide))
        ]
        return build(1, [1.0], subjects, groups)

    exact, noisy = compare(0.0), compare(0.3)
    for family in ("verdicts", "shared"):
        a, b = (next(v for v in getattr(c, family) if v.family == "headline") for c in (exact, noisy))
        assert a.ratio == b.ratio and b.ci[0] < a.ci[0] and b.ci[1] > a.ci[1], (family, a.ci, b.ci)
    assert [f.e_star_se for f in noisy.landscapes] == [0.3, 0.3]
    assert [f.e_star_se for f in exact.landscapes] == [None, None]
    out = StringIO()
    Console(file=out, width=200).print(tuning_cost_table(noisy, task="t", seeds=40, budget=30))
    assert "e* 5.00% ± 0.30 on fresh seeds" in out.getvalue()
    assert "each e*'s noise over its fresh seeds included" in out.getvalue()


def test_to_a_shared_target_an_optimizer_with_a_worse_best_never_arrives_and_the_headline_says_both() -> None:
    """Within δ of its own best, a flat landscape is cheap to tune; to the baseline's e* + δ
    (AlgoPerf's fixed target) it never arrives. The headline gives both answers when they differ."""
    from tunecost.service.analysis.report import headline

    grid = GridSpace(tuple(10.0 ** np.linspace(-4, 0, 9)), tuple(10.0 ** np.linspace(-8, 0, 9)))
    flat = 5.0 + _bowl((4, 4), 40.0) - 5.0  # best 5.0, many nodes near it
    sharp = 3.0 + (_bowl((2, 6), 0.7) - 5.0)  # best 3.0, a narrow basin
    subjects = [
        Subject(1, "t", "adam", "adam", "validation error", "%", "points", sharp, [0], e_star=3.0),
        Subject(2, "t", "flat", "flat", "validation error", "%", "points", flat, [0], e_star=5.0),
    ]
    groups = {
        (i, "random"): [
            replay("random", Board(grid=grid, errors=e, e_star=star), s, 40, [1.0]) for s in range(30)
        ]
        for i, e, star in ((1, sharp, 3.0), (2, flat, 5.0))
    }
    comparison = build(1, [1.0], subjects, groups)
    own = next(v for v in comparison.verdicts if v.family == "headline")
    shared = next(v for v in comparison.shared if v.family == "headline")
    assert (
        own.question == "own best" and own.distinguishable and own.ratio < 1
    )  # flat: cheaper to its own best
    assert shared.question == "shared target" and shared.reached[0] == 0.0  # it never reaches 3 + 1
    assert shared.distinguishable and shared.ratio > 1 and "to adam's e* + 1" in shared.text
    lines = headline(comparison)
    assert "of each optimizer's own e*" in lines[0] and "flat cheaper to tune" in lines[0]
    assert any(
        line.startswith("  To a target both share (adam's e* + 1 pts) the answer differs") for line in lines
    )
    assert any("adam cheaper to tune" in line for line in lines if "target both share" in line)
