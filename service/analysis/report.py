"""A comparison's outputs: the tuning-cost table as rich renderables (the CLI prints them), as
text and CSV, and every file of a replay's report (:func:`write_files`: table, CSV, JSON and
the figures), which the replay's Optuna study carries as artifacts and the API's report page
shows."""

from __future__ import annotations

import csv
import io
from html import escape
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from service.analysis.comparison import Comparison, LandscapeFacts, TuningCostRow
from service.analysis.figures import (
    curves_figure,
    landscape_figure,
    profile_figure,
    suboptimality_range,
    tuning_cost_figure,
)
from service.analysis.landscape import LandscapeDetail
from service.analysis.replay import Cost
from service.analysis.suite import ALL_SEARCHERS
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


def _cost(r: TuningCostRow, name: Cost) -> str:
    """``84 [60, 121]``: a cost's median and interval; ``>`` where not reached; empty without curves."""
    if r.costs is None:
        return ""
    c = r.costs[name]
    digits = ".0f" if name == Cost.EPOCHS else ".3g"

    def one(v: float | None) -> str:
        return "not reached" if v is None else format(v, digits)

    return f"{one(c.median)} [{one(c.ci[0])}, {one(c.ci[1])}]" if c.median is not None else "not reached"


COST_COLUMNS = ["epochs (95% CI)", "seconds (95% CI)", "wall-clock s (95% CI)", "pruned/run"]


def _cost_cells(r: TuningCostRow) -> list[str]:
    if r.costs is None:
        return []
    return [*(_cost(r, cost) for cost in Cost), f"{r.pruned or 0:.1f}"]


def _short(unit: str) -> str:
    return "pts" if unit == "points" else unit


def _columns(table: Table, names: list[str]) -> Table:
    for name in names:
        table.add_column(name, justify="right")
    return table


def compute_text(fact: LandscapeFacts) -> str:
    """What a landscape's sweep trained, and its saving against a full-fidelity sweep of the grid:
    '; successive halving (eta 3, rungs 1/3/5): 833 of 2,205 epochs (38%, saving 62%), 41 s'."""
    compute = fact.compute
    if not compute or not compute.get("full_epochs"):
        return ""
    how = "full fidelity"
    if fact.fidelity:
        rungs = "/".join(str(r) for r in fact.fidelity["rungs"])
        how = f"successive halving (eta {fact.fidelity['eta']}, rungs {rungs} epochs; stopped nodes score their rung)"
    stopped = "" if fact.on_stopped is None else f"; {fact.on_stopped:.0%} of replay trials on stopped nodes"
    return (
        f"; {how}: {compute['epochs']:,} of {compute['full_epochs']:,} epochs "
        f"({compute['share']:.0%}, saving {1 - compute['share']:.0%}), {compute['seconds']:.0f} s of training"
        f"{stopped}"
    )


