"""The job-kind contract: a kind is one module plus one registration, and runs end to end."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tests import db
from tunecost.api.app import create_app
from tunecost.service import kinds
from tunecost.service.errors import InvalidField
from tunecost.service.kinds import JobKind, Limits, Outcome, RunContext
from tunecost.service.models import Job
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings
from tunecost.service.states import JobState


class CountSpec(BaseModel):
    """A test-only kind: counts to ``upto``, reporting progress; fails on request."""

    kind: Literal["count"]
    upto: int = Field(ge=1, le=1000)
    fail: bool = False


class CountResult(BaseModel):
    counted: int
    attempt: int


class CountKind(JobKind[CountSpec, CountResult]):
    name = "count"
    spec_model = CountSpec
    result_model = CountResult

    def admit(self, session: Session, job: Job, spec: CountSpec, limits: Limits) -> None:
        if spec.upto == 13:
            raise InvalidField("upto", "13 is unlucky")
        job.task = "counting"

    def total(self, spec: CountSpec) -> int:
        return spec.upto

    def run(self, ctx: RunContext, spec: CountSpec) -> CountResult:
        for i in range(1, spec.upto + 1):
            ctx.progress(i, spec.upto)
        return CountResult(counted=spec.upto, attempt=ctx.attempt)

    def finish(self, ctx: RunContext, spec: CountSpec, result: CountResult) -> tuple[CountResult, Outcome]:
        if spec.fail:
            return result, Outcome(JobState.FAILED, "asked to fail")
        return result, Outcome(JobState.SUCCEEDED)


@pytest.fixture
def count_kind() -> Iterator[CountKind]:
    kind = kinds.register(CountKind())
    yield kind
    kinds.unregister("count")


def test_a_registered_kind_runs_end_to_end_through_the_api_and_the_runner(
    settings: Settings, count_kind: CountKind, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tunecost.service.runner")
    progress: list[tuple[int, int, int | None]] = []
    with TestClient(create_app(settings)) as client:
        r = client.post("/v1/jobs", json={"kind": "count", "upto": 5})
        assert r.status_code == 202, r.json()
        job_id = r.json()["id"]
        assert r.json()["kind"] == "count" and r.json()["task"] == "counting"

        runner = JobRunner(settings, on_progress=lambda *event: progress.append(event))
        assert runner.run_once() == job_id
        body = client.get(f"/v1/jobs/{job_id}").json()
        assert body["state"] == "succeeded" and body["result"] == {"counted": 5, "attempt": 1}
        assert progress[-1] == (job_id, 5, 5)
        said = [r.getMessage() for r in caplog.records if r.name == "tunecost.service.runner"]
        # the server's log tells each job's story, one line per transition
        assert any(
            m.startswith(f"job {job_id} count counting: claimed by ") and "(attempt 1)" in m for m in said
        )
        assert f"job {job_id}: 5 of 5 done" in said
        assert any(m.startswith(f"job {job_id} count counting: succeeded after ") for m in said), said

        bad = client.post("/v1/jobs", json={"kind": "count", "upto": 0})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "upto"]
        unlucky = client.post("/v1/jobs", json={"kind": "count", "upto": 13})
        assert unlucky.status_code == 422 and unlucky.json()["detail"][0]["loc"] == ["body", "upto"]
        assert client.get("/v1/jobs").json()["count"] == 1, "a refused job leaves no row"

        failing = client.post("/v1/jobs", json={"kind": "count", "upto": 2, "fail": True}).json()["id"]
        runner.run_once()
        body = client.get(f"/v1/jobs/{failing}").json()
        assert (body["state"], body["error"]) == ("failed", "asked to fail")

        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert "CountSpec" in schema, "the kind's spec is documented with the others"


def test_an_unknown_kind_is_a_422_naming_the_tag(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        r = client.post("/v1/jobs", json={"kind": "count", "upto": 5})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"] and "count" in r.json()["detail"][0]["msg"]


def test_a_kind_that_raises_fails_its_job_with_the_reason(settings: Settings, count_kind: CountKind) -> None:
    url = settings.resolved_database_url
    job = db.create_job(url, CountSpec(kind="count", upto=3))

    def broken(ctx: RunContext, spec: CountSpec) -> CountResult:
        raise RuntimeError("the counter broke")

    count_kind.run = broken  # type: ignore[method-assign]
    JobRunner(settings).run_once()
    done = db.get_job(url, job.id)
    assert done.state == JobState.FAILED and done.error == "RuntimeError: the counter broke"


@pytest.mark.parametrize("name", ["search", "sweep", "replay"])
def test_builtin_specs_survive_their_stored_json(name: str) -> None:
    """A spec is validated once; its stored JSON validates back to the same typed spec."""
    kind = kinds.get(name)
    example = kind.spec_model.model_json_schema()["examples"][0]
    spec = kind.parse_spec(example)
    assert kind.parse_spec(spec.model_dump(mode="json")) == spec


def test_registering_a_name_twice_is_refused(count_kind: CountKind) -> None:
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(CountKind())
    with pytest.raises(ValueError, match="built in"):
        kinds.unregister("search")


def test_replay_chunks_hold_about_equal_cost_and_every_seed_once_costliest_first() -> None:
    from tunecost.search_spaces import SEARCHERS
    from tunecost.service.kinds.replay import CHUNKS_PER_CPU, balanced_chunks

    seeds = list(range(40))
    work = [(1, searcher, "board", seeds, None) for searcher in ("random", "tpe", "gld", "cgld")]
    chunks = balanced_chunks(work, cpus=2)
    for searcher in ("random", "tpe", "gld", "cgld"):  # every run once
        assert sorted(s for _, name, _, mine, _ in chunks if name == searcher for s in mine) == seeds
    cost = [SEARCHERS[name].cost_ms * len(mine) for _, name, _, mine, _ in chunks]
    assert cost == sorted(cost, reverse=True), "costliest first: the longest-processing-time rule"
    per_tpe_chunk = max(len(mine) for _, name, _, mine, _ in chunks if name == "tpe")
    assert per_tpe_chunk < 40 and max(len(m) for _, n, _, m, _ in chunks if n == "random") == 40
    target = sum(SEARCHERS[n].cost_ms for n in ("random", "tpe", "gld", "cgld")) * 40 / (2 * CHUNKS_PER_CPU)
    assert max(cost) < 1.5 * target, "no chunk far above an equal share"
    # one costly searcher over many CPUs: cut fine enough that every CPU gets work
    assert len(balanced_chunks([(1, "tpe", "board", seeds, None)], cpus=8)) >= 8
