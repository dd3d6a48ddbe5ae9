"""The tuning-cost table of a comparison, as rich renderables (the CLI prints them) and as text
(the study writes it to ``tuning_cost.txt`` and to the replay study's attributes)."""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from service.comparisons import Comparison, TuningCostRow
from workers.registry import format_score


def _trials(value: float | None, budget: int) -> str:
    return f">{budget}" if value is None else f"{value:.0f}"


def _row(r: TuningCostRow) -> list[str]:
    return [
        r.label,
        r.searcher,
        f"{r.delta:g}",
        _trials(r.median, r.budget),
        f"[{_trials(r.median_ci[0], r.budget)}, {_trials(r.median_ci[1], r.budget)}]",
        f"{_trials(r.q25, r.budget)}-{_trials(r.q75, r.budget)}",
        "-" if r.mean is None else f"{r.mean:.1f} ± {r.std:.1f}",
        f"{r.success_rate:.0%}",
    ]


def _short(unit: str) -> str:
    return "pts" if unit == "points" else unit


def _columns(table: Table, names: list[str]) -> Table:
    for name in names:
        table.add_column(name, justify="right")
    return table


def tuning_cost_table(comparison: Comparison, *, task: str, seeds: int, budget: int) -> RenderableType:
    """Landscape facts, then one row per (optimizer, searcher, delta)."""
    lines = [
        f"tuning cost on {task}: trials to reach delta ({comparison.delta_unit}; median [IQR], mean ± std "
        f"over seeds that reach it, share reaching it within {budget}); {seeds} seeds"
    ]
    for fact in comparison.landscapes:
        shares = ", ".join(
            f"{float(d):g}: {share:.1%} ({fact.random_expected_trials[d]:.1f} random trials expected)"
            for d, share in fact.share_within.items()
        )
        noise = (
            ""
            if fact.noise_std_median is None
            else f", seed noise (median std) {fact.noise_std_median:.2f} {_short(comparison.delta_unit)}"
        )
        lines.append(
            f"  {fact.label:>12}: best {fact.metric} {format_score(fact.best_error, fact.unit, 2)}, "
            f"configs within delta of best: {shares}{noise}"
        )
    table = _columns(
        Table(box=None, header_style="bold", pad_edge=False),
        ["optimizer", "searcher", "delta", "median", "95% CI", "IQR", "mean ± std", "reached"],
    )
    for r in comparison.rows:
        table.add_row(*_row(r))
    parts: list[RenderableType] = [Text("\n".join(lines)), table]
    if comparison.verdicts:
        parts.append(
            Text(
                f"\nverdicts: ratio of median trials to delta, 95% paired bootstrap over the {seeds} replay seeds "
                "(a run that never reached delta counts as the budget)\n"
                + "\n".join(f"  {v.text}" for v in comparison.verdicts)
            )
        )
    if comparison.expected_suboptimality:
        ks = sorted({int(k) for e in comparison.expected_suboptimality for k in e.at})
        expected = _columns(
            Table(box=None, header_style="bold", pad_edge=False, title_justify="left"),
            ["optimizer", "searcher", *[f"k={k}" for k in ks]],
        )
        for e in comparison.expected_suboptimality:
            expected.add_row(
                e.label, e.searcher, *[f"{e.at[str(k)]:.2f}" if str(k) in e.at else "" for k in ks]
            )
        parts += [
            Text(
                f"\nexpected suboptimality ({comparison.delta_unit}) after k trials; random search also in closed form"
            ),
            expected,
        ]
    return Group(*parts)


def to_text(renderable: RenderableType, width: int = 200) -> str:
    """Plain text (no colour, no markup) of a rich renderable."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False, soft_wrap=True).print(
        renderable
    )
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
