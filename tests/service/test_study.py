"""Sweeps into landscapes, replays into tuning costs, comparisons over REST."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests import db
from tests import db as jobs
from tests.db import compare
from tunecost.api.app import create_app
from tunecost.search_spaces import GridSpace
from tunecost.service.analysis.comparison import expected_random_cost
from tunecost.service.analysis.replay import Board, replay
from tunecost.service.kinds.replay import ReplaySpec
from tunecost.service.kinds.search import SearchSpec
from tunecost.service.kinds.sweep import SweepSpec
from tunecost.service.runner import JobRunner
from tunecost.service.settings import Settings
from tunecost.service.states import JobState
from tunecost.workers.trainer import train_one

pytestmark = pytest.mark.usefixtures("ray_session")
SMALL = {
    "type": "grid",
    "alphas": [1e-3, 1e-2, 1e-1, 1.0, 10.0, 500.0],
    "epsilons": [1e-8, 1e-6, 1e-4, 1e-2, 1.0],
}


def sweep(settings: Settings, progress: list | None = None, **fields: object) -> int:
    """Run one sweep job; ``progress`` collects its (done, total) reports."""
    spec = {"kind": "sweep", "task": "synthetic-bowl", "optimizer": "adam", "space": SMALL, "seeds": [0]}
    spec.update(fields)
    job = jobs.create_job(settings.resolved_database_url, SweepSpec.model_validate(spec))
    seen = progress if progress is not None else []
    assert (
        JobRunner(settings, on_progress=lambda _job, done, total: seen.append((done, total))).run_once()
        == job.id
    )
    done = jobs.get_job(settings.resolved_database_url, job.id)
    assert done.state == JobState.SUCCEEDED, done.error
    return done.result["landscape_id"]


def test_sweep_stores_every_node_and_the_api_serves_the_matrix(settings: Settings) -> None:
    landscape_id = sweep(settings, chunk_size=7)
    with TestClient(create_app(settings)) as client:
        body = client.get(f"/v1/landscapes/{landscape_id}").json()
        assert body["task"] == "synthetic-bowl" and body["optimizer"] == "adam"
        assert body["alphas"] == SMALL["alphas"] and body["epsilons"] == SMALL["epsilons"]
        for i, alpha in enumerate(SMALL["alphas"]):
            for j, eps in enumerate(SMALL["epsilons"]):
                assert body["errors"][i][j] == pytest.approx(
                    train_one("synthetic-bowl", "adam", alpha, eps).error
                )
        assert body["diverged"][5] == [1] * 5  # alpha = 500 diverges on the synthetic task
        assert [
            ls["id"] for ls in client.get("/v1/landscapes", params={"task": "synthetic-bowl"}).json()
        ] == [landscape_id]
        assert client.get("/v1/landscapes/999").json() == {"detail": "Landscape not found"}
        job = client.get(f"/v1/jobs/{body['job_id']}").json()
        assert job["landscape_id"] == landscape_id


def test_fused_sweep_point_equals_a_one_point_search_job(settings: Settings) -> None:
    grid = {"type": "grid", "alphas": [1e-3, 1e-2], "epsilons": [1e-8, 1e-3]}
    recipe = {"epochs": 2, "subset": 400}
    landscape_id = sweep(settings, task="digits-mlp", space=grid, recipe=recipe, fused=True)
    url = settings.resolved_database_url
    search = jobs.create_job(
        url,
        SearchSpec(
            task="digits-mlp",
            optimizer="adam",
            searcher="random",
            budget=1,
            recipe=recipe,
            space={"type": "grid", "alphas": [1e-2], "epsilons": [1e-3]},
        ),
    )
    JobRunner(settings).run_once()
    (point,) = jobs.curve(url, search.id)
    with TestClient(create_app(settings)) as client:
        errors = client.get(f"/v1/landscapes/{landscape_id}").json()["errors"]
    assert point.error == pytest.approx(errors[1][1], abs=1e-6)


def test_sweep_over_several_seeds_stores_mean_and_spread(settings: Settings) -> None:
    grid = {"type": "grid", "alphas": [1e-2, 1e-1], "epsilons": [1e-8]}
    landscape_id = sweep(
        settings, task="digits-mlp", space=grid, recipe={"epochs": 2, "subset": 300}, seeds=[0, 1, 2]
    )
    with TestClient(create_app(settings)) as client:
        body = client.get(f"/v1/landscapes/{landscape_id}").json()
    per_seed = [
        train_one("digits-mlp", "adam", 1e-2, 1e-8, seed=s, recipe={"epochs": 2, "subset": 300}).error
        for s in (0, 1, 2)
    ]
    assert body["errors"][0][0] == pytest.approx(np.mean(per_seed), abs=1e-4)
    assert body["error_stds"][0][0] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-4)


def test_replay_and_comparisons(settings: Settings) -> None:
    url = settings.resolved_database_url
    adam = sweep(settings)
    other = sweep(settings, optimizer="avagrad")
    replay = jobs.create_job(
        url,
        ReplaySpec(
            kind="replay",
            landscape_ids=[adam, other],
            searchers=["random", "gld", "cgld"],
            seeds=12,
            budget=30,
        ),
    )
    JobRunner(settings).run_once()
    assert jobs.get_job(url, replay.id).state == JobState.SUCCEEDED
    with TestClient(create_app(settings)) as client:  # its progress is its runs, not 0 of a budget
        shown = client.get(f"/v1/jobs/{replay.id}").json()
        assert (shown["trials_done"], shown["total"], shown["unit"]) == (2 * 3 * 12, 2 * 3 * 12, "runs")
    result = compare(url, job_id=replay.id)
    assert {(r.optimizer, r.searcher) for r in result.rows} == {
        (o, s) for o in ("adam", "avagrad") for s in ("random", "gld", "cgld")
    }
    for row in result.rows:
        assert row.seeds == 12 and 0 < row.reached <= 1
        assert 1 <= row.ci[0] <= row.trials <= row.ci[1] <= 30
    for curve in result.curves:
        assert curve.median[0] >= curve.median[-1] >= 0  # suboptimality only falls
    per = [v for v in result.verdicts if v.family == "per searcher"]
    assert {(v.optimizer, v.baseline, v.searcher, v.delta) for v in per} == {
        ("avagrad", "adam", s, d) for s in ("random", "gld", "cgld") for d in (0.5, 1.0)
    }
    assert {(v.searcher, v.delta) for v in result.verdicts if v.family == "headline"} == {
        ("all searchers", 0.5),
        ("all searchers", 1.0),
    }
    for v in result.verdicts:  # each interval excludes 1 exactly when its family's correction says so
        if v.status == "tested":
            assert v.ci[0] <= v.ratio <= v.ci[1] and v.p_adjusted is not None
            assert v.distinguishable == (v.ci[1] < 1 or v.ci[0] > 1)
    for closed in result.random_closed_form:
        assert len(closed.expected) == 30 and closed.expected[-1] <= closed.expected[0]
    assert {e.searcher for e in result.expected_suboptimality} == {
        "random",
        "gld",
        "cgld",
        "random (closed form)",
    }
    with TestClient(create_app(settings)) as client:
        over_rest = client.get(
            "/v1/comparisons", params={"job_id": replay.id, "searchers": "gld", "deltas": "0.5"}
        ).json()
        assert {r["searcher"] for r in over_rest["rows"]} == {"gld"} and {
            r["delta"] for r in over_rest["rows"]
        } == {0.5}
        assert [(v["searcher"], v["delta"]) for v in over_rest["verdicts"]] == [
            ("all searchers", 0.5),
            ("gld", 0.5),
        ]
        unrecorded = client.get("/v1/comparisons", params={"job_id": replay.id, "deltas": "0.25,1"}).json()
        assert {r["delta"] for r in unrecorded["rows"]} == {0.25, 1.0}  # 0.25: read off the stored curves
        assert [r for r in unrecorded["rows"] if r["delta"] == 1.0] == [
            r.model_dump(mode="json") for r in result.rows if r.delta == 1.0
        ]
        for bad_deltas in ("nan", "inf", "-1", "0", "101", ",".join(str(0.1 * k) for k in range(1, 22))):
            refused = client.get("/v1/comparisons", params={"job_id": replay.id, "deltas": bad_deltas})
            assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "deltas"]
        by_task = client.get(
            "/v1/comparisons", params={"task": "synthetic-bowl", "optimizers": "adam"}
        ).json()
        assert by_task["job_id"] == replay.id and {r["optimizer"] for r in by_task["rows"]} == {"adam"}
        assert client.get("/v1/comparisons", params={"job_id": 999}).json() == {
            "detail": "Replay job not found"
        }
        bad = client.post("/v1/jobs", json={"kind": "replay", "landscape_ids": [999]})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "landscape_ids"]
        bad = client.post("/v1/jobs", json={"kind": "replay", "landscape_ids": [adam], "budget": 31})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "budget"]
        bad = client.post("/v1/jobs", json={"kind": "replay", "landscape_ids": [adam], "baseline": "sgd"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "baseline"]
        assert "names none of the landscapes" in bad.json()["detail"][0]["msg"]


def test_replay_counts_distinct_configs_and_reaches_the_optimum() -> None:
    errors = np.arange(20, dtype=float).reshape(4, 5)
    space = GridSpace((1e-3, 1e-2, 1e-1, 1.0), (1e-8, 1e-6, 1e-4, 1e-2, 1.0))
    run = replay("random", Board(space, errors), seed=0, budget=20, deltas=[0.5])
    assert len(run.curve) == 20 and run.curve[-1] == 0.0
    t = run.trials_to["0.5"]
    assert run.curve[t - 1] == 0.0 and (t == 1 or run.curve[t - 2] > 0.5)


@pytest.mark.slow
def test_random_search_expected_cost_matches_replays() -> None:
    rng = np.random.default_rng(0)
    errors = rng.uniform(0, 10, (21, 21))
    space = GridSpace(
        tuple(float(f"1e{k}") for k in range(-10, 11)), tuple(float(f"1e{k}") for k in range(-10, 11))
    )
    costs = [
        replay("random", Board(space, errors), seed=s, budget=441, deltas=[1.0]).trials_to["1.0"]
        for s in range(200)
    ]
    assert np.mean(costs) == pytest.approx(expected_random_cost(errors, 1.0), rel=0.2)


def test_refined_sweep_trains_more_seeds_only_near_the_best(settings: Settings) -> None:
    grid = {"type": "grid", "alphas": [1e-3, 1e-2, 1e-1], "epsilons": [1e-8, 1e-4, 1.0]}
    recipe = {"epochs": 1, "subset": 200}
    refine = {"seeds": [1, 2], "margin": 0.0, "top_k": 2, "max_configs": 5}
    progress: list[tuple[int, int]] = []
    landscape_id = sweep(settings, progress, task="digits-mlp", space=grid, recipe=recipe, refine=refine)
    assert progress[-1] == (9 + 2 * 2, 9 + 2 * 2), "the bar ends at 100%: 9 nodes, then 2 refined x 2 seeds"
    assert progress[0][1] == 9 + 5 * 2, "planned up front: at most max_configs refined"
    with TestClient(create_app(settings)) as client:
        body = client.get(f"/v1/landscapes/{landscape_id}").json()
    assert body["seeds"] == [0, 1, 2] and body["sweep_seeds"] == [0] and body["refine"]["top_k"] == 2
    first_pass = np.array(body["seed_errors"][0])
    refined = {(i, j) for i in range(3) for j in range(3) if body["seed_errors"][1][i][j] is not None}
    # the rule: margin 0 and top_k 2 -> the two best first-pass nodes (ties broken by node order)
    ranked = sorted((first_pass[i, j], (i, j)) for i in range(3) for j in range(3))
    assert refined == {node for _, node in ranked[:2]}
    for i, j in refined:
        per_seed = [
            train_one(
                "digits-mlp", "adam", grid["alphas"][i], grid["epsilons"][j], seed=s, recipe=recipe
            ).error
            for s in (0, 1, 2)
        ]
        assert [body["seed_errors"][s][i][j] for s in range(3)] == pytest.approx(per_seed, abs=1e-6)
        assert body["errors"][i][j] == pytest.approx(np.mean(per_seed), abs=1e-6)
        assert body["error_stds"][i][j] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-6)
    untouched = [(i, j) for i in range(3) for j in range(3) if (i, j) not in refined]
    assert all(body["errors"][i][j] == first_pass[i, j] for i, j in untouched)
    assert body["provenance"]["origin"] == "sweep" and body["provenance"]["workers"][0]["device"] == "cpu"
    assert len(body["checksum"]) == 64


def test_noisy_replay_is_told_one_seed_and_scored_on_the_mean() -> None:
    """Config (0, 0) is the best on average (mean 1.0) but one of its seeds looks bad (3.0);
    config (0, 1) looks better than it is on one seed (0.5, mean 2.0)."""
    space = GridSpace((1e-3,), (1e-8, 1e-6))
    errors = np.array([[1.0, 2.0]])
    observed = np.array([[[-1.0, 0.5]], [[3.0, 3.5]]])  # seeds x alphas x epsilons: the two seeds' errors
    outcomes = {
        s: replay("grid", Board(space, errors, observed), seed=s, budget=2, deltas=[0.5]) for s in range(40)
    }
    told_best = {}
    for s, run in outcomes.items():
        told = [observed[np.random.default_rng([s, 0, j]).integers(2), 0, j] for j in (0, 1)]
        told_best[s] = int(np.argmin(told))
        assert run.curve[-1] == (0.0 if told_best[s] == 0 else 1.0), "scored on the mean of what it picked"
    assert set(told_best.values()) == {0, 1}, "some runs are fooled by a lucky seed, some are not"
    quiet = replay("grid", Board(space, errors), seed=0, budget=2, deltas=[0.5])
    assert quiet.curve[-1] == 0.0, "noise='none' sees the mean"


def test_an_imported_landscape_replays_like_a_swept_one(settings: Settings) -> None:
    swept = sweep(settings)
    with TestClient(create_app(settings)) as client:
        body = client.get(f"/v1/landscapes/{swept}").json()
        imported = client.post(
            "/v1/landscapes",
            json={
                "task": body["task"],
                "optimizer": "adam-from-a-table",
                "alphas": body["alphas"],
                "epsilons": body["epsilons"],
                "errors": body["errors"],
                "source": "the swept landscape, typed in",
            },
        )
        assert imported.status_code == 201, imported.json()
        imported = imported.json()
        assert imported["provenance"]["origin"] == "import" and imported["checksum"] == body["checksum"]
        reversed_rows = client.post(
            "/v1/landscapes",
            json={
                **{k: body[k] for k in ("task", "optimizer", "epsilons")},
                "alphas": body["alphas"][::-1],
                "errors": body["errors"][::-1],
            },
        ).json()
        assert reversed_rows["checksum"] == body["checksum"], "unsorted values are sorted with their rows"
        for bad, field in [
            ({"errors": [[1.0, 2.0]]}, "errors"),  # wrong shape
            ({"errors": [[[101.0] * 5] * 6]}, "errors"),  # not a percentage
            ({"alphas": [0.1, 0.1, 1, 2, 3, 4]}, "alphas"),  # not distinct
            ({"task": "../etc"}, "task"),
            ({"metric": "mse"}, "metric"),  # the task's own metric is a percentage error
            # found by the fuzzer: a matrix per seed whose first is empty, with bad alphas (was a 500)
            ({"alphas": [0.1, 0.1, 1, 2, 3, 4], "errors": [[], [[250.0]]]}, "alphas"),
            ({"task": "from-a-paper", "metric": "mse", "errors": [[-1.0] * 5] * 6}, "errors"),  # an MSE < 0
            # sizes a request may ask for are bounded: 700 x 700 nodes took 44 s (SQLite) to insert
            (
                {
                    "alphas": [float(k + 1) for k in range(700)],
                    "epsilons": [float(k + 1) for k in range(700)],
                },
                "epsilons",
            ),
            (
                {
                    "alphas": [float(k + 1) for k in range(100)],
                    "epsilons": [float(k + 1) for k in range(100)],
                    "errors": [[[1.0] * 100] * 100] * 6,
                },
                "errors",
            ),  # fmt: skip
        ]:
            r = client.post(
                "/v1/landscapes",
                json={**{k: body[k] for k in ("task", "optimizer", "alphas", "epsilons", "errors")}, **bad},
            )
            assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", field], (
                bad,
                r.json(),
            )
        url = settings.resolved_database_url
        replays = [
            db.create_job(
                url,
                ReplaySpec(
                    kind="replay", landscape_ids=[i], searchers=["random", "cgld"], seeds=8, budget=20
                ),
            ).id
            for i in (swept, imported["id"])
        ]
        JobRunner(settings).run_once()
        JobRunner(settings).run_once()
        a, b = (client.get("/v1/comparisons", params={"job_id": j}).json() for j in replays)

    def numbers(rows: list[dict]) -> list[dict]:
        skip = ("landscape_id", "optimizer", "label", "costs", "pruned")  # costs need learning curves
        return [{k: v for k, v in r.items() if k not in skip} for r in rows]

    assert numbers(a["rows"]) == numbers(b["rows"]), "the same numbers give the same tuning cost"
    # the swept landscape has learning curves, so its runs also say what they cost; the import not
    assert all(r["costs"] is not None for r in a["rows"]) and all(r["costs"] is None for r in b["rows"])


def test_same_spec_same_numbers_whatever_the_chunking_and_threads(settings: Settings) -> None:
    """Bit-identical landscapes (equal checksums) for chunks of 2, 5 or all 9 configs and for 1
    or 2 torch threads per chunk; and a replay of them gives the same table twice."""
    grid = {"type": "grid", "alphas": [1e-3, 1e-2, 1e-1], "epsilons": [1e-8, 1e-4, 1.0]}
    common = {"task": "digits-mlp", "space": grid, "recipe": {"epochs": 2, "subset": 300}, "seeds": [0, 1]}
    ids = [
        sweep(settings, **common, chunk_size=2),
        sweep(settings, **common, chunk_size=5),
        sweep(settings, **common, resources={"cpu": 2}),
    ]
    with TestClient(create_app(settings)) as client:
        bodies = [client.get(f"/v1/landscapes/{i}").json() for i in ids]
    assert len({b["checksum"] for b in bodies}) == 1, [b["checksum"] for b in bodies]
    assert bodies[0]["seed_errors"] == bodies[2]["seed_errors"]
    worker = bodies[0]["provenance"]["workers"][0]
    assert worker["torch"] and worker["cpu"] and worker["device"] == "cpu"
    # how its chunks trained: fused, with Adam's batched step, a chunk of 2 as the one of 9
    assert worker["path"]["mode"] == "fused" and worker["path"]["update"] == "batched", worker
    assert [w["path"] for b in bodies for w in b["provenance"]["workers"]] == [worker["path"]] * sum(
        len(b["provenance"]["workers"]) for b in bodies
    )

    url = settings.resolved_database_url
    tables = []
    for _ in range(2):
        job = db.create_job(
            url, ReplaySpec(kind="replay", landscape_ids=ids[:1], searchers=["tpe", "gld"], seeds=6, budget=9)
        )
        JobRunner(settings).run_once()
        tables.append(compare(url, job_id=job.id).model_dump(exclude={"job_id"}))
    assert tables[0] == tables[1]


@pytest.mark.parametrize("searcher", ["grid", "random", "tpe", "cmaes", "gld", "cgld"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (3, 1)])
def test_every_searcher_runs_on_one_point_and_one_axis_grids(searcher: str, shape: tuple[int, int]) -> None:
    grid = GridSpace(
        tuple(0.1 * 10**k for k in range(shape[0])), tuple(1e-8 * 10**k for k in range(shape[1]))
    )
    errors = np.arange(grid.size, dtype=float).reshape(shape)
    run = replay(searcher, Board(grid, errors), seed=0, budget=grid.size, deltas=[0.5])
    assert len(run.curve) == grid.size and run.curve[-1] == 0.0, "every node found, the best among them"


def test_comparisons_name_a_lookahead_landscape_apart_from_its_plain_optimizer() -> None:
    from tunecost.service.comparisons import landscape_labels
    from tunecost.service.models import Landscape

    def ls(task: str, optimizer: str, **recipe: object) -> Landscape:
        return Landscape(task=task, optimizer=optimizer, recipe={"epochs": 3, **recipe})

    labels = landscape_labels(
        {
            1: ls("digits-mlp", "adam"),
            2: ls("digits-mlp", "adam", lookahead={"k": 5, "alpha": 0.5}),
            3: ls("digits-mlp", "avagrad"),
            4: ls("digits-mlp", "avagrad", epochs=5),  # same label, same task: told apart by id
            5: ls("mnist5k-mlp", "adam"),  # another task: its own name
        }
    )
    assert labels == {
        1: "adam",
        2: "adam+lookahead(5, 0.5)",
        3: "avagrad #3",
        4: "avagrad #4",
        5: "adam",
    }


def test_a_sweep_stores_each_nodes_learning_curve_and_seconds_served_on_request(settings: Settings) -> None:
    grid = {"type": "grid", "alphas": [1e-2, 1e30], "epsilons": [1e-8, 1e-3]}
    recipe = {"epochs": 3, "subset": 200}
    # one fused chunk per seed: its time is shared by the rule, per model-epoch trained
    landscape_id = sweep(settings, task="digits-mlp", space=grid, seeds=[0, 1], recipe=recipe, chunk_size=4)
    with TestClient(create_app(settings)) as client:
        plain = client.get(f"/v1/landscapes/{landscape_id}").json()
        assert plain["curves"] is None and plain["node_seconds"] is None  # opt-in: they are larger
        body = client.get(f"/v1/landscapes/{landscape_id}", params={"curves": "true"}).json()
    for s in range(2):
        for j in range(2):
            curve = body["curves"][s][0][j]
            assert len(curve) == 3 and curve[-1] == body["seed_errors"][s][0][j]  # an epoch axis
            assert body["curves"][s][1][j] == []  # alpha = 1e30 diverges in its first epoch
            assert body["node_seconds"][s][0][j] > 0
            # a config that stopped in epoch 1 is charged one epoch of the chunk's time, not three
            assert body["node_seconds"][s][1][j] == pytest.approx(body["node_seconds"][s][0][j] / 3)
