"""SIGTERM stops `tunecost serve` cleanly: the job in hand goes back to the queue with its finished
trials, no stack dump is printed, and no process of its local Ray instance is left behind."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tunecost.api.client import TunecostClient
from tunecost.service.ray_session import processes_under

BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_sigterm_hands_the_job_back_and_leaves_nothing_running(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TUNECOST_HOME": str(tmp_path / "home"), "TUNECOST_POLL_SECONDS": "0.2"}
    env.pop("TUNECOST_DATABASE_URL", None)
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        serve = subprocess.Popen(
            [BIN / "tunecost", "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        client = TunecostClient(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                client.health()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and serve.poll() is None, log.read_text()[-2000:]
                time.sleep(0.3)
        job = client.submit(
            task="synthetic-bowl", optimizer="adam", searcher="random", budget=60, recipe={"sleep_s": 0.3}
        )
        while client.get(job.id).trials_done < 2:
            assert time.monotonic() < deadline + 60, log.read_text()[-2000:]
            time.sleep(0.3)
        serve.send_signal(signal.SIGTERM)
        # uvicorn re-raises the SIGTERM it handled once its shutdown is complete: exit by SIGTERM
        assert serve.wait(timeout=60) in (0, -signal.SIGTERM), log.read_text()[-2000:]
    finally:
        if serve.poll() is None:
            serve.kill()
    text = log.read_text()
    assert "SIGTERM received" not in text and "Traceback" not in text, text[-2000:]
    assert "handed back to the queue" in text and "Application shutdown complete" in text
    sessions = glob.glob(f"/tmp/ray/session_*_{serve.pid}")
    assert sessions, "the server started a local Ray instance"
    deadline = time.monotonic() + 40  # the reaper waits for the server, then ends what is left
    while any(processes_under(s) for s in sessions):
        assert time.monotonic() < deadline, [processes_under(s) for s in sessions]
        time.sleep(1)

    from tunecost.service.db import session_scope
    from tunecost.service.models import Job, Trial

    url = f"sqlite:///{(tmp_path / 'home' / 'tunecost.db')}"
    with session_scope(url) as session:
        row = session.get(Job, job.id)
        kept = session.query(Trial).filter(Trial.job_id == job.id, Trial.number.is_not(None)).count()
    assert row.state == "queued" and row.runner_id is None, "back in the queue, for the next runner to resume"
    assert kept >= 2, "its finished trials are kept"
