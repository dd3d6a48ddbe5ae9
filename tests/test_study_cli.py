"""`tunecost study` end to end (on the closed-form task: the pipeline, not the training, is under test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunecost.api.cli import app
from tunecost.service.settings import get_settings


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_session: None) -> Path:
    monkeypatch.setenv("TUNECOST_DATABASE_URL", database_url)
    monkeypatch.setenv("TUNECOST_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_study_sweeps_replays_prints_and_draws(env: Path) -> None:
    out = env / "results"
    args = [
        "study",
        "--task",
        "synthetic-bowl",
        "--optimizers",
        "adam,avagrad",
        "--searchers",
        "random,cgld",
        "--seeds",
        "6",
        "--budget",
        "40",
        "--deltas",
        "2,0.5",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = (out / "tuning_cost.txt").read_text()
    assert "tuning cost on synthetic-bowl" in table
    for optimizer in ("adam", "avagrad"):
        for searcher in ("random", "cgld"):
            assert any(line.split()[:2] == [optimizer, searcher] for line in table.splitlines())
    for name in (
        "landscape_adam",
        "landscape_avagrad",
        "suboptimality_curves",
        "trials_to_0.5",
        "trials_to_2",  # --deltas: the replays' own
    ):
        assert (out / f"{name}.png").stat().st_size > 5_000 and (out / f"{name}.svg").is_file()

    import optuna
    from optuna.artifacts import get_all_artifact_meta

    replay_study = [
        n
        for n in optuna.get_all_study_names(storage=get_settings().resolved_database_url)
        if n.startswith("tunecost-job-") and "(replay" in n
    ][-1]
    study = optuna.load_study(study_name=replay_study, storage=get_settings().resolved_database_url)
    attached = {m.filename for m in get_all_artifact_meta(study)}
    files = {p.name for p in out.iterdir() if p.is_file()}
    assert attached == files, "the report is attached to the replay job's study"
    # the early-stopping rows: a second replay with ASHA on the sweeps' learning curves
    assert "with early stopping (asha)" in result.output
    early = (out / "early_stopping_asha" / "tuning_cost.txt").read_text()
    assert "epochs [95% CI]" in early and "random" in early and "tpe" in early
    assert {"tuning_cost.csv", "suboptimality_curves.svg", "landscape_adam.png"} <= attached
    note = study._storage.get_study_system_attrs(study._study_id)  # optuna-dashboard's note
    assert any("tuning cost on synthetic-bowl" in str(v) for v in note.values())

    again = CliRunner().invoke(app, args[:-2] + ["--out", str(env / "again")])
    assert again.exit_code == 0 and "reusing landscape" in again.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--fidelity", "halving"], "--fidelity must be 'full' or 'successive-halving'"),
        (["--fidelity", "successive-halving", "--task", "synthetic-bowl"], "trains no epochs"),
        (["--fidelity", "successive-halving", "--eta", "1"], "eta"),
        (["--deltas", "0.5,x"], "--deltas must be comma-separated numbers"),
        (["--deltas", "0,1"], "deltas.0: Input should be greater than 0"),
    ],
)
def test_study_refuses_a_bad_fidelity_or_delta_in_one_line(
    args: list[str], says: str, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNECOST_DATABASE_URL", database_url)
    monkeypatch.setenv("TUNECOST_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["study", "--out", str(tmp_path / "out"), *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0 and says in result.output, result.output
    assert "Traceback" not in result.output


def test_the_study_command_s_defaults_are_the_study_plan_s() -> None:
    """The CLI spells its defaults for --help; they must be StudyPlan's (and Fidelity's), so a
    plan made in Python and one made on the command line are the same plan."""
    import typer.main

    from tunecost.service.analysis.fidelity import Fidelity
    from tunecost.service.study import StudyPlan

    command = typer.main.get_command(app).get_command(None, "study")  # type: ignore[attr-defined]
    cli = {p.name: p.default for p in command.params}
    plan = StudyPlan()
    as_cli = {
        "task": plan.task,
        "optimizers": ",".join(plan.optimizers),
        "searchers": ",".join(plan.searchers),
        "seeds": plan.seeds,
        "budget": plan.budget,
        "deltas": ",".join(f"{d:g}" for d in plan.deltas),
        "sweep_seeds": ",".join(map(str, plan.sweep_seeds)),
        "replicates": plan.replicates,
        "refine_seeds": plan.refine_seeds,
        "reference_seeds": ",".join(map(str, plan.reference_seeds)),
        "refine_margin": plan.refine_margin,
        "noise": plan.noise,
        "fused": plan.fused,
        "resweep": plan.resweep,
        "fidelity": "full" if plan.fidelity is None else "successive-halving",
        "eta": Fidelity.model_fields["eta"].default,
        "min_epochs": Fidelity.model_fields["min_epochs"].default,
        "early_stopping": "none" if plan.early_stopping is None else plan.early_stopping.name,
    }
    assert {k: cli[k] for k in as_cli} == as_cli


def test_quickstart_runs_one_search_and_prints_its_curve_and_best(env: Path) -> None:
    """The README's first command: it exited 1 with a traceback after its job succeeded."""
    result = CliRunner().invoke(
        app, ["quickstart", "--task", "synthetic-bowl", "--optimizer", "adam", "--budget", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "subopt" in result.output and "best" in result.output
