"""Schemathesis fuzzes the live API from its own /openapi.json: no request may answer 5xx.

Bounded: 30 examples per operation, a fixed seed, the API alone (no job runner: a fuzzed job
stays queued). About 20 s per backend here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.settings import Settings
from tests.conftest import LiveServer


@pytest.mark.slow
def test_no_request_is_answered_with_a_server_error(settings: Settings, tmp_path: object) -> None:
    with LiveServer(settings, run_jobs=False) as server:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "30",
                "--seed",
                "1",
                "--request-timeout",
                "30",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        )
    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    assert " passed" in summary and "failed" not in summary.split("Test cases:")[-1], summary
