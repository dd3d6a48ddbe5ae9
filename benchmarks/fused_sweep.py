"""Fused vs one config at a time, against the compute bound, side by side in one run.

For each task, on one device and thread count:

* **FLOPs per config**: ``torch.utils.flop_counter.FlopCounterMode`` over one epoch of
  ``train_one`` (training and the epoch's validation pass), times the recipe's epochs;
* **peak**: the device's fp32 matmul rate, probed in this run (the best of a few 2048x2048
  products), and **bound** = FLOPs per config / peak: what one config costs if every FLOP ran
  at that rate;
* **one at a time**: ``train_one``, config after config (a sweep that does not fuse), per
  config, over ``--sequential-sample`` configs spread over the grid;
* **fused**: ``tunecost.workers.fused.train_fused`` over ``--configs`` configs spread over the grid,
  per config, on the path it takes by default (``--path`` forces one);
* **fused vs bound**: fused seconds per config / bound (1.0 = at the compute bound);
* **update**: what the optimizer's step costs at the device's memory rate, which no FLOP
  count sees: every step reads each weight, its gradient and each state buffer and writes the
  weight and the state back (Adam: 28 bytes a weight a step), over a working set the size of a
  fused batch (probed in this run); **floor** = bound + update (the update cannot hide behind
  the matmuls: it runs after them), and **fused vs floor** the ratio to it;
* **kernels**: the fused model's forward and backward alone, over one training batch at the
  fused width, repeated (no optimizer, data order, validation or loop around them), per config
  over the recipe's training steps: what torch's own kernels cost at the sweep's shapes.
  **kernels/bound** is how near those kernels come to the probe's rate at these shapes, which
  no training loop can beat; **fused/kernels** what the loop adds (update, data, validation);
* **a sweep's chunk**: what ``tunecost.workers.fused.choose_path`` makes a sweep do with these configs
  (fused, with the update and width, or one at a time where that measures faster).

Also checks, on the same device, that fused equals one config at a time in float64 on three
configs of each task (max absolute difference of the validation loss).

    python benchmarks/fused_sweep.py [--task all | --task digits-mlp ...] [--optimizer adam]
        [--device cpu|cuda] [--threads 1] [--configs 64] [--sequential-sample 8]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from tunecost.search_spaces import adabelief_grid, paper_grid
from tunecost.workers.build import task_module
from tunecost.workers.catalog import TASKS, recipe_for
from tunecost.workers.fused import (
    PathChoice,
    StackedModels,
    can_fuse,
    choose_path,
    default_width,
    train_fused,
)
from tunecost.workers.tasks import DataMissingError
from tunecost.workers.trainer import model_losses, train_one


def matmul_peak(device: str, n: int = 2048, repeats: int = 5) -> float:
    """fp32 FLOP/s of the best of ``repeats`` n x n matrix products on ``device``."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):  # the first is a warm-up
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def memory_rate(device: str, floats: int = 2_000_000, repeats: int = 20) -> float:
    """Bytes/s of the best of ``repeats`` in-place sums ``a += b`` over ``floats`` fp32 values
    (12 bytes an element: two read, one written), the working set of a fused batch's update
    (``CPU_FLOATS_PER_BATCH``)."""
    a = torch.randn(floats, device=device)
    b = torch.randn(floats, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        sync(device)
        start = time.perf_counter()
        a.add_(b)
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 12 * floats / best


def update_bytes_per_config(task: str, optimizer: str) -> float:
    """Bytes one config's optimizer steps move over its full training: weights and state
    written, weights, gradients and state read (fp32), at every step of every epoch."""
    # torch: only where training runs
    from tunecost.workers.build import make_optimizer, task_module

    recipe = recipe_for(task)
    module = task_module(task)
    model = module.build_model(recipe)
    params = list(model.parameters())
    for p in params:
        p.grad = torch.ones_like(p)
    opt = make_optimizer(optimizer, [(params, 1e-3, 1e-8)], weight_decay=recipe["weight_decay"])
    opt.step()
    weights = sum(p.numel() for p in params)
    state = sum(
        v.numel() for s in opt.state.values() for v in s.values() if isinstance(v, torch.Tensor) and v.dim()
    )
    steps = -(-module.load_data(recipe).x_train.shape[0] // recipe["batch_size"]) * recipe["epochs"]
    return 4.0 * (3 * weights + 2 * state) * steps


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def flops_per_config(task: str, optimizer: str, device: str) -> float:
    """FLOPs of one config's full training: one epoch counted, times the recipe's epochs."""
    epochs = recipe_for(task)["epochs"]
    counter = FlopCounterMode(display=False)
    with counter:
        train_one(task, optimizer, 1e-3, 1e-8, recipe={"epochs": 1}, device=device)
    return counter.get_total_flops() * epochs


def kernel_seconds(task: str, width: int, device: str, steps: int = 20) -> float:
    """Seconds per config of the fused model's forward and backward alone (module docstring:
    **kernels**): one training batch at ``width`` configs, ``steps`` times, scaled to the
    recipe's training steps."""
    recipe = recipe_for(task)
    module = task_module(task)
    data = module.load_data(recipe, None)
    models = StackedModels(module.build_model(recipe).to(device), width)
    batch = recipe["batch_size"]
    x, y = data.x_train[:batch].to(device), data.y_train[:batch].to(device)
    regression = TASKS[task].metric.kind == "mse"
    if regression:  # as the training loop shapes them
        y = y.to(x.dtype).reshape(y.shape[0], -1)

    def step() -> None:
        models.backward(model_losses(models.logits(x), y, regression))

    for _ in range(3):  # warm-up
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    per_step = (time.perf_counter() - start) / steps
    return per_step * recipe["epochs"] * math.ceil(data.x_train.shape[0] / batch) / width


def spread(configs: list[tuple[float, float]], n: int) -> list[tuple[float, float]]:
    return configs[:: max(1, len(configs) // n)][:n]


def bench_task(task: str, args: argparse.Namespace, peak: float, rate: float) -> dict[str, object] | None:
    if not can_fuse(task, args.optimizer):
        print(f"  {task}: no fused path (buffers, augmentation or a group-coupled optimizer): skipped")
        return None
    grid = adabelief_grid() if args.optimizer == "adabelief" else paper_grid()
    configs = [(a, e) for a in grid.alphas for e in grid.epsilons]
    try:
        train_one(task, args.optimizer, *configs[200], device=args.device)  # warm-up: data, kernels
    except DataMissingError as exc:
        print(f"  {task}: skipped ({exc})")
        return None
    flops = flops_per_config(task, args.optimizer, args.device)
    path_kwargs = {} if args.path is None else {"path": args.path}
    train_fused(task, args.optimizer, configs[:4], device=args.device, **path_kwargs)  # warm-up

    sample = spread(configs, args.sequential_sample)
    sync(args.device)
    start = time.perf_counter()
    for a, e in sample:
        train_one(task, args.optimizer, a, e, device=args.device)
    sync(args.device)
    sequential = (time.perf_counter() - start) / len(sample)

    timed = spread(configs, args.configs)
    start = time.perf_counter()
    results = train_fused(task, args.optimizer, timed, device=args.device, width=args.width, **path_kwargs)
    sync(args.device)
    fused = (time.perf_counter() - start) / len(timed)
    width = args.width or default_width(task, args.optimizer, len(timed), recipe_for(task), args.device)
    kernels = kernel_seconds(task, width, args.device)

    check = [(1e-3, 1e-8), (1e-2, 1e-6), (1e-1, 1.0)]
    recipe = {"epochs": 1}
    f64 = train_fused(
        task, args.optimizer, check, recipe=recipe, device=args.device, dtype=torch.float64, **path_kwargs
    )
    worst = max(
        abs(
            (
                train_one(
                    task, args.optimizer, a, e, recipe=recipe, device=args.device, dtype=torch.float64
                ).val_loss
                or 0.0
            )
            - (r.val_loss or 0.0)
        )
        for (a, e), r in zip(check, f64, strict=True)
    )
    bound = flops / peak
    update = update_bytes_per_config(task, args.optimizer) / rate
    choice = choose_path(task, args.optimizer, device=args.device)
    return {
        "choice": choice,
        "task": task,
        "flops": flops,
        "bound": bound,
        "update": update,
        "sequential": sequential,
        "fused": fused,
        "kernels": kernels,
        "configs": len(timed),
        "diverged": sum(r.diverged for r in results),
        "worst": worst,
    }


def _choice(choice: PathChoice) -> str:
    """What ``tunecost.workers.fused.choose_path`` makes a sweep's chunk of these configs do."""
    return f"fused ({choice.update}, width {choice.width})" if choice.mode == "fused" else "one at a time"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--task", action="append", help="a task, several, or 'all' (every bundled task with its data)"
    )
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (a Ray worker uses 1)")
    parser.add_argument("--configs", type=int, default=64, help="configs trained fused, spread over the grid")
    parser.add_argument(
        "--width", type=int, default=None, help="configs stacked at once; default: train_fused's choice"
    )
    parser.add_argument("--sequential-sample", type=int, default=8)
    parser.add_argument(
        "--path",
        choices=["batched", "groups"],
        default=None,
        help="force the fused update's path (default: train_fused's: batched where the optimizer has it)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tasks = args.task or ["digits-mlp"]
    if "all" in tasks:
        tasks = [
            name for name, info in TASKS.items() if info.module and info.source == TASKS["digits-mlp"].source
        ]

    peak = matmul_peak(args.device)
    name = (
        torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu, {args.threads} thread(s)"
    )
    rate = memory_rate(args.device)
    print(
        f"{args.optimizer}, device: {name}; fp32 matmul peak {peak / 1e9:.1f} GFLOP/s, "
        f"memory {rate / 1e9:.1f} GB/s"
    )
    rows = [row for task in tasks if (row := bench_task(task, args, peak, rate)) is not None]
    header = (
        f"{'task':<18} {'FLOPs/config':>12} {'bound':>8} {'update':>7} {'one at a time':>13} "
        f"{'fused':>17} {'fused/bound':>11} {'fused/floor':>11} {'kernels':>8} {'kernels/bound':>13} "
        f"{'fused/kernels':>13} {'f64 diff':>9}  a sweep's chunk"
    )
    print(header)
    for r in rows:
        speedup = r["sequential"] / r["fused"]  # type: ignore[operator]
        floor = r["bound"] + r["update"]  # type: ignore[operator]
        print(
            f"{r['task']:<18} {r['flops'] / 1e9:>10.2f} G {r['bound']:>7.3f}s {r['update']:>6.3f}s "
            f"{r['sequential']:>12.3f}s {r['fused']:>8.3f}s ({speedup:>4.1f}x) "
            f"{r['fused'] / r['bound']:>10.1f}x {r['fused'] / floor:>10.1f}x "  # type: ignore[operator]
            f"{r['kernels']:>7.3f}s {r['kernels'] / r['bound']:>12.1f}x "  # type: ignore[operator]
            f"{r['fused'] / r['kernels']:>12.2f}x {r['worst']:>9.1e}"  # type: ignore[operator]
            f"  {_choice(r['choice'])}"  # type: ignore[arg-type]
        )
    print(
        "  (seconds per config; floor = bound + update; one at a time over "
        f"{args.sequential_sample} configs, fused over {args.configs}; diverged: "
        + ", ".join(f"{r['task']} {r['diverged']}" for r in rows)
        + ")"
    )


if __name__ == "__main__":
    main()
