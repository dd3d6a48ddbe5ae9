"""Tuning-cost statistics on plain arrays: the one estimator of a tuning cost, its ratios, their
pooling across searchers and tasks, and the correction for many comparisons.

* **Random search in closed form** over a finite landscape: k distinct configs drawn uniformly
  without replacement (Dodge et al., EMNLP 2019, "Show Your Work", give the with-replacement
  form; a replay draws distinct configs, so this is the hypergeometric version).
* **The estimator** of a cell's tuning cost (one optimizer, one searcher, one delta, over the
  replay seeds): the *restricted mean* of trials-to-delta, mean(min(T, B)), where a run that
  never reached delta counts its budget B (for a cost in epochs or seconds, what it spent). It
  is the restricted mean survival time of survival analysis (Royston & Parmar, BMC Med. Res.
  Methodol. 2013), the standard summary when many runs are censored and a median may not
  exist. It is defined for every cell, uses every run, and is a mean: its interval and its
  tests are analytic (Student t), so a p-value has the resolution any correction needs. A cell
  *reaches* delta when at least half its runs did (:data:`REACHES`); where neither side of a
  comparison reaches it, the budget, not the optimizer, sets both costs and there is no verdict.
* **Ratios** of two optimizers' restricted means under one searcher, paired by replay seed: the
  delta method on the log ratio, t with n - 1 degrees of freedom (:func:`paired_ratio`).
  Independent ratios (one per searcher) pool into their geometric mean (:func:`pooled`,
  Welch-Satterthwaite degrees of freedom).
* **Across tasks**: the mean of the per-task log ratios with t on their spread, k - 1 degrees
  of freedom (:func:`across_tasks`): an interval for the mean ratio over tasks *like these*,
  not only these, that holds when the tasks differ in precision (a weighted random-effects
  interval does not; its Paule-Mandel between-task spread, from statsmodels'
  ``combine_effects``, is reported beside it).
* **Many comparisons**: Holm by default (:func:`holm`, by hand: statsmodels' runs a full
  ``gc.collect()`` per call; checked equal to it), Benjamini-Hochberg as an option
  (statsmodels' ``multipletests``), and each interval drawn at the level the correction
  applied to its comparison (:func:`correct`), so an interval excludes 1 exactly when its verdict is "distinguishable".

Hand-written: the closed form, the restricted mean's paired delta-method ratio and the pooling
(a few lines each; no maintained library has them for paired, censored trial counts), and Holm
(see :func:`holm`). :func:`across_tasks` is Student's one-sample t on the log ratios, as
``scipy.stats.ttest_1samp`` (checked equal to it), kept as a :class:`Ratio` so the
corrections read it like any other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, stdtr, stdtrit

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
REACHES = 0.5  # a cell has a tuning cost when at least this share of its runs reached delta
METHODS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}


def _survival(n: int, ks: np.ndarray) -> np.ndarray:
    """S[k, i] = P(all k draws avoid the i best configs) = C(n - i, k) / C(n, k), i = 0..n."""
    i = np.arange(n + 1)
    # log C(n - i, k) - log C(n, k) with lgamma; C(a, k) = 0 for a < k
    a = (n - i)[None, :].astype(float)
    k = ks[:, None].astype(float)
    log_ratio = gammaln(a + 1) - gammaln(a - k + 1) - (gammaln(n + 1) - gammaln(n - k + 1))
    return np.where(a >= k, np.exp(np.where(a >= k, log_ratio, 0.0)), 0.0)


def random_search_expected_best(errors: np.ndarray, ks: np.ndarray | list[int]) -> np.ndarray:
    """Expected best error after k distinct configs drawn uniformly without replacement, per k.

    With the errors sorted, e_(1) <= ... <= e_(n): E[min] = sum_i e_(i) P(min = e_(i)), and
    P(min = e_(i)) = P(the i - 1 best avoided) - P(the i best avoided)."""
    values = np.sort(np.asarray(errors, dtype=float).ravel())
    n = values.size
    ks = np.asarray(ks, dtype=int)
    if np.any(ks < 1) or np.any(ks > n):
        raise ValueError(f"k must be in 1..{n}")
    survival = _survival(n, ks)
    p_min = survival[:, :-1] - survival[:, 1:]
    return p_min @ values


def random_search_reach_probability(
    errors: np.ndarray, delta: float, ks: np.ndarray | list[int]
) -> np.ndarray:
    """P(random search without replacement is within delta of the best after k configs), per k."""
    values = np.asarray(errors, dtype=float).ravel()
    m = int((values <= values.min() + delta + 1e-9).sum())
    ks = np.asarray(ks, dtype=int)
    return 1.0 - _survival(values.size, ks)[:, m]


def restricted(values: Sequence[float | None], cap: float | Sequence[float]) -> np.ndarray:
    """min(T, cap) per run: a run that never reached delta (None) counts its cap, the budget
    (or, for a cost in epochs or seconds, what the run spent)."""
    caps = np.broadcast_to(np.asarray(cap, dtype=float), (len(values),))
    return np.array(
        [c if v is None else min(float(v), c) for v, c in zip(values, caps, strict=True)], dtype=float
    )


def _t_half_width(se: float, df: float, alpha: float) -> float:
    if se == 0.0:
        return 0.0
    return float(stdtrit(df, 1 - alpha / 2)) * se if df > 0 else math.inf  # Student t's quantile


@dataclass(frozen=True)
class Estimate:
    """A cell's tuning cost: the restricted mean over its runs, its standard error, and the
    share of runs that reached delta."""

    mean: float
    se: float
    n: int
    reached: float
    cap: float

    @property
    def reaches(self) -> bool:
        """At least half the runs reached delta: the cost is the optimizer's, not the budget's."""
        return self.reached >= REACHES

    def interval(self, alpha: float = ALPHA) -> tuple[float, float]:
        """The t-interval of the restricted mean, within [0, cap] (where the mean must lie)."""
        h = _t_half_width(self.se, self.n - 1, alpha)
        return max(self.mean - h, 0.0), min(self.mean + h, self.cap)


def quartiles(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """Descriptive: the 25th and 75th percentile of a cost to delta over the runs (None, for a
    run and for a quartile: not reached)."""
    x = np.array([math.inf if v is None else v for v in values], dtype=float)
    q = np.percentile(x, [25, 75], method="lower")
    return tuple(None if not np.isfinite(v) else float(v) for v in q)  # type: ignore[return-value]


def estimate(values: Sequence[float | None], cap: float | Sequence[float]) -> Estimate:
    """The restricted mean of ``values`` (trials or another cost to delta, None: not reached)
    capped at ``cap`` (the budget, or per run what it spent)."""
    x = restricted(values, cap)
    n = x.size
    if n == 0:
        raise ValueError("an estimate needs at least one run")
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    reached = sum(v is not None for v in values) / n
    return Estimate(float(x.mean()), se, n, reached, float(np.max(np.broadcast_to(cap, (n,)))))


def replicated_estimate(
    values: Sequence[float | None], cap: float | Sequence[float], groups: Sequence[Sequence[int]]
) -> Estimate:
    """The restricted mean over replicates (``groups``: the runs of each): the mean of each
    replicate's restricted mean, its standard error their spread over sqrt(K), K - 1 degrees
    of freedom. This variance holds everything that differs between replicates (the training
    noise of their landscapes and the replay seeds' dice), and the replicates' spread
    estimates it without a model of either."""
    x = restricted(values, cap)
    means = np.array([x[list(g)].mean() for g in groups])
    k = means.size
    se = float(means.std(ddof=1) / math.sqrt(k)) if k > 1 else math.inf
    reached = sum(v is not None for v in values) / len(values)
    return Estimate(float(means.mean()), se, k, reached, float(np.max(np.broadcast_to(cap, (x.size,)))))


@dataclass(frozen=True)
class Ratio:
    """A ratio of tuning costs on the log scale, with its standard error and degrees of freedom:
    the point, the two-sided t-test of ratio = 1, and an interval at any level."""

    log: float
    se: float
    df: float

    @property
    def ratio(self) -> float:
        return math.exp(self.log)

    @property
    def p_value(self) -> float:
        if self.se == 0.0:
            return 1.0 if self.log == 0.0 else 0.0
        if not math.isfinite(self.se) or self.df <= 0:
            return 1.0
        return float(2 * stdtr(self.df, -abs(self.log) / self.se))  # Student t's two tails

    def interval(self, alpha: float = ALPHA) -> tuple[float, float]:
        h = _t_half_width(self.se, self.df, alpha)
        return math.exp(self.log - h) if math.isfinite(h) else 0.0, math.exp(self.log + h)


def paired_ratio(a: np.ndarray, b: np.ndarray) -> Ratio:
    """mean(a) / mean(b) for paired runs (``a[i]`` and ``b[i]`` share replay seed i): the delta
    method on the log, Var(log) = Var(a_i / mean(a) - b_i / mean(b)) / n, and t with n - 1
    degrees of freedom. Values must be positive (restricted trial counts are at least 1)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("paired samples need the same seeds")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and a.min() > 0 and b.min() > 0):
        raise ValueError("paired_ratio needs finite, positive costs")
    n = a.size
    ma, mb = a.mean(), b.mean()
    if n < 2:
        return Ratio(math.log(ma / mb), math.inf, 0)
    d = a / ma - b / mb
    se = float(d.std(ddof=1) / math.sqrt(n))
    return Ratio(float(math.log(ma / mb)), se if se > 1e-12 else 0.0, n - 1)


