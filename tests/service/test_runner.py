"""The job runner drives real Ray Tune experiments (on the synthetic task: no training)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import optuna
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests import db as jobs
from tunecost.api.app import create_app
from tunecost.service.db import session_scope
from tunecost.service.kinds.search import SearchSpec
from tunecost.service.models import Job, utcnow
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings
from tunecost.service.states import JobState

pytestmark = pytest.mark.usefixtures("ray_session")


def submit(url: str, **overrides: object) -> int:
    fields = {"task": "synthetic-bowl", "optimizer": "adam", "searcher": "tpe", "budget": 8, "seed": 0}
    fields.update(overrides)
    return jobs.create_job(url, SearchSpec.model_validate(fields)).id


def run(settings: Settings) -> None:
    assert JobRunner(settings).run_once() is not None


def died_mid_job(url: str, job_id: int, *, budget: int) -> None:
    """As a runner that died holding the job: still running, heartbeat stale; a larger budget
    leaves work for the next runner."""
    with session_scope(url) as session:
        job = session.get(Job, job_id)
        job.spec = {**job.spec, "budget": budget}
        job.state, job.heartbeat_at, job.runner_id = JobState.RUNNING, utcnow() - timedelta(hours=1), "dead"


def test_search_job_records_curve_and_optuna_study(settings: Settings) -> None:
    url = settings.resolved_database_url
    job_id = submit(url, reference_error=1.5, budget=10)
    run(settings)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.SUCCEEDED, job.error
    curve = jobs.curve(url, job_id)
    assert [p.number for p in curve] == list(range(1, 11))
    assert len({(p.alpha, p.epsilon) for p in curve}) == 10, "trials are distinct configs"
    for prev, cur in zip(curve, curve[1:], strict=False):
        assert cur.best_so_far <= prev.best_so_far
    for p in curve:
        assert p.best_so_far == min(q.error for q in curve if q.number <= p.number)
        assert p.suboptimality == pytest.approx(p.best_so_far - 1.5)
    assert job.result["best"]["error"] == min(p.error for p in curve)

    study = optuna.load_study(study_name=job.study_name, storage=url)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    cached = [t for t in jobs.list_trials(url, job_id) if t.cached]
    assert len(complete) == 10 + len(cached)
    assert study.best_value == job.result["best"]["error"]
    assert study.best_trial.user_attrs["alpha"] == job.result["best"]["alpha"]


def test_diverged_trials_are_recorded_and_the_job_goes_on(settings: Settings) -> None:
    url = settings.resolved_database_url
    # alpha = 5000 diverges on the synthetic task; alpha = 0.01 is its optimum
    job_id = submit(
        url,
        searcher="random",
        budget=4,
        space={"type": "grid", "alphas": [0.01, 5000.0], "epsilons": [1e-8, 1e-6]},
    )
    run(settings)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.SUCCEEDED
    curve = jobs.curve(url, job_id)
    diverged = [p for p in curve if p.alpha == 5000.0]
    assert len(diverged) == 2 and all(p.diverged and p.error == 90.0 for p in diverged)
    assert all(not p.diverged for p in curve if p.alpha == 0.01)
    assert job.result["diverged"] == 2


def test_a_raising_trial_fails_alone(settings: Settings) -> None:
    url = settings.resolved_database_url
    job_id = submit(
        url,
        searcher="random",
        budget=4,
        max_failures=0,
        space={"type": "grid", "alphas": [0.001, 0.01, 0.1, 1.0], "epsilons": [1e-8]},
        recipe={"fail_alpha_above": 0.05},
    )
    run(settings)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.SUCCEEDED, job.error
    rows = jobs.list_trials(url, job_id)
    failed = [r for r in rows if r.status == "failed" and not r.cached]
    assert {r.alpha for r in failed} == {0.1, 1.0}, "each failing config is tried once (no retries)"
    assert all("injected failure" in (r.message or "") for r in failed)
    refused = [r for r in rows if r.status == "failed" and r.cached]
    assert all(r.alpha in (0.1, 1.0) and r.number is None for r in refused), "re-proposals are not retrained"
    assert sorted(r.alpha for r in jobs.curve(url, job_id)) == [0.001, 0.01], (
        "the job went on past the failures"
    )


def test_job_whose_every_trial_fails_is_failed_with_the_reason(settings: Settings) -> None:
    url = settings.resolved_database_url
    job_id = submit(url, searcher="random", budget=2, max_failures=0, recipe={"fail_alpha_above": 0.0})
    run(settings)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.FAILED
    assert "injected failure" in (job.error or "")


def test_reproposals_are_answered_from_the_cache(settings: Settings) -> None:
    url = settings.resolved_database_url
    # random search on a 3-node grid re-proposes known configs long before it finds all three
    job_id = submit(
        url,
        searcher="random",
        budget=3,
        space={"type": "grid", "alphas": [0.001, 0.01, 0.1], "epsilons": [1e-8]},
    )
    run(settings)
    rows = jobs.list_trials(url, job_id)
    counted = [r for r in rows if r.number is not None]
    cached = [r for r in rows if r.cached]
    assert sorted(r.alpha for r in counted) == [0.001, 0.01, 0.1]
    assert cached, "seed 0 re-proposes at least once on three nodes"
    first_error = {r.alpha: r.error for r in counted}
    for r in cached:
        assert r.number is None and r.error == first_error[r.alpha]
        assert any(c.position < r.position and c.alpha == r.alpha for c in counted)


def test_restart_resumes_without_losing_or_retraining_finished_trials(settings: Settings) -> None:
    url = settings.resolved_database_url
    job_id = submit(url, budget=5)
    run(settings)
    before = {(r.id, r.alpha, r.epsilon, r.error) for r in jobs.curve(url, job_id)}
    # Simulate a runner that died after 5 of 8 trials: still "running", heartbeat stale.
    died_mid_job(url, job_id, budget=8)
    run(settings)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.SUCCEEDED and job.attempts == 2
    curve = jobs.curve(url, job_id)
    assert [p.number for p in curve] == list(range(1, 9))
    assert before <= {(r.id, r.alpha, r.epsilon, r.error) for r in curve}, "finished trials kept as they were"
    assert len({(p.alpha, p.epsilon) for p in curve}) == 8, "no finished config trained twice"
    assert job.result["resumed_from"] == 5


def test_cancel_stops_a_running_job(settings: Settings) -> None:
    url = settings.resolved_database_url
    job_id = submit(url, budget=60, recipe={"sleep_s": 0.3})
    runner = JobRunner(settings.model_copy(update={"lease_seconds": 1.0}))
    thread = threading.Thread(target=runner.run_once)
    thread.start()
    deadline = time.monotonic() + 60
    while not jobs.curve(url, job_id):
        assert time.monotonic() < deadline, "no trial finished"
        time.sleep(0.1)
    assert jobs.cancel_job(url, job_id).cancel_requested
    thread.join(timeout=60)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.CANCELLED
    assert 0 < len(jobs.curve(url, job_id)) < 60


def test_without_reference_error_suboptimality_is_against_the_best_known(settings: Settings) -> None:
    url = settings.resolved_database_url
    first = submit(url, budget=4, seed=1)
    run(settings)
    second = submit(url, budget=4, seed=2)
    run(settings)
    best_known = min(p.error for j in (first, second) for p in jobs.curve(url, j))
    job = jobs.get_job(url, second)
    assert job.reference_source == "best-known" and job.reference_error == pytest.approx(best_known)
    alone = jobs.get_job(url, first)  # nothing else was run: relative to its own best, and it says so
    assert alone.reference_source == "own best"
    with TestClient(create_app(settings, run_jobs=False)) as client:
        shown = client.get(f"/v1/jobs/{first}").json()
    assert any("own best" in w and "by construction" in w for w in shown["warnings"]), shown["warnings"]
    for p in jobs.curve(url, second):
        assert p.suboptimality == pytest.approx(p.best_so_far - best_known)


def test_best_known_error_counts_the_landscapes_of_the_same_recipe(settings: Settings) -> None:
    """e* is the lowest score any run reached: a sweep's node counts as much as a search trial."""
    from tunecost.service.kinds.sweep import SweepSpec

    url = settings.resolved_database_url
    sweep = SweepSpec.model_validate(
        {
            "kind": "sweep",
            "task": "synthetic-bowl",
            "optimizer": "adam",
            "space": {"type": "grid", "alphas": [0.01, 1.0], "epsilons": [1e-6, 1e-2]},
        }
    )
    sweep_id = jobs.create_job(url, sweep).id
    run(settings)  # the sweep reaches 2.0 at (0.01, 1e-6), the optimum
    with TestClient(create_app(settings, run_jobs=False)) as client:
        shown = client.get(f"/v1/jobs/{sweep_id}").json()
    assert shown["state"] == "succeeded" and shown["trials_done"] == 4  # its nodes, as its result says
    assert shown["best"] == {
        "alpha": 0.01,
        "epsilon": 1e-6,
        "error": 2.0,
        "trial": None,
        "optuna_trial": None,
    }
    other_recipe = SweepSpec.model_validate({**sweep.model_dump(), "recipe": {"optimum_alpha": 1.0}})
    jobs.create_job(url, other_recipe)
    run(settings)  # reaches a lower score, but on another recipe: not the same e*
    search = submit(url, budget=2, space={"type": "grid", "alphas": [1.0, 1e-4], "epsilons": [1e-6, 1e-2]})
    run(settings)
    job = jobs.get_job(url, search)
    assert job.reference_source == "best-known" and job.reference_error == pytest.approx(2.0)
    assert job.result["reference_error"] == pytest.approx(2.0)
    curve = jobs.curve(url, search)
    assert min(p.error for p in curve) > 2.0
    for p in curve:
        assert p.suboptimality == pytest.approx(p.best_so_far - 2.0) and p.suboptimality > 0


