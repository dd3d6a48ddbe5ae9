"""Do verdicts survive re-training? Held-out checks of the tuning-cost intervals.

Trains each optimizer's landscape 2K times over (every training seed at every node), plus fresh
seeds at its best node (e*, AlgoPerf's rule), then builds each verdict as the study does from
K training seeds -- the first at every node, the other K - 1 in the region near its best (the
refinement) -- and takes the truth from the other K seeds, each a full, independent landscape.
Both halves are used both ways (A: seeds 0..K-1, truth from K..2K-1; B: the reverse).

Prints, per task and over all of them:
  coverage        the share of verdict lines whose 95% interval holds the held-out truth
                  (the truth is itself estimated, from K replicates: a miss can be the truth's)
  false discov.   "distinguishable" lines (after Holm) whose direction the truth contradicts
  agreement       A's point estimate inside B's interval and the reverse (the issue's 65%), for
                  the replicate design and for the design before it (one landscape, replay seeds)
  stability       how often the headline's words differ between A and B
  compute         configs trained per landscape by the study's design against the one before it

    python benchmarks/replicates.py [--tasks digits-mlp breast-cancer-mlp] [--replicates 5]
        [--seeds 100] [--truth-seeds 20] [--home DIR]

Sweeps are stored in DIR's database and reused by a rerun; the replays run in --jobs processes.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

SEARCHERS = ["random", "tpe", "cgld"]
OPTIMIZERS = ["adam", "avagrad", "adabelief"]
DELTAS = [0.5, 1.0]


def _runs(args: tuple[Any, str, list[int], int, int | None]) -> list[Any]:
    from service.analysis.replay import replay

    board, searcher, seeds, budget, replicate = args
    out = []
    for s in seeds:
        run = replay(searcher, board, s, budget, DELTAS)
        run.replicate = replicate
        out.append(run)
    return out


def _sweep(settings: Any, task: str, optimizer: str, seeds: list[int], recipe: dict[str, Any]) -> int:
    from service import kinds
    from service import landscapes as landscape_service
    from service.db import session_scope
    from service.kinds.sweep import Reference, SweepSpec
    from service.study import _Silent, run_here

    spec = SweepSpec(
        kind="sweep",
        task=task,
        optimizer=optimizer,
        seeds=seeds,
        reference=Reference(seeds=list(range(1000, 1010))),
        recipe=recipe,
    )
    with session_scope(settings.resolved_database_url) as session:
        found = landscape_service.find_matching(
            session,
            task=task,
            optimizer=optimizer,
            recipe_hash=spec.recipe_hash,
            grid=spec.space,
            seeds=seeds,
            reference=list(range(1000, 1010)),
        )
    if found is not None:
        return found
    started = time.perf_counter()
    job = run_here(settings, spec, f"sweep {task}/{optimizer}", _Silent(), owner="benchmark")
    print(
        f"  swept {task}/{optimizer} x {len(seeds)} seeds in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    landscape_id = kinds.links(job).landscape_id
    assert landscape_id is not None, job.error
    return landscape_id


class Landscape:
    """One optimizer's stored landscape: per-seed errors and its fresh-seed e*."""

    def __init__(self, settings: Any, landscape_id: int) -> None:
        from service import landscapes as landscape_service
        from service.db import session_scope
        from workers.registry import OPTIMIZERS as CATALOG

        with session_scope(settings.resolved_database_url) as session:
            ls, matrix, per_seed = landscape_service.load_with_seeds(session, [landscape_id])[landscape_id]
            self.grid, self.optimizer, self.task = ls.grid, ls.optimizer, ls.task
            self.per_seed, self.e_star = per_seed, float(ls.reference["error"])
            self.failure = float(landscape_service.metric_json(ls)["failure_score"])
        info = CATALOG[self.optimizer]
        self.default = (info.default_alpha, info.default_epsilon)

    def board(self, first: int, region_seeds: list[int], *, e_star: float | None) -> Any:
        """The landscape a study makes of these training seeds: ``first`` at every node, the
        others in the region its first pass puts near the best (the study's refinement rule)."""
        from service.analysis.replay import Board
        from service.kinds.sweep import Refine

        base = self.per_seed[first]
        region = (
            Refine(seeds=[1], margin=2.0, top_k=10).region(
                {(i, j): float(base[i, j]) for i in range(base.shape[0]) for j in range(base.shape[1])}
            )
            if region_seeds
            else []
        )
        observed = np.full((1 + len(region_seeds), *base.shape), np.nan)
        observed[0] = base
        for k, s in enumerate(region_seeds, start=1):
            for node in region:
                observed[k][node] = self.per_seed[s][node]
        return Board(
            grid=self.grid,
            errors=np.nanmean(observed, axis=0),
            observed=observed,
            default_point=self.default,
            failure_score=self.failure,
            e_star=e_star,
        ), len(region)


