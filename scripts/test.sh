#!/usr/bin/env bash
# Install (once) and run the test suite. Postgres too when TUNECOST_TEST_DATABASE_URL is set.
source "$(dirname "$0")/_env.sh"
ruff check .
ruff format --check .
exec python -m pytest "$@"
