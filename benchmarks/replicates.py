"""Do verdicts survive re-training? Held-out checks of the tuning-cost intervals.

Trains each optimizer's landscape R times over (R training seeds at every node) and its best
node on 40 fresh seeds, then, for each of R // K disjoint sets of K training seeds, builds every
verdict as the study does -- the set's first seed at every node, the other K - 1 in the region
near its best (the refinement), e* the mean of 10 fresh seeds -- and takes the truth from what
the study never saw: the other R - K seeds, each a full, independent landscape, scored to an e*
measured on the other 30 fresh seeds. The truth is itself estimated (from R - K replicates and
30 seeds); the output says what an exactly honest interval would cover of it.

Prints, per task and over all of them:
  coverage        the share of verdict lines whose 95% interval holds the held-out truth; the
                  same without e*'s noise in the interval; what an honest one would cover
  false discov.   "distinguishable" lines (after Holm) whose direction the truth contradicts
  agreement       one set's point estimate inside another's interval (the issue's 65%), for the
                  replicate design and for the design before it (one landscape, replay seeds)
  stability       how often the headline's words differ between two disjoint sets
  compute         configs trained per landscape by the study's design against the one before it

    python benchmarks/replicates.py [--tasks digits-mlp breast-cancer-mlp] [--replicates 5]
        [--training-seeds 20] [--seeds 100] [--truth-seeds 40] [--home DIR]

Recipes: digits-mlp at 4 epochs, breast-cancer-mlp at 10 epochs of batch 64 (each landscape is
trained R times over). On 2 CPUs: one to four minutes of sweeps per optimizer (far more when
the machine is busy), then 10 to 15 minutes of replays per task.

Sweeps are stored in DIR's database and reused by a rerun, replays beside them (DIR/replays);
the replays run in --jobs processes.
"""

from __future__ import annotations

import argparse
import dataclasses
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
    from tunecost.service.analysis.replay import replay

    board, searcher, seeds, budget, replicate = args
    out = []
    for s in seeds:
        run = replay(searcher, board, s, budget, DELTAS)
        run.replicate = replicate
        out.append(run)
    return out


FRESH = list(range(1000, 1040))  # e* seeds: the study's 10 (1000-1009), the truth's own 30


def _sweep(settings: Any, task: str, optimizer: str, seeds: list[int], recipe: dict[str, Any]) -> int:
    from tunecost.service import kinds
    from tunecost.service import landscapes as landscape_service
    from tunecost.service.db import session_scope
    from tunecost.service.kinds.sweep import Reference, SweepSpec
    from tunecost.service.study import _Silent, run_here

    spec = SweepSpec(
        kind="sweep",
        task=task,
        optimizer=optimizer,
        seeds=seeds,
        reference=Reference(seeds=FRESH),
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
            reference=FRESH,
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
    """One optimizer's stored landscape: per-seed errors and its best node's fresh-seed errors."""

    def __init__(self, settings: Any, landscape_id: int) -> None:
        from tunecost.service import landscapes as landscape_service
        from tunecost.service.db import session_scope
        from tunecost.workers.catalog import OPTIMIZERS as CATALOG

        with session_scope(settings.resolved_database_url) as session:
            stored = landscape_service.read_one(session, landscape_id)
            ls = stored.row
            self.grid, self.optimizer, self.task = ls.grid, ls.optimizer, ls.task
            self.per_seed = stored.seed_errors
            fresh = dict(zip(ls.reference["seeds"], ls.reference["errors"], strict=True))
            self.failure = float(landscape_service.metric_json(ls)["failure_score"])
        self.study_fresh = np.array([fresh[s] for s in FRESH[:10]])  # what the study measures e* on
        self.truth_fresh = np.array([fresh[s] for s in FRESH[10:]])  # the truth's own, unseen
        info = CATALOG[self.optimizer]
        self.default = (info.default_alpha, info.default_epsilon)

    def e_star(self, which: str) -> tuple[float, float, float]:
        """e*, its standard error and degrees of freedom, from the study's or the truth's seeds."""
        x = self.study_fresh if which == "study" else self.truth_fresh
        return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)), float(x.size - 1)

    def board(self, first: int, region_seeds: list[int], *, e_star: float | None) -> Any:
        """The landscape a study makes of these training seeds: ``first`` at every node, the
        others in the region its first pass puts near the best (the study's refinement rule)."""
        from tunecost.service.analysis.replay import Board
        from tunecost.service.kinds.sweep import Refine

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


