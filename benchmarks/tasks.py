"""Per-task facts a tuning study needs: cost per config, sensitivity to (alpha, epsilon), noise.

For each CPU task and optimizer: seconds per config; the validation error at the
optimizer's library-default (alpha, epsilon) against the best of a coarse grid (every
other alpha and epsilon of the paper grid: 11 x 11); and the spread of the error over
3 training seeds at that best config, against the study's 0.5 / 1 point thresholds.

    python benchmarks/tasks.py [--tasks digits-mlp mnist5k-mlp] [--optimizers adam avagrad]
"""

from __future__ import annotations

import argparse
import statistics
import time

from tunecost.search_spaces import adabelief_grid, paper_grid
from tunecost.workers.catalog import OPTIMIZERS
from tunecost.workers.trainer import train_one


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=["digits-mlp", "digits-cnn", "breast-cancer-mlp", "char-lm", "mnist5k-mlp", "mnist5k-cnn"],
    )
    parser.add_argument("--optimizers", nargs="+", default=["adam", "avagrad"])
    parser.add_argument("--stride", type=int, default=2, help="take every n-th grid value (2: 11 x 11)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    header = f"{'task':18} {'optimizer':10} {'s/config':>8} {'default err':>11} {'grid best':>9} {'at (alpha, eps)':>20} {'3-seed std':>10} {'range':>6}"
    print(header)
    for task in args.tasks:
        for name in args.optimizers:
            grid = adabelief_grid() if name == "adabelief" else paper_grid()
            info = OPTIMIZERS[name]
            start = time.perf_counter()
            results = {
                (a, e): train_one(task, name, a, e).error
                for a in grid.alphas[:: args.stride]
                for e in grid.epsilons[:: args.stride]
            }
            per_config = (time.perf_counter() - start) / len(results)
            (a_best, e_best), best = min(results.items(), key=lambda kv: kv[1])
            default = train_one(task, name, info.default_alpha, info.default_epsilon).error
            seeds = [train_one(task, name, a_best, e_best, seed=s).error for s in (0, 1, 2)]
            print(
                f"{task:18} {name:10} {per_config:8.2f} {default:11.2f} {best:9.2f} {f'({a_best:g}, {e_best:g})':>20} "
                f"{statistics.stdev(seeds):10.2f} {max(seeds) - min(seeds):6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