def test_a_landscape_s_fresh_seed_reference_is_the_e_star_of_later_searches(settings: Settings) -> None:
    """One e* everywhere: a search of a (task, optimizer, recipe) with a landscape measured on
    fresh seeds takes that landscape's reference, as its replays do."""
    from tunecost.service.kinds.sweep import SweepSpec

    url = settings.resolved_database_url
    space = {"type": "grid", "alphas": [0.01, 1.0], "epsilons": [1e-6, 1e-2]}
    sweep = SweepSpec.model_validate(
        {
            "kind": "sweep",
            "task": "synthetic-bowl",
            "optimizer": "adam",
            "space": space,
            "reference": {"seeds": [7, 8]},
        }
    )
    sweep_id = jobs.create_job(url, sweep).id
    run(settings)
    landscape_id = jobs.get_job(url, sweep_id).result["landscape_id"]
    with TestClient(create_app(settings, run_jobs=False)) as client:
        reference = client.get(f"/v1/landscapes/{landscape_id}").json()["reference"]
        best = client.get("/v1/best-configs", params={"task": "synthetic-bowl", "optimizer": "adam"}).json()
        other = client.get(
            "/v1/best-configs",
            params={"task": "synthetic-bowl", "optimizer": "adam", "recipe_hash": "0" * 16},
        )
    assert reference["seeds"] == [7, 8] and (reference["alpha"], reference["epsilon"]) == (0.01, 1e-6)
    # best-configs reads the landscape: its fresh-seed best, for the default recipe (said so)
    assert (best["source"], best["landscape_id"], best["fresh"], best["seeds"]) == (
        "landscape",
        landscape_id,
        True,
        [7, 8],
    )
    assert (best["alpha"], best["epsilon"], best["default_recipe"]) == (0.01, 1e-6, True)
    assert best["on_grid_edge"] is True  # a 2 x 2 grid is all edge: widen it to find the optimum
    assert best["recipe_hash"] == sweep.recipe_hash
    assert other.status_code == 404  # another recipe: nothing measured
    assert reference["error"] == pytest.approx(2.0) and len(reference["errors"]) == 2
    search = submit(url, budget=2, space={"type": "grid", "alphas": [1.0, 1e-4], "epsilons": [1e-6, 1e-2]})
    run(settings)
    job = jobs.get_job(url, search)
    assert job.reference_source == "landscape" and job.reference_error == pytest.approx(reference["error"])


