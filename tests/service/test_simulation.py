"""Replays in simulated time: pruners on stored learning curves, asynchronous workers, and the
costs in epochs, seconds and wall-clock."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests import db
from tunecost.api.app import create_app
from tunecost.search_spaces import GridSpace
from tunecost.service.analysis.comparison import Subject, build
from tunecost.service.analysis.costs import Cost
from tunecost.service.analysis.estimator import UnrecordedDelta
from tunecost.service.analysis.replay import Board, Curves, PrunerSpec, Run, replay
from tunecost.service.kinds.replay import ReplaySpec
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings
from tunecost.service.states import JobState

GRID = GridSpace((1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0), (1e-8, 1e-6, 1e-4, 1e-2, 1.0))
EPOCHS = 9


def _landscape(seed: int = 0) -> tuple[np.ndarray, np.ndarray, Curves]:
    """Two training seeds of a 6 x 5 landscape whose curves fall to each node's final score;
    every epoch takes 2 s."""
    rng = np.random.default_rng(seed)
    final = rng.uniform(2.0, 40.0, size=(2, *GRID.shape))
    start = rng.uniform(50.0, 90.0, size=(2, *GRID.shape))
    curves = [
        [
            [list(np.linspace(start[s, i, j], final[s, i, j], EPOCHS)) for j in range(GRID.shape[1])]
            for i in range(GRID.shape[0])
        ]
        for s in range(2)
    ]
    for s in range(2):  # the curves' last points are the seeds' errors
        for i in range(GRID.shape[0]):
            for j in range(GRID.shape[1]):
                final[s, i, j] = curves[s][i][j][-1]
    return final.mean(0), final, Curves(curves, np.full((2, *GRID.shape), 2.0 * EPOCHS))


@pytest.mark.parametrize("searcher", ["random", "tpe", "cmaes", "gld", "cgld"])
def test_one_worker_without_a_pruner_replays_the_same_trials_with_or_without_curves(searcher: str) -> None:
    errors, observed, stored = _landscape()
    for seed in range(3):
        plain = replay(searcher, Board(GRID, errors, observed), seed, 20, [0.5, 2.0])
        timed = replay(searcher, Board(GRID, errors, observed, stored), seed, 20, [0.5, 2.0])
        assert plain.cost_to is None and plain.totals is None  # no curves: no costs
        assert timed.curve == plain.curve and timed.trials_to == plain.trials_to
        # full fidelity: every trial costs all its epochs, and one worker's wall-clock is the sum
        assert timed.totals is not None and timed.cost_to is not None
        assert timed.totals[Cost.EPOCHS] == EPOCHS * len(plain.curve)
        assert timed.totals[Cost.WALLCLOCK] == pytest.approx(timed.totals[Cost.SECONDS])
        t = plain.trials_to["2.0"]
        if t is not None:
            assert timed.cost_to[Cost.EPOCHS]["2.0"] == EPOCHS * t


def test_a_pruner_stops_bad_trials_early_and_pays_only_their_epochs() -> None:
    errors, observed, stored = _landscape(1)
    budget = 30
    board = Board(GRID, errors, observed, stored)
    full = replay("random", board, 0, budget, [1.0])
    asha = replay("random", board, 0, budget, [1.0], pruner=PrunerSpec(name="asha"))
    assert asha.pruned > 0 and full.pruned == 0
    assert asha.totals[Cost.EPOCHS] < full.totals[Cost.EPOCHS] == EPOCHS * budget
    assert len(asha.curve) == budget  # pruned configs count as trials
    for name in ("epochs", "seconds", "wallclock"):  # each cost when each trial ended, in order
        assert len(asha.at[name]) == budget and asha.at[name] == sorted(asha.at[name])
    # the same proposals (random search ignores results), so the incumbent can only be the
    # same config or one a pruner stopped before its end: never better than full fidelity's
    assert all(a >= f - 1e-9 for a, f in zip(asha.curve, full.curve, strict=True))
    # TPE under either pruner: every trial counted, pruned ones paying only their epochs. A
    # budget below the grid's 30 configs: TPE finding the very last unseen config of a grid is
    # chance, not what a pruner decides
    for name in ("median", "hyperband"):
        runs = [replay("tpe", board, 0, 24, [1.0], pruner=PrunerSpec(name=name)) for _ in range(2)]
        assert runs[0].totals[Cost.EPOCHS] <= EPOCHS * 24 and len(runs[0].curve) == 24
        assert runs[0].curve == runs[1].curve and runs[0].pruned == runs[1].pruned, "one seed, one run"


def test_a_delta_the_replay_did_not_record_is_answered_from_its_curves_as_if_recorded() -> None:
    """A comparison asked at a delta its replay never stored reads it off the stored runs'
    curves and costs, giving what a replay that recorded it gives; a stored run with no
    per-trial costs cannot, and says so."""
    errors, observed, stored = _landscape(3)
    board = Board(GRID, errors, observed, stored)
    subjects = [Subject(1, "t", "adam", "adam", "validation error", "%", "points", errors, [0, 1])]

    def runs(deltas: list[float]) -> dict[tuple[int, str], list[Run]]:
        return {(1, s): [replay(s, board, seed, 20, deltas) for seed in range(6)] for s in ("random", "tpe")}

    recorded, unrecorded = (
        build(1, [0.25, 3.0], subjects, runs([0.25, 3.0])),
        build(1, [0.25, 3.0], subjects, runs([1.0])),
    )
    assert recorded.model_dump() == unrecorded.model_dump()
    assert any(r.reached > 0 and r.trials < 20 for r in unrecorded.rows)  # not "never reached"
    old = runs([1.0])
    for group in old.values():
        for r in group:
            r.at = None  # stored before replays kept each trial's costs
    with pytest.raises(UnrecordedDelta, match="no other delta"):
        build(1, [0.25], subjects, old)
    assert build(1, [1.0], subjects, old).rows  # its own deltas still answer


def test_four_workers_take_a_quarter_of_the_wall_clock() -> None:
    errors, observed, stored = _landscape(2)
    one = replay("random", Board(GRID, errors, observed, stored), 0, 24, [0.5], workers=1)
    four = replay("random", Board(GRID, errors, observed, stored), 0, 24, [0.5], workers=4)
    assert four.totals[Cost.SECONDS] == pytest.approx(one.totals[Cost.SECONDS])  # the same compute
    assert four.totals[Cost.WALLCLOCK] == pytest.approx(one.totals[Cost.WALLCLOCK] / 4)


@pytest.mark.usefixtures("ray_session")
def test_a_replay_job_with_a_pruner_stores_costs_and_the_comparison_reports_them(settings: Settings) -> None:
    from tunecost.service.kinds.sweep import SweepSpec

    url = settings.resolved_database_url
    space = {"type": "grid", "alphas": [1e-3, 1e-2, 1e-1, 1.0], "epsilons": [1e-8, 1e-4, 1.0]}
    spec = SweepSpec(
        kind="sweep",
        task="digits-mlp",
        optimizer="adam",
        space=space,
        seeds=[0],
        recipe={"epochs": 6, "subset": 300},
    )
    sweep = db.create_job(url, spec)
    assert JobRunner(settings).run_once() == sweep.id
    landscape_id = db.get_job(url, sweep.id).result["landscape_id"]
    pruner = {"name": "asha", "min_resource": 1, "reduction_factor": 2}
    replay = db.create_job(
        url,
        ReplaySpec(
            kind="replay",
            landscape_ids=[landscape_id],
            searchers=["random"],
            seeds=8,
            budget=10,
            pruner=pruner,
        ),
    )
    assert JobRunner(settings).run_once() == replay.id
    done = db.get_job(url, replay.id)
    assert done.state == JobState.SUCCEEDED
    assert {"epochs_to_1.svg", "wallclock_to_1.png", "trials_to_1.svg", "suboptimality_by_epochs.svg"} <= set(
        done.result["report_files"]
    )
    with TestClient(create_app(settings)) as client:
        rows = client.get("/v1/comparisons", params={"job_id": replay.id}).json()["rows"]
        (band,) = client.get("/v1/comparisons", params={"job_id": replay.id}).json()["curves"]
        by_epochs = band["by_cost"]["epochs"]
        assert by_epochs["x"] == sorted(by_epochs["x"]) and by_epochs["x"][-1] <= 6 * 10
        medians = [m for m in by_epochs["median"] if m is not None]
        assert medians and all(
            a >= b for a, b in zip(medians, medians[1:], strict=False)
        )  # the best only improves
        (row,) = [r for r in rows if r["delta"] == 1.0]
        assert set(row["costs"]) == {"epochs", "seconds", "wallclock"} and row["pruned"] > 0
        epochs = row["costs"]["epochs"]  # restricted mean: never more than a run spent (at most 6 x 10)
        assert 0 < epochs["ci"][0] <= epochs["mean"] <= epochs["ci"][1] <= 6 * 10
        page = client.get(f"/v1/comparisons/{replay.id}/report").text
        assert "epochs [95% CI]" in page and "pruned/run" in page
        imported = client.post(
            "/v1/landscapes",
            json={
                "task": "table",
                "optimizer": "adam",
                "alphas": [0.1, 1.0],
                "epsilons": [1e-8],
                "errors": [[3.0], [4.0]],
            },
        ).json()
        r = client.post(
            "/v1/jobs",
            json={
                "kind": "replay",
                "landscape_ids": [imported["id"]],
                "budget": 2,
                "pruner": {"name": "asha"},
            },
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "pruner"]
        assert "no learning curves" in r.json()["detail"][0]["msg"]


@pytest.mark.usefixtures("ray_session")
def test_a_live_asha_search_stops_poor_trials_early(settings: Settings) -> None:
    import optuna

    from tunecost.service.kinds.search import SearchSpec

    url = settings.resolved_database_url
    spec = SearchSpec(
        task="digits-mlp",
        optimizer="adam",
        searcher="random",
        budget=8,
        seed=1,
        recipe={"epochs": 6, "subset": 300},
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2},
    )
    job = db.create_job(url, spec)
    assert JobRunner(settings).run_once() == job.id
    done = db.get_job(url, job.id)
    assert done.state == JobState.SUCCEEDED, done.error
    with TestClient(create_app(settings)) as client:
        public = client.get(f"/v1/jobs/{job.id}").json()
        rows = client.get(f"/v1/jobs/{job.id}/trials").json()["data"]
    assert public["trials_done"] == 8  # a stopped trial used its slot of the budget
    pruned = [r for r in rows if r["status"] == "pruned"]
    assert pruned and all(r["error"] is None and "stopped early" in r["message"] for r in pruned)
    study = optuna.load_study(study_name=done.study_name, storage=url)
    states = {t.number: t for t in study.get_trials()}
    for r in rows:
        t = states[r["optuna_trial_number"]]
        if r["status"] == "pruned":  # the dashboard's learning curve stops where ASHA stopped it
            stopped_at = int(r["message"].split("after epoch ")[1].split()[0])
            assert t.state == optuna.trial.TrialState.PRUNED and len(t.intermediate_values) == stopped_at < 6
        else:
            assert t.state == optuna.trial.TrialState.COMPLETE and len(t.intermediate_values) == 6


# Measured with the two engines this one replaced (replay_one and simulate, commit 68c723b):
# searcher -> (plain trials to 1, 3, 6, 10 points; with ASHA and 3 workers the same; pruned,
# epochs, wall-clock seconds). A change to the replay rules shows here first.
PINNED = {
    "cgld": ([None, 2, 2, 2], [None, None, None, 7], 15, 64, 54),
    "cmaes": ([None, None, None, 2], [None, None, None, 7], 13, 64, 54),
    "gld": ([None, 18, 7, 7], [None, None, None, 7], 15, 70, 48),
    "grid": ([None, None, None, 8], [None, None, None, 12], 11, 98, 72),
    "random": ([None, None, None, 2], [None, None, None, 7], 14, 70, 54),
    "tpe": ([None, None, None, 2], [None, None, None, 7], 16, 58, 44),
}


@pytest.mark.parametrize("searcher", sorted(PINNED))
def test_the_engine_gives_the_numbers_of_the_two_engines_it_replaced(searcher: str) -> None:
    rng = np.random.default_rng(7)
    final = rng.uniform(2.0, 40.0, size=(2, *GRID.shape))
    start = rng.uniform(50.0, 90.0, size=(2, *GRID.shape))
    curves = [
        [[list(np.linspace(start[s, i, j], final[s, i, j], EPOCHS)) for j in range(5)] for i in range(6)]
        for s in range(2)
    ]
    for s, i, j in np.ndindex(final.shape):
        final[s, i, j] = curves[s][i][j][-1]
    stored = Curves(curves, np.full((2, *GRID.shape), 18.0))
    deltas = [1.0, 3.0, 6.0, 10.0]
    plain = replay(searcher, Board(GRID, final.mean(0), final), 3, 20, deltas)
    asha = replay(
        searcher,
        Board(GRID, final.mean(0), final, stored),
        3,
        20,
        deltas,
        pruner=PrunerSpec(name="asha"),
        workers=3,
    )
    reached, pruned_reached, pruned, epochs, wallclock = PINNED[searcher]
    assert list(plain.trials_to.values()) == reached
    assert list(asha.trials_to.values()) == pruned_reached
    assert asha.totals is not None
    assert (asha.pruned, asha.totals[Cost.EPOCHS], asha.totals[Cost.WALLCLOCK]) == (pruned, epochs, wallclock)


def test_a_pruner_without_learning_curves_is_refused() -> None:
    errors, observed, _ = _landscape()
    with pytest.raises(ValueError, match="learning curves"):
        replay("random", Board(GRID, errors, observed), 0, 5, [1.0], pruner=PrunerSpec(name="asha"))
