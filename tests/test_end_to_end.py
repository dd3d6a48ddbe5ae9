"""A real job over REST: 12 TPE trials of Adam on digits-mlp, read back by REST, CLI and
client, checked against ``optuna.load_study`` on the same database; and the dashboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import optuna
import pytest

from tests.conftest import LiveServer, free_port
from tunecost.api.client import TunecostClient

JOB = {
    "kind": "search",
    "task": "digits-mlp",
    "optimizer": "adam",
    "searcher": "tpe",
    "budget": 12,
    "seed": 0,
}


def cli(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUNECOST_URL": server.url}
    return subprocess.run(
        [sys.executable, "-m", "tunecost.api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_tpe_job_over_rest_agrees_everywhere(live_server: LiveServer) -> None:
    r = httpx.post(f"{live_server.url}/v1/jobs", json=JOB)
    assert r.status_code == 202
    job_id = r.json()["id"]

    client = TunecostClient(live_server.url)
    job = client.wait(job_id, timeout=300, poll=0.5, progress=False)
    assert job.state == "succeeded", job.error
    assert job.trials_done == 12

    rest_curve = httpx.get(f"{live_server.url}/v1/jobs/{job_id}/curve").json()["points"]
    client_curve = client.curve(job_id)
    cli_curve = json.loads(cli(live_server, "curve", str(job_id), "--json").stdout)
    assert rest_curve == [p.model_dump(mode="json") for p in client_curve] == cli_curve
    assert [p["trial"] for p in rest_curve] == list(range(1, 13))
    csv_lines = client.curve_csv(job_id).splitlines()
    assert len(csv_lines) == 13 and csv_lines[0].startswith("trial,alpha,epsilon,error")

    rest_best = httpx.get(
        f"{live_server.url}/v1/best-configs", params={"task": "digits-mlp", "optimizer": "adam"}
    ).json()
    client_best = client.best_config("digits-mlp", "adam")
    cli_best = json.loads(
        cli(live_server, "best", "--task", "digits-mlp", "--optimizer", "adam", "--json").stdout
    )
    assert rest_best == client_best.model_dump(mode="json", exclude_none=False) == cli_best
    assert rest_best["job_id"] == job_id

    # The same numbers straight from Optuna's storage.
    study = optuna.load_study(study_name=job.study_name, storage=live_server.settings.resolved_database_url)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert study.best_value == pytest.approx(rest_best["error"])
    assert study.best_trial.user_attrs["alpha"] == rest_best["alpha"]
    assert study.best_trial.user_attrs["epsilon"] == rest_best["epsilon"]
    by_config = {(t.user_attrs["alpha"], t.user_attrs["epsilon"]): t.value for t in complete}
    assert len(by_config) == 12
    for p in rest_curve:
        assert by_config[(p["alpha"], p["epsilon"])] == pytest.approx(p["error"])
    assert rest_curve[-1]["best_so_far"] == pytest.approx(study.best_value)
    assert rest_curve[-1]["suboptimality"] == pytest.approx(0.0)  # e* = best known = this job's best

    status = cli(live_server, "status", str(job_id))
    assert status.returncode == 0 and "succeeded" in status.stdout and "12/12" in status.stdout


def test_cli_errors_are_one_line(live_server: LiveServer) -> None:
    bad = cli(live_server, "submit", "--task", "digits-mlp", "--optimizer", "sophia", "--budget", "3")
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and bad.stderr.startswith(
        "error: optimizer: unknown optimizer 'sophia'"
    )
    missing = cli(live_server, "status", "999")
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: Job not found")
    env = {**os.environ, "TUNECOST_URL": f"http://127.0.0.1:{free_port()}"}
    down = subprocess.run(
        [sys.executable, "-m", "tunecost.api.cli", "status"], capture_output=True, text=True, env=env
    )
    assert down.returncode == 1 and down.stderr.startswith("error: cannot reach the tunecost server")


def test_dashboard_lists_the_study_and_its_trials(live_server: LiveServer) -> None:
    client = TunecostClient(live_server.url)
    job = client.submit(task="synthetic-bowl", optimizer="adam", searcher="random", budget=5)
    job = client.wait(job.id, timeout=120, poll=0.2, progress=False)
    assert job.state == "succeeded"

    port = free_port()
    env = {
        **os.environ,
        "TUNECOST_DATABASE_URL": live_server.settings.resolved_database_url,
        "TUNECOST_HOME": str(live_server.settings.home),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunecost.api.cli", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                studies = httpx.get(f"http://127.0.0.1:{port}/api/studies", timeout=5).json()[
                    "study_summaries"
                ]
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "dashboard did not start"
                assert proc.poll() is None, "dashboard exited"
                time.sleep(0.2)
        (study,) = [s for s in studies if s["study_name"] == job.study_name]
        detail = httpx.get(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}", timeout=10).json()
        complete = [t for t in detail["trials"] if t["state"] == "Complete"]
        assert len(complete) >= 5
        assert httpx.get(f"http://127.0.0.1:{port}/dashboard", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
