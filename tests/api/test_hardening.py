"""Bad input is a 4xx naming the field and commits nothing; jobs belong to their token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tunecost.api.app import create_app
from tunecost.search_spaces import SEARCHERS
from tunecost.service.settings import Settings

JOB = {"kind": "search", "task": "digits-mlp", "optimizer": "adam", "searcher": "tpe", "budget": 4}
SYNTH = {"kind": "search", "task": "synthetic-bowl", "optimizer": "adam", "searcher": "random", "budget": 2}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def post_raw(client: TestClient, body: str) -> object:
    return client.post(
        "/v1/jobs",
        content=body.encode("utf-8", "surrogatepass"),
        headers={"content-type": "application/json"},
    )


def assert_refused(response: object, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"][:2] == ["body", field] or detail[0]["loc"][-1] == field, detail


@pytest.mark.parametrize(
    ("recipe", "field"),
    [
        ('{"fail_alpha_above": "\\ud800"}', "recipe"),
        ('{"fail_alpha_above": ' + '{"fail_alpha_above": ' * 254 + '"\\ud800"' + "}" * 255, "recipe"),
        ('{"sleep_s": NaN}', "recipe"),
        ('{"sleep_s": Infinity}', "recipe"),
        ('{"sleep_s": 1e400}', "recipe"),
    ],
)
def test_values_json_cannot_carry_are_a_422_and_listing_still_works(
    client: TestClient, recipe: str, field: str
) -> None:
    body = json.dumps(SYNTH)[:-1] + f', "recipe": {recipe}}}'
    assert_refused(post_raw(client, body), field)
    listing = client.get("/v1/jobs")
    assert listing.status_code == 200 and listing.json()["count"] == 0, "nothing was committed"


@pytest.mark.parametrize(
    "recipe",
    [
        {"epochs": 2.5},
        {"epochs": "5"},
        {"batch_size": 0},
        {"schedule": "evil"},
        {"val_fraction": 5},
        {"subset": "abc"},
        {"subset": 10**400},
        {"hidden": 10**12},
    ],
)
def test_recipes_are_typed_and_bounded_per_task(client: TestClient, recipe: dict) -> None:
    r = client.post("/v1/jobs", json={**JOB, "recipe": recipe})
    assert_refused(r, "recipe")
    assert next(iter(recipe)) in r.json()["detail"][0]["msg"], "the message names the recipe key"


@pytest.mark.parametrize(
    "path", ["/v1/jobs/{}", "/v1/jobs/{}/trials", "/v1/jobs/{}/curve", "/v1/landscapes/{}"]
)
@pytest.mark.parametrize("big", [2**31, 2**63, 2**70])
def test_ids_beyond_the_database_are_a_422(client: TestClient, path: str, big: int) -> None:
    r = client.get(path.format(big))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "path"
    assert client.post(f"/v1/jobs/{big}/cancel").status_code == 422
    assert client.get("/v1/jobs", params={"offset": big}).status_code == 422


def test_seeds_fit_their_column(client: TestClient) -> None:
    assert_refused(client.post("/v1/jobs", json={**SYNTH, "seed": 2**31}), "seed")
    assert_refused(client.post("/v1/jobs", json={**SYNTH, "seed": 2**32}), "seed")
    assert client.post("/v1/jobs", json={**SYNTH, "seed": 2**31 - 1}).status_code == 202
    sweep = {"kind": "sweep", "task": "synthetic-bowl", "optimizer": "adam", "seeds": [2**31]}
    assert client.post("/v1/jobs", json=sweep).status_code == 422


def test_nul_characters_are_refused_in_urls_and_bodies(client: TestClient) -> None:
    r = client.get("/v1/jobs?task=dig%00its")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query"]
    r = client.post("/v1/jobs", json={**SYNTH, "task": "synthetic-bowl\u0000"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    assert client.get("/v1/jobs").json()["count"] == 0


def test_a_body_over_the_limit_is_a_413(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 4096}))) as c:
        r = c.post("/v1/jobs", json={**SYNTH, "recipe": {"x": "y" * 5000}})
        assert r.status_code == 413 and "4096" in r.json()["detail"]
        assert c.get("/v1/jobs").json()["count"] == 0


@pytest.mark.parametrize("searcher", sorted(SEARCHERS))
@pytest.mark.parametrize(
    "space",
    [
        {"type": "grid", "alphas": [0.5], "epsilons": [5.0]},  # one point
        {"type": "grid", "alphas": [0.5, 0.05], "epsilons": [5.0]},  # one axis, unsorted
    ],
)
def test_one_point_and_one_axis_grids_work_with_every_searcher(
    client: TestClient, searcher: str, space: dict
) -> None:
    budget = len(space["alphas"]) * len(space["epsilons"])
    r = client.post("/v1/jobs", json={**SYNTH, "searcher": searcher, "space": space, "budget": budget})
    assert r.status_code == 202, r.json()
    assert r.json()["spec"]["space"]["alphas"] == sorted(space["alphas"]), "values are stored sorted"


def test_huge_grids_are_refused_at_once_by_the_cap(client: TestClient) -> None:
    values = [1e-6 * (1 + i) for i in range(10_000)]
    r = client.post(
        "/v1/jobs",
        json={**SYNTH, "searcher": "grid", "space": {"type": "grid", "alphas": values, "epsilons": values}},
    )
    assert_refused(r, "space")
    assert "cap" in r.json()["detail"][0]["msg"]


def test_jobs_belong_to_the_token_that_submitted_them(settings: Settings) -> None:
    secured = settings.model_copy(update={"api_tokens": ["token-a", "token-b"], "admin_tokens": ["root"]})
    with TestClient(create_app(secured)) as c:

        def as_(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        job_id = c.post("/v1/jobs", json=SYNTH, headers=as_("token-a")).json()["id"]
        r = c.post(f"/v1/jobs/{job_id}/cancel", headers=as_("token-b"))
        assert (r.status_code, r.json()) == (403, {"detail": "Job belongs to another token"})
        assert c.get(f"/v1/jobs/{job_id}", headers=as_("token-b")).json()["state"] == "queued", (
            "reads stay open"
        )
        assert c.post(f"/v1/jobs/{job_id}/cancel", headers=as_("token-a")).json()["state"] == "cancelled"
        other = c.post("/v1/jobs", json=SYNTH, headers=as_("token-b")).json()["id"]
        assert c.post(f"/v1/jobs/{other}/cancel", headers=as_("root")).json()["state"] == "cancelled"


def test_a_job_stays_its_tokens_through_rotation_and_reordering(settings: Settings) -> None:
    """Owners were list positions: after a restart with tokA rotated out (tokC, tokB), tokC
    cancelled tokA's job; reordered (tokB, tokA), tokA cancelled tokB's. A named token
    (`name:secret`) keeps its jobs across a new secret."""

    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def server(*tokens: str, admins: tuple[str, ...] = ()) -> TestClient:
        return TestClient(
            create_app(settings.model_copy(update={"api_tokens": list(tokens), "admin_tokens": list(admins)}))
        )

    with server("tokA", "tokB", "carol:old-secret") as c:
        of_a = c.post("/v1/jobs", json=SYNTH, headers=as_("tokA")).json()["id"]
        of_b = c.post("/v1/jobs", json=SYNTH, headers=as_("tokB")).json()["id"]
        of_carol = c.post("/v1/jobs", json=SYNTH, headers=as_("old-secret")).json()
        assert of_carol["owner"] == "carol"
    with server("tokC", "tokB", "carol:new-secret", admins=("root",)) as c:  # tokA rotated out
        r = c.post(f"/v1/jobs/{of_a}/cancel", headers=as_("tokC"))
        assert (r.status_code, r.json()) == (403, {"detail": "Job belongs to another token"})
        assert c.post(f"/v1/jobs/{of_carol['id']}/cancel", headers=as_("new-secret")).status_code == 200
        assert c.post(f"/v1/jobs/{of_a}/cancel", headers=as_("root")).status_code == 200, "an admin still can"
    with server("tokB", "tokA") as c:  # reordered
        assert c.post(f"/v1/jobs/{of_b}/cancel", headers=as_("tokA")).status_code == 403
        assert c.post(f"/v1/jobs/{of_b}/cancel", headers=as_("tokB")).status_code == 200


@pytest.mark.parametrize("value", [" , ", ",", "[]", '["  "]'])
def test_a_token_list_that_holds_no_token_is_a_startup_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TUNECOST_API_TOKENS", value)
    with pytest.raises(ValidationError, match="holds no token"):
        Settings(_env_file=None)
    monkeypatch.setenv("TUNECOST_API_TOKENS", "")
    assert Settings(_env_file=None).api_tokens == []


def test_the_data_directory_is_absolute_from_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.setenv("TUNECOST_DATA_DIR", "data")
    settings = Settings(_env_file=None)
    assert settings.data_dir.is_absolute() and settings.data_dir == tmp_path / "data"  # type: ignore[operator]


@pytest.mark.parametrize(
    ("searcher", "options", "option"),
    [
        ("cmaes", {"popsize": 1_000_000_000}, "popsize"),  # the sampler runs in the server's process
        ("tpe", {"n_startup_trials": 10**12}, "n_startup_trials"),
        ("gld", {"search_radius": 1e300}, "search_radius"),
        ("cgld", {"start": {"alpha": 10**400, "epsilon": 1e-8}}, "start"),
    ],
)
def test_searcher_options_are_bounded(client: TestClient, searcher: str, options: dict, option: str) -> None:
    r = client.post("/v1/jobs", json={**JOB, "searcher": searcher, "searcher_options": options})
    assert_refused(r, "searcher_options")
    assert option in str(r.json()["detail"][0]), r.json()


@pytest.mark.parametrize(("field", "value"), [("seed", "0"), ("budget", "5"), ("budget", 5.0)])
def test_numbers_are_not_coerced_from_strings_or_floats(
    client: TestClient, field: str, value: object
) -> None:
    """As recipes are strict: `"budget": "5"` is a client's bug, not a budget."""
    assert_refused(client.post("/v1/jobs", json={**SYNTH, field: value}), field)


