"""What optuna-dashboard shows: every job kind as a study in real alpha and epsilon, named
metrics and attributes, replay reports as artifacts and as a page, a read-only mode."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from fastapi.testclient import TestClient

from tests import db
from tests.wsgi import call as _call
from tunecost.api.app import create_app
from tunecost.service.dashboard import REFUSAL, backfill_sweeps, dashboard_app
from tunecost.service.kinds.replay import ReplaySpec
from tunecost.service.kinds.search import SearchSpec
from tunecost.service.kinds.sweep import SweepSpec
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings
from tunecost.service.states import JobState

pytestmark = pytest.mark.usefixtures("ray_session")
GRID = {"type": "grid", "alphas": [1e-3, 1e-2, 1e-1, 1.0, 500.0], "epsilons": [1e-8, 1e-4, 1.0]}


def _run(settings: Settings, spec: Any) -> Any:
    job = db.create_job(settings.resolved_database_url, spec)
    assert JobRunner(settings).run_once() == job.id
    done = db.get_job(settings.resolved_database_url, job.id)
    assert done.state == JobState.SUCCEEDED, done.error
    return done


def _sweep(settings: Settings, optimizer: str = "adam") -> Any:
    spec = {"kind": "sweep", "task": "synthetic-bowl", "optimizer": optimizer, "space": GRID, "seeds": [0, 1]}
    return _run(settings, SweepSpec.model_validate(spec))


def _study(settings: Settings, job: Any) -> optuna.Study:
    return optuna.load_study(study_name=job.study_name, storage=settings.resolved_database_url)


def test_a_sweep_is_a_study_over_real_alpha_and_epsilon(settings: Settings) -> None:
    job = _sweep(settings)
    study = _study(settings, job)
    trials = study.get_trials()
    assert len(trials) == 15  # one per node of the 5 x 3 grid
    assert study.metric_names == ["validation error (%)"]
    attrs = study.user_attrs
    assert (attrs["kind"], attrs["task"], attrs["optimizer"], attrs["seeds"]) == (
        "sweep",
        "synthetic-bowl",
        "adam",
        [0, 1],
    )
    assert attrs["landscape_id"] == job.result["landscape_id"] and "optimum_alpha" in attrs["recipe"]
    for t in trials:  # log-float parameters: the dashboard's contour plot is Figure 1
        assert t.distributions["alpha"] == optuna.distributions.FloatDistribution(1e-3, 500.0, log=True)
        assert t.params["alpha"] in GRID["alphas"] and t.params["epsilon"] in GRID["epsilons"]
    by_node = {(t.params["alpha"], t.params["epsilon"]): t for t in trials}
    assert by_node[(500.0, 1.0)].user_attrs["diverged"] == 2  # both seeds diverge at alpha = 500
    with TestClient(create_app(settings)) as client:
        body = client.get(f"/v1/landscapes/{job.result['landscape_id']}").json()
    assert by_node[(1e-2, 1e-4)].value == pytest.approx(body["errors"][1][1])

    # a sweep from before sweeps wrote studies gets one when the dashboard starts
    optuna.delete_study(study_name=job.study_name, storage=settings.resolved_database_url)
    assert backfill_sweeps(settings.resolved_database_url) == [job.study_name]
    assert len(_study(settings, job).get_trials()) == 15
    assert backfill_sweeps(settings.resolved_database_url) == []  # once
    # a write that was stopped part-way (Optuna adds trials one by one) is written again whole
    url = settings.resolved_database_url
    part = _study(settings, job).get_trials()[:4]
    optuna.delete_study(study_name=job.study_name, storage=url)
    optuna.create_study(study_name=job.study_name, storage=url).add_trials(part)
    assert backfill_sweeps(url) == [job.study_name] and len(_study(settings, job).get_trials()) == 15


def test_a_search_study_shows_alpha_and_epsilon_and_the_api_names_its_trial_numbers(
    settings: Settings,
) -> None:
    spec = SearchSpec(task="synthetic-bowl", optimizer="adam", searcher="tpe", budget=6, space=GRID, seed=3)
    job = _run(settings, spec)
    study = _study(settings, job)
    assert study.metric_names == ["validation error (%)"]
    assert study.user_attrs["kind"] == "search" and study.user_attrs["seeds"] == [3]
    complete = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete
    for t in complete:
        # the sampler's grid indices and, beside them, the real values they stand for
        assert t.params["alpha"] == GRID["alphas"][t.params["alpha_index"]]
        assert t.params["epsilon"] == GRID["epsilons"][t.params["epsilon_index"]]
        assert isinstance(t.distributions["alpha"], optuna.distributions.FloatDistribution)
        assert t.distributions["alpha"].log
        assert {"diverged", "cached", "tunecost_trial"} <= set(t.user_attrs)
    with TestClient(create_app(settings)) as client:
        best = client.get(f"/v1/jobs/{job.id}").json()["best"]
    best_trial = study.best_trial
    assert best["optuna_trial"] == best_trial.number  # the dashboard's number, named
    assert best["trial"] == best_trial.user_attrs["tunecost_trial"]  # the API's count
    assert (best["alpha"], best["epsilon"]) == (best_trial.params["alpha"], best_trial.params["epsilon"])


def test_a_search_trial_reports_each_epoch_as_its_intermediate_values(settings: Settings) -> None:
    recipe = {"epochs": 3, "subset": 200}
    spec = SearchSpec(task="digits-mlp", optimizer="adam", searcher="random", budget=2, seed=0, recipe=recipe)
    job = _run(settings, spec)
    complete = [t for t in _study(settings, job).get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    with TestClient(create_app(settings)) as client:
        rows = client.get(f"/v1/jobs/{job.id}/trials").json()["data"]
    by_number = {r["optuna_trial_number"]: r for r in rows}
    for t in complete:
        assert sorted(t.intermediate_values) == [1, 2, 3]  # one per epoch: the dashboard's curve
        assert t.intermediate_values[3] == t.value == by_number[t.number]["error"]
    assert len(rows) == 2, "an epoch's report is not a trial"


def test_a_replay_carries_its_report_on_its_study_and_as_a_page(settings: Settings) -> None:
    ids = [_sweep(settings, o).result["landscape_id"] for o in ("adam", "avagrad")]
    spec = ReplaySpec(kind="replay", landscape_ids=ids, searchers=["random", "gld"], seeds=6, budget=8)
    job = _run(settings, spec)
    study = _study(settings, job)
    names = {m.filename for m in optuna.artifacts.get_all_artifact_meta(study)}
    assert {"tuning_cost.txt", "tuning_cost.csv", "comparison.json"} <= names
    assert {"suboptimality_curves.png", "suboptimality_curves.svg", "landscape_adam.svg"} <= names
    assert study.user_attrs["kind"] == "replay" and study.user_attrs["landscape_ids"] == ids
    # what the dashboard serves for the study's page: the note, whole (verdicts and the table)
    status, detail = _call(
        dashboard_app(settings.resolved_database_url, settings.artifacts_dir),
        "GET",
        f"/api/studies/{study._study_id}",
    )
    assert status.startswith("200")
    note = detail["note"]["body"]
    assert "avagrad vs adam" in note and "trials to reach delta" in note and "```" in note
    assert {a["filename"] for a in detail["artifacts"]} == names

    with TestClient(create_app(settings)) as client:
        public = client.get(f"/v1/jobs/{job.id}").json()
        assert public["report_url"] == f"/v1/comparisons/{job.id}/report"
        page = client.get(public["report_url"])
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<script" not in page.text and "avagrad vs adam" in page.text
        assert 'src="report/suboptimality_curves.svg"' in page.text
        svg = client.get(f"/v1/comparisons/{job.id}/report/suboptimality_curves.svg")
        assert svg.status_code == 200 and svg.text.lstrip().startswith("<?xml")
        csv_lines = client.get(f"/v1/comparisons/{job.id}/report/tuning_cost.csv").text.splitlines()
        assert csv_lines[0].startswith("landscape_id,task,optimizer") and len(csv_lines) == 1 + 2 * 2 * 2
        for bad in ("..%2Ftunecost.db", "nothing.svg"):
            assert client.get(f"/v1/comparisons/{job.id}/report/{bad}").status_code == 404
        assert client.get(f"/v1/comparisons/{ids[0]}/report").status_code == 404  # a sweep job


def test_a_read_only_dashboard_refuses_every_change(settings: Settings) -> None:
    job = _sweep(settings)
    url = settings.resolved_database_url
    study_id = _study(settings, job)._study_id
    guarded = dashboard_app(url, settings.artifacts_dir, readonly=True)
    status, body = _call(guarded, "GET", "/api/studies")
    assert status.startswith("200") and [s["study_name"] for s in body["study_summaries"]] == [job.study_name]
    for method, path, payload in [
        ("DELETE", f"/api/studies/{study_id}", None),
        ("POST", f"/api/studies/{study_id}/rename", {"study_name": "renamed"}),
        ("PUT", f"/api/studies/{study_id}/note", {"version": 0, "body": "vandalised"}),
        ("POST", "/api/studies", {"study_name": "new", "directions": ["minimize"]}),
    ]:
        status, body = _call(guarded, method, path, payload)
        assert status.startswith("403") and body == {"reason": REFUSAL}, (method, path)
    assert [s.study_name for s in optuna.get_all_study_summaries(url)] == [job.study_name]
    # the same request on a writable dashboard does delete: the guard is what stopped it
    status, _ = _call(dashboard_app(url, settings.artifacts_dir), "DELETE", f"/api/studies/{study_id}")
    assert status.startswith("20") and optuna.get_all_study_summaries(url) == []
