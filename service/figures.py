"""Figures (matplotlib, Agg backend): PNG and SVG side by side."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.comparisons import Comparison
    from service.landscapes import LandscapeDetail

REDDI_OPTIMIZERS = ("adam", "amsgrad", "delayed_adam", "avagrad")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
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
    import numpy as np

    from workers.synthetic import W_STAR, run_reddi

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


def landscape_figure(out: Path, landscape: LandscapeDetail) -> None:
    """Heatmap of validation error over (alpha, epsilon): the paper's Figure 1."""
    import numpy as np

    plt = _pyplot()
    errors = np.array([[np.nan if e is None else e for e in row] for row in landscape.errors], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    image = ax.imshow(errors.T, origin="lower", cmap="viridis_r", aspect="auto")
    fig.colorbar(image, ax=ax, label="validation error (%)")
    alphas, epsilons = landscape.alphas, landscape.epsilons
    ax.set_xticks(range(0, len(alphas), 2), [f"{a:g}" for a in alphas[::2]], rotation=60, fontsize=7)
    ax.set_yticks(range(0, len(epsilons), 2), [f"{e:g}" for e in epsilons[::2]], fontsize=7)
    ax.set(xlabel="alpha", ylabel="epsilon")
    i, j = np.unravel_index(np.nanargmin(errors), errors.shape)
    ax.plot(i, j, marker="*", color="red", markersize=12, label=f"best {errors[i, j]:.2f}%")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"{landscape.task} / {landscape.optimizer} (landscape {landscape.id})")
    fig.tight_layout()
    _save(fig, out)


def curves_figure(out: Path, comparison: Comparison) -> None:
    """Suboptimality vs trials, median with IQR band, log y: the paper's Figure 2 (right)."""
    import numpy as np

    plt = _pyplot()
    optimizers = sorted({c.optimizer for c in comparison.curves})
    fig, axes = plt.subplots(1, len(optimizers), figsize=(5 * len(optimizers), 4), sharey=True, squeeze=False)
    floor = 1e-2
    for ax, optimizer in zip(axes[0], optimizers, strict=True):
        for c in (c for c in comparison.curves if c.optimizer == optimizer):
            t = np.arange(1, len(c.median) + 1)
            ax.plot(t, np.maximum(c.median, floor), label=c.searcher, lw=1.4)
            ax.fill_between(t, np.maximum(c.q25, floor), np.maximum(c.q75, floor), alpha=0.15)
        for d in comparison.deltas:
            ax.axhline(d, color="k", ls=":", lw=0.7)
        ax.set(xscale="log", yscale="log", xlabel="trials (distinct configs)", title=optimizer)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"suboptimality (points, floored at {floor})")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    _save(fig, out)


def tuning_cost_figure(out: Path, comparison: Comparison, delta: float = 0.5) -> None:
    """Trials to reach delta per searcher, grouped by optimizer (median, IQR whiskers): Figure 2 (left)."""
    import numpy as np

    plt = _pyplot()
    rows = [r for r in comparison.rows if abs(r.delta - delta) < 1e-9]
    optimizers = sorted({r.optimizer for r in rows})
    searchers = list(dict.fromkeys(r.searcher for r in rows))
    width = 0.8 / max(1, len(optimizers))
    fig, ax = plt.subplots(figsize=(1.3 * len(searchers) + 2, 4))
    for k, optimizer in enumerate(optimizers):
        by = {r.searcher: r for r in rows if r.optimizer == optimizer}
        budget = next(iter(by.values())).budget

        def censored(values: list[float | None], budget: int = budget) -> Any:
            return np.array([budget + 1 if v is None else v for v in values], dtype=float)

        med = censored([by[s].median for s in searchers])
        lo = censored([by[s].q25 for s in searchers])
        hi = censored([by[s].q75 for s in searchers])
        x = np.arange(len(searchers)) + (k - (len(optimizers) - 1) / 2) * width
        ax.bar(x, med, width, label=optimizer, yerr=[med - lo, hi - med], capsize=3)
    ax.set_xticks(np.arange(len(searchers)), searchers)
    ax.set(ylabel=f"trials to {delta:g}% suboptimality (median, IQR)", yscale="log")
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    _save(fig, out)


def attach_to_study(
    url: str, study_name: str, files: list[Path], artifacts_dir: Path, attrs: dict[str, Any]
) -> int:
    """Upload ``files`` as artifacts of the Optuna study ``study_name`` (created if needed), so
    optuna-dashboard, started with the same artifact store, shows them. Returns the count."""
    import optuna
    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    store = FileSystemArtifactStore(str(artifacts_dir))
    study = optuna.create_study(storage=url, study_name=study_name, direction="minimize", load_if_exists=True)
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    for path in files:
        upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study)
    return len(files)


def _save(fig: Any, out: Path) -> None:
    """``out`` + ".png" and + ".svg" (appended: names like ``trials_to_0.5`` keep their dot)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out.parent / f"{out.name}.png", dpi=120)
    fig.savefig(out.parent / f"{out.name}.svg")
    _pyplot().close(fig)