def test_the_openapi_document_says_what_this_server_does(settings: Settings) -> None:
    """Security where a token is asked for and nowhere else; 401/400/413 declared where they
    happen; no `prefixItems` (a tuple is a fixed-length array); a 405's Allow names every
    method of the path."""

    def operations(s: Settings) -> dict[tuple[str, str], dict]:
        with TestClient(create_app(s)) as c:
            doc = c.get("/openapi.json").json()
        assert "prefixItems" not in str(doc)
        return {(path, m): op for path, ops in doc["paths"].items() for m, op in ops.items()}

    open_ = operations(settings)
    assert not any("security" in op for op in open_.values()), "no token configured: nothing is secured"
    assert (
        "400" in open_[("/v1/jobs", "post")]["responses"]
        and "413" in open_[("/v1/jobs", "post")]["responses"]
    )
    tokens = operations(settings.model_copy(update={"api_tokens": ["t"]}))
    assert (
        "security" in tokens[("/v1/jobs/{job_id}/cancel", "post")]
        and "401" in tokens[("/v1/jobs/{job_id}/cancel", "post")]["responses"]
    )
    assert "security" not in tokens[("/v1/jobs", "get")], "reads answer without a token unless AUTH_READS"
    reads = operations(settings.model_copy(update={"api_tokens": ["t"], "auth_reads": True}))
    assert "security" in reads[("/v1/jobs", "get")]
    with TestClient(create_app(settings)) as c:
        for path, methods in (("/v1/jobs", "GET, POST"), ("/v1/landscapes", "GET, POST")):
            r = c.options(path)
            assert r.status_code == 405 and r.headers["allow"] == methods, (path, r.headers)


