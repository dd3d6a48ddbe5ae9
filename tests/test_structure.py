"""The code's shape, as ARCHITECTURE.md draws it: no import circles, an analysis core that
imports nothing of the jobs half, and a reason beside every import made inside a function.
Read from the sources (``scripts/structure.py``), nothing is imported."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("structure", ROOT / "scripts" / "structure.py")
assert _spec and _spec.loader
structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(structure)

# what the analysis core may import from the project: itself and the two lower layers' pure parts
ANALYSIS_MAY_IMPORT = (
    "tunecost.service.analysis",
    "tunecost.search_spaces",
    "tunecost.workers.catalog",
    "tunecost.workers.synthetic",
)


def test_no_module_imports_itself_in_a_circle_function_local_imports_included() -> None:
    known = structure.modules()
    assert structure.circles(structure.arrows(known), sorted(known)) == []


def test_workers_and_search_spaces_know_nothing_of_each_other() -> None:
    """What trains and what proposes are apart: the service, which knows both, puts them
    together (a plugin's default grid, for one, is checked in ``tunecost.service.specs``)."""
    known = structure.modules()
    graph = structure.arrows(known)
    crossing = {
        (module, target)
        for module in known
        for target in graph.get(module, ())
        for low, high in (("workers", "search_spaces"), ("search_spaces", "workers"))
        if module.startswith(f"tunecost.{low}") and target.startswith(f"tunecost.{high}")
    }
    assert crossing == set()


def test_the_analysis_core_knows_no_database_ray_or_job_kind() -> None:
    known = structure.modules()
    graph = structure.arrows(known)
    wrong = {
        (module, target)
        for module in known
        if module.startswith("tunecost.service.analysis")
        for target in graph.get(module, ())
        if not target.startswith(ANALYSIS_MAY_IMPORT)
    }
    assert wrong == set()
    third_party = set()
    for module, path in known.items():
        if module.startswith("tunecost.service.analysis"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    third_party |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    third_party.add(node.module.split(".")[0])
    assert third_party & {"sqlalchemy", "ray", "torch", "alembic", "fastapi"} == set()


def test_every_import_inside_a_function_says_why_it_is_there() -> None:
    """Lazy imports keep torch, Ray and other heavy or process-specific imports out of the
    processes that do not need them; each carries its reason on its line or the line above."""
    silent = []
    for module, path in structure.modules().items():
        lines = path.read_text().splitlines()
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            imports = sorted(
                (n for n in ast.walk(function) if isinstance(n, ast.Import | ast.ImportFrom)),
                key=lambda n: n.lineno,
            )
            previous_end = None
            for node in imports:
                grouped = previous_end is not None and node.lineno == previous_end + 1
                previous_end = node.end_lineno
                if grouped:  # one reason serves consecutive imports
                    continue
                above = lines[node.lineno - 2].strip()
                if "#" not in lines[node.lineno - 1] and not above.startswith("#"):
                    silent.append(f"{module}:{node.lineno}")
    assert silent == []