def test_a_failed_sweep_says_what_raised_in_one_line_and_which_config(settings: Settings) -> None:
    """Not Ray's traceback (colour codes, worker paths, an IP address): the user's exception and
    the config it raised at; the traceback is in the server log."""
    from tunecost.service.kinds.sweep import SweepSpec

    url = settings.resolved_database_url
    spec = {
        "kind": "sweep",
        "task": "synthetic-bowl",
        "optimizer": "adam",
        "space": {"type": "grid", "alphas": [0.01, 5.0], "epsilons": [1e-6]},
        "recipe": {"fail_alpha_above": 1.0},
    }
    job_id = jobs.create_job(url, SweepSpec.model_validate(spec)).id
    run(settings)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.FAILED
    assert job.error == (
        "RuntimeError: injected failure at alpha=5 (adam on synthetic-bowl, seed 0, alpha=5, epsilon=1e-06)"
    )


def test_one_point_grid_trains_exactly_that_config(settings: Settings) -> None:
    url = settings.resolved_database_url
    job_id = submit(url, budget=1, space={"type": "grid", "alphas": [0.02], "epsilons": [3e-7]})
    run(settings)
    (point,) = jobs.curve(url, job_id)
    assert (point.alpha, point.epsilon) == (0.02, 3e-7)
    from tunecost.workers.trainer import train_one

    assert point.error == train_one("synthetic-bowl", "adam", 0.02, 3e-7).error


