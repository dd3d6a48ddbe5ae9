"""REST contract: validation, errors, auth, paging, CSV, OpenAPI. No job runs here."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tunecost.api.app import create_app
from tunecost.service.settings import Settings, split_token

JOB = {
    "kind": "search",
    "task": "digits-mlp",
    "optimizer": "adam",
    "searcher": "tpe",
    "budget": 12,
    "seed": 0,
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def auth_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"api_tokens": ["s3cret"]}))) as c:
        yield c


def test_submit_returns_202_queued(client: TestClient) -> None:
    r = client.post("/v1/jobs", json=JOB)
    assert r.status_code == 202
    body = r.json()
    assert body["state"] == "queued" and isinstance(body["id"], int)
    assert body["study_name"] == f"tunecost-job-{body['id']} (search, digits-mlp, adam, tpe)"
    assert body["spec"]["space"]["type"] == "grid" and len(body["spec"]["space"]["alphas"]) == 21
    got = client.get(f"/v1/jobs/{body['id']}").json()
    assert got["id"] == body["id"] and got["state"] == "queued" and got["trials_done"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"task": "imagenet"}, "task"),
        ({"optimizer": "sophia"}, "optimizer"),
        ({"searcher": "bayes"}, "searcher"),
        ({"budget": 0}, "budget"),
        ({"budget": 5000}, "budget"),
        ({"space": {"type": "grid", "alphas": [], "epsilons": [1e-8]}}, "space"),
        ({"space": {"type": "grid", "alphas": [0.0], "epsilons": [1e-8]}}, "space"),
        ({"space": {"type": "grid", "alphas": [0.1], "epsilons": [-1e-8]}}, "space"),
        ({"space": {"type": "box", "alpha": [1e-3, 1.0], "epsilon": [0.0, 1.0]}}, "space"),
        ({"space": {"type": "grid", "alphas": [10**400], "epsilons": [1e-8]}}, "space"),  # was a 500
        ({"space": {"type": "box", "alpha": [1e-3, 10**400], "epsilon": [1e-8, 1.0]}}, "space"),
        ({"space": {"type": "grid", "alphas": [1e-3], "epsilons": [1e-8], "name": {"evil": [1]}}}, "space"),
        ({"space": {"type": "grid", "alphas": [1e-3], "epsilons": [1e-8], "name": "paper"}}, "space"),
        ({"space": {"type": "grid", "alphas": [1e-3], "epsilons": [1e-8], "name": "x" * 100_000}}, "space"),
    ],
)
def test_bad_input_is_422_naming_the_field(client: TestClient, change: dict, field: str) -> None:
    r = client.post("/v1/jobs", json={**JOB, **change})
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"][:2] == ["body", field], error
    assert client.get("/v1/jobs").json()["count"] == 0, "nothing was queued"


def test_budget_over_the_configured_cap_is_422(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"budget_cap": 10}))) as c:
        r = c.post("/v1/jobs", json=JOB)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "budget"]
    assert "cap" in r.json()["detail"][0]["msg"]


def test_malformed_json_is_422(client: TestClient) -> None:
    r = client.post("/v1/jobs", content=b'{"task": ', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_unknown_job_is_404(client: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/jobs/999"),
        ("POST", "/v1/jobs/999/cancel"),
        ("GET", "/v1/jobs/999/trials"),
        ("GET", "/v1/jobs/999/curve"),
    ]:
        r = client.request(method, path)
        assert (r.status_code, r.json()) == (404, {"detail": "Job not found"})


def test_cancel_queued_job_then_conflict(client: TestClient) -> None:
    job_id = client.post("/v1/jobs", json=JOB).json()["id"]
    r = client.post(f"/v1/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = client.post(f"/v1/jobs/{job_id}/cancel")
    assert (r.status_code, r.json()) == (409, {"detail": "Job already cancelled"})


def test_list_filters_and_pages(client: TestClient) -> None:
    for optimizer in ("adam", "adamw", "adam", "sgd"):
        client.post("/v1/jobs", json={**JOB, "optimizer": optimizer})
    client.post(f"/v1/jobs/{client.get('/v1/jobs').json()['data'][0]['id']}/cancel")
    page = client.get("/v1/jobs", params={"limit": 2}).json()
    assert page["count"] == 4 and len(page["data"]) == 2
    assert [j["optimizer"] for j in client.get("/v1/jobs", params={"optimizer": "adam"}).json()["data"]] == [
        "adam",
        "adam",
    ]
    assert client.get("/v1/jobs", params={"state": "cancelled"}).json()["count"] == 1
    assert client.get("/v1/jobs", params={"state": "bogus"}).status_code == 422


def test_empty_curve_in_json_and_csv(client: TestClient) -> None:
    job_id = client.post("/v1/jobs", json=JOB).json()["id"]
    assert client.get(f"/v1/jobs/{job_id}/curve").json()["points"] == []
    r = client.get(f"/v1/jobs/{job_id}/curve", headers={"accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines() == ["trial,alpha,epsilon,error,best_so_far,suboptimality,diverged"]


def test_best_config_without_trials_is_404(client: TestClient) -> None:
    r = client.get("/v1/best-configs", params={"task": "digits-mlp", "optimizer": "adam"})
    assert (r.status_code, r.json()) == (404, {"detail": "Finished trial not found"})


def test_the_catalog_lists_the_schedulers_and_pruners_that_the_specs_take(client: TestClient) -> None:
    """A user finds `asha`, `hyperband` and `median` in the catalog, with each option's bounds,
    which job kind and field take them, and a class that exists."""
    import importlib
    import typing

    from tunecost.service.analysis.replay import PrunerSpec
    from tunecost.service.kinds.search import SchedulerSpec

    catalog = client.get("/v1/catalog").json()
    for listed, model, kind in (
        (catalog["schedulers"], SchedulerSpec, "search"),
        (catalog["pruners"], PrunerSpec, "replay"),
    ):
        assert [e["name"] for e in listed] == list(typing.get_args(model.model_fields["name"].annotation))
        for entry in listed:
            assert entry["job_kinds"] == [kind] and entry["options"]
            for name, option in entry["options"].items():
                assert "minimum" in option and "default" in option and name in model.model_fields
            module, _, cls = entry["builds"].rpartition(".")
            if module.startswith("optuna"):  # (Ray's are checked where a search runs)
                assert hasattr(importlib.import_module(module), cls)
    assert catalog["schedulers"][0]["options"]["reduction_factor"]["minimum"] == 2


def test_catalog_lists_the_registries(client: TestClient) -> None:
    catalog = client.get("/v1/catalog").json()
    assert {"digits-mlp"} <= {t["name"] for t in catalog["tasks"]}
    assert {
        "sgd",
        "adam",
        "amsgrad",
        "adamw",
        "radam",
        "adabelief",
        "avagrad",
        "avagradw",
        "delayed_adam",
        "adabound",
        "amsbound",
    } <= {o["name"] for o in catalog["optimizers"]}
    assert {s["name"] for s in catalog["searchers"]} == {"grid", "random", "tpe", "cmaes", "gld", "cgld"}
    assert {"digits-mlp", "mnist5k-mlp", "mnist5k-cnn", "cifar10-wrn"} <= {
        t["name"] for t in catalog["tasks"]
    }
    adam = next(o for o in catalog["optimizers"] if o["name"] == "adam")
    assert (adam["default_alpha"], adam["default_epsilon"]) == (1e-3, 1e-8)
    assert len(catalog["spaces"]["paper"]["alphas"]) == 21


def test_healthz(client: TestClient, database_url: str) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == ("sqlite" if database_url.startswith("sqlite") else "postgresql")


def test_writes_need_a_token_when_tokens_are_configured(auth_client: TestClient) -> None:
    r = auth_client.post("/v1/jobs", json=JOB)
    assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
    r = auth_client.post("/v1/jobs", json=JOB, headers={"Authorization": "Bearer wrong"})
    assert (r.status_code, r.json()) == (403, {"detail": "Invalid token"})
    r = auth_client.post("/v1/jobs", json=JOB, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 202 and r.json()["owner"] == split_token("s3cret")[0]
    job_id = r.json()["id"]
    assert auth_client.post(f"/v1/jobs/{job_id}/cancel").status_code == 401
    # reads stay open by default
    assert auth_client.get(f"/v1/jobs/{job_id}").status_code == 200
    assert auth_client.get("/v1/catalog").status_code == 200


def test_reads_can_require_a_token(settings: Settings) -> None:
    locked = settings.model_copy(update={"api_tokens": ["s3cret"], "auth_reads": True})
    with TestClient(create_app(locked)) as c:
        assert c.get("/v1/jobs").status_code == 401
        assert c.get("/v1/jobs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_openapi_documents_every_route_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in [
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/cancel",
        "/v1/jobs/{job_id}/trials",
        "/v1/jobs/{job_id}/curve",
        "/v1/best-configs",
        "/v1/catalog",
        "/healthz",
    ]:
        assert path in paths, path
    body = paths["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["tpe"]["value"]["searcher"] == "tpe"


def test_api_process_never_imports_torch_or_ray() -> None:
    code = (
        "import sys; from fastapi.testclient import TestClient; from tunecost.api.app import create_app; "
        "from tunecost.service.settings import Settings; import tempfile; "
        "c = TestClient(create_app(Settings(home=tempfile.mkdtemp(), _env_file=None))); c.__enter__(); "
        "c.post('/v1/jobs', json={'kind': 'search', 'task': 'digits-mlp', 'optimizer': 'adam', 'budget': 3}); "
        "c.get('/v1/catalog'); print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_docs_load_nothing_from_the_internet_and_root_redirects(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))], (page, assets)
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/docs"


def test_a_sweep_with_a_bad_grid_name_is_refused_and_landscapes_still_list(client: TestClient) -> None:
    """A non-string grid name was accepted (202), stored a landscape, then broke
    GET /v1/landscapes for every caller with a 500."""
    sweep = {
        "kind": "sweep",
        "task": "synthetic-bowl",
        "optimizer": "adam",
        "seeds": [0],
        "space": {
            "type": "grid",
            "alphas": [0.001, 0.01],
            "epsilons": [1e-8, 1e-6],
            "name": {"evil": [1, 2]},
        },
    }
    r = client.post("/v1/jobs", json=sweep)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "space"]
    assert client.get("/v1/jobs").json()["count"] == 0
    assert client.get("/v1/landscapes").status_code == 200


def test_a_body_without_a_json_content_type_is_told_to_be_json(client: TestClient) -> None:
    for headers in ({}, {"content-type": "application/x-www-form-urlencoded"}):  # the latter: `curl -d`
        r = client.post("/v1/jobs", content=b'{"kind": "search"}', headers=headers)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
        assert (
            r.json()["detail"][0]["msg"] == "The body must be JSON, sent with Content-Type: application/json"
        )
    assert client.get("/v1/jobs").json()["count"] == 0


def test_a_tpe_search_within_its_random_start_says_it_is_a_random_search(client: TestClient) -> None:
    """TPE's first 10 trials are random: a budget of 6 proposed exactly a random search's configs."""
    within = client.post("/v1/jobs", json={**JOB, "searcher": "tpe", "budget": 6}).json()
    (warning,) = within["warnings"]
    assert warning.startswith("tpe: its first 10 trials (searcher_options.n_startup_trials) are random")
    assert client.get(f"/v1/jobs/{within['id']}").json()["warnings"] == [warning]
    modelled = {**JOB, "searcher": "tpe", "budget": 6, "searcher_options": {"n_startup_trials": 3}}
    assert client.post("/v1/jobs", json=modelled).json()["warnings"] == []
