"""Tuning-cost statistics on plain arrays (hand-written: no maintained library has them).

* Random search in closed form over a finite landscape: k distinct configs drawn uniformly
  without replacement (Dodge et al., EMNLP 2019, "Show Your Work", give the with-replacement
  form; a replay draws distinct configs, so this is the hypergeometric version).
* Paired bootstrap over replay seeds (Sivaprasad et al., ICML 2020, bootstrap the tuning
  protocol): confidence intervals for the median trials-to-delta and for the ratio of two
  optimizers' medians under the same searcher.

Trials-to-delta that a run never reached within its budget are ``inf`` for medians and their
intervals (exact: an ``inf`` median means "not within the budget"), and the budget for ratios
(finite, and conservative: it can only make two optimizers look closer than they are).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95


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


def censored(values: list[int | None], at: float = math.inf) -> np.ndarray:
    """Trials-to-delta with 'not reached' as ``at`` (inf: exact medians; the budget: finite ratios)."""
    return np.array([at if v is None else v for v in values], dtype=float)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail], method="lower")
    return float(lo), float(hi)


def _bootstrap_indices(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP_SAMPLES, n))


def median_interval(values: np.ndarray, *, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the median of ``values`` (inf allowed)."""
    samples = np.median(values[_bootstrap_indices(values.size, seed)], axis=1)
    return _interval(samples)


def ratio_interval(a: np.ndarray, b: np.ndarray, *, seed: int = 0) -> tuple[float, float, float]:
    """median(a) / median(b), with a 95% paired-bootstrap interval: ``a[i]`` and ``b[i]`` come
    from the same replay seed, and each bootstrap sample resamples seeds for both at once.
    Values must be finite and positive (censor 'not reached' at the budget)."""
    ratio, lo, hi, _ = ratio_test(a, b, seed=seed)
    return ratio, lo, hi


def ratio_test(a: np.ndarray, b: np.ndarray, *, seed: int = 0) -> tuple[float, float, float, float]:
    """:func:`ratio_interval` and the two-sided paired-bootstrap p-value of ratio = 1 (with the
    +1 that keeps it above zero), for a correction over many comparisons."""
    if a.shape != b.shape:
        raise ValueError("paired samples need the same seeds")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and a.min() > 0 and b.min() > 0):
        raise ValueError("ratio_interval needs finite, positive trial counts")
    idx = _bootstrap_indices(a.size, seed)
    samples = np.median(a[idx], axis=1) / np.median(b[idx], axis=1)
    lo, hi = _interval(samples)
    return float(np.median(a) / np.median(b)), lo, hi, bootstrap_p(samples, null=1.0)


def bootstrap_p(samples: np.ndarray, *, null: float = 0.0) -> float:
    """Two-sided bootstrap p-value of the statistic = ``null``, with the +1 that keeps it above zero."""
    below, above = int((samples <= null).sum()), int((samples >= null).sum())
    return float(min(1.0, 2 * (min(below, above) + 1) / (samples.size + 1)))


def holm(p_values: list[float], alpha: float = 1 - CONFIDENCE) -> list[bool]:
    """Holm's (1979) step-down: reject the k-th smallest p while p <= alpha / (m - k), then
    stop (hand-written: six lines; statsmodels' ``multipletests`` is not a dependency)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    reject = [False] * len(p_values)
    for k, i in enumerate(order):
        if p_values[i] > alpha / (len(p_values) - k):
            break
        reject[i] = True
    return reject
