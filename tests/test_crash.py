"""kill -9 of the server, three times during a job: no finished trial is lost or counted twice,
and tunecost's rows and the job's Optuna study agree (SQLite, and Postgres when configured)."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import optuna
import pytest

from tests import db
from tests.conftest import free_port
from tunecost.api.client import TunecostClient
from tunecost.service.ray_session import processes_under

BIN = Path(sys.executable).parent
BUDGET = 24


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "a") as out:
        server = subprocess.Popen(
            [BIN / "tunecost", "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except httpx.TransportError:
            assert time.monotonic() < deadline and server.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)


def _kill(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL, then end the local Ray instance it can no longer stop."""
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=30)
    for session in glob.glob(f"/tmp/ray/session_*_{server.pid}"):
        for pid in processes_under(session):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _kill_as_it_goes(
    server: subprocess.Popen[bytes],
    client: TunecostClient,
    job_id: int,
    env: dict[str, str],
    port: int,
    log: Path,
    *,
    kills: int,
    every: int,
) -> subprocess.Popen[bytes]:
    """kill -9 the server ``kills`` times, each once the job's ``trials_done`` (a search's trials,
    a sweep's nodes) has grown by ``every``, restarting it after each; returns the last server."""
    seen = 0
    for _ in range(kills):
        deadline = time.monotonic() + 120
        while client.get(job_id).trials_done < seen + every:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        seen = client.get(job_id).trials_done
        _kill(server)
        server = _start(env, port, log)
    return server


@pytest.mark.slow
def test_three_kills_lose_no_trial_and_count_none_twice(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TUNECOST_DATABASE_URL": database_url,
        "TUNECOST_HOME": str(tmp_path / "home"),
        "TUNECOST_LEASE_SECONDS": "2",  # a killed server's job is reclaimed quickly
        "TUNECOST_POLL_SECONDS": "0.2",
    }
    log = tmp_path / "serve.log"
    client = TunecostClient(f"http://127.0.0.1:{port}")
    server = _start(env, port, log)
    try:
        job = client.submit(
            task="synthetic-bowl",
            optimizer="adam",
            searcher="random",
            budget=BUDGET,
            seed=3,
            recipe={"sleep_s": 0.3},
        )
        server = _kill_as_it_goes(server, client, job.id, env, port, log, kills=3, every=2)
        done = client.wait(job.id, timeout=240, poll=0.5, progress=False)
    finally:
        _kill(server)
    assert done.state == "succeeded", done.error
    assert done.attempts >= 4, "claimed again after each kill"

    rows = db.list_trials(database_url, job.id)
    counted = [r for r in rows if r.number is not None]
    assert [r.number for r in counted] == list(range(1, BUDGET + 1)), "none lost, none counted twice"
    assert len({(r.alpha, r.epsilon) for r in counted}) == BUDGET, "no config trained twice"
    study = optuna.load_study(study_name=done.study_name, storage=database_url)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    answered = [r for r in rows if r.status == "complete"]  # trained and cached answers
    assert len(complete) == len(answered), "every row is a complete study trial, and no other"
    assert sorted((t.user_attrs["alpha"], t.user_attrs["epsilon"], t.value) for t in complete) == sorted(
        (r.alpha, r.epsilon, r.error) for r in answered
    )
    assert not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))


@pytest.mark.slow
def test_a_sweep_killed_twice_trains_each_pair_once_and_ends_with_the_same_landscape(
    database_url: str, tmp_path: Path
) -> None:
    """kill -9 of the server twice during a sweep: each (seed, node) pair is stored once, the
    attempts after a kill train only what was missing, and the landscape's checksum is that of
    an uninterrupted sweep of the same spec."""
    port = free_port()
    env = {
        **os.environ,
        "TUNECOST_DATABASE_URL": database_url,
        "TUNECOST_HOME": str(tmp_path / "home"),
        "TUNECOST_LEASE_SECONDS": "2",
        "TUNECOST_POLL_SECONDS": "0.2",
    }
    log = tmp_path / "serve.log"
    client = TunecostClient(f"http://127.0.0.1:{port}")
    spec = {
        "kind": "sweep",
        "task": "synthetic-bowl",
        "optimizer": "adam",
        "seeds": [0],
        "space": {
            "type": "grid",
            "alphas": [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0],
            "epsilons": [1e-8, 1e-6, 1e-4, 1e-2],
        },
        "recipe": {"sleep_s": 0.4},
        "chunk_size": 1,
    }
    server = _start(env, port, log)
    try:
        job = client.submit(spec)
        server = _kill_as_it_goes(server, client, job.id, env, port, log, kills=2, every=4)
        done = client.wait(job.id, timeout=240, poll=0.5, progress=False)
        whole = client.wait(client.submit(spec).id, timeout=240, poll=0.5, progress=False)
        killed_landscape = httpx.get(f"{client.base_url}/v1/landscapes/{done.landscape_id}").json()
        whole_landscape = httpx.get(f"{client.base_url}/v1/landscapes/{whole.landscape_id}").json()
    finally:
        _kill(server)
    assert done.state == "succeeded", done.error
    assert done.attempts >= 3, "claimed again after each kill"
    assert done.result["resumed"] > 0 and (done.trials_done, done.missing) == (24, 0)
    assert killed_landscape["checksum"] == whole_landscape["checksum"]
    assert killed_landscape["seed_errors"] == whole_landscape["seed_errors"]
    pairs = db.sweep_pairs(database_url, job.id)
    assert sorted((p.seed, p.alpha_index, p.epsilon_index) for p in pairs) == [
        (0, i, j) for i in range(6) for j in range(4)
    ], "each pair stored once"
    per_attempt = sorted({p.attempt for p in pairs})
    assert len(per_attempt) >= 2, "pairs from before a kill were kept, not trained again"
