"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine runs here) and
against the code: every command exists, every image installs what its services import."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml
from typer.main import get_command

from tunecost.api.cli import app

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TUNECOST = {name for name, svc in SERVICES.items() if "build" in svc}
LONG_RUNNING = TUNECOST - {"migrate"} | {"postgres"}


def stage(name: str) -> str:
    """The Dockerfile's lines for one build stage."""
    match = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", DOCKERFILE, flags=re.S | re.M)
    assert match, f"no stage {name}"
    return match.group(1)


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares them (fastapi_offline == fastapi-offline)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalized(re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0]) for r in requirements}


def cli_commands() -> set[str]:
    group = get_command(app)
    return set(group.commands) | {f"db {sub}" for sub in group.commands["db"].commands}


def test_all_services_are_there() -> None:
    assert {
        "postgres",
        "migrate",
        "api",
        "runner",
        "ray-head",
        "ray-worker",
        "ray-worker-gpu",
        "optuna-dashboard",
    } <= set(SERVICES)


def test_tunecost_services_share_one_postgres_database_and_one_home() -> None:
    urls = {name: SERVICES[name]["environment"]["TUNECOST_DATABASE_URL"] for name in TUNECOST}
    (url,) = set(urls.values())
    pg = SERVICES["postgres"]["environment"]
    assert (
        url
        == f"postgresql+psycopg://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    )
    for name in ("api", "runner", "optuna-dashboard"):  # figures attached by runners, served by the dashboard
        home = SERVICES[name]["environment"]["TUNECOST_HOME"]
        assert f"tunecost-home:{home}" in SERVICES[name]["volumes"], name
    assert "tunecost-home" in COMPOSE["volumes"]


def test_commands_exist_in_the_cli() -> None:
    known = cli_commands()
    for name in ("api", "runner", "optuna-dashboard", "migrate"):
        command = SERVICES[name]["command"]
        word = " ".join(command[:2]) if command[0] == "db" else command[0]
        assert word in known, (name, command)


def test_runner_joins_the_ray_head_through_ray_client() -> None:
    address = SERVICES["runner"]["environment"]["TUNECOST_RAY_ADDRESS"]
    port = re.search(r":(\d+)$", address).group(1)
    head = " ".join(SERVICES["ray-head"]["command"])
    assert address.startswith("ray://ray-head:") and f"--ray-client-server-port={port}" in head
    assert "--port=6379" in head and "--dashboard-host=0.0.0.0" in head
    for worker in ("ray-worker", "ray-worker-gpu"):
        assert "--address=ray-head:6379" in SERVICES[worker]["command"]
    cluster = requirement_names(PYPROJECT["project"]["optional-dependencies"]["cluster"])
    assert cluster == {"ray"} and "client" in PYPROJECT["project"]["optional-dependencies"]["cluster"][0]
    assert "default" in PYPROJECT["project"]["optional-dependencies"]["cluster"][0], "Ray's dashboard"


def test_a_cpu_worker_by_default_and_a_gpu_worker_in_the_gpu_profile() -> None:
    assert "profiles" not in SERVICES["ray-worker"] and "deploy" not in SERVICES["ray-worker"]
    assert SERVICES["ray-worker-gpu"]["profiles"] == ["gpu"]
    (device,) = SERVICES["ray-worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]


def test_services_wait_for_migrations_and_postgres_and_restart() -> None:
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "runner", "optuna-dashboard"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in LONG_RUNNING:
        assert SERVICES[name].get("restart") == "unless-stopped", name


def test_the_shared_dashboard_is_read_only() -> None:
    assert "--read-only" in SERVICES["optuna-dashboard"]["command"]


def test_ports_are_published() -> None:
    assert "8000:8000" in SERVICES["api"]["ports"]
    assert "8080:8080" in SERVICES["optuna-dashboard"]["ports"]
    assert {"8265:8265", "10001:10001"} <= set(SERVICES["ray-head"]["ports"])


def test_each_service_builds_the_image_for_its_role() -> None:
    for name in ("api", "migrate", "optuna-dashboard"):
        assert SERVICES[name]["build"]["target"] == "api", name
    for name in ("runner", "ray-head", "ray-worker", "ray-worker-gpu"):
        assert SERVICES[name]["build"]["target"] == "runner", name


def test_dockerfile_pins_python_and_torch_and_installs_every_package() -> None:
    assert DOCKERFILE.startswith("#") and "FROM python:3.11" in DOCKERFILE
    folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ].values()
    for package in folders:  # every folder that installs under tunecost
        assert f"COPY {package} ./{package}" in DOCKERFILE
    assert "torch" not in stage("api") and "ray" not in stage("api").lower(), "the API image carries no torch"
    assert '"torch==2.13.0"' in stage("runner") and '".[train,cluster]"' in stage("runner")
    assert 'ENTRYPOINT ["tunecost"]' in stage("api") and 'ENTRYPOINT ["tunecost"]' in stage("runner")


def _third_party_imports(folder: str) -> set[str]:
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else (
                    [node.module]
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                    else []
                )
            )
            found |= {n.split(".")[0] for n in names}
    local = {"tunecost", "tests"}  # the project's own import names
    return {m for m in found - local if m not in sys.stdlib_module_names and m != "__future__"}


def test_each_image_installs_what_its_code_imports() -> None:
    """The runner image installs the base dependencies and the train and cluster extras; the
    API image the base alone, so the API, the CLI and the dashboard must import nothing more."""
    dists = packages_distributions()
    project = PYPROJECT["project"]
    base = requirement_names(project["dependencies"])
    train = requirement_names(project["optional-dependencies"]["train"])

    def needed(folder: str) -> set[str]:
        return {normalized(dists[m][0]) for m in _third_party_imports(folder) if m in dists}

    assert needed("workers") | needed("service") <= base | train, "runner image"
    assert needed("api") <= base, "API image"
    code = (
        "import sys, tunecost.api.app, tunecost.api.cli, tunecost.service.study, tunecost.service.comparisons; "
        "print(sorted(m for m in ('torch', 'ray', 'sklearn', 'mlxtend') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", "the API image's code imports no training library"