def paired_ratios(a: np.ndarray, b: np.ndarray) -> Ratio:
    """The geometric mean over columns (searchers) of mean(a[:, s]) / mean(b[:, s]), rows paired
    units (replicates) shared by every column: the delta method on the mean log ratio, each
    unit's influence the mean over columns of a_is / mean(a_s) - b_is / mean(b_s), t with
    n - 1 degrees of freedom. One column is :func:`paired_ratio`."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError("paired samples need the same units and columns")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and a.min() > 0 and b.min() > 0):
        raise ValueError("paired_ratios needs finite, positive costs")
    n = a.shape[0]
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    log = float(np.mean(np.log(ma / mb)))
    if n < 2:
        return Ratio(log, math.inf, 0)
    d = (a / ma - b / mb).mean(axis=1)
    se = float(d.std(ddof=1) / math.sqrt(n))
    return Ratio(log, se if se > 1e-12 else 0.0, n - 1)


def pooled(ratios: Sequence[Ratio]) -> Ratio:
    """The geometric mean of independent ratios (one per searcher: different runs): the mean of
    the logs, its variance the sum of theirs over k^2, Welch-Satterthwaite degrees of freedom."""
    if not ratios:
        raise ValueError("nothing to pool")
    k = len(ratios)
    parts = [(r.se / k) ** 2 for r in ratios]
    var = sum(parts)
    if var == 0.0 or not math.isfinite(var):
        df = min(r.df for r in ratios)
    else:
        df = var**2 / sum(p**2 / r.df for p, r in zip(parts, ratios, strict=True) if p > 0)
    return Ratio(sum(r.log for r in ratios) / k, math.sqrt(var), df)


def widened(ratio: Ratio, terms: Sequence[tuple[float, float]]) -> Ratio:
    """``ratio`` with more independent variance on its log: ``terms`` (standard error, degrees
    of freedom) each, e.g. the log ratio's change with a target measured on a few seeds (the
    delta method); degrees of freedom by Welch-Satterthwaite."""
    parts = [(ratio.se**2, ratio.df)] + [(se**2, df) for se, df in terms if se != 0]
    var = sum(v for v, _ in parts)
    if len(parts) == 1 or not math.isfinite(var):
        return ratio
    df = var**2 / sum(v**2 / df for v, df in parts if v > 0 and df > 0) if var > 0 else ratio.df
    return Ratio(ratio.log, math.sqrt(var), df)


@dataclass(frozen=True)
class Meta(Ratio):
    """The mean log ratio over tasks like these: ``tau`` the between-task spread of the log
    ratio (Paule-Mandel, descriptive: the interval does not use it), ``k`` the tasks."""

    tau: float = 0.0
    k: int = 0


def across_tasks(ratios: Sequence[Ratio]) -> Meta:
    """The mean log ratio over tasks like these: the plain mean of the per-task log ratios, its
    standard error their spread over sqrt(k), t with k - 1 degrees of freedom.

    Each task's estimate is its truth (spread tau around the mean) plus its own noise, so their
    spread holds both, and the interval needs neither tau nor the tasks' standard errors. A
    precision-weighted random-effects interval (Paule-Mandel tau^2 with the
    Hartung-Knapp-Sidik-Jonkman variance, statsmodels' ``combine_effects``) does need them, and
    with a few tasks of unequal precision (tunecost's own differ 20-fold in interval width) its
    weights, estimated, make it too narrow: 75-89% at 3 and 4 tasks where 95% is claimed; the
    plain mean holds 93.4-99.6% in every cell of 2 to 8 tasks (``benchmarks/coverage.py``,
    part 3). ``tau`` is
    still Paule-Mandel's estimate, reported beside the interval."""
    # statsmodels: only where an across-task answer is made (it imports pandas)
    from statsmodels.stats.meta_analysis import combine_effects

    if len(ratios) < 2:
        raise ValueError("an answer across tasks needs at least two tasks")
    effect = np.array([r.log for r in ratios])
    k = effect.size
    variance = np.array([max(r.se**2, 1e-12) if math.isfinite(r.se) else 1e12 for r in ratios])
    tau2 = float(combine_effects(effect, variance, method_re="iterated", use_t=True).tau2)
    se = float(effect.std(ddof=1) / math.sqrt(k))
    return Meta(float(effect.mean()), se if se > 1e-12 else 0.0, k - 1, tau=math.sqrt(max(tau2, 0.0)), k=k)


@dataclass(frozen=True)
class Decisions:
    """A family's correction: adjusted p-values, decisions at ``alpha``, and the per-comparison
    level at which each interval is drawn so that it excludes 1 exactly when rejected."""

    method: str
    p_adjusted: list[float]
    reject: list[bool]
    alphas: list[float]

    def confidence(self, i: int) -> float:
        return 1 - self.alphas[i]


@dataclass(frozen=True)
class Line:
    """One comparison of a corrected family: its interval, at ``confidence``, and its decision."""

    ci: tuple[float, float] | None
    confidence: float | None
    p_adjusted: float | None
    distinguishable: bool


def correct_lines(ratios: Sequence[Ratio | None], tested: Sequence[bool], method: str = "holm") -> list[Line]:
    """A family of ratios corrected over its ``tested`` members (:func:`correct`): each tested
    line's interval at the level its correction applied; an untested ratio keeps its 95%
    interval and no decision; no ratio, no interval."""
    family = [i for i, t in enumerate(tested) if t and ratios[i] is not None]
    decisions = correct([ratios[i].p_value for i in family], method)  # type: ignore[union-attr]
    out = [
        Line(None if r is None else r.interval(), None if r is None else CONFIDENCE, None, False)
        for r in ratios
    ]
    for k, i in enumerate(family):
        level = decisions.confidence(k)
        out[i] = Line(ratios[i].interval(1 - level), level, decisions.p_adjusted[k], decisions.reject[k])  # type: ignore[union-attr]
    return out


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down correction: adjusted p-values (the running maximum of (m - i + 1) p_(i)
    over the sorted p-values, at most 1) and rejections (adjusted <= alpha). Written here, not
    taken from statsmodels, only because ``multipletests(method="holm")`` runs a full
    ``gc.collect()`` on every call: 0.2-0.7 s each in a server process, over 90% of a
    comparison's time, and seconds in a large one. Checked equal to ``multipletests`` on random families
    (``tests/service/test_statistics.py``)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(np.maximum.accumulate(p[order] * (m - np.arange(m))), 1.0)
    return adjusted, adjusted <= alpha


def correct(p_values: Sequence[float], method: str = "holm", alpha: float = ALPHA) -> Decisions:
    """A family corrected by Holm (:func:`holm`) or Benjamini-Hochberg (``fdr_bh``, statsmodels'
    ``multipletests``), and each comparison's interval level: a test that rejects when its
    adjusted p-value p~ <= alpha rejects when p <= alpha p / p~, so the interval at level
    1 - alpha p / p~ excludes the null exactly when the correction rejects (for Bonferroni
    these are the simultaneous intervals; for Holm and BH, the intervals of the level each
    comparison was actually tested at)."""
    if method not in METHODS:
        raise ValueError(f"unknown correction {method!r}: one of {', '.join(METHODS)}")
    if not p_values:
        return Decisions(method, [], [], [])
    if method == "holm":
        adjusted, reject = holm(p_values, alpha)
    else:
        # statsmodels: only where a family is corrected (it imports pandas)
        from statsmodels.stats.multitest import multipletests

        reject, adjusted, _, _ = multipletests(list(p_values), alpha=alpha, method=method)
    m = len(p_values)
    alphas = [
        alpha * p / q if q > 0 and p > 0 else alpha / m for p, q in zip(p_values, adjusted, strict=True)
    ]
    return Decisions(method, [float(q) for q in adjusted], [bool(r) for r in reject], alphas)
