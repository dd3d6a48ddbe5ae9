#!/usr/bin/env bash
# The main job on the embedded default (SQLite file under ./.tunecost, local Ray):
# a real search job end to end; prints its curve and best config.
source "$(dirname "$0")/_env.sh"
exec tunecost quickstart "$@"
