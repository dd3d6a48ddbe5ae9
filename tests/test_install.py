"""What `pip install tunecost` puts in site-packages: one import name, ``tunecost``.

The repository's top-level folders (``api/``, ``service/``, ``workers/``, ``search_spaces/``,
``migrations/``) install as ``tunecost.api``, ``tunecost.service``, ... (pyproject.toml's
``package-dir``), so a researcher's own ``service`` or ``api`` package, or another
distribution's, neither shadows tunecost nor is shadowed by it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_folder_with_code_is_an_installed_package() -> None:
    """setuptools' find cannot map folders to other names, so the packages are listed: a new
    subfolder must be listed too, or the wheel leaves it out."""
    config = PYPROJECT["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for name, folder in config["package-dir"].items():
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in relative:
                found.add(".".join([name, *relative]))
    assert found == listed
    assert PYPROJECT["project"]["scripts"]["tunecost"].startswith("tunecost.")


def test_no_code_imports_a_folder_by_its_bare_name() -> None:
    """``import service`` would find the folder only from the repository's root, and load a
    second copy of every module beside ``tunecost.service``'s."""
    bare = ("api", "service", "workers", "search_spaces", "migrations")
    wrong = []
    for folder in (
        "api",
        "service",
        "workers",
        "search_spaces",
        "migrations",
        "tunecost",
        "tests",
        "benchmarks",
        "scripts",
        "examples",
    ):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                words = line.split()
                if len(words) > 1 and words[0] in ("import", "from") and words[1].split(".")[0] in bare:
                    wrong.append(f"{path.relative_to(ROOT)}:{number}")
    assert wrong == []


@pytest.mark.slow
def test_the_wheel_installs_one_name_and_works_beside_a_users_own_service_package(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: setuptools builds in the source tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in PYPROJECT["tool"]["setuptools"]["package-dir"].values():
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("tunecost-*.whl")
    top = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert top == {"tunecost", wheel.name.split("-py3")[0] + ".dist-info"}

    # a clean virtual environment holding the wheel alone; its dependencies are this one's,
    # reached through a path entry (not a site directory: this environment's editable
    # tunecost, a .pth finder, is not loaded there)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        timeout=300,
    )
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    # a researcher's project: their own `service` and `api` packages
    project = tmp_path / "project"
    for name in ("service", "api"):
        (project / name).mkdir(parents=True)
        (project / name / "__init__.py").write_text("MINE = True\n")
    check = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        import api, service
        import tunecost
        assert tunecost.__file__.startswith({site!r}), tunecost.__file__
        names = [m.name for m in pkgutil.walk_packages(tunecost.__path__, "tunecost.")
                 if not m.name.startswith("tunecost.migrations")]  # Alembic's env runs under Alembic
        for name in names:
            importlib.import_module(name)
        public = [getattr(tunecost, name) for name in tunecost.__all__]  # the lazy ones too
        assert all(value.__module__.startswith("tunecost.") for value in public if hasattr(value, "__module__"))
        assert sys.modules["service"] is service and service.MINE and api.MINE
        assert "tunecost.service.kinds.sweep.kind" in names and "tunecost.workers.catalog.builtins" in names
        from tunecost.service.kinds import kinds
        from tunecost.workers.build import make_optimizer, task_module
        assert set(kinds()) >= {{"search", "sweep", "replay"}}
        assert task_module("digits-mlp").__name__ == "tunecost.workers.tasks.digits_mlp"
        print(len(names), "modules")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUNECOST_", "PYTHON"))}
    done = subprocess.run(
        [python, "-c", check], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-2]) > 80

    # the console script and Alembic's migrations, from the installed package
    home = tmp_path / "home"
    cli = subprocess.run(
        [venv / "bin" / "tunecost", "db", "upgrade"],
        cwd=project,
        env={**env, "TUNECOST_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert any(home.rglob("*.db")), "the database was made"