def test_queued_jobs_run_in_order_and_stale_state_is_not_touched(settings: Settings) -> None:
    url = settings.resolved_database_url
    a, b = submit(url, budget=2), submit(url, budget=2)
    with session_scope(url) as session:
        session.execute(update(Job).where(Job.id == b).values(state=JobState.CANCELLED))
    runner = JobRunner(settings)
    assert runner.run_once() == a
    assert runner.run_once() is None
    assert jobs.get_job(url, b).state == JobState.CANCELLED


@pytest.mark.parametrize("searcher", ["grid", "random", "tpe", "cmaes", "gld", "cgld"])
def test_every_searcher_runs_a_job(settings: Settings, searcher: str) -> None:
    url = settings.resolved_database_url
    options = {"start": "default"} if searcher in ("gld", "cgld") else {}
    job_id = submit(url, searcher=searcher, budget=6, searcher_options=options)
    run(settings)
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.SUCCEEDED, job.error
    curve = jobs.curve(url, job_id)
    assert len({(p.alpha, p.epsilon) for p in curve}) == 6
    if searcher in ("gld", "cgld"):  # starts at Adam's library defaults
        assert (curve[0].alpha, curve[0].epsilon) == (1e-3, 1e-8)


@pytest.mark.parametrize("resources", [{"cpu": 1000}, {"cpu": 1, "gpu": 1}])
def test_a_job_no_node_can_place_fails_at_once_and_blocks_nothing(
    settings: Settings, resources: dict
) -> None:
    url = settings.resolved_database_url
    stuck = submit(url, resources=resources)
    after = submit(url, budget=2)
    runner = JobRunner(settings)
    assert runner.run_once() == stuck
    job = jobs.get_job(url, stuck)
    assert job.state == JobState.FAILED and "no node of the Ray cluster has" in job.error
    assert "the largest has 2 CPU, 0 GPU" in job.error
    assert runner.run_once() == after and jobs.get_job(url, after).state == JobState.SUCCEEDED


def test_a_crash_between_a_row_and_the_study_is_settled_on_resume(settings: Settings) -> None:
    """Rows are written before the study is told; a kill in between leaves a RUNNING study trial
    whose config has a row. The resumed job completes it from the row and trains no config twice."""
    url = settings.resolved_database_url
    job_id = submit(url, budget=3)
    run(settings)
    study = optuna.load_study(study_name=jobs.get_job(url, job_id).study_name, storage=url)
    last = jobs.curve(url, job_id)[-1]
    left = study.ask()  # what the crash leaves: told nothing, but its row exists
    left.set_user_attr("alpha", last.alpha)
    left.set_user_attr("epsilon", last.epsilon)
    died_mid_job(url, job_id, budget=5)
    run(settings)
    assert jobs.get_job(url, job_id).state == JobState.SUCCEEDED
    settled = study.get_trials(deepcopy=False)[left.number]
    assert settled.state == optuna.trial.TrialState.COMPLETE and settled.value == last.error
    curve = jobs.curve(url, job_id)
    assert [p.number for p in curve] == [1, 2, 3, 4, 5]
    assert len({(p.alpha, p.epsilon) for p in curve}) == 5, "no config trained twice"
    rows = jobs.list_trials(url, job_id)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == len(rows) + 1, "the study holds every row, and the settled trial"