def headline(comparison: Comparison) -> list[str]:
    """The answer first, in a few lines: per task, how each optimizer fares against the
    baseline at the largest delta (over the searchers, Holm-corrected), and which needs the
    fewest trials; across tasks, the pooled ratio with its interval."""
    if not comparison.rows:
        return ["No replay runs to compare."]
    delta = max(comparison.deltas)
    unit = _short(comparison.delta_unit)
    tasks = list(dict.fromkeys(f.task for f in comparison.landscapes))
    lines = []
    for task in tasks:
        verdicts = [v for v in comparison.verdicts if v.task == task and v.delta == delta]
        if not verdicts:
            lines.append(f"On {task}: one landscape, nothing to compare.")
            continue
        searchers = sorted({v.searcher for v in verdicts})
        parts = []
        for label in dict.fromkeys(v.optimizer for v in verdicts):
            mine = [v for v in verdicts if v.optimizer == label]
            cheaper = sum(v.distinguishable and (v.ratio or 1) < 1 for v in mine)
            dearer = sum(v.distinguishable and (v.ratio or 1) > 1 for v in mine)
            neither = sum(v.ratio is None for v in mine)
            tied = len(mine) - cheaper - dearer - neither
            part = (
                f"{label} vs {mine[0].baseline}: cheaper to tune with {cheaper} of {len(mine)} searchers, "
                f"dearer with {dearer}, not distinguishable with {tied}"
            )
            parts.append(part + (f", neither reaches δ with {neither}" if neither else ""))
        family = max(v.comparisons for v in comparison.verdicts)
        lines.append(
            f"On {task} at δ = {delta:g} {unit}: "
            + "; ".join(parts)
            + f" (Holm-corrected 95% over {family} verdicts)."
        )
        rows = [r for r in comparison.rows if r.task == task and r.delta == delta]
        wins: dict[str, int] = {}
        for searcher in searchers:
            cells = [r for r in rows if r.searcher == searcher]
            best = min((r.median if r.median is not None else float("inf")) for r in cells)
            if best != float("inf"):
                for r in cells:
                    if r.median == best:
                        wins[r.label] = wins.get(r.label, 0) + 1
        if wins:
            top = max(wins.values())
            leaders = [label for label, n in wins.items() if n == top]
            lines.append(
                f"  Fewest trials to δ = {delta:g} (median): {' and '.join(leaders)}, with {top} of {len(searchers)} searchers."
            )
    suite = comparison.suite
    if suite is not None:
        for v in suite.verdicts:
            if v.searcher != ALL_SEARCHERS or v.delta != delta:
                continue
            per = [
                w
                for w in suite.verdicts
                if w.optimizer == v.optimizer and w.delta == delta and w.searcher != ALL_SEARCHERS
            ]
            cheaper = sum(w.distinguishable and (w.ratio or 1) < 1 for w in per)
            dearer = sum(w.distinguishable and (w.ratio or 1) > 1 for w in per)
            if v.distinguishable:
                decision = f"{v.optimizer if (v.ratio or 1) < 1 else v.baseline} cheaper to tune"
            else:
                decision = "not distinguishable"
            lines.append(
                f"Across {v.tasks} tasks at δ = {delta:g} {unit}, {v.optimizer} vs {v.baseline}: {v.ratio:.2f}× "
                f"[{v.ci[0]:.2f}, {v.ci[1]:.2f}] over all searchers (hierarchical bootstrap: tasks, then seeds) — "
                f"{decision}; per searcher, cheaper with {cheaper} of {len(per)}, dearer with {dearer} "
                f"(Holm over {per[0].comparisons if per else 0})."
            )
    return lines


COMPACT = ["optimizer", "searcher", "delta", "median", "95% CI", "reached"]


