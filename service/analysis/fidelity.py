"""Multi-fidelity landscapes: successive halving over a grid, and its exact derivation from a
full-fidelity landscape's learning curves.

Training is deterministic and a node's schedule is set from the full recipe, so a node stopped
at rung r holds exactly the first r epochs of its full-fidelity curve. :func:`derive` uses that
to compute, from a stored full sweep, the landscape a successive-halving sweep would store: the
benchmark (``benchmarks/fidelity.py``) measures the rule on it, and
``tests/service/test_runner.py`` checks a real successive-halving sweep against it bit for bit.
No database, Ray or torch here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Node = tuple[int, int]


class Fidelity(BaseModel):
    """Successive halving over the grid (Jamieson & Talwalkar, 2016), the documented rule:
    every node trains to the first rung (``min_epochs``); at each rung the nodes are ranked by
    their rung score (the validation score after that epoch, mean over the sweep's seeds;
    ties by grid position); the best ``floor(n / eta)`` (at least one), and every node within
    ``margin`` of the rung's best, go on to the next rung; a node that diverged on any seed
    stops at once. Rungs are ``min_epochs * eta**k``
    below the recipe's epochs, then the recipe's epochs. Every run follows the full recipe's
    schedule, and a promoted node continues from its checkpoint at the rung it passed (or, with
    ``continues`` false or under Lookahead, trains again from scratch: the same numbers), so a
    node stopped at rung r holds exactly the first r epochs of its full-fidelity curve.

    Written by hand: Optuna's and Ray Tune's successive-halving pruners decide per trial as
    trials arrive (asynchronously), not over a whole grid at once."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # as every job spec (service.specs)

    method: Literal["successive_halving"] = Field(description="The multi-fidelity rule.")
    eta: int = Field(
        3,
        ge=2,
        le=100,
        description="Keep the best floor(n/eta) of the n nodes at each rung (and see `margin`).",
    )
    min_epochs: int = Field(1, ge=1, le=10_000, description="Epochs of the first rung.")

    continues: bool = Field(
        True,
        description="A promoted node continues from its checkpoint at the rung it passed (kept "
        "under TUNECOST_HOME while the sweep runs); false: it trains again from scratch. Same "
        "numbers either way; continuing costs only the epochs added.",
    )

    def rungs(self, epochs: int) -> list[int]:
        """The epochs of each rung, the last being the recipe's ``epochs``."""
        out, rung = [], self.min_epochs
        while rung < epochs:
            out.append(rung)
            rung *= self.eta
        return [*out, epochs]

    margin: float | None = Field(
        5.0,
        ge=0,
        le=1e6,
        description="Also promote every node whose rung score is within this margin of the rung's "
        "best, in the metric's delta unit (points of error for a classifier; an MSE task must set it, "
        "in its own units); 0 or null: the textbook rule, the best floor(n/eta) only. Without it, the "
        "best 1/eta at an early rung, before the schedule's decays, left most of the region within "
        "delta of e* stopped early on a 20-epoch recipe and changed a verdict (benchmarks/fidelity.py); "
        "with the default 5 points, 3-4x the textbook's nodes reach the last rung.",
    )

    def promote(self, scores: dict[Node, float | None]) -> list[Node]:
        """The nodes that go on from a rung (None: diverged there), best first: the best
        floor(n / eta), at least one, and every node within ``margin`` of the rung's best."""
        ranked = sorted((node for node, v in scores.items() if v is not None), key=lambda n: (scores[n], n))
        keep = max(1, len(scores) // self.eta)
        if self.margin and ranked:
            best = scores[ranked[0]]
            assert best is not None
            keep = max(
                keep,
                sum(1 for n in ranked if (v := scores[n]) is not None and v <= best + self.margin + 1e-9),
            )
        return ranked[:keep]

    def provenance(self, epochs: int) -> dict[str, Any]:
        return {
            **self.model_dump(mode="json"),
            "rungs": self.rungs(epochs),
            "rule": "rank by the rung's validation score (mean over the sweep's seeds, ties by grid "
            "position); the best floor(n/eta), at least one, and every node within margin of the "
            "rung's best go on; a node diverged on any seed stops; every run on the full recipe's "
            "schedule",
        }


RULE = ("method", "eta", "min_epochs", "margin")  # what makes the numbers (``continues`` only the cost)


def same_rule(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two fidelity specs (or a landscape's stored rule; None: full fidelity) give the
    same landscape."""
    if a is None or b is None:
        return a is b
    return all(a.get(key) == b.get(key) for key in RULE)


def can_continue(recipe: dict[str, Any]) -> bool:
    """Whether a run of this recipe can continue from a checkpoint (workers.checkpoints): not
    under Lookahead, whose slow weights live outside the optimizer's state."""
    return not recipe.get("lookahead")


@dataclass(frozen=True)
class Derived:
    """What a successive-halving sweep stores, derived from full-fidelity curves."""

    epochs: dict[Node, int]  # the rung each node reached
    errors: dict[Node, list[float]]  # per seed, the score at that rung (failure score: diverged)
    curves: dict[Node, list[list[float]]]  # per seed, the curve up to that rung
    trained_epochs: int  # epochs every model ran, summed over rungs (continued: only those added)
    full_epochs: int  # what the full-fidelity sweep trained


def derive(
    curves: list[list[list[list[float]]]],
    fidelity: Fidelity,
    epochs: int,
    failure_score: float,
    *,
    continued: bool | None = None,
) -> Derived:
    """From full-fidelity learning curves (per seed, [alpha][epsilon] -> the score after each
    epoch; shorter than ``epochs`` where that seed diverged), the successive-halving landscape.
    A seed's score at rung r is its curve's r-th value; a curve shorter than r diverged before
    r: the failure score, and the node stops."""
    n_a, n_e = len(curves[0]), len(curves[0][0])
    seeds = range(len(curves))
    nodes = [(i, j) for i in range(n_a) for j in range(n_e)]

    def at(node: Node, seed: int, rung: int) -> float | None:
        curve = curves[seed][node[0]][node[1]]
        return curve[rung - 1] if len(curve) >= rung else None

    reached: dict[Node, int] = {}
    trained = 0
    alive = nodes
    rungs = fidelity.rungs(epochs)
    carry = fidelity.continues if continued is None else continued
    for rung in rungs:
        for node in alive:
            before = reached.get(node, 0) if carry else 0  # a continued node adds rung - before
            reached[node] = rung
            for seed in seeds:  # a model that diverged ran up to the epoch it diverged in
                trained += min(rung, len(curves[seed][node[0]][node[1]]) + 1) - before
        if rung == rungs[-1]:
            break
        scores: dict[Node, float | None] = {}
        for node in alive:
            values = [at(node, seed, rung) for seed in seeds]
            scores[node] = None if None in values else statistics.fmean(v for v in values if v is not None)
        alive = fidelity.promote(scores)
    errors = {
        node: [failure_score if (v := at(node, seed, r)) is None else v for seed in seeds]
        for node, r in reached.items()
    }
    kept = {node: [curves[seed][node[0]][node[1]][:r] for seed in seeds] for node, r in reached.items()}
    return Derived(reached, errors, kept, trained, len(nodes) * len(curves) * epochs)


def share(derived: Derived) -> float:
    return derived.trained_epochs / derived.full_epochs if derived.full_epochs else 1.0


__all__ = ["RULE", "Derived", "Fidelity", "can_continue", "derive", "same_rule", "share"]
