"""Figures (matplotlib, Agg backend): PNG and SVG side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out.with_suffix(".png"), dpi=120)
    fig.savefig(out.with_suffix(".svg"))
    plt.close(fig)
    return {run.optimizer: run.final_mean_grad_sq for run in runs}
