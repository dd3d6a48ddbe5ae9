"""Figures (matplotlib, Agg backend): PNG and SVG side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tunecost.service.analysis.comparison import Comparison, on_grid_edge
from tunecost.service.analysis.costs import COSTS
from tunecost.service.analysis.landscape import LandscapeDetail
from tunecost.workers.catalog import Metric, format_score

REDDI_OPTIMIZERS = ("adam", "amsgrad", "delayed_adam", "avagrad")


def _pyplot() -> Any:
    # matplotlib: only where a figure is drawn
    import matplotlib

    matplotlib.use("Agg")
    # matplotlib: only where a figure is drawn
    import matplotlib.pyplot as plt

    return plt


def reddi_figure(
    out: Path,
    *,
    steps: int = 200_000,
    lr: float = 1e-2,
    seed: int = 0,
    optimizers: tuple[str, ...] = REDDI_OPTIMIZERS,
) -> dict[str, float]:
    """The paper's Figure 3: w_t and F'(w_t)^2 on Eq. 11. Returns each optimizer's final mean F'^2."""
    # torch: only where training runs, never in the API process
    from tunecost.workers.synthetic import W_STAR, run_reddi

    plt = _pyplot()
    runs = [run_reddi(name, steps=steps, lr=lr, seed=seed) for name in optimizers]
    fig, (ax_w, ax_g) = plt.subplots(1, 2, figsize=(11, 4))
    t = np.arange(1, steps + 1)
    window = max(1, steps // 200)
    for run in runs:
        ax_w.plot(t, run.w, label=run.optimizer, lw=1)
        smooth = np.convolve(run.grad_sq, np.ones(window) / window, mode="valid")
        ax_g.plot(t[window - 1 :], smooth, label=run.optimizer, lw=1)
    ax_w.axhline(W_STAR, color="k", ls="--", lw=0.8, label="w* = 499/999")
    ax_w.set(xscale="log", xlabel="step t", ylabel="w_t", title="Eq. 11: iterate", ylim=(-0.02, 1.02))
    ax_g.set(
        xscale="log",
        yscale="log",
        xlabel="step t",
        ylabel="F'(w_t)^2 (moving mean)",
        title="Eq. 11: squared gradient of E[f]",
    )
    for ax in (ax_w, ax_g):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"beta1=0, beta2=0.99, eps=1e-8, step size {lr:g}/sqrt(t), seed {seed}")
    fig.tight_layout()
    _save(fig, out)
    return {run.optimizer: run.final_mean_grad_sq for run in runs}


SUBOPTIMALITY_FLOOR = 1e-2  # points: log scales need a floor; a best node sits at 0


def suboptimality_range(landscapes: list[LandscapeDetail]) -> tuple[float, float]:
    """One colour scale for every landscape of a study: floor to the largest suboptimality."""
    highest = SUBOPTIMALITY_FLOOR * 10
    for ls in landscapes:
        errors = np.array([[np.nan if e is None else e for e in row] for row in ls.errors], dtype=float)
        highest = max(highest, float(np.nanmax(errors) - np.nanmin(errors)))
    return SUBOPTIMALITY_FLOOR, highest


def landscape_figure(
    out: Path,
    landscape: LandscapeDetail,
    *,
    deltas: list[float] = (0.5, 1.0),  # type: ignore[assignment]
    scale: tuple[float, float] | None = None,
) -> None:
    """Suboptimality over (alpha, epsilon) on a log colour scale, the delta contours drawn, the
    best marked (and flagged when it sits on the grid's edge): the paper's Figure 1. Pass the
    same ``scale`` (:func:`suboptimality_range`) to every landscape of a comparison."""
    # matplotlib: only where a figure is drawn
    from matplotlib.colors import LogNorm

    plt = _pyplot()
    errors = np.array([[np.nan if e is None else e for e in row] for row in landscape.errors], dtype=float)
    e_star = float(np.nanmin(errors))
    if errors.shape[1] == 1:  # an optimizer without epsilon: tuned over alpha alone, drawn as a curve
        _alpha_curve(plt, out, landscape, errors[:, 0], e_star, deltas)
        return
    sub = np.maximum(errors - e_star, SUBOPTIMALITY_FLOOR)
    lo, hi = scale or (SUBOPTIMALITY_FLOOR, max(float(np.nanmax(sub)), SUBOPTIMALITY_FLOOR * 10))
    fig, ax = plt.subplots(figsize=(6.8, 5.4))
    image = ax.imshow(sub.T, origin="lower", cmap="viridis", aspect="auto", norm=LogNorm(lo, hi))
    metric = Metric.from_json(landscape.metric)
    fig.colorbar(
        image,
        ax=ax,
        label=f"{metric.name} − the best node's mean ({metric.delta_unit}; "
        f"best node's mean {format_score(e_star, metric.unit, 2)})",
    )
    levels = sorted(d for d in deltas if d > SUBOPTIMALITY_FLOOR)
    if levels and np.nanmin(sub) < max(levels) < np.nanmax(sub):
        contours = ax.contour(
            sub.T, levels=levels, colors=["white", "orange", "red"][: len(levels)], linewidths=1.2
        )
        ax.clabel(contours, fmt={d: f"δ={d:g}" for d in levels}, fontsize=7)
    alphas, epsilons = landscape.alphas, landscape.epsilons
    ax.set_xticks(range(0, len(alphas), 2), [f"{a:g}" for a in alphas[::2]], rotation=60, fontsize=7)
    ax.set_yticks(range(0, len(epsilons), 2), [f"{e:g}" for e in epsilons[::2]], fontsize=7)
    ax.set(xlabel="α (learning rate)", ylabel="ε")
    i, j = (int(x) for x in np.unravel_index(np.nanargmin(errors), errors.shape))
    on_edge = on_grid_edge(errors)  # the rule the verdicts' caution uses
    label = f"best {format_score(e_star, metric.unit, 2)} at α={alphas[i]:g}, ε={epsilons[j]:g}" + (
        " — on the grid's edge" if on_edge else ""
    )
    ax.plot(i, j, marker="*", color="red", markersize=13, markeredgecolor="white", label=label)
    ax.legend(loc="upper right", fontsize=7)
    n = len(landscape.sweep_seeds)
    seeds = f"{n} training seed{'s' if n != 1 else ''} per node" + (
        f"; {len(landscape.seeds)} at the nodes near the best" if len(landscape.seeds) > n else ""
    )
    shifted = f", ε grid '{landscape.grid_name}'" if landscape.grid_name not in (None, "paper") else ""
    ax.set_title(
        f"{landscape.task} / {landscape.optimizer} (landscape {landscape.id}; {seeds}{shifted})", fontsize=9
    )
    fig.tight_layout()
    _save(fig, out)


def _alpha_curve(
    plt: Any, out: Path, landscape: LandscapeDetail, errors: np.ndarray, e_star: float, deltas: list[float]
) -> None:
    """A one-axis landscape: the score over alpha, e* + delta drawn, the best marked."""
    metric = Metric.from_json(landscape.metric)
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    ax.plot(landscape.alphas, errors, marker="o", color="tab:blue", label=f"{metric.name} (mean over seeds)")
    for delta, colour in zip(sorted(deltas), ["orange", "red", "purple"], strict=False):
        ax.axhline(e_star + delta, color=colour, linestyle="--", linewidth=1, label=f"e* + {delta:g}")
    i = int(np.nanargmin(errors))
    ax.plot(landscape.alphas[i], errors[i], marker="*", color="red", markersize=13, markeredgecolor="white")
    ax.set_xscale("log")
    ax.set(xlabel="α (learning rate); this optimizer has no ε", ylabel=f"{metric.name} ({metric.unit})")
    finite = errors[np.isfinite(errors)]
    if finite.size:
        ax.set_ylim(
            e_star - 0.05 * (finite.max() - e_star + 1e-9),
            finite.max() + 0.05 * (finite.max() - e_star + 1e-9),
        )
    ax.legend(fontsize=7)
    ax.set_title(
        f"{landscape.task} / {landscape.optimizer} (landscape {landscape.id}; tuned over α alone, "
        f"best {format_score(e_star, metric.unit, 2)} at α={landscape.alphas[i]:g})",
        fontsize=9,
    )
    fig.tight_layout()
    _save(fig, out)


def curves_figure(out: Path, comparison: Comparison, x: str = "trials") -> None:
    """Median suboptimality vs trials with IQR bands, log y, random search's closed form dashed,
    the delta lines labelled: the paper's Figure 2 (right). ``x``: trials, or epochs, seconds,
    wall-clock (a replay in simulated time; no closed form there)."""

    def band(c: Any) -> tuple[Any, Any, Any, Any] | None:
        if x == "trials":
            return np.arange(1, len(c.median) + 1), c.median, c.q25, c.q75
        if not c.by_cost or x not in c.by_cost:
            return None
        b = c.by_cost[x]
        nan = [np.nan if v is None else v for v in (b.median, b.q25, b.q75)]  # type: ignore[arg-type]
        return np.asarray(b.x), *(np.array(v, dtype=float) for v in nan)

    plt = _pyplot()
    optimizers = list(dict.fromkeys(c.label for c in comparison.curves))
    searchers = list(dict.fromkeys(c.searcher for c in comparison.curves))
    colours = {s: plt.get_cmap("tab10")(k % 10) for k, s in enumerate(searchers)}
    fig, axes = plt.subplots(
        1, len(optimizers), figsize=(5 * len(optimizers), 4.2), sharey=True, squeeze=False
    )
    floor = SUBOPTIMALITY_FLOOR
    for ax, optimizer in zip(axes[0], optimizers, strict=True):
        for c in (c for c in comparison.curves if c.label == optimizer):
            drawn = band(c)
            if drawn is None:
                continue
            t, med, q25, q75 = drawn
            ax.plot(t, np.maximum(med, floor), color=colours[c.searcher], label=c.searcher, lw=1.4)
            ax.fill_between(
                t, np.maximum(q25, floor), np.maximum(q75, floor), color=colours[c.searcher], alpha=0.12
            )
        for closed in (r for r in comparison.random_closed_form if r.label == optimizer and x == "trials"):
            t = np.arange(1, len(closed.expected) + 1)
            ax.plot(
                t,
                np.maximum(closed.expected, floor),
                "k--",
                lw=1.1,
                label="random search, closed form (expected; told the mean, no seed noise)",
            )
        for d in comparison.deltas:
            ax.axhline(d, color="grey", ls=":", lw=0.8)
            ax.annotate(
                f"δ={d:g}", (1, d), xytext=(2, 2), textcoords="offset points", fontsize=7, color="grey"
            )
        fact = next((f for f in comparison.landscapes if f.label == optimizer), None)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="trials (distinct configs)" if x == "trials" else COST_LABELS[x],
        )
        ax.set_title(
            optimizer + ("" if fact is None else f" ({_e_star_words(fact)})"),
            fontsize=10,
        )
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"suboptimality ({comparison.delta_unit}): median, IQR band")
    after = "t trials" if x == "trials" else COST_LABELS[x]
    fig.suptitle(f"suboptimality after {after} ({floor} stands for 0 on the log axis)", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    _save(fig, out)


COST_LABELS = {"trials": "trials", **{str(cost): info.label for cost, info in COSTS.items()}}


def tuning_cost_figure(out: Path, comparison: Comparison, delta: float = 0.5, cost: str = "trials") -> None:
    """Tuning cost to reach delta per searcher, grouped by optimizer: the restricted mean (the one
    estimator) with its 95% interval, the share of seeds that reached delta above each bar; a
    cell where fewer than half the runs reached delta is hatched (the budget bounds it): Figure 2
    (left). ``cost``: trials (the paper's), or epochs, seconds, wall-clock (simulated time)."""
    plt = _pyplot()
    rows = [r for r in comparison.rows if abs(r.delta - delta) < 1e-9]
    bars = {}  # (label, searcher) -> (height, lo, hi, reaches, reached share)
    for r in rows:
        if cost == "trials":
            bars[(r.label, r.searcher)] = (r.trials, *r.ci, r.reaches, r.reached)
        elif r.costs is not None:
            c = r.costs[cost]
            bars[(r.label, r.searcher)] = (c.mean, *c.ci, r.reaches, r.reached)
    optimizers = list(dict.fromkeys(label for label, _ in bars))
    searchers = list(dict.fromkeys(s for _, s in bars))
    width = 0.8 / max(1, len(optimizers))
    fig, ax = plt.subplots(figsize=(1.4 * len(searchers) + 2.5, 4.4))
    budget = (
        max((r.budget for r in rows), default=1)
        if cost == "trials"
        else max((b[2] for b in bars.values()), default=1.0)
    )
    for k, optimizer in enumerate(optimizers):
        x = np.arange(len(searchers)) + (k - (len(optimizers) - 1) / 2) * width
        colour = plt.get_cmap("tab10")(k % 10)
        for xi, s in zip(x, searchers, strict=True):
            if (optimizer, s) not in bars:
                continue
            height, lo, hi, reaches, share = bars[(optimizer, s)]
            ax.bar(
                xi,
                height,
                width,
                color=colour if reaches else "white",
                edgecolor=colour,
                hatch=None if reaches else "///",
            )
            ax.errorbar(xi, height, yerr=[[height - lo], [hi - height]], color="black", capsize=3, lw=0.8)
            ax.annotate(
                f"{share:.0%}",
                (xi, max(height, hi)),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=6,
            )
    ax.axhline(budget, color="grey", ls="--", lw=0.8)
    ax.annotate(
        f"budget {budget}" if cost == "trials" else f"largest: {budget:.3g}",
        (len(searchers) - 0.5, budget),
        xytext=(-2, 2),
        textcoords="offset points",
        ha="right",
        fontsize=7,
        color="grey",
    )
    ax.set_xticks(np.arange(len(searchers)), searchers)
    ax.set(
        ylabel=f"{COST_LABELS[cost]} to δ={delta:g} {comparison.delta_unit} (restricted mean, 95% CI)",
        yscale="log",
        ylim=(0.8, budget * 2.0),
    )
    # matplotlib: only where a figure is drawn
    from matplotlib.patches import Patch

    legend = [Patch(color=plt.get_cmap("tab10")(k % 10), label=o) for k, o in enumerate(optimizers)]
    legend.append(
        Patch(facecolor="white", edgecolor="grey", hatch="///", label="under half the runs reached δ")
    )
    ax.legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title(
        f"{COST_LABELS[cost]} to δ={delta:g}; above each bar: share of seeds that reached it", fontsize=9
    )
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    _save(fig, out)


def profile_figure(out: Path, comparison: Comparison, delta: float) -> None:
    """Performance profiles at ``delta``, one panel per searcher (and all searchers pooled): for
    each optimizer, the share of problems on which its tuning cost (restricted mean trials to
    delta) is within tau times the best optimizer's; the legend gives AlgoPerf's score."""
    plt = _pyplot()
    suite = comparison.suite
    if suite is None:
        raise ValueError("profiles across tasks need a comparison of two tasks or more")
    drawn = [p for p in [*comparison.profiles, *suite.profiles] if p.delta == delta]
    searchers = list(dict.fromkeys(p.searcher for p in drawn))
    fig, axes = plt.subplots(
        1, len(searchers), figsize=(3.6 * len(searchers), 3.4), sharey=True, squeeze=False
    )
    for ax, searcher in zip(axes[0], searchers, strict=True):
        for k, p in enumerate(q for q in drawn if q.searcher == searcher):
            ax.step(
                p.tau,
                p.share,
                where="post",
                label=f"{p.optimizer} ({p.score:.2f})",
                color=plt.get_cmap("tab10")(k % 10),
            )
        ax.set_xscale("log")
        ax.set_xlim(1, 10)
        ax.set_xticks([1, 2, 5, 10], labels=["1", "2", "5", "10"])
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(searcher)
        ax.set_xlabel("τ (× the best optimizer's tuning cost)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"share of problems ({len(suite.tasks)} tasks)")
    axes[0][-1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"performance profiles, trials to δ = {delta:g}", fontsize=10)
    fig.tight_layout()
    _save(fig, out)


def _e_star_words(fact: Any) -> str:
    """e* as the text names it: measured on fresh seeds, or the best node's mean."""
    if fact.e_star_fresh and fact.e_star is not None:
        return f"e* {format_score(fact.e_star, fact.unit, 2)} on fresh seeds"
    return f"e* {format_score(fact.best_error, fact.unit, 2)}, the best node's mean"


def _save(fig: Any, out: Path) -> None:
    """``out`` + ".png" and + ".svg" (appended: names like ``trials_to_0.5`` keep their dot)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out.parent / f"{out.name}.png", dpi=120)
    fig.savefig(out.parent / f"{out.name}.svg")
    _pyplot().close(fig)