def test_a_failed_trial_uses_its_budget_slot_on_resume_too(settings: Settings) -> None:
    url = settings.resolved_database_url
    space = {"type": "grid", "alphas": [0.001, 0.01, 0.1, 1.0], "epsilons": [1e-8]}
    job_id = submit(
        url, searcher="grid", budget=2, max_failures=0, space=space, recipe={"fail_alpha_above": 0.05}
    )
    run(settings)
    first = jobs.list_trials(url, job_id)
    died_mid_job(url, job_id, budget=3)
    run(settings)
    rows = jobs.list_trials(url, job_id)
    used = [r for r in rows if r.number is not None or (r.status == "failed" and not r.cached)]
    assert len(used) == 3, f"one slot more after the resume, whatever failed before: {first} -> {rows}"


def test_a_sweep_handed_back_mid_way_trains_only_the_pairs_it_lacks(settings: Settings) -> None:
    """A real (fused) sweep stopped after some chunks, as on SIGTERM: claimed again, it trains
    only the (seed, node) pairs not stored, and its landscape equals an uninterrupted sweep's,
    checksum included. While it runs, its GET says how many nodes are missing."""
    from tunecost.service.kinds.sweep import SweepSpec
    from tunecost.service.landscapes import detail
    from tunecost.service.models import SweepPair

    url = settings.resolved_database_url
    spec = SweepSpec.model_validate(
        {
            "kind": "sweep",
            "task": "digits-mlp",
            "optimizer": "adam",
            "seeds": [0, 1],
            "space": {"type": "grid", "alphas": [1e-3, 1e-2, 1e-1], "epsilons": [1e-8, 1e-3]},
            "recipe": {"epochs": 2},
            "chunk_size": 1,
        }
    )
    grid_pairs = 3 * 2 * 2
    job_id = jobs.create_job(url, spec).id
    runner = JobRunner(settings, on_progress=lambda _job, done, _total: done >= 3 and runner.stop_current())
    runner.run_once()  # handed back to the queue after its first chunks: nothing is lost
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.QUEUED and job.attempts == 1
    with session_scope(url) as session:
        first = session.query(SweepPair).filter_by(job_id=job_id).count()
    assert 3 <= first < grid_pairs
    with TestClient(create_app(settings, run_jobs=False)) as client:
        shown = client.get(f"/v1/jobs/{job_id}").json()
    complete = shown["trials_done"]  # nodes with both seeds stored
    assert shown["missing"] == 6 - complete and shown["missing"] > 0

    counted: list[int] = []
    JobRunner(settings, on_progress=lambda _job, done, _total: counted.append(done)).run_once()
    job = jobs.get_job(url, job_id)
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.result["resumed"] == first
    assert counted[-1] == grid_pairs and counted[0] == first + 1, "it trained the rest, one chunk at a time"
    assert len(counted) == grid_pairs - first, "each missing pair once, none stored twice"
    with session_scope(url) as session:
        assert session.query(SweepPair).filter_by(job_id=job_id).count() == grid_pairs
        resumed = detail(session, job.result["landscape_id"], curves=True)

    again = jobs.create_job(url, spec).id
    run(settings)
    with session_scope(url) as session:
        whole = detail(session, jobs.get_job(url, again).result["landscape_id"], curves=True)
    assert resumed.checksum == whole.checksum
    assert resumed.seed_errors == whole.seed_errors and resumed.curves == whole.curves
    with TestClient(create_app(settings, run_jobs=False)) as client:
        shown = client.get(f"/v1/jobs/{job_id}").json()
    assert (shown["trials_done"], shown["missing"]) == (6, 0)
    assert shown["best"]["error"] == min(e for row in whole.errors for e in row if e is not None)