def tuning_cost_table(
    comparison: Comparison, *, task: str, seeds: int, budget: int, compact: bool = False
) -> RenderableType:
    """The headline, the verdicts against the baseline (and across tasks), the landscape facts,
    then one row per (optimizer, searcher, delta). ``compact`` fits a 100-column terminal: the
    trials' median, interval and share reached, and the epochs' median; the files keep every column."""
    multi = len({f.task for f in comparison.landscapes}) > 1
    parts: list[RenderableType] = [Text("\n".join(headline(comparison)) + "\n")]
    if comparison.verdicts:
        family = max(v.comparisons for v in comparison.verdicts)
        parts.append(
            Text(
                f"verdicts against {comparison.baseline}: ratio of median trials to delta, 95% paired bootstrap "
                f"over the {seeds} replay seeds (a run that never reached delta counts as the budget); "
                f"distinguishable after Holm's correction over {family} verdicts\n"
                + "\n".join(f"  {v.text}" for v in comparison.verdicts)
                + "\n"
            )
        )
    if comparison.suite is not None:
        parts.append(
            Text(
                f"across {len(comparison.suite.tasks)} tasks ({', '.join(comparison.suite.tasks)}): geometric mean of "
                "the per-task ratios, 95% hierarchical bootstrap (tasks, then replay seeds); per-searcher lines "
                "Holm-corrected\n" + "\n".join(f"  {v.text}" for v in comparison.suite.verdicts) + "\n"
            )
        )
    lines = [
        f"tuning cost on {task}\ntrials to δ ({_short(comparison.delta_unit)}): median [95% CI], share "
        f"reaching it within {budget}; {seeds} seeds"
        if compact
        else f"tuning cost on {task}: trials to reach delta ({comparison.delta_unit}; median [IQR], mean ± std "
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
        name = f"{fact.task}/{fact.label}" if multi else fact.label
        if compact:
            lines.append(
                f"  {name}: best {format_score(fact.best_error, fact.unit, 2)}, within δ: "
                + ", ".join(f"{float(d):g}: {share:.1%}" for d, share in fact.share_within.items())
                + ("" if fact.noise_std_median is None else f", noise {fact.noise_std_median:.2f}")
            )
        else:
            lines.append(
                f"  {name:>12}: best {fact.metric} {format_score(fact.best_error, fact.unit, 2)}, "
                f"configs within delta of best: {shares}{noise}{compute_text(fact)}"
            )
    with_costs = any(r.costs is not None for r in comparison.rows)
    if compact:
        heads = (["task"] if multi else []) + COMPACT + (["epochs"] if with_costs else [])
    else:
        heads = (
            (["task"] if multi else [])
            + ["optimizer", "searcher", "delta", "median", "95% CI", "IQR", "mean ± std", "reached"]
            + (COST_COLUMNS if with_costs else [])
        )
    table = _columns(Table(box=None, header_style="bold", pad_edge=False), heads)
    for r in comparison.rows:
        cells = _row(r)
        if compact:
            cells = [cells[0], cells[1], cells[2], cells[3], cells[4], cells[7]]
            if with_costs:
                epochs = r.costs[Cost.EPOCHS].median if r.costs else None
                cells.append("" if r.costs is None else "not reached" if epochs is None else f"{epochs:.0f}")
        elif with_costs:
            cells += _cost_cells(r) or [""] * len(COST_COLUMNS)
        table.add_row(*(([r.task] if multi else []) + cells))
    parts += [Text("\n".join(lines)), table]
    if comparison.expected_suboptimality and not compact:
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


CSV_COLUMNS = [
    "landscape_id",
    "task",
    "optimizer",
    "label",
    "searcher",
    "delta",
    "delta_unit",
    "median",
    "ci_low",
    "ci_high",
    "q25",
    "q75",
    "mean",
    "std",
    "success_rate",
    "seeds",
    "budget",
    "epochs_median",
    "epochs_ci_low",
    "epochs_ci_high",
    "seconds_median",
    "seconds_ci_low",
    "seconds_ci_high",
    "wallclock_median",
    "wallclock_ci_low",
    "wallclock_ci_high",
    "pruned_per_run",
]


def to_csv(comparison: Comparison) -> str:
    """One line per (landscape, searcher, delta): the table's numbers, unrounded; an empty
    median or interval end is one beyond the budget (not reached)."""
    tasks = {f.landscape_id: f.task for f in comparison.landscapes}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in comparison.rows:
        writer.writerow(
            [
                r.landscape_id,
                tasks.get(r.landscape_id, ""),
                r.optimizer,
                r.label,
                r.searcher,
                r.delta,
                comparison.delta_unit,
                r.median,
                r.median_ci[0],
                r.median_ci[1],
                r.q25,
                r.q75,
                r.mean,
                r.std,
                r.success_rate,
                r.seeds,
                r.budget,
                *[
                    v
                    for name in Cost
                    for v in (
                        (None, None, None)
                        if r.costs is None
                        else (r.costs[name].median, r.costs[name].ci[0], r.costs[name].ci[1])
                    )
                ],
                r.pruned,
            ]
        )
    return buffer.getvalue()


def write_files(
    comparison: Comparison,
    landscapes: list[LandscapeDetail],
    out_dir: Path,
    *,
    task: str,
    seeds: int,
    budget: int,
) -> list[Path]:
    """The replay's report in ``out_dir``: ``tuning_cost.txt`` and ``.csv``, ``comparison.json``,
    each landscape's figure, the suboptimality curves and trials-to-delta per delta (PNG and
    SVG). Returns the files, table first."""

    out_dir.mkdir(parents=True, exist_ok=True)
    table = to_text(tuning_cost_table(comparison, task=task, seeds=seeds, budget=budget))
    (out_dir / "tuning_cost.txt").write_text(table + "\n")
    (out_dir / "tuning_cost.csv").write_text(to_csv(comparison))
    (out_dir / "comparison.json").write_text(comparison.model_dump_json(indent=1))
    tasks = list(dict.fromkeys(f.task for f in comparison.landscapes))
    for task_name in tasks:  # a suite: each task's figures apart, named for it
        one = comparison if len(tasks) == 1 else _only(comparison, task_name)
        tag = "" if len(tasks) == 1 else f"{task_name}_"
        mine = [ls for ls in landscapes if ls.task == task_name]
        scale = suboptimality_range(mine)
        labels = {f.landscape_id: f.label for f in one.landscapes}
        for landscape in mine:
            name = labels.get(landscape.id, landscape.optimizer).replace(" #", "-").replace("+", "_")
            landscape_figure(out_dir / f"landscape_{tag}{name}", landscape, deltas=one.deltas, scale=scale)
        curves_figure(out_dir / f"suboptimality_curves{'_' + task_name if tag else ''}", one)
        if any(c.by_cost for c in one.curves):
            for cost in (Cost.EPOCHS, Cost.WALLCLOCK):
                curves_figure(
                    out_dir / f"suboptimality_by_{cost}{'_' + task_name if tag else ''}", one, x=cost
                )
        with_costs = any(r.costs is not None for r in one.rows)
        for delta in one.deltas:
            tuning_cost_figure(out_dir / f"{tag}trials_to_{delta:g}", one, delta)
            for cost in (Cost.EPOCHS, Cost.WALLCLOCK) if with_costs else ():
                tuning_cost_figure(out_dir / f"{tag}{cost}_to_{delta:g}", one, delta, cost)
    if comparison.suite is not None:
        for delta in comparison.deltas:
            profile_figure(out_dir / f"profiles_{delta:g}", comparison.suite, delta)
    figures = sorted(p for p in out_dir.iterdir() if p.suffix in (".png", ".svg"))
    return [out_dir / "tuning_cost.txt", out_dir / "tuning_cost.csv", out_dir / "comparison.json", *figures]


def _only(comparison: Comparison, task: str) -> Comparison:
    """The part of a comparison about one task (its landscapes, rows, curves and closed forms)."""
    ids = {f.landscape_id for f in comparison.landscapes if f.task == task}
    return comparison.model_copy(
        update={
            "landscapes": [f for f in comparison.landscapes if f.landscape_id in ids],
            "rows": [r for r in comparison.rows if r.landscape_id in ids],
            "curves": [c for c in comparison.curves if c.landscape_id in ids],
            "random_closed_form": [c for c in comparison.random_closed_form if c.landscape_id in ids],
            "expected_suboptimality": [e for e in comparison.expected_suboptimality if e.landscape_id in ids],
            "verdicts": [v for v in comparison.verdicts if v.task == task],
            "suite": None,
        }
    )


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 10px; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.cheaper { color: #06603a; font-weight: 600; } .answer { font-size: 1.05rem; } .tie { color: #666; }
figure { display: inline-block; margin: 0.5rem; } figure img { max-width: 560px; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #555; } .meta { color: #555; }
"""


def html_page(
    job_id: int,
    state: str,
    comparison: Comparison | None,
    files: list[str],
    *,
    seeds: int,
    budget: int,
    study_name: str | None,
) -> str:
    """The replay's report as one HTML page: verdicts, landscape facts, the tuning-cost table
    and the figures (served beside it). No script at all, so nothing loads from elsewhere; a
    replay still running refreshes itself every 5 s (a meta tag)."""
    title = f"Tuning cost: replay job {job_id}"
    head = f"<title>{escape(title)}</title><style>{_STYLE}</style>"
    if comparison is None:
        return (
            f'<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">{head}'
            f"</head><body><h1>{escape(title)}</h1><p class='meta'>The replay is {escape(str(state))}; "
            "this page shows its report once it has succeeded (it reloads itself).</p></body></html>"
        )
    unit = comparison.delta_unit
    tasks = ", ".join(dict.fromkeys(f.task for f in comparison.landscapes))
    parts = [
        f'<!doctype html><html><head><meta charset="utf-8">{head}</head><body>',
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>task {escape(tasks)} · {seeds} replay seeds · budget {budget} "
        f"· δ in {escape(unit)} · Optuna study <code>{escape(study_name or '')}</code> · "
        '<a href="report/tuning_cost.csv">CSV</a> · <a href="report/comparison.json">JSON</a> · '
        '<a href="report/tuning_cost.txt">text</a></p>',
        "<h2>Answer</h2>",
        *(f"<p class='answer'>{escape(line)}</p>" for line in headline(comparison)),
        f"<h2>Verdicts against {escape(comparison.baseline or '')}</h2><ul>",
    ]
    for v in comparison.verdicts:
        css = "cheaper" if v.distinguishable else "tie"
        parts.append(f"<li class='{css}'>{escape(v.text)}</li>")
    if not comparison.verdicts:
        parts.append("<li class='tie'>one landscape per task: nothing to compare</li>")
    if comparison.suite is not None:
        parts.append(f"</ul><h2>Across {len(comparison.suite.tasks)} tasks</h2><ul>")
        for v in comparison.suite.verdicts:
            css = "cheaper" if v.distinguishable else "tie"
            parts.append(f"<li class='{css}'>{escape(v.text)}</li>")
    parts.append("</ul><h2>Landscapes</h2><table><tr><th>optimizer</th><th>task</th><th>metric</th>")
    parts.append("<th>best (e*)</th><th>seed noise (median std)</th><th>seeds</th><th>compute</th></tr>")
    for f in comparison.landscapes:
        noise = "–" if f.noise_std_median is None else f"{f.noise_std_median:.2f} {escape(unit)}"
        compute = compute_text(f).removeprefix("; ") or "–"
        parts.append(
            f"<tr><td>{escape(f.label)}</td><td>{escape(f.task)}</td><td>{escape(f.metric)}</td>"
            f"<td>{escape(format_score(f.best_error, f.unit, 2))}</td><td>{noise}</td><td>{len(f.seeds)}</td>"
            f"<td>{escape(compute)}</td></tr>"
        )
    with_costs = any(r.costs is not None for r in comparison.rows)
    parts.append("</table><h2>Trials to reach δ</h2><table><tr>")
    multi = len({f.task for f in comparison.landscapes}) > 1
    heads = (["task"] if multi else []) + [
        "optimizer",
        "searcher",
        "δ",
        "median",
        "95% CI",
        "IQR",
        "mean ± std",
        "reached",
    ]
    parts += [f"<th>{escape(c)}</th>" for c in heads + (COST_COLUMNS if with_costs else [])]
    parts.append("</tr>")
    for r in comparison.rows:
        cells = ([r.task] if multi else []) + _row(r)
        cells += (_cost_cells(r) or [""] * len(COST_COLUMNS)) if with_costs else []
        parts.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>")
    parts.append("</table><h2>Figures</h2>")
    for name in files:
        if name.endswith(".svg"):
            stem = name.removesuffix(".svg")
            parts.append(
                f'<figure><a href="report/{escape(stem)}.png"><img src="report/{escape(name)}" '
                f'alt="{escape(stem)}"></a><figcaption>{escape(stem)}</figcaption></figure>'
            )
    parts.append("</body></html>")
    return "\n".join(parts)
