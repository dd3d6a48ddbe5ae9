"""Fused vs sequential sweep of the same grid, side by side in one run: configs per second.

Sequential is the one-config trainer, config after config (as a sweep without fusion
runs inside one worker); fused is ``workers.fused.train_fused`` over all configs at
once (in chunks of ``--chunk``). Sequential time is measured on ``--sequential-sample``
configs spread over the grid and reported per config. Also checks, on the same device,
that fused equals the one-config trainer in float64 on a few configs.

    python benchmarks/fused_sweep.py [--task digits-mlp] [--optimizer adam] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import torch

from search_spaces import adabelief_grid, paper_grid
from workers.fused import train_fused
from workers.trainer import train_one


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="digits-mlp")
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (a Ray worker uses 1)")
    parser.add_argument(
        "--chunk", type=int, default=441, help="configs per train_fused call (a Ray task's share)"
    )
    parser.add_argument(
        "--width", type=int, default=None, help="configs stacked at once; default: train_fused's choice"
    )
    parser.add_argument("--sequential-sample", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    grid = adabelief_grid() if args.optimizer == "adabelief" else paper_grid()
    configs = [(a, e) for a in grid.alphas for e in grid.epsilons]
    sample = configs[:: max(1, len(configs) // args.sequential_sample)][: args.sequential_sample]

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    train_one(args.task, args.optimizer, *configs[200], device=args.device)  # warm-up: data, kernels
    train_fused(args.task, args.optimizer, configs[:8], device=args.device)
    sync()
    start = time.perf_counter()
    for a, e in sample:
        train_one(args.task, args.optimizer, a, e, device=args.device)
    sync()
    sequential = (time.perf_counter() - start) / len(sample)

    start = time.perf_counter()
    results = []
    for lo in range(0, len(configs), args.chunk):
        results += train_fused(
            args.task, args.optimizer, configs[lo : lo + args.chunk], device=args.device, width=args.width
        )
    sync()
    fused = (time.perf_counter() - start) / len(configs)

    check = [(1e-3, 1e-8), (1e-2, 1e-6), (1e-1, 1.0)]
    recipe = {"epochs": 2}
    f64 = train_fused(
        args.task, args.optimizer, check, recipe=recipe, device=args.device, dtype=torch.float64
    )
    worst = max(
        abs(
            train_one(
                args.task, args.optimizer, a, e, recipe=recipe, device=args.device, dtype=torch.float64
            ).val_loss
            - r.val_loss
        )
        for (a, e), r in zip(check, f64, strict=True)
    )

    name = (
        torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu, {args.threads} thread(s)"
    )
    print(f"{args.task} / {args.optimizer}, {len(configs)} configs, device: {name}")
    print(
        f"  sequential: {sequential:.3f} s/config  ({1 / sequential:.1f} configs/s, from {len(sample)} configs)"
    )
    print(
        f"  fused:      {fused:.4f} s/config  ({1 / fused:.1f} configs/s, chunks of {args.chunk}, width {args.width or 'auto'})"
    )
    print(f"  fused / sequential speed-up: {sequential / fused:.1f}x")
    print(f"  best error {min(r.error for r in results):.2f}%, diverged {sum(r.diverged for r in results)}")
    print(f"  float64 check, fused vs one-config val_loss, max abs diff: {worst:.2e}")


if __name__ == "__main__":
    main()
