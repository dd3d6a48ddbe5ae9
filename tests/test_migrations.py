"""Migrations on a database made at an earlier revision, with rows in it (SQLite and Postgres)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from tests.conftest import free_port
from tunecost.service.db import alembic_config, current_revision, downgrade, get_engine
from tunecost.service.db import upgrade as migrate
from tunecost.service.states import JobState

GRID = {"type": "grid", "alphas": [0.001, 0.01], "epsilons": [1e-8, 1e-6]}
NOW = "2026-11-23 12:00:00"


def _insert_0002_rows(url: str) -> dict[str, int]:
    """What revision 0002 held after a study: two sweeps, their landscapes, a replay with packed
    columns (comma-joined tasks, optimizers, searchers; joined, truncated recipe hashes), a search."""
    with get_engine(url).begin() as conn:

        def job(kind: str, task: str, optimizer: str, searcher: str | None, recipe: str, spec: dict) -> int:
            return conn.execute(
                sa.text(
                    "INSERT INTO tunecost_jobs (kind, state, task, optimizer, searcher, recipe_hash, spec, "
                    "cancel_requested, attempts, created_at) VALUES (:kind, :state, :task, :optimizer, "
                    ":searcher, :recipe, :spec, false, 1, :now) RETURNING id"
                ),
                {
                    "kind": kind,
                    "state": JobState.SUCCEEDED,
                    "task": task,
                    "optimizer": optimizer,
                    "searcher": searcher,
                    "recipe": recipe,
                    "spec": json.dumps(spec),
                    "now": NOW,
                },
            ).scalar_one()

        def landscape(job_id: int, optimizer: str, recipe: str) -> int:
            return conn.execute(
                sa.text(
                    "INSERT INTO tunecost_landscapes (job_id, task, optimizer, recipe_hash, recipe, space, seeds, "
                    "fused, created_at) VALUES (:job, 'digits-mlp', :optimizer, :recipe, '{}', :space, '[0]', "
                    "true, :now) RETURNING id"
                ),
                {
                    "job": job_id,
                    "optimizer": optimizer,
                    "recipe": recipe,
                    "space": json.dumps(GRID),
                    "now": NOW,
                },
            ).scalar_one()

        sweep_adam = job("sweep", "digits-mlp", "adam", None, "aaaa", {"kind": "sweep"})
        sweep_ava = job("sweep", "digits-mlp", "avagrad", None, "bbbb", {"kind": "sweep"})
        adam, ava = landscape(sweep_adam, "adam", "aaaa"), landscape(sweep_ava, "avagrad", "bbbb")
        replay_spec = {"kind": "replay", "landscape_ids": [ava, adam], "searchers": ["random", "cgld"]}
        replay = job("replay", "digits-mlp", "adam,avagrad", "random,cgld", "aaaa,bbbb"[:16], replay_spec)
        search = job("search", "digits-mlp", "adam", "tpe", "cccc", {"kind": "search"})
        conn.execute(
            sa.text(
                "INSERT INTO tunecost_trials (job_id, position, number, seed, alpha, epsilon, error, status, "
                "cached, diverged, created_at) VALUES (:j, 1, 1, 0, 0.01, 1e-8, 3.5, 'complete', false, false, :now)"
            ),
            {"j": search, "now": NOW},
        )
    return {"adam": adam, "avagrad": ava, "replay": replay, "search": search, "sweep_avagrad": sweep_ava}


def test_0003_moves_replay_subjects_into_link_tables_and_back(empty_database_url: str) -> None:
    url = empty_database_url
    migrate(url, "0002")
    ids = _insert_0002_rows(url)

    migrate(url, "0003")
    assert current_revision(url) == "0003"
    with get_engine(url).connect() as conn:
        links = conn.execute(
            sa.text(
                "SELECT landscape_id FROM tunecost_replay_landscapes WHERE job_id = :j ORDER BY position"
            ),
            {"j": ids["replay"]},
        ).scalars()
        assert list(links) == [ids["avagrad"], ids["adam"]], "in the order the replay named them"
        searchers = conn.execute(
            sa.text("SELECT searcher FROM tunecost_replay_searchers WHERE job_id = :j ORDER BY position"),
            {"j": ids["replay"]},
        ).scalars()
        assert list(searchers) == ["random", "cgld"]
        packed = conn.execute(
            sa.text("SELECT task, optimizer, searcher, recipe_hash FROM tunecost_jobs WHERE id = :j"),
            {"j": ids["replay"]},
        ).one()
        assert tuple(packed) == (None, None, None, None), "no comma-joined columns left"
        search = conn.execute(
            sa.text("SELECT task, optimizer, searcher, recipe_hash FROM tunecost_jobs WHERE id = :j"),
            {"j": ids["search"]},
        ).one()
        assert tuple(search) == ("digits-mlp", "adam", "tpe", "cccc"), "other kinds keep their columns"
        trials = conn.execute(sa.text("SELECT job_id, error FROM tunecost_trials")).all()
        assert [tuple(t) for t in trials] == [(ids["search"], 3.5)], "rebuilding tunecost_jobs lost no trial"

    # the service (at head, as it always runs) reads the converted rows: the replay is found
    # through its landscapes
    from tests import db

    migrate(url, "head")

    listed, count = db.list_jobs(url, optimizer="avagrad")
    assert count == 2 and {j.id for j in listed} == {ids["replay"], ids["sweep_avagrad"]}

    migrate(url, "head")  # and back from head, through every later revision
    downgrade(url, "0002")
    with get_engine(url).connect() as conn:
        packed = conn.execute(
            sa.text("SELECT task, optimizer, searcher FROM tunecost_jobs WHERE id = :j"), {"j": ids["replay"]}
        ).one()
        assert tuple(packed) == ("digits-mlp", "adam,avagrad", "random,cgld")
        assert conn.execute(sa.text("SELECT count(*) FROM tunecost_trials")).scalar_one() == 1
        tables = sa.inspect(conn).get_table_names()
        assert "tunecost_replay_landscapes" not in tables and "tunecost_replay_searchers" not in tables


def _cli(url: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "TUNECOST_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "tunecost.api.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_processes_starting_at_once_migrate_one_at_a_time(empty_database_url: str) -> None:
    """Four processes upgrade one fresh database at once: all succeed, and Optuna's tables are
    there too (the dashboard opens a database no search job has touched)."""
    procs = [_cli(empty_database_url, "db", "upgrade") for _ in range(4)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    assert current_revision(empty_database_url) == head
    tables = sa.inspect(get_engine(empty_database_url)).get_table_names()
    assert {"version_info", "studies", "trials", "tunecost_jobs"} <= set(tables)


def test_the_dashboard_starts_on_a_fresh_database(empty_database_url: str) -> None:
    port = free_port()
    proc = _cli(empty_database_url, "dashboard", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/studies", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else "dashboard exited"
                assert time.monotonic() < deadline, "dashboard did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["study_summaries"] == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_job_owners_move_from_list_positions_to_token_identities(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs owned by `token-N` / `admin-N` (a position in TUNECOST_API_TOKENS) are owned, after
    0010, by the identity of the token configured at that position; a position beyond the list
    keeps its old name, which no token matches. And back."""
    from tests import db
    from tunecost.service.kinds.search import SearchSpec
    from tunecost.service.settings import get_settings, split_token

    monkeypatch.setenv("TUNECOST_API_TOKENS", "tokA,bob:tokB")
    monkeypatch.setenv("TUNECOST_ADMIN_TOKENS", "root")
    get_settings.cache_clear()
    try:
        migrate(empty_database_url, "0009")
        migrate(empty_database_url, "head")
        spec = SearchSpec(task="synthetic-bowl", optimizer="adam", searcher="random", budget=2)
        ids = [db.create_job(empty_database_url, spec, owner=o).id for o in ("x", "x", "x", "x")]
        with get_engine(empty_database_url).begin() as conn:
            for job_id, old in zip(ids, ("token-0", "token-1", "admin-0", "token-5"), strict=True):
                conn.execute(
                    sa.text("UPDATE tunecost_jobs SET owner = :o WHERE id = :i"), {"o": old, "i": job_id}
                )
        downgrade(empty_database_url, "0009")  # 0011 and 0010 undone
        migrate(empty_database_url, "head")
        owners = [db.get_job(empty_database_url, i).owner for i in ids]
        assert owners == [split_token("tokA")[0], "bob", split_token("root")[0], "token-5"]
        assert owners[0].startswith("sha256:") and len(owners[0]) == len("sha256:") + 16
        downgrade(empty_database_url, "0009")
        with get_engine(empty_database_url).connect() as conn:
            rows = conn.execute(sa.text("SELECT owner FROM tunecost_jobs ORDER BY id")).scalars()
            assert list(rows)[:3] == ["token-0", "token-1", "admin-0"]
    finally:
        get_settings.cache_clear()
