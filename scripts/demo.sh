#!/usr/bin/env bash
# The main job on the embedded default (SQLite file under ./.tunecost, local Ray): the
# tuning-cost study. Sweeps Adam, AvaGrad and AdaBelief (its shifted grid) over the paper's
# 21x21 grid on mnist5k-mlp, replays all six searchers x 100 seeds on each landscape,
# prints the tuning-cost table and writes the figures under ./results/.
source "$(dirname "$0")/_env.sh"
exec tunecost study "$@"