def _subjects(lands: dict[str, Landscape]) -> list[Any]:
    from service.analysis.comparison import Subject

    return [
        Subject(
            landscape_id=k,
            task=ls.task,
            optimizer=o,
            label=o,
            metric="error",
            unit="%",
            delta_unit="points",
            errors=np.nanmean(ls.per_seed, axis=0),
            seeds=[],
        )
        for k, (o, ls) in enumerate(lands.items())
    ]


def _replicated(
    pool: ProcessPoolExecutor, lands: dict[str, Landscape], half: list[int], seeds: int, budget: int
):
    """The study's design on training seeds ``half``: K replicates, replay seed s on s mod K."""
    k = len(half)
    jobs, keys = [], []
    for index, (_o, ls) in enumerate(lands.items()):
        board, _ = ls.board(half[0], half[1:], e_star=ls.e_star)
        for r in range(k):
            rep = board.replicate(r)
            for searcher in SEARCHERS:
                jobs.append((rep, searcher, list(range(seeds))[r::k], budget, half[r]))
                keys.append((index, searcher))
    return _group(pool, jobs, keys)


def _before(pool: ProcessPoolExecutor, lands: dict[str, Landscape], half: list[int], seeds: int, budget: int):
    """The design before replicates: one landscape (first seed everywhere, two refine seeds near
    the best), told one seed per config, scored on the mean, e* its best mean."""
    jobs, keys = [], []
    for index, (_o, ls) in enumerate(lands.items()):
        board, _ = ls.board(half[0], half[1:3], e_star=None)
        for searcher in SEARCHERS:
            jobs.append((board, searcher, list(range(seeds)), budget, None))
            keys.append((index, searcher))
    return _group(pool, jobs, keys)


def _truth(pool: ProcessPoolExecutor, lands: dict[str, Landscape], held: list[int], seeds: int, budget: int):
    """Full, independent landscapes (one training seed each at every node): the estimand."""
    from service.analysis.replay import Board

    jobs, keys = [], []
    for index, (_o, ls) in enumerate(lands.items()):
        for h in held:
            board = Board(
                grid=ls.grid,
                errors=ls.per_seed[h],
                default_point=ls.default,
                failure_score=ls.failure,
                e_star=ls.e_star,
            )
            for searcher in SEARCHERS:
                jobs.append((board, searcher, [h * 10_000 + s for s in range(seeds)], budget, h))
                keys.append((index, searcher))
    return _group(pool, jobs, keys)


def _group(pool: ProcessPoolExecutor, jobs: list[Any], keys: list[Any]) -> dict[tuple[int, str], list[Any]]:
    groups: dict[tuple[int, str], list[Any]] = {}
    for key, runs in zip(keys, pool.map(_runs, jobs), strict=True):
        groups.setdefault(key, []).extend(runs)
    return {k: sorted(v, key=lambda r: r.seed) for k, v in groups.items()}


def _cached(path: Path, make: Any) -> Any:
    """The replays of one design, kept beside the sweeps: a rerun that changes only the
    analysis replays nothing."""
    if path.exists():
        return pickle.loads(path.read_bytes())
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def _joint(v: Any, w: Any) -> bool:
    """Whether two estimates of one ratio agree within their joint 95% uncertainty (the
    difference of their logs against t with Welch-Satterthwaite degrees of freedom)."""
    from scipy.stats import t as student

    a, b = v._ratio, w._ratio
    var = a.se**2 + b.se**2
    if var == 0 or not math.isfinite(var):
        return a.log == b.log
    df = var**2 / (a.se**4 / max(a.df, 1) + b.se**4 / max(b.df, 1))
    return abs(a.log - b.log) <= float(student.ppf(0.975, df)) * math.sqrt(var)


