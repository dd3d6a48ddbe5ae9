# Sourced by the scripts: make (once) and activate the project's virtual environment.
# Needs only Python 3.11 (python3.11 or python3 on PATH). Re-installs when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TUNECOST_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT"/examples/*/pyproject.toml | cksum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ]; then
    echo "==> installing tunecost into $VENV (first run takes a few minutes)" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
    # the example plugin (examples/), which the tests use as a user's installed plugin
    "$VENV/bin/python" -m pip install --quiet --no-deps -e "$ROOT/examples/tunecost-example-plugin"
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}"
cd "$ROOT"
