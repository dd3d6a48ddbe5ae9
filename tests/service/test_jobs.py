from __future__ import annotations

import pytest

from tests import db as jobs
from tunecost.service.errors import Conflict, NotFound
from tunecost.service.kinds.search import SearchSpec
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings
from tunecost.service.states import JobState


def spec(**overrides: object) -> SearchSpec:
    fields = {"task": "synthetic-bowl", "optimizer": "adam", "searcher": "random", "budget": 5}
    fields.update(overrides)
    return SearchSpec.model_validate(fields)


def test_create_list_filter_and_page(database_url: str) -> None:
    ids = [jobs.create_job(database_url, spec(optimizer=o)).id for o in ("adam", "adamw", "adam")]
    listing, count = jobs.list_jobs(database_url)
    assert count == 3 and [j.id for j in listing] == ids[::-1]  # newest first
    adam, count = jobs.list_jobs(database_url, optimizer="adam")
    assert count == 2 and {j.id for j in adam} == {ids[0], ids[2]}
    page, count = jobs.list_jobs(database_url, offset=1, limit=1)
    assert count == 3 and [j.id for j in page] == [ids[1]]
    assert jobs.get_job(database_url, ids[0]).study_name.startswith(f"tunecost-job-{ids[0]} (search, ")


def test_unknown_job_is_not_found(database_url: str) -> None:
    with pytest.raises(NotFound, match="Job not found"):
        jobs.get_job(database_url, 12345)
    with pytest.raises(NotFound, match="Job not found"):
        jobs.cancel_job(database_url, 12345)


def test_cancel_queued_then_again_conflicts(database_url: str) -> None:
    job = jobs.create_job(database_url, spec())
    assert jobs.cancel_job(database_url, job.id).state == JobState.CANCELLED
    with pytest.raises(Conflict, match="Job already cancelled"):
        jobs.cancel_job(database_url, job.id)


def test_two_runners_never_claim_the_same_job(settings: Settings) -> None:
    url = settings.resolved_database_url
    first = jobs.create_job(url, spec()).id
    a, b = JobRunner(settings, runner_id="a"), JobRunner(settings, runner_id="b")
    claimed_a = a.claim_next()
    claimed_b = b.claim_next()
    assert claimed_a is not None and claimed_a.id == first
    assert claimed_b is None, "the only job is leased to runner a"
    second = jobs.create_job(url, spec()).id
    claimed_b = b.claim_next()
    assert claimed_b is not None and claimed_b.id == second and claimed_b.runner_id == "b"


def test_stale_lease_is_reclaimed(settings: Settings) -> None:
    url = settings.resolved_database_url
    job_id = jobs.create_job(url, spec()).id
    dead = JobRunner(settings.model_copy(update={"lease_seconds": 0.01}), runner_id="dead")
    alive = JobRunner(settings.model_copy(update={"lease_seconds": 0.01}), runner_id="alive")
    assert dead.claim_next() is not None
    import time

    time.sleep(0.05)  # the dead runner's heartbeat goes stale
    reclaimed = alive.claim_next()
    assert reclaimed is not None and reclaimed.id == job_id and reclaimed.attempts == 2
    from tunecost.service.runner import LeaseLost

    with pytest.raises(LeaseLost):
        dead.heartbeat(job_id)


def test_fresh_lease_is_not_reclaimed(settings: Settings) -> None:
    url = settings.resolved_database_url
    jobs.create_job(url, spec())
    assert JobRunner(settings, runner_id="a").claim_next() is not None
    assert JobRunner(settings, runner_id="b").claim_next() is None


def test_concurrent_runners_claim_each_job_exactly_once(settings: Settings) -> None:
    import threading

    url = settings.resolved_database_url
    ids = {jobs.create_job(url, spec()).id for _ in range(24)}
    claimed: list[int] = []
    lock = threading.Lock()

    def runner(name: str) -> None:
        me = JobRunner(settings, runner_id=name)
        while (job := me.claim_next()) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=runner, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids), "every job claimed once, none twice"
