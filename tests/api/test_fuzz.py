"""Schemathesis fuzzes the live API from its own /openapi.json with every check it has
(`--checks all`): no 5xx, every status and header declared, every response in its schema,
schema-valid requests accepted and invalid ones refused, auth as declared, `Allow` headers
right. The database is seeded first (two paper-grid landscapes, a replay of them, a search), so
the spec's own examples and the links between operations reach real rows. Where a schema cannot
state a rule between fields, `schemathesis.toml` beside this file says which 422s are right.

Bounded: 30 examples per operation, a fixed seed, the API alone (no job runner: a fuzzed job
stays queued). About 20 s per run here; run with auth off and with a token configured.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import LiveServer
from tunecost.search_spaces import PAPER_ALPHAS, PAPER_EPSILONS
from tunecost.service.settings import Settings

CONFIG = Path(__file__).with_name("schemathesis.toml")
TOKEN = "fuzz-s3cret"


def _seed(url: str, headers: dict[str, str]) -> None:
    rng = np.random.default_rng(0)
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for optimizer in ("adam", "avagrad"):  # ids 1 and 2: the replay example's landscapes
            errors = rng.uniform(2.0, 90.0, (21, 21)).round(2).tolist()
            r = client.post(
                "/v1/landscapes",
                json={
                    "task": "digits-mlp",
                    "optimizer": optimizer,
                    "alphas": list(PAPER_ALPHAS),
                    "epsilons": list(PAPER_EPSILONS),
                    "errors": errors,
                },
            )
            assert r.status_code == 201, r.text
        replay = {
            "kind": "replay",
            "landscape_ids": [1, 2],
            "searchers": ["random"],
            "seeds": 4,
            "budget": 20,
        }
        assert client.post("/v1/jobs", json=replay).status_code == 202
        search = {
            "kind": "search",
            "task": "digits-mlp",
            "optimizer": "adam",
            "searcher": "tpe",
            "budget": 12,
        }
        assert client.post("/v1/jobs", json=search).status_code == 202


@pytest.mark.slow
@pytest.mark.parametrize("auth", [False, True], ids=["open", "token"])
def test_the_api_is_what_its_openapi_document_says(settings: Settings, tmp_path: Path, auth: bool) -> None:
    configured = settings.model_copy(update={"api_tokens": [TOKEN] if auth else []})
    headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
    with LiveServer(configured, run_jobs=False) as server:
        _seed(server.url, headers)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--continue-on-failure",
                "--max-examples",
                "30",
                "--seed",
                "1",
                "--request-timeout",
                "30",
                *(["--header", f"Authorization: Bearer {TOKEN}"] if auth else []),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        )
    summary = done.stdout[-3000:]
    assert done.returncode == 0, done.stdout[-12000:]
    assert " passed" in summary and "failed" not in summary.split("Test cases:")[-1], summary