def _subjects(lands: dict[str, Landscape], which: str | None) -> list[Any]:
    """The comparison's view of the landscapes, e* from the study's fresh seeds, the truth's,
    or (None) the best mean (the design before)."""
    from tunecost.service.analysis.comparison import Subject

    out = []
    for k, (o, ls) in enumerate(lands.items()):
        e_star, se, df = ls.e_star(which) if which else (None, 0.0, 0.0)
        out.append(
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
                e_star=e_star,
                e_star_se=se,
                e_star_df=df,
            )
        )
    return out


def _replicated(
    pool: ProcessPoolExecutor, lands: dict[str, Landscape], half: list[int], seeds: int, budget: int
):
    """The study's design on training seeds ``half``: K replicates, replay seed s on s mod K."""
    k = len(half)
    jobs, keys = [], []
    for index, (_o, ls) in enumerate(lands.items()):
        board, _ = ls.board(half[0], half[1:], e_star=ls.e_star("study")[0])
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


def _truth(pool: ProcessPoolExecutor, lands: dict[str, Landscape], seeds: int, budget: int):
    """Every training seed's full landscape, replayed on its own replay seeds and scored to the
    truth's e*: per seed, {(optimizer index, searcher): runs}. A set's truth is the seeds it
    did not see."""
    from tunecost.service.analysis.replay import Board

    out: dict[int, dict[tuple[int, str], list[Any]]] = {}
    n = next(iter(lands.values())).per_seed.shape[0]
    for h in range(n):
        jobs, keys = [], []
        for index, (_o, ls) in enumerate(lands.items()):
            board = Board(
                grid=ls.grid,
                errors=ls.per_seed[h],
                default_point=ls.default,
                failure_score=ls.failure,
                e_star=ls.e_star("truth")[0],
            )
            for searcher in SEARCHERS:
                jobs.append((board, searcher, [h * 10_000 + s for s in range(seeds)], budget, h))
                keys.append((index, searcher))
        out[h] = _group(pool, jobs, keys)
    return out


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


def _lines(comparison: Any) -> list[Any]:
    """Every verdict line: within delta of each optimizer's own e*, and to the baseline's e* + delta."""
    return [*comparison.verdicts, *comparison.shared]


def _key(v: Any) -> tuple[str, str, float, str]:
    return (v.optimizer, v.searcher, v.delta, v.question)


def _words(v: Any) -> str:
    if v.ratio is None or v.status != "tested":
        return str(v.status)
    if not v.distinguishable:
        return "not distinguishable"
    return "cheaper" if v.ratio < 1 else "dearer"


def _honest(v: Any, w: Any) -> float:
    """The chance an exactly honest 95% interval (v's) holds a truth estimated with w's
    standard error: v's t-interval widened by the truth's noise, P(|T| <= t se_v / sqrt(se_v^2 +
    se_w^2)) with v's degrees of freedom (95% where the truth is exact)."""
    from scipy.stats import t as student

    a, b, df = v._ratio.se, w._ratio.se, v._ratio.df
    if not (math.isfinite(a) and math.isfinite(b)) or a == 0 or df <= 0:
        return 1.0
    q = float(student.ppf(0.975, df))
    return float(2 * student.cdf(q * a / math.sqrt(a**2 + b**2), df) - 1)