def test_a_tokenless_write_is_a_401_before_its_body_is_read(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"api_tokens": ["t"]}))) as c:
        r = c.post("/v1/jobs", content=b'{"task": ', headers={"content-type": "application/json"})
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
        assert r.headers["www-authenticate"] == "Bearer"
        r = c.post(
            "/v1/jobs",
            content=b'{"task": ',
            headers={"content-type": "application/json", "Authorization": "Bearer x"},
        )
        assert (r.status_code, r.json()) == (403, {"detail": "Invalid token"})
        r = c.post(
            "/v1/jobs",
            content=b'{"task": ',
            headers={"content-type": "application/json", "Authorization": "Bearer t"},
        )
        assert r.status_code == 422, "a known token's malformed body is its own error"


def test_an_idempotency_key_makes_a_retried_submission_one_job(client: TestClient) -> None:
    """Two identical submissions made two jobs; with the same Idempotency-Key the second gets
    the first's job, and the key cannot be reused for another job."""
    first = client.post("/v1/jobs", json=SYNTH, headers={"Idempotency-Key": "retry-7"})
    again = client.post("/v1/jobs", json=SYNTH, headers={"Idempotency-Key": "retry-7"})
    assert first.status_code == again.status_code == 202 and first.json()["id"] == again.json()["id"]
    assert client.get("/v1/jobs").json()["count"] == 1
    other = client.post("/v1/jobs", json={**SYNTH, "seed": 1}, headers={"Idempotency-Key": "retry-7"})
    assert (other.status_code, other.json()) == (
        409,
        {"detail": "Idempotency-Key already used for a different job"},
    )
    assert client.post("/v1/jobs", json=SYNTH).json()["id"] != first.json()["id"], "no key: a new job"
    assert_refused(
        client.post("/v1/jobs", json=SYNTH, headers={"Idempotency-Key": "x" * 256}), "Idempotency-Key"
    )
    assert client.get("/v1/jobs").json()["count"] == 2
