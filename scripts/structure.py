"""The code's shape from its own imports: import circles, the longest functions, lines per folder.

    python scripts/structure.py            # circles (function-local imports included), longest functions, lines
    python scripts/structure.py --circles  # only the circles; exits 1 if there is one

Every ``import`` and ``from ... import`` in the project's packages counts: at module level,
inside a function, and under ``if TYPE_CHECKING:`` (it never runs, but a reader and a type
checker follow it all the same). So does a module loaded by its name: a string constant (not a
docstring) that names a module of the project by its dotted path, alone or as
``"package.module:attribute"``, as the catalog's entries and the kinds' registry do. A string
that only looks like one (an entry-point group named like a module) says so on its line:
``# names no module``. ``from pkg import name`` is an arrow to
``pkg.name`` when that is a module, else to ``pkg``. A circle is a
strongly connected set of modules (Tarjan's algorithm, from the standard library's graphlib
only for the order: hand-written because it is twenty lines).
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the folders and the names they install under, read from pyproject.toml's package-dir; Alembic's
# environment and revisions are left out (Alembic loads them, no layer imports them)
_PACKAGE_DIR = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
PACKAGES = {folder: name for name, folder in _PACKAGE_DIR.items() if folder != "migrations"}


def modules() -> dict[str, Path]:
    """Every module of the project by its import name (``tunecost.service.jobs``)."""
    out = {}
    for folder, name in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([name, *parts])] = path
    return out


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (a body's first statement)."""
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def _named_modules(tree: ast.AST, lines: list[str], known: dict[str, Path]) -> list[str]:
    """Modules a string constant names: ``"pkg.module"`` or ``"pkg.module:attribute"``."""
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            name = node.value.partition(":")[0]
            if "." in name and name in known and "# names no module" not in lines[node.lineno - 1]:
                found.append(name)
    return found


def arrows(known: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in known.items():
        source = path.read_text()
        tree = ast.parse(source)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for target in _named_modules(tree, source.splitlines(), known):
            if target != name:
                graph[name].add(target)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def longest_functions(known: dict[str, Path], n: int = 10) -> list[tuple[int, str]]:
    found = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    return sorted(found, reverse=True)[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circles", action="store_true", help="only the circles; exit 1 if any")
    args = parser.parse_args()
    known = modules()
    graph = arrows(known)
    found = circles(graph, sorted(known))
    print(f"import circles: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
        for module in component:  # the arrows that close it
            inside = sorted(set(graph.get(module, ())) & set(component))
            print(f"    {module} -> {', '.join(inside)}")
    if args.circles:
        return 1 if found else 0
    print("\nten longest functions (lines):")
    for length, name in longest_functions(known):
        print(f"  {length:4d}  {name}")
    print("\nlines:")
    folders: dict[str, int] = defaultdict(int)
    for path in known.values():
        parts = path.relative_to(ROOT).parts  # by folder, as the repository shows them
        folder = "/".join(parts[:2]) if parts[0] == "service" and len(parts) > 2 else parts[0]
        folders[folder] += len(path.read_text().splitlines())
    for folder, count in sorted(folders.items()):
        print(
            f"  {count:6d}  {folder}/"
            if "/" in folder or folder != "service"
            else f"  {count:6d}  service/ (top level)"
        )
    print(f"  {sum(c for f, c in folders.items() if f.startswith('service')):6d}  service/ in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
