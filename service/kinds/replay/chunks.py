"""A replay's work cut into Ray tasks: chunks of replay seeds of about equal expected cost
(:func:`balanced_chunks`), and the task that runs one (:func:`replay_chunk`)."""

from __future__ import annotations

from typing import Any

from tunecost.search_spaces import SEARCHERS
from tunecost.service.analysis.replay import Board, PrunerSpec, Run, replay

CHUNKS_PER_CPU = 4  # chunks of about equal cost per CPU: the last to finish is short, so no CPU idles long


def balanced_chunks(
    work: list[tuple[int, str, Any, list[int], int | None]], cpus: int
) -> list[tuple[int, str, Any, list[int], int | None]]:
    """``work`` -- (landscape, searcher, board, replay seeds, replicate) -- cut into chunks of about
    equal expected cost, costliest first, so ``cpus`` workers finish together.

    A run's cost is its searcher's machinery per trial (``SearcherInfo.cost_ms``: TPE's is 24x
    grid's) and the same budget for every run, so a chunk of TPE holds fewer seeds than one of
    random search. About :data:`CHUNKS_PER_CPU` chunks per CPU; costliest first is the
    longest-processing-time rule, whose makespan is within 4/3 of the best."""
    cost = {searcher: SEARCHERS[searcher].cost_ms for _, searcher, _, _, _ in work}
    total = sum(cost[searcher] * len(seeds) for _, searcher, _, seeds, _ in work)
    target = total / (cpus * CHUNKS_PER_CPU)
    chunks = []
    for landscape_id, searcher, board, seeds, replicate in work:
        size = max(1, round(target / cost[searcher]))
        chunks += [
            (landscape_id, searcher, board, seeds[lo : lo + size], replicate)
            for lo in range(0, len(seeds), size)
        ]
    return sorted(chunks, key=lambda c: -cost[c[1]] * len(c[3]))  # stable: ties keep their order


def replay_chunk(
    board: Board,
    searcher: str,
    options: dict[str, Any],
    seeds: list[int],
    budget: int,
    deltas: list[float],
    pruner: PrunerSpec | None,
    workers: int,
    replicate: int | None = None,
) -> list[Run]:
    """Runs of one (landscape or replicate, searcher) over some replay seeds: one Ray task."""
    runs = [
        replay(searcher, board, s, budget, deltas, options=options, pruner=pruner, workers=workers)
        for s in seeds
    ]
    for run in runs:
        run.replicate = replicate
    return runs
