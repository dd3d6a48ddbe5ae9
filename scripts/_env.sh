# Sourced by the scripts: make (once) and activate the project's virtual environment.
# Needs only Python 3.11 (python3.11 or python3 on PATH). Re-installs when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TUNECOST_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT"/examples/*/pyproject.toml | cksum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ]; then
    # pip's own output goes to a log; a failed step prints its tail, in full enough to act on
    LOG="$VENV.install.log"
    echo "==> installing tunecost into $VENV (first run: a few minutes; pip's log: $LOG)" >&2
    step() {
        if ! "$@" >>"$LOG" 2>&1; then
            echo "==> install failed: $*" >&2
            tail -n 40 "$LOG" >&2
            exit 1
        fi
    }
    : >"$LOG"
    step "$PYTHON" -m venv "$VENV"
    step "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
    step "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    step "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
    # the example plugin (examples/), which the tests use as a user's installed plugin
    step "$VENV/bin/python" -m pip install --quiet --no-deps -e "$ROOT/examples/tunecost-example-plugin"
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
    echo "==> installed" >&2
fi
export PATH="$VENV/bin:$PATH"
export RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}"
cd "$ROOT"