class Tally:
    """Counts over verdict lines, per task and over all tasks."""

    def __init__(self) -> None:
        self.n: dict[str, float] = {}

    def add(self, key: str, value: float = 1) -> None:
        self.n[key] = self.n.get(key, 0) + value

    def __getitem__(self, key: str) -> float:
        return self.n.get(key, 0)

    def __iadd__(self, other: Tally) -> Tally:
        for k, v in other.n.items():
            self.add(k, v)
        return self

    def lines(self) -> list[str]:
        t = self
        share = lambda a, b: f"{t[a]:.0f}/{t[b]:.0f} = {t[a] / max(t[b], 1):.1%}"  # noqa: E731
        return [
            f"coverage of the held-out truth: {share('covered', 'lines')} (target >= 90%)",
            f"  without e*'s noise in the interval: {share('covered_bare', 'lines')}",
            f"  an exactly honest 95% interval would cover this (itself estimated) truth "
            f"{t['honest'] / max(t['lines'], 1):.1%} of the time",
            f"false discoveries: {t['false']:.0f} of {t['distinguishable']:.0f} distinguishable lines (target 0)",
            f"agreement, replicates: {share('agree_new', 'pairs_new')}; one landscape (before): "
            f"{share('agree_old', 'pairs_old')} of one set's points in another's interval",
            f"headline words differ between disjoint sets: {t['flips']:.0f} of {t['headlines']:.0f}",
        ]