def test_a_successive_halving_sweep_equals_its_derivation_from_the_full_sweep(settings: Settings) -> None:
    """Bit for bit: a real successive-halving sweep stores, at every node, the rung it reached
    and the first epochs of the full sweep's curves there (service.analysis.fidelity.derive), and trains
    the share of the epochs the derivation says."""
    from sqlalchemy import select

    from tunecost.service.analysis.fidelity import Fidelity, derive
    from tunecost.service.kinds.sweep import SweepSpec
    from tunecost.service.landscapes import detail
    from tunecost.service.models import LandscapePoint, ReplayRun

    url = settings.resolved_database_url
    base = {
        "kind": "sweep",
        "task": "digits-mlp",
        "optimizer": "adam",
        "seeds": [0, 1],
        "space": {"type": "grid", "alphas": [1e-4, 1e-3, 1e-2, 1e-1, 10.0], "epsilons": [1e-8, 1e-2]},
        "recipe": {"epochs": 4},
    }
    fidelity = {"method": "successive_halving", "eta": 2, "min_epochs": 1}
    full_id = jobs.create_job(url, SweepSpec.model_validate(base)).id
    halving_id = jobs.create_job(url, SweepSpec.model_validate({**base, "fidelity": fidelity})).id
    again = {**base, "fidelity": {**fidelity, "continues": False}}
    again_id = jobs.create_job(url, SweepSpec.model_validate(again)).id
    run(settings)
    run(settings)
    run(settings)
    with session_scope(url) as session:
        full_job, halving_job = session.get(Job, full_id), session.get(Job, halving_id)
        assert full_job.state == halving_job.state == JobState.SUCCEEDED, (full_job.error, halving_job.error)
        full = detail(session, full_job.result["landscape_id"], curves=True)
        halving = detail(session, halving_job.result["landscape_id"], curves=True)
        stored = session.scalars(select(LandscapePoint).where(LandscapePoint.landscape_id == halving.id))
        points = {(p.alpha_index, p.epsilon_index): p.epochs for p in stored}
    derived = derive(full.curves, Fidelity.model_validate(fidelity), 4, full.metric["failure_score"])
    assert points == derived.epochs
    assert sorted(set(points.values())) == [1, 2, 4], "rungs 1, 2, 4; most nodes stop early"
    assert sum(r < 4 for r in points.values()) > len(points) / 2
    for (i, j), errors in derived.errors.items():
        assert [halving.seed_errors[s][i][j] for s in range(2)] == errors
        assert [halving.curves[s][i][j] for s in range(2)] == derived.curves[(i, j)]
    compute = halving.provenance["compute"]
    assert compute["epochs"] == derived.trained_epochs and compute["full_epochs"] == derived.full_epochs
    assert halving.provenance["fidelity"]["rungs"] == [1, 2, 4]
    assert compute["share"] == pytest.approx(derived.trained_epochs / derived.full_epochs)
    assert compute["share"] < full.provenance["compute"]["share"] <= 1.0
    # promoted nodes continued from their checkpoints; trained again from scratch, the same
    # numbers at a higher cost
    with session_scope(url) as session:
        scratch = detail(session, session.get(Job, again_id).result["landscape_id"], curves=True)
    assert scratch.checksum == halving.checksum and scratch.curves == halving.curves
    rerun = derive(full.curves, Fidelity.model_validate(fidelity), 4, 100.0, continued=False)
    assert scratch.compute["epochs"] == rerun.trained_epochs > compute["epochs"]
    assert not (settings.home / "checkpoints" / f"job-{halving_id}").exists(), "checkpoints removed"

    # a replay on it counts the trials told a rung's score: random search over every node visits
    # each stopped node once
    from tunecost.service.kinds.replay import ReplaySpec

    replay = ReplaySpec.model_validate(
        {
            "kind": "replay",
            "landscape_ids": [full.id, halving.id],
            "searchers": ["random"],
            "seeds": 3,
            "budget": 10,
        }
    )
    replay_id = jobs.create_job(url, replay).id
    run(settings)
    with session_scope(url) as session:
        assert session.get(Job, replay_id).state == JobState.SUCCEEDED
        runs = session.scalars(select(ReplayRun).where(ReplayRun.job_id == replay_id)).all()
    stopped = sum(r < 4 for r in points.values())
    assert {r.stopped_trials for r in runs if r.landscape_id == halving.id} == {stopped}
    assert {r.stopped_trials for r in runs if r.landscape_id == full.id} == {None}
    facts = {f.landscape_id: f for f in jobs.compare(url, job_id=replay_id).landscapes}
    assert facts[halving.id].on_stopped == pytest.approx(stopped / 10) and facts[full.id].on_stopped is None
    assert facts[halving.id].fidelity["rungs"] == [1, 2, 4] and facts[full.id].fidelity is None
    with TestClient(create_app(settings, run_jobs=False)) as client:
        page = client.get(f"/v1/comparisons/{replay_id}/report").text
        text = client.get(f"/v1/comparisons/{replay_id}/report/tuning_cost.txt").text
    for said in (page, text):  # the page and the table say what each landscape cost
        assert "successive halving (eta 2, rungs 1/2/4 epochs" in said and "full fidelity: " in said
        assert f"{stopped / 10:.0%} of replay trials on stopped nodes" in said
