"""A fused CNN on a CPU: channels-last (``tunecost.workers.channels_last``) against the layout
``vmap`` gives it (the fused path before it), and one config at a time, alternating in one
process so that a machine's drift falls on all alike.

Prints each way's seconds per config (median, min, max over ``--repeats`` alternations) and,
per alternation, the ratio of each other way to channels-last.

    python benchmarks/cnn_layout.py [--task digits-cnn] [--configs 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from tunecost.search_spaces import paper_grid
from tunecost.workers import channels_last, fused
from tunecost.workers.build import task_module
from tunecost.workers.catalog import recipe_for
from tunecost.workers.trainer import train_one


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="digits-cnn")
    parser.add_argument("--configs", type=int, default=64, help="configs spread over the paper's grid")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (a Ray worker uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    grid = paper_grid()
    every = [(a, e) for a in grid.alphas for e in grid.epsilons]
    configs = every[:: max(1, len(every) // args.configs)][: args.configs]
    width = fused.default_width(args.task, "adam", len(configs), recipe_for(args.task), "cpu")
    wanted = channels_last.wanted

    def fused_with(layout: Callable[[torch.nn.Module], bool]) -> Callable[[], None]:
        def run() -> None:
            channels_last.wanted = layout
            try:
                fused.train_fused(args.task, "adam", configs, device="cpu", width=width)
            finally:
                channels_last.wanted = wanted

        return run

    ways: dict[str, Callable[[], None]] = {
        "channels-last": fused_with(wanted),
        "vmap's layout": fused_with(lambda base: False),
        "one at a time": lambda: [train_one(args.task, "adam", a, e, device="cpu") for a, e in configs],
    }
    if not wanted(task_module(args.task).build_model(recipe_for(args.task))):
        raise SystemExit(f"{args.task}: not a CNN of torch's own layers; no channels-last path to time")
    for run in ways.values():  # warm-up: data, kernels
        run()
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, run in ways.items():
            start = time.perf_counter()
            run()
            seconds[name].append((time.perf_counter() - start) / len(configs))

    print(
        f"{args.task}: {len(configs)} configs, fused width {width}, {args.threads} thread(s), {args.repeats} alternations"
    )
    for name, values in seconds.items():
        print(
            f"  {name:14s} {statistics.median(values):.4f} s/config (min {min(values):.4f}, max {max(values):.4f})"
        )
    base = seconds["channels-last"]
    for name, values in seconds.items():
        if name != "channels-last":
            ratios = [v / b for v, b in zip(values, base, strict=True)]
            print(
                f"  {name} / channels-last: {statistics.median(ratios):.2f}x "
                f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
            )


if __name__ == "__main__":
    main()
