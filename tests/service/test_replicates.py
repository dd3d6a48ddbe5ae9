"""A replay over training-seed replicates, end to end: admitted (or refused naming the field),
run, stored per replicate, and compared with intervals over the replicates."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tunecost.api.app import create_app
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings

ALPHAS = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
EPSILONS = [1e-8, 1e-6, 1e-4, 1e-2, 1.0]


def _seeded(center: tuple[int, int], seeds: int, rng: np.random.Generator) -> list:
    i, j = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    truth = 3.0 + 1.5 * ((i - center[0]) ** 2 + (j - center[1]) ** 2)
    return [np.clip(truth + rng.normal(0, 0.5, truth.shape), 0, 100).round(3).tolist() for _ in range(seeds)]


@pytest.fixture
def landscapes(settings: Settings) -> dict[str, int]:
    rng = np.random.default_rng(0)
    out = {}
    with TestClient(create_app(settings, run_jobs=False)) as client:
        for optimizer, center, seeds, task in (
            ("adam", (2, 1), 5, "digits-mlp"),
            ("avagrad", (3, 3), 5, "digits-mlp"),
            ("sgd3", (3, 3), 3, "digits-mlp"),
            ("bowl", (3, 3), 5, "synthetic-bowl"),
        ):
            r = client.post(
                "/v1/landscapes",
                json={
                    "task": task,
                    "optimizer": optimizer,
                    "alphas": ALPHAS,
                    "epsilons": EPSILONS,
                    "errors": _seeded(center, seeds, rng),
                },
            )
            assert r.status_code == 201, r.json()
            out[optimizer] = r.json()["id"]
    return out


@pytest.mark.slow  # a replay job: Ray
@pytest.mark.usefixtures("ray_session")
def test_a_replay_over_replicates_runs_each_replay_seed_on_one_training_seed(
    settings: Settings, landscapes: dict[str, int]
) -> None:
    replay = {
        "kind": "replay",
        "landscape_ids": [landscapes["adam"], landscapes["avagrad"]],
        "searchers": ["random", "cgld"],
        "seeds": 20,
        "budget": 15,
        "replicates": 5,
        "target": 4.0,
    }
    with TestClient(create_app(settings, run_jobs=False)) as client:
        job = client.post("/v1/jobs", json=replay)
        assert job.status_code == 202, job.json()
        JobRunner(settings).run_once()
        comparison = client.get("/v1/comparisons", params={"job_id": job.json()["id"]}).json()
    assert comparison["replicates"] == 5 and comparison["target"] == 4.0
    shared = [v for v in comparison["shared"] if v["family"] == "headline"]
    assert len(shared) == 1 and shared[0]["target"] == 4.0 and "to the target 4:" in shared[0]["text"]
    head = next(v for v in comparison["verdicts"] if v["family"] == "headline" and v["delta"] == 1.0)
    assert head["ci"][0] is not None and head["ci"][0] < head["ratio"] < head["ci"][1]
    # an interval over 5 replicates (t with 4 df) is wider than one over 20 replay seeds would be
    from tunecost.service.db import session_scope
    from tunecost.service.models import ReplayRun

    with session_scope(settings.resolved_database_url) as session:
        stored = {(r.seed, r.replicate) for r in session.query(ReplayRun).filter_by(searcher="random")}
    assert {replicate for _, replicate in stored} == {0, 1, 2, 3, 4}
    assert all(replicate == seed % 5 for seed, replicate in stored)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"replicates": 1}, "greater than or equal to 2"),
        ({"replicates": 21}, "less than or equal to 20"),
        ({"replicates": 5, "seeds": 8}, "5 replicates need at least 10 seeds"),
        ({"replicates": 5, "with": "sgd3"}, "has 3 training seed(s); 5 replicates need as many"),
        ({"replicates": 2, "with": "bowl"}, "(synthetic-bowl) has no training noise"),
        ({"target": 0.5}, "is below every score the landscapes hold"),
        ({"target": 4.0, "with": "bowl+adam"}, "an absolute target is one task's"),
    ],
)
def test_replicates_the_landscapes_cannot_give_are_refused_naming_the_field(
    settings: Settings, landscapes: dict[str, int], change: dict, says: str
) -> None:
    change = dict(change)  # the parameter is shared by every backend's run
    with_ = change.pop("with", "avagrad")
    ids = {"bowl": [landscapes["bowl"]], "bowl+adam": [landscapes["adam"], landscapes["bowl"]]}.get(
        with_, [landscapes["adam"], landscapes.get(with_, 0)]
    )
    body = {
        "kind": "replay",
        "landscape_ids": ids,
        "searchers": ["random"],
        "seeds": 20,
        "budget": 10,
        **change,
    }
    with TestClient(create_app(settings, run_jobs=False)) as client:
        r = client.post("/v1/jobs", json=body)
        assert r.status_code == 422, r.json()
        assert r.json()["detail"][0]["loc"][-1] in ("replicates", "seeds", "target") and says in r.text, (
            r.json()
        )
        assert client.get("/v1/jobs").json()["count"] == 0  # nothing written