def _tally(
    sets: list[list[int]],
    built: dict,
    bare: dict,
    truths: dict,
    old: dict,
) -> Tally:
    """Coverage, false discoveries, agreement and stability over every verdict set."""
    from tunecost.service.analysis.comparison import SHARED

    t = Tally()
    for g in range(len(sets)):
        truth = {_key(v): v for v in _lines(truths[g])}
        bare_ratios = {_key(v): v._ratio for v in _lines(bare[g])}
        for v in _lines(built[g]):
            w = truth.get(_key(v))
            if v.status != "tested" or v._ratio is None or w is None or w.ratio is None or w._ratio is None:
                continue
            lo, hi = v._ratio.interval()
            t.add("lines")
            t.add("covered", lo <= w.ratio <= hi)
            blo, bhi = bare_ratios[_key(v)].interval()
            t.add("covered_bare", blo <= w.ratio <= bhi)
            t.add("honest", _honest(v, w))
            if v.distinguishable:
                t.add("distinguishable")
                if (v.ratio < 1) != (w.ratio < 1):
                    t.add("false")
                    print(f"    false discovery (set {g}): {v.text}\n      truth: {w.text}")
    for a, b in zip(range(0, len(sets), 2), range(1, len(sets), 2), strict=False):
        for design, pair in (("new", (built[a], built[b])), ("old", (old[a], old[b]))):
            for x, y in (pair, pair[::-1]):
                others = {_key(v): v for v in _lines(y)}
                for v in _lines(x):
                    w = others.get(_key(v))
                    if v._ratio is None or w is None or w.ratio is None or v.status != "tested":
                        continue
                    lo, hi = v._ratio.interval()
                    t.add(f"agree_{design}", lo <= w.ratio <= hi)
                    t.add(f"pairs_{design}")
        heads = [
            (_words(v), _words(w))
            for v in built[a].verdicts
            if v.family == "headline" and v.question != SHARED
            for w in built[b].verdicts
            if w.family == "headline" and _key(w) == _key(v)
        ]
        t.add("flips", sum(x != y for x, y in heads))
        t.add("headlines", len(heads))
    return t


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["digits-mlp", "breast-cancer-mlp"])
    parser.add_argument("--replicates", type=int, default=5, help="K: training seeds per verdict")
    parser.add_argument(
        "--training-seeds", type=int, default=20, help="R: training seeds at every node (R // K verdict sets)"
    )
    parser.add_argument("--seeds", type=int, default=100, help="replay seeds per cell, as the study")
    parser.add_argument("--truth-seeds", type=int, default=40, help="replay seeds per held-out landscape")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sweeps-only", action="store_true", help="train the landscapes and stop")
    parser.add_argument("--home", default=str(Path.home() / ".tunecost-bench-replicates"))
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")

    from tunecost.service.analysis.comparison import build
    from tunecost.service.db import upgrade
    from tunecost.service.settings import Settings

    settings = Settings(home=args.home, _env_file=None)
    upgrade(settings.resolved_database_url)
    k, r = args.replicates, args.training_seeds
    if r < 2 * k:
        parser.error("--training-seeds must be at least twice --replicates (two disjoint sets)")
    sets = [list(range(g * k, (g + 1) * k)) for g in range(r // k)]
    # short recipes: each landscape is trained R times over (breast-cancer-mlp's default, 40 epochs
    # at batch 32, is 600 small steps a config, 7.5x these)
    recipes = {"digits-mlp": {"epochs": 4}, "breast-cancer-mlp": {"epochs": 10, "batch_size": 64}}
    total = Tally()
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for task in args.tasks:
            print(f"== {task}: {len(OPTIMIZERS)} optimizers x {r} training seeds at every node", flush=True)
            ids = {o: _sweep(settings, task, o, list(range(r)), recipes.get(task, {})) for o in OPTIMIZERS}
            if args.sweeps_only:
                continue
            from ray import shutdown

            shutdown()  # the sweeps' Ray instance: the replays run in plain processes
            lands = {o: Landscape(settings, i) for o, i in ids.items()}
            cache = Path(args.home) / "replays" / f"{task}-{r}-budget{args.budget}"
            per_seed = _cached(
                cache / f"truth-{args.truth_seeds}.pkl",
                partial(_truth, pool, lands, args.truth_seeds, args.budget),
            )
            built, bare, truths, old = {}, {}, {}, {}
            for g, chosen in enumerate(sets):
                print(f"  set {g}: training seeds {chosen}", flush=True)
                groups = _cached(
                    cache / f"set{g}-{k}-{args.seeds}-replicates.pkl",
                    partial(_replicated, pool, lands, chosen, args.seeds, args.budget),
                )
                before = _cached(
                    cache / f"set{g}-{k}-{args.seeds}-before.pkl",
                    partial(_before, pool, lands, chosen, args.seeds, args.budget),
                )
                truth: dict[tuple[int, str], list[Any]] = {}
                for h, runs in per_seed.items():
                    if h not in chosen:
                        for key, group in runs.items():
                            truth.setdefault(key, []).extend(group)
                truth = {key: sorted(v, key=lambda x: x.seed) for key, v in truth.items()}
                built[g] = build(0, DELTAS, _subjects(lands, "study"), groups)
                bare[g] = build(
                    0,
                    DELTAS,
                    [dataclasses.replace(x, e_star_se=0.0) for x in _subjects(lands, "study")],
                    groups,
                )
                truths[g] = build(0, DELTAS, _subjects(lands, "truth"), truth)
                old[g] = build(0, DELTAS, _subjects(lands, None), before)
            t = _tally(sets, built, bare, truths, old)
            for line in t.lines():
                print(f"  {line}")
            for o, ls in lands.items():
                e, se, _ = ls.e_star("study")
                et, set_, _ = ls.e_star("truth")
                region = ls.board(0, list(range(1, k)), e_star=None)[1]
                new = 441 + (k - 1) * region + 10
                before_n = 441 + 2 * ls.board(0, [1, 2], e_star=None)[1]
                print(
                    f"  {o}: e* {e:.2f} +- {se:.2f} (study's 10 fresh seeds), {et:.2f} +- {set_:.2f} (truth's 30); "
                    f"compute {new} configs (region {region} nodes x {k - 1} seeds, 10 fresh) vs {before_n} before: "
                    f"{new / before_n:.2f}x"
                )
            for g in (0, 1):
                for v in built[g].verdicts:
                    if v.family == "headline":
                        print(f"  set {g}: {v.text}")
            total += t
    if not args.sweeps_only:
        print("== over all tasks")
        for line in total.lines():
            print(f"  {line}")
    print(f"  wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