def _true_ratios(truth: dict[tuple[int, str], list[Any]], n_opt: int) -> dict[tuple[int, str, float], float]:
    """Per (optimizer index, searcher or 'all', delta): the held-out ratio to the baseline (index 0)."""
    from service.analysis.estimator import cell

    out = {}
    for d in DELTAS:
        for o in range(1, n_opt):
            logs = []
            for s in SEARCHERS:
                ratio = cell(truth[(o, s)], d).mean / cell(truth[(0, s)], d).mean
                out[(o, s, d)] = ratio
                logs.append(math.log(ratio))
            out[(o, "all searchers", d)] = math.exp(float(np.mean(logs)))
    return out


def _words(v: Any) -> str:
    if v.ratio is None or v.status != "tested":
        return str(v.status)
    if not v.distinguishable:
        return "not distinguishable"
    return "cheaper" if v.ratio < 1 else "dearer"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["digits-mlp", "breast-cancer-mlp"])
    parser.add_argument("--replicates", type=int, default=5, help="K: training seeds per verdict")
    parser.add_argument("--seeds", type=int, default=100, help="replay seeds per cell, as the study")
    parser.add_argument("--truth-seeds", type=int, default=20, help="replay seeds per held-out replicate")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--home", default=str(Path.home() / ".tunecost-bench-replicates"))
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")

    from service.analysis.comparison import build
    from service.db import upgrade
    from service.settings import Settings

    settings = Settings(home=args.home, _env_file=None)
    upgrade(settings.resolved_database_url)
    k = args.replicates
    halves = {"A": (list(range(k)), list(range(k, 2 * k))), "B": (list(range(k, 2 * k)), list(range(k)))}
    recipes = {"digits-mlp": {"epochs": 4}}
    totals = {"covered": 0, "lines": 0, "false": 0, "distinguishable": 0, "agree_new": 0, "agree_old": 0}
    totals |= {"pairs": 0, "flips": 0, "headlines": 0}
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for task in args.tasks:
            print(
                f"== {task}: {len(OPTIMIZERS)} optimizers x {2 * k} training seeds at every node", flush=True
            )
            ids = {
                o: _sweep(settings, task, o, list(range(2 * k)), recipes.get(task, {})) for o in OPTIMIZERS
            }
            from ray import shutdown

            shutdown()  # the sweeps' Ray instance: the replays run in plain processes
            lands = {o: Landscape(settings, i) for o, i in ids.items()}
            subjects = _subjects(lands)
            built, old, truths = {}, {}, {}
            cache = Path(args.home) / "replays"
            for name, (half, held) in halves.items():
                tag = f"{task}-{'-'.join(map(str, half))}-{args.seeds}-{args.truth_seeds}-{args.budget}"
                groups = _cached(
                    cache / f"{tag}-replicates.pkl",
                    partial(_replicated, pool, lands, half, args.seeds, args.budget),
                )
                truth = _cached(
                    cache / f"{tag}-truth.pkl",
                    partial(_truth, pool, lands, held, args.truth_seeds, args.budget),
                )
                before = _cached(
                    cache / f"{tag}-before.pkl",
                    partial(_before, pool, lands, half, args.seeds, args.budget),
                )
                built[name] = (build(0, DELTAS, subjects, groups), _true_ratios(truth, len(lands)))
                truths[name] = {
                    (v.optimizer, v.searcher, v.delta): v for v in build(0, DELTAS, subjects, truth).verdicts
                }
                old[name] = build(0, DELTAS, subjects, before)
            joint = [0, 0]
            for name, (comparison, _) in built.items():
                for v in comparison.verdicts:
                    w = truths[name].get((v.optimizer, v.searcher, v.delta))
                    if (
                        v.status == "tested"
                        and v._ratio is not None
                        and w is not None
                        and w._ratio is not None
                    ):
                        joint[0] += _joint(v, w)
                        joint[1] += 1
            covered = lines = false = distinguishable = 0
            for comparison, truth in built.values():
                for v in comparison.verdicts:
                    o = OPTIMIZERS.index(v.optimizer)
                    true = truth.get((o, v.searcher, v.delta))
                    if v.status != "tested" or v._ratio is None or true is None:
                        continue
                    lo, hi = v._ratio.interval()
                    lines += 1
                    covered += lo <= true <= hi
                    if v.distinguishable:
                        distinguishable += 1
                        false += (v.ratio < 1) != (true < 1)
            agree = {"new": [0, 0], "old": [0, 0]}
            for design, pair in (("new", (built["A"][0], built["B"][0])), ("old", (old["A"], old["B"]))):
                for x, y in (pair, pair[::-1]):
                    others = {(v.optimizer, v.searcher, v.delta): v for v in y.verdicts}
                    for v in x.verdicts:
                        w = others.get((v.optimizer, v.searcher, v.delta))
                        if v._ratio is None or w is None or w.ratio is None or v.status != "tested":
                            continue
                        lo, hi = v._ratio.interval()
                        agree[design][0] += lo <= w.ratio <= hi
                        agree[design][1] += 1
            heads = [
                (_words(v), _words(w))
                for v in built["A"][0].verdicts
                if v.family == "headline"
                for w in built["B"][0].verdicts
                if w.family == "headline" and (w.optimizer, w.delta) == (v.optimizer, v.delta)
            ]
            flips = sum(a != b for a, b in heads)
            region = {o: ls.board(0, list(range(1, k)), e_star=None)[1] for o, ls in lands.items()}
            print(f"  coverage of the held-out truth: {covered}/{lines} = {covered / max(lines, 1):.1%}")
            print(
                f"  agreement with the held-out estimate within their joint 95% uncertainty (the truth is "
                f"itself estimated from {k} replicates): {joint[0]}/{joint[1]} = {joint[0] / max(joint[1], 1):.1%}"
            )
            print(f"  false discoveries: {false} of {distinguishable} distinguishable lines")
            for design, (hit, n) in agree.items():
                label = f"replicates (K={k})" if design == "new" else "one landscape (before)"
                print(
                    f"  agreement, {label}: {hit}/{n} = {hit / max(n, 1):.1%} of one half's points in the other's interval"
                )
            print(f"  headline words differ between the halves: {flips} of {len(heads)}")
            for o in OPTIMIZERS:
                new = 441 + (k - 1) * region[o] + 10
                before = 441 + 2 * lands[o].board(0, [1, 2], e_star=None)[1]
                print(
                    f"  compute {o}: {new} configs (region {region[o]} nodes x {k - 1} seeds, 10 fresh) vs {before} before: {new / before:.2f}x"
                )
            for name, (comparison, _) in built.items():
                for v in comparison.verdicts:
                    if v.family == "headline":
                        print(f"  {name}: {v.text}")
            for key, value in (
                ("covered", covered),
                ("lines", lines),
                ("false", false),
                ("distinguishable", distinguishable),
            ):
                totals[key] += value
            totals["agree_new"] += agree["new"][0]
            totals["agree_old"] += agree["old"][0]
            totals["pairs"] += agree["new"][1]
            totals["pairs_old"] = totals.get("pairs_old", 0) + agree["old"][1]
            totals["flips"] += flips
            totals["joint"] = totals.get("joint", 0) + joint[0]
            totals["joint_n"] = totals.get("joint_n", 0) + joint[1]
            totals["headlines"] += len(heads)
    print("== over all tasks")
    print(
        f"  coverage: {totals['covered']}/{totals['lines']} = {totals['covered'] / max(totals['lines'], 1):.1%} (target >= 90%)"
    )
    print(
        f"  joint agreement with the held-out estimate: {totals.get('joint', 0)}/{totals.get('joint_n', 0)}"
    )
    print(f"  false discoveries: {totals['false']} of {totals['distinguishable']} distinguishable (target 0)")
    print(
        f"  agreement: replicates {totals['agree_new']}/{totals['pairs']}, one landscape (before) "
        f"{totals['agree_old']}/{totals.get('pairs_old', 0)}"
    )
    print(f"  headline words differ: {totals['flips']} of {totals['headlines']}")
    print(f"  wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
