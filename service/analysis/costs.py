"""What a replayed run's trials cost besides their number, as data: one row per cost.

The replay engine (:mod:`tunecost.service.analysis.replay`) keeps three running totals while it
simulates a run (:class:`Totals`: epochs trained, training seconds, simulated wall-clock);
each cost is read from them by its row's ``measure`` at every trial's end. The table, the CSV,
the report page and the figures read their header, label, format and which figures to draw
from the same row. Adding a cost is its name in :class:`Cost` and its row in :data:`COSTS`; a
cost that is not a function of the three totals also needs the engine to keep one more total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Cost(StrEnum):
    """A cost's name: how runs store it (``ReplayRun.cost_to``) and comparisons key it."""

    EPOCHS = "epochs"
    SECONDS = "seconds"
    WALLCLOCK = "wallclock"


@dataclass(frozen=True)
class Totals:
    """The engine's running totals when a trial ends: epochs and training seconds summed over
    every trial started (pruned ones to where they stopped), and the simulated wall-clock."""

    epochs: float
    seconds: float
    wallclock: float


@dataclass(frozen=True)
class CostInfo:
    label: str  # a figure's axis: "<label> to δ"
    column: str  # the table's and the report page's header
    digits: str  # how a cell formats it
    drawn: bool  # a report draws its own curves (suboptimality by it) and bars (it to δ)
    measure: Callable[[Totals], float]  # its value from the engine's totals


COSTS: dict[Cost, CostInfo] = {
    Cost.EPOCHS: CostInfo("epochs", "epochs [95% CI]", ".0f", True, lambda t: t.epochs),
    Cost.SECONDS: CostInfo("training seconds", "seconds [95% CI]", ".3g", False, lambda t: t.seconds),
    Cost.WALLCLOCK: CostInfo(
        "simulated wall-clock s", "wall-clock s [95% CI]", ".3g", True, lambda t: t.wallclock
    ),
}
