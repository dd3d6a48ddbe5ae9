from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunecost.api.cli import app
from tunecost.workers.synthetic import W_STAR, run_reddi


@pytest.mark.slow
def test_adam_fails_eq11_while_delayed_adam_and_avagrad_converge() -> None:
    runs = {name: run_reddi(name, steps=50_000, seed=0) for name in ("adam", "delayed_adam", "avagrad")}
    assert runs["adam"].final_mean_grad_sq > 0.9 and runs["adam"].w[-1000:].mean() > 0.95
    for name in ("delayed_adam", "avagrad"):
        assert runs[name].final_mean_grad_sq < 0.1, name
        assert abs(runs[name].w[-5000:].mean() - W_STAR) < 0.15, name


def test_figure_command_writes_png_and_svg(tmp_path: Path) -> None:
    out = tmp_path / "reddi"
    result = CliRunner().invoke(app, ["figure", "reddi", "--out", str(out), "--steps", "2000"])
    assert result.exit_code == 0, result.output
    assert out.with_suffix(".png").stat().st_size > 10_000 and out.with_suffix(".svg").is_file()
    assert "adam" in result.output and "avagrad" in result.output
