"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.main import get_command

from api.cli import app

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def cli_commands() -> set[str]:
    group = get_command(app)
    names = set(group.commands)
    names |= {f"db {sub}" for sub in get_command(app).commands["db"].commands}
    return names


def test_all_services_are_there() -> None:
    assert {"postgres", "api", "runner", "ray-head", "ray-worker", "optuna-dashboard"} <= set(SERVICES)


def test_tunecost_services_share_one_postgres_database() -> None:
    urls = {
        name: svc["environment"]["TUNECOST_DATABASE_URL"]
        for name, svc in SERVICES.items()
        if svc.get("build")
    }
    assert {"api", "runner", "optuna-dashboard", "migrate"} <= set(urls)
    (url,) = set(urls.values())
    pg = SERVICES["postgres"]["environment"]
    assert (
        url
        == f"postgresql+psycopg://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    )


def test_commands_exist_in_the_cli() -> None:
    known = cli_commands()
    for name in ("api", "runner", "optuna-dashboard", "migrate"):
        command = SERVICES[name]["command"]
        word = " ".join(command[:2]) if command[0] == "db" else command[0]
        assert word in known, (name, command)


def test_runner_joins_the_ray_head() -> None:
    address = SERVICES["runner"]["environment"]["TUNECOST_RAY_ADDRESS"]
    port = re.search(r":(\d+)$", address).group(1)
    head = " ".join(SERVICES["ray-head"]["command"])
    assert address.startswith("ray://ray-head:") and f"--ray-client-server-port={port}" in head
    assert "--address=ray-head:6379" in SERVICES["ray-worker"]["command"]
    assert "--port=6379" in head


def test_ray_worker_reserves_a_gpu() -> None:
    (device,) = SERVICES["ray-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]


def test_services_wait_for_migrations_and_postgres() -> None:
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "runner", "optuna-dashboard"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_ports_are_published() -> None:
    assert "8000:8000" in SERVICES["api"]["ports"]
    assert "8080:8080" in SERVICES["optuna-dashboard"]["ports"]


def test_dockerfile_pins_python_and_torch_and_installs_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11" in text
    assert 'pip install "torch==2.13.0"' in text
    for package in ("api", "service", "workers", "search_spaces", "migrations"):
        assert f"COPY {package} ./{package}" in text
    assert 'ENTRYPOINT ["tunecost"]' in text
