"""Plugins: the example package in examples/ (installed by the test set-up, as a user would),
a broken one that must not take the host down, and jobs over REST on the plugin's task with
the plugin's optimizer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import LiveServer
from tests.workers.parity import max_abs_diff
from tunecost.api.app import create_app
from tunecost.api.client import TunecostClient
from tunecost.service.settings import Settings
from tunecost.workers.catalog import OPTIMIZERS, TASKS, plugin_errors

PLUGIN = "tunecost-example-plugin 0.1.0"


def test_the_catalog_lists_the_plugins_with_their_package(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        catalog = client.get("/v1/catalog").json()
    optimizers = {o["name"]: o for o in catalog["optimizers"]}
    tasks = {t["name"]: t for t in catalog["tasks"]}
    assert optimizers["lion"]["source"] == PLUGIN and optimizers["lion"]["epsilon_arg"] is None
    assert tasks["wine-mlp"]["source"] == PLUGIN and tasks["wine-mlp"]["recipe"]["hidden"] == 32
    assert optimizers["adam"]["source"] == "tunecost (built-in)"
    # how a fused sweep updates each: the built-ins' batched step, a plugin's parameter groups
    assert (
        optimizers["adam"]["batched"] == "tunecost.workers.optimizers:BatchedAdam"
        and optimizers["lion"]["batched"] == ""
    )
    assert catalog["plugin_errors"] == []
    # each task says what its trials score and what a diverged one scores
    digits, diabetes = tasks["digits-mlp"], tasks["diabetes-mlp"]
    assert (digits["metric"]["name"], digits["metric"]["unit"], digits["diverged_score"]) == (
        "validation error",
        "%",
        90.0,
    )
    assert digits["metric"]["delta_unit"] == "points"
    assert diabetes["source"] == PLUGIN and diabetes["metric"]["kind"] == "mse"
    assert diabetes["metric"]["name"] == "validation MSE" and diabetes["diverged_score"] == 1.0
    assert catalog["recipe_options"]["lookahead"]["fused"] and catalog["recipe_options"]["sgdr"]["fused"]


# broken entry -> (the field at fault, what the catalog says of it)
BROKEN_OPTIMIZERS = {
    "epsarg": (
        "epsilon_arg",
        "EpsInside.__init__ takes no argument 'epsilon' (it takes params, lr, betas, eps)",
    ),
    "typo": ("optimizer", "module 'tunecost_example.lion' has no 'Loin'"),
    "nomodule": ("optimizer", "no module 'tunecost_exmaple.lion' is installed"),
    "badoption": ("options", "EpsInside.__init__ takes no argument 'momentum'"),
    "aliased": ("epsilon_arg", "Lion.__init__ takes no argument 'eps'"),
    "nobatched": ("batched", "module 'broken_optim' has no 'BatchedNope'"),
    "fewbatched": ("batched", "BatchedFew.__init__ must take (params, alpha, eps), takes ['params']"),
    "badgrid": ("grid", "'paperr' is not a named grid; known: ['paper', 'paper-adabelief', 'paper-alpha']"),
}


@pytest.fixture
def broken_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An installed distribution whose entry points are wrong in each way a plugin can be."""
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[tunecost.optimizers]\n"
        "missing = no_such_module_anywhere:Thing\n"
        "notaspec = json:dumps\n"
        "adam = tunecost_example.catalog:LION\n"
        + "".join(f"{name} = broken_entries:{name.upper()}\n" for name in BROKEN_OPTIMIZERS)
        + "inherited = broken_entries:INHERITED\n"
        "[tunecost.tasks]\n"
        "badtask = tunecost_example.catalog:LION\n"
        "accuracy = broken_entries:ACCURACY\n"
        "nomodel = broken_entries:NOMODEL\n"
    )
    # Each entry below is wrong in one field, found when the catalog loads, not when a job runs.
    # The classes live in a module that imports torch, which the catalog's checks must not import.
    (tmp_path / "broken_optim.py").write_text(
        "import torch\n"
        "from tunecost_example.lion import Lion as Reexported\n"
        "class EpsInside(torch.optim.Optimizer):\n"
        "    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):\n"
        "        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))\n"
        "class FromAdam(torch.optim.Adam):\n"
        "    pass\n"
        "class BatchedFew:\n"
        "    def __init__(self, params):\n"
        "        pass\n"
    )
    (tmp_path / "broken_entries.py").write_text(
        "from tunecost import Metric, MLPRecipe, OptimizerInfo, TaskInfo\n"
        "def entry(name, path, **kw):\n"
        "    return OptimizerInfo(name, 'broken', 1e-3, 1e-8, 'eps', 'none', optimizer=path, **kw)\n"
        "EPSARG = entry('epsarg', 'broken_optim:EpsInside', epsilon_arg='epsilon')\n"
        "TYPO = entry('typo', 'tunecost_example.lion:Loin', epsilon_arg=None)\n"
        "NOMODULE = entry('nomodule', 'tunecost_exmaple.lion:Lion', epsilon_arg=None)\n"
        "BADOPTION = entry('badoption', 'broken_optim:EpsInside', options={'momentum': 0.9})\n"
        "ALIASED = entry('aliased', 'broken_optim:Reexported')\n"
        "NOBATCHED = entry('nobatched', 'broken_optim:EpsInside', batched='broken_optim:BatchedNope')\n"
        "FEWBATCHED = entry('fewbatched', 'broken_optim:EpsInside', batched='broken_optim:BatchedFew')\n"
        "BADGRID = entry('badgrid', 'broken_optim:EpsInside', grid='paperr')\n"
        "INHERITED = entry('inherited', 'broken_optim:FromAdam')\n"
        "ACCURACY = TaskInfo('accuracy', 'maximises', 10, MLPRecipe, module='tunecost.workers.tasks.digits_mlp',\n"
        "    metric=Metric('validation accuracy', '%', 'error', lower_is_better=False))\n"
        "NOMODEL = TaskInfo('nomodel', 'no model', 10, MLPRecipe, module='broken_optim')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    OPTIMIZERS.reload()
    TASKS.reload()
    yield
    monkeypatch.undo()
    OPTIMIZERS.reload()
    TASKS.reload()
    assert set(OPTIMIZERS) >= {"adam", "lion"} and not plugin_errors()


def test_a_broken_plugin_is_reported_and_the_rest_works(broken_plugin: None, settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        r = client.get("/v1/catalog")
        assert r.status_code == 200
        catalog = r.json()
        errors = {(e["group"], e["name"]): e for e in catalog["plugin_errors"]}
        assert set(errors) == {
            ("tunecost.optimizers", "missing"),
            ("tunecost.optimizers", "notaspec"),
            ("tunecost.optimizers", "adam"),
            ("tunecost.tasks", "badtask"),
            ("tunecost.tasks", "accuracy"),
            ("tunecost.tasks", "nomodel"),
        } | {("tunecost.optimizers", name) for name in BROKEN_OPTIMIZERS}
        for name, (field, message) in BROKEN_OPTIMIZERS.items():
            error = errors[("tunecost.optimizers", name)]
            assert error["field"] == field and message in error["error"], error
        nomodel = errors[("tunecost.tasks", "nomodel")]
        assert nomodel["field"] == "module" and "defines no load_data or build_model" in nomodel["error"]
        # what cannot be known without running code (an __init__ inherited from torch) is let in
        assert "inherited" in {o["name"] for o in catalog["optimizers"]}
        assert "tunecost minimises" in errors[("tunecost.tasks", "accuracy")]["error"]
        assert errors[("tunecost.optimizers", "missing")]["source"] == "broken-plugin 1.0"
        assert "ModuleNotFoundError" in errors[("tunecost.optimizers", "missing")]["error"]
        assert "not a OptimizerInfo" in errors[("tunecost.optimizers", "notaspec")]["error"]
        assert "names an entry called 'lion'" in errors[("tunecost.optimizers", "adam")]["error"]
        names = {o["name"] for o in catalog["optimizers"]}
        assert {"adam", "lion"} <= names and not names & {"missing", "notaspec"}
        adam = next(o for o in catalog["optimizers"] if o["name"] == "adam")
        assert adam["source"] == "tunecost (built-in)"  # a plugin cannot replace a built-in
        r = client.post("/v1/jobs", json={"kind": "search", "task": "digits-mlp", "optimizer": "missing"})
        assert r.status_code == 422 and "optimizer 'missing' is not in the catalog" in r.text
        r = client.post("/v1/jobs", json={"kind": "sweep", "task": "digits-mlp", "optimizer": "epsarg"})
        assert r.status_code == 422, r.text
        (detail,) = r.json()["detail"]
        assert detail["loc"][-1] == "optimizer"
        assert "its plugin (broken-plugin 1.0) failed to load: `epsilon_arg`" in detail["msg"]
        assert "plugin_errors" in detail["msg"]
        r = client.post("/v1/jobs", json={"kind": "search", "task": "digits-mlp", "optimizer": "nosuch"})
        assert r.status_code == 422 and "unknown optimizer 'nosuch'" in r.text
        assert client.get("/v1/jobs").json()["count"] == 0


def test_the_cli_catalog_works_without_a_server(broken_plugin: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No server answers: `tunecost catalog` says so on stderr and prints the installed catalog."""
    from typer.testing import CliRunner

    from tests.conftest import free_port
    from tunecost.api.cli import app

    monkeypatch.setenv("TUNECOST_URL", f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["catalog", "--json"])
    assert result.exit_code == 0, result.output
    assert "no tunecost server at" in result.stderr
    catalog = json.loads(result.stdout)
    assert "lion" in {o["name"] for o in catalog["optimizers"]}
    errors = {e["name"]: e for e in catalog["plugin_errors"]}
    assert errors["epsarg"]["field"] == "epsilon_arg"
    # by default, tables a person reads (it printed 77 KB of JSON), the plugin errors first
    shown = CliRunner().invoke(app, ["catalog"], env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    assert len(shown.stdout) < 10_000 and shown.stdout.lstrip().startswith("plugin errors")
    for line in ("lion", "digits-mlp", "validation error (%)", "tpe", "asha"):
        assert line in shown.stdout


def test_the_entry_checks_run_no_plugin_code_and_import_no_torch(broken_plugin: None) -> None:
    """The API process checks every entry without importing torch (nor the plugin's module)."""
    program = (
        "import sys; from tunecost.workers.catalog import plugin_errors; "
        "fields = sorted(e.field or '' for e in plugin_errors()); "
        "print(fields, 'torch' in sys.modules, 'broken_optim' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("False False"), out.stdout
    assert "epsilon_arg" in out.stdout and "options" in out.stdout


def test_the_conformance_checks_fail_with_an_assertion_error_whatever_breaks() -> None:
    """As tunecost.testing promises: an exception from the plugin's code is an AssertionError
    that says which check it broke (here torch's Adam given an argument it does not take)."""
    from dataclasses import replace

    from tunecost.testing import check_optimizer

    OPTIMIZERS.register(replace(OPTIMIZERS["adam"], name="adam-wrong-eps", epsilon_arg="epsilon"))
    try:
        with pytest.raises(
            AssertionError, match="training digits-mlp with adam-wrong-eps.*TypeError.*'epsilon'"
        ):
            check_optimizer("adam-wrong-eps")
    finally:
        OPTIMIZERS.unregister("adam-wrong-eps")


def test_lion_matches_the_lion_pytorch_reference_in_float64() -> None:
    from lion_pytorch import Lion as Reference
    from tunecost_example.lion import Lion

    for kw in ({"lr": 1e-3}, {"lr": 3e-4, "betas": (0.95, 0.98), "weight_decay": 0.1}):
        assert max_abs_diff(lambda p, kw=kw: Lion(p, **kw), lambda p, kw=kw: Reference(p, **kw)) < 1e-14


def test_the_conformance_checks_pass_for_the_example_plugin() -> None:
    from tunecost.testing import check_optimizer, check_task

    check_optimizer("lion")
    check_task("wine-mlp")
    check_task("wine-mlp", optimizer="lion")
    check_task("diabetes-mlp", optimizer="lion")


def test_a_regression_task_is_scored_by_its_validation_mse_fused_or_not() -> None:
    import torch

    from tunecost.workers.fused import can_fuse, train_fused
    from tunecost.workers.trainer import train_one

    configs = [(1e-3, 1e-8), (1e-2, 1e-6), (1e3, 1e-8)]
    recipe = {"epochs": 3}
    assert can_fuse("diabetes-mlp", "adam")
    fused = train_fused("diabetes-mlp", "adam", configs, seed=1, recipe=recipe, dtype=torch.float64)
    for (alpha, eps), f in zip(configs, fused, strict=True):
        one = train_one("diabetes-mlp", "adam", alpha, eps, seed=1, recipe=recipe, dtype=torch.float64)
        assert one.diverged == f.diverged and abs(one.error - f.error) < 1e-8
    good, _, blown = fused
    assert 0 < good.error < 1.0 and good.error == pytest.approx(good.val_loss)  # the score is the MSE
    # worse than predicting the mean of the standardized target: the declared diverged score, 1.0
    assert blown.error == TASKS["diabetes-mlp"].failure_score == 1.0
    assert blown.diverged or blown.val_loss > 1.0


def test_mse_landscapes_import_in_their_own_range_and_do_not_mix_with_errors(settings: Settings) -> None:
    base = {"optimizer": "adam", "alphas": [1e-3, 1e-2], "epsilons": [1e-8]}
    with TestClient(create_app(settings)) as client:
        mse = client.post(
            "/v1/landscapes", json={**base, "task": "diabetes-mlp", "errors": [[0.41], [250.0]]}
        )
        assert mse.status_code == 201, mse.json()
        assert mse.json()["metric"]["name"] == "validation MSE"  # above 100 is a valid MSE
        error = client.post("/v1/landscapes", json={**base, "task": "digits-mlp", "errors": [[3.0], [4.0]]})
        assert error.json()["metric"]["unit"] == "%"
        r = client.post("/v1/landscapes", json={**base, "task": "digits-mlp", "errors": [[3.0], [250.0]]})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "errors"]
        assert "validation error" in r.json()["detail"][0]["msg"]
        r = client.post(
            "/v1/landscapes", json={**base, "task": "table", "metric": "mse", "errors": [[0.4], [None]]}
        )
        assert r.status_code == 422 and "failure_score" in r.json()["detail"][0]["msg"]
        ids = [mse.json()["id"], error.json()["id"]]
        r = client.post("/v1/jobs", json={"kind": "replay", "landscape_ids": ids, "budget": 2, "seeds": 2})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "landscape_ids"]
        assert "validation MSE" in r.json()["detail"][0]["msg"]
        assert client.get("/v1/jobs").json()["count"] == 0  # nothing written


def test_the_public_import_name_carries_the_contracts_and_not_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tunecost; from tunecost import OptimizerInfo, TaskInfo, Recipe, TunecostClient, "
        "TunecostError, GLDSampler; assert 'torch' not in sys.modules and 'ray' not in sys.modules; "
        "print(tunecost.__version__, issubclass(TunecostError, Exception))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    from importlib.metadata import version

    assert out.stdout.strip() == f"{version('tunecost')} True", out.stderr


@pytest.mark.slow
def test_sweep_replay_and_search_over_rest_on_the_plugin_task_with_the_plugin_optimizer(
    live_server: LiveServer,
) -> None:
    client = TunecostClient(live_server.url)
    grid = {"alphas": [1e-4, 1e-3, 1e-2], "epsilons": [1e-8, 1e-4]}
    sweeps = {}
    for optimizer in ("lion", "adam"):
        job = client.submit(
            kind="sweep",
            task="diabetes-mlp",
            optimizer=optimizer,
            space=grid if optimizer == "adam" else {**grid, "epsilons": [1e-8]},
            seeds=[0],
            recipe={"epochs": 10},
        )
        job = client.wait(job.id, timeout=300, poll=0.3, progress=False)
        assert job.state == "succeeded", job.error
        assert job.metric["name"] == "validation MSE"
        sweeps[optimizer] = job.landscape_id
    lion = httpx.get(f"{live_server.url}/v1/landscapes/{sweeps['lion']}").json()
    assert lion["optimizer"] == "lion" and lion["task"] == "diabetes-mlp"
    assert lion["metric"]["name"] == "validation MSE" and lion["metric"]["failure_score"] == 1.0
    errors = lion["errors"]
    # Lion has no epsilon: tuned over alpha alone, one column (a grid of several is refused)
    assert lion["shape"] == [3, 1] and all(len(row) == 1 for row in errors), errors
    assert min(min(row) for row in errors) < 0.8  # it learns: predicting the mean scores 1.0
    refused = httpx.post(
        f"{live_server.url}/v1/jobs",
        json={
            "kind": "sweep",
            "task": "diabetes-mlp",
            "optimizer": "lion",
            "space": {"type": "grid", **grid},
        },
    )
    assert refused.status_code == 422 and "lion has no epsilon" in refused.text

    replay = client.submit(
        kind="replay",
        landscape_ids=[sweeps["lion"], sweeps["adam"]],
        searchers=["random", "tpe"],
        seeds=5,
        budget=6,
        deltas=[0.01, 0.05],
    )
    replay = client.wait(replay.id, timeout=300, poll=0.3, progress=False)
    assert replay.state == "succeeded", replay.error
    # computed on request: once over 5 s in the full suite (statsmodels' Holm ran gc.collect())
    comparison = httpx.get(
        f"{live_server.url}/v1/comparisons", params={"job_id": replay.id}, timeout=30
    ).json()
    assert {row["optimizer"] for row in comparison["rows"]} == {"lion", "adam"}
    assert comparison["delta_unit"] == "validation MSE"
    assert {f["metric"] for f in comparison["landscapes"]} == {"validation MSE"}
    assert any("lion" in v["text"] for v in comparison["verdicts"])
    # lion's 3 configs against adam's 6: the verdicts say the spaces differ
    assert all(any("α alone" in c for c in v["cautions"]) for v in comparison["verdicts"])

    search = client.submit(
        task="diabetes-mlp", optimizer="lion", searcher="tpe", budget=4, seed=0, recipe={"epochs": 5}
    )
    search = client.wait(search.id, timeout=300, poll=0.3, progress=False)
    assert search.state == "succeeded", search.error
    assert search.trials_done == 4 and 0 < search.best.error <= 1.0


def test_a_check_added_after_the_catalog_loaded_moves_a_failing_plugin_to_the_errors() -> None:
    """A layer above adds its own checks (the service: a default grid must be a named one); a
    catalog already loaded is checked at once, built-ins never."""
    from tunecost.workers.catalog._static import EntryError

    assert "lion" in OPTIMIZERS

    def no_lion(info: object) -> None:
        if getattr(info, "name", None) in ("lion", "adam"):
            raise EntryError("name", "not here")

    OPTIMIZERS.add_check(no_lion)
    try:
        assert "lion" not in OPTIMIZERS and "adam" in OPTIMIZERS  # a built-in is not a plugin
        failure = OPTIMIZERS.failure("lion")
        assert failure is not None and failure.field == "name" and failure.source == PLUGIN
    finally:
        OPTIMIZERS.checks.remove(no_lion)
        OPTIMIZERS.reload()
    assert "lion" in OPTIMIZERS and not plugin_errors()
