"""Successive halving against the full sweep, measured on the same learning curves.

For each task x optimizer x epochs: one full-fidelity sweep of the optimizer's default grid
(fused, in this process, no database), then the successive-halving landscape derived from its
curves exactly (``tunecost.service.analysis.fidelity.derive``: what a successive-halving sweep stores, which
``tests/service/test_runner.py`` checks bit for bit against a real one). Prints, per (task,
epochs): the share of the epochs successive halving trains, how many nodes within delta of the
best it stopped early, tuning costs (restricted mean trials to delta) with 95% intervals on both landscapes per
searcher, and whether each verdict line (each optimizer against the first, the service's own
rule) is the same on both.

    python benchmarks/fidelity.py [--tasks digits-mlp mnist5k-mlp] [--epochs 5 20]
        [--optimizers adam avagrad adabelief] [--searchers random tpe] [--replays 40]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tunecost.service.analysis.comparison import verdict
from tunecost.service.analysis.estimator import cell
from tunecost.service.analysis.fidelity import Fidelity, derive, share
from tunecost.service.analysis.replay import Board, Run, replay
from tunecost.service.specs import default_space
from tunecost.workers.catalog import TASKS, recipe_for
from tunecost.workers.fused import train_fused


def sweep(
    task: str, optimizer: str, epochs: int, seeds: list[int], cache: Path | None = None
) -> list[list[list[list[float]]]]:
    """Full-fidelity curves, per seed [alpha][epsilon] -> scores after each epoch (read from
    ``cache`` if an earlier run stored them there; training is deterministic)."""
    path = None if cache is None else cache / f"{task}-{optimizer}-{epochs}-{'_'.join(map(str, seeds))}.json"
    if path is not None and path.exists():
        return json.loads(path.read_text())
    curves = _sweep(task, optimizer, epochs, seeds)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(curves))
    return curves


def _sweep(task: str, optimizer: str, epochs: int, seeds: list[int]) -> list[list[list[list[float]]]]:
    grid = default_space(optimizer)
    configs = [(a, e) for a in grid.alphas for e in grid.epsilons]
    out = []
    for seed in seeds:
        results = train_fused(task, optimizer, configs, seed=seed, recipe={"epochs": epochs})
        n_e = len(grid.epsilons)
        out.append([[results[i * n_e + j].curve for j in range(n_e)] for i in range(len(grid.alphas))])
    return out


def matrix(errors: dict[tuple[int, int], list[float]], shape: tuple[int, int]) -> np.ndarray:
    out = np.empty(shape)
    for (i, j), values in errors.items():
        out[i, j] = float(np.mean(values))
    return out


def _says(verdict: object) -> str:
    """What a verdict line concludes: which side is cheaper, no difference, or neither reached."""
    v = verdict
    if v.ratio is None or v.status == "budget-bound":  # type: ignore[attr-defined]
        return "neither reached"
    if not v.distinguishable:  # type: ignore[attr-defined]
        return "not distinguishable"
    return v.optimizer if v.ci[1] < 1 else v.baseline  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["digits-mlp", "mnist5k-mlp"])
    parser.add_argument("--epochs", nargs="+", type=int, default=[5, 20])
    parser.add_argument("--optimizers", nargs="+", default=["adam", "avagrad", "adabelief"])
    parser.add_argument("--searchers", nargs="+", default=["random", "tpe"])
    parser.add_argument("--deltas", nargs="+", type=float, default=[0.5, 1.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds")
    parser.add_argument("--replays", type=int, default=40, help="replay seeds per searcher")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--min-epochs", type=int, default=1)
    parser.add_argument("--margin", type=float, default=None, help="Fidelity.margin (default: its default)")
    parser.add_argument("--cache", type=Path, default=None, help="keep the full sweeps' curves here")
    args = parser.parse_args()
    extra = {} if args.margin is None else {"margin": args.margin}
    rule = Fidelity(method="successive_halving", eta=args.eta, min_epochs=args.min_epochs, **extra)
    for task in args.tasks:
        failure = TASKS[task].failure_score
        for epochs in args.epochs:
            start = time.perf_counter()
            landscapes: dict[str, dict[str, np.ndarray]] = {}
            print(
                f"\n## {task}, {recipe_for(task, {'epochs': epochs})['epochs']} epochs, rungs {rule.rungs(epochs)}"
            )
            print("optimizer   share of epochs   within-delta nodes stopped early")
            for optimizer in args.optimizers:
                curves = sweep(task, optimizer, epochs, args.seeds, args.cache)
                derived = derive(curves, rule, epochs, failure)
                shape = (len(curves[0]), len(curves[0][0]))
                full = matrix(
                    {
                        (i, j): [c[i][j][-1] if len(c[i][j]) == epochs else failure for c in curves]
                        for i in range(shape[0])
                        for j in range(shape[1])
                    },
                    shape,
                )
                halved = matrix(derived.errors, shape)
                landscapes[optimizer] = {"full": full, "halving": halved}
                stopped = []
                for d in args.deltas:
                    near = np.argwhere(full <= full.min() + d + 1e-9)
                    early = sum(derived.epochs[(int(i), int(j))] < epochs for i, j in near)
                    stopped.append(f"δ={d:g}: {early} of {len(near)}")
                print(f"{optimizer:<11} {share(derived):>6.1%}            {'; '.join(stopped)}")
            same = True
            for searcher in args.searchers:
                runs: dict[tuple[str, str], list[Run]] = {}
                for optimizer, pair in landscapes.items():
                    grid = default_space(optimizer)
                    for kind, errors in pair.items():
                        runs[(optimizer, kind)] = [
                            replay(searcher, Board(grid, errors), seed, args.budget, args.deltas)
                            for seed in range(args.replays)
                        ]
                for d in args.deltas:
                    cells = []
                    for optimizer in landscapes:
                        for kind in ("full", "halving"):
                            e = cell(runs[(optimizer, kind)], d)
                            lo, hi = e.interval()
                            cells.append(f"{optimizer}/{kind} {e.mean:.1f} [{lo:.1f}, {hi:.1f}]")
                    print(
                        f"{searcher} δ={d:g} tuning cost (restricted mean trials to δ): " + "; ".join(cells)
                    )
                    baseline = args.optimizers[0]
                    for optimizer in args.optimizers[1:]:
                        verdicts = [
                            verdict(
                                optimizer, baseline, searcher, d, runs[(optimizer, k)], runs[(baseline, k)]
                            )
                            for k in ("full", "halving")
                        ]
                        said = [_says(v) for v in verdicts]
                        same &= said[0] == said[1]
                        print(f"  {'same' if said[0] == said[1] else 'DIFFERS'}: full: {verdicts[0].text}")
                        if said[0] != said[1]:
                            print(f"           halving: {verdicts[1].text}")
            print(f"every verdict the same: {same}  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
