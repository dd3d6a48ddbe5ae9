"""A comparison's outputs: the tuning-cost table as rich renderables (the CLI prints them), as
text and CSV, and every file of a replay's report (:func:`write_files`: table, CSV, JSON and
the figures), which the replay's Optuna study carries as artifacts and the API's report page
shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tunecost.service.analysis.comparison import (
    HEADLINE,
    PER_SEARCHER,
    Comparison,
    LandscapeFacts,
    TuningCostRow,
    Verdict,
)
from tunecost.service.analysis.costs import COSTS, Cost
from tunecost.service.analysis.estimator import Status
from tunecost.service.analysis.figures import (
    curves_figure,
    landscape_figure,
    profile_figure,
    suboptimality_range,
    tuning_cost_figure,
)
from tunecost.service.analysis.landscape import LandscapeDetail
from tunecost.service.analysis.suite import ALL_SEARCHERS
from tunecost.workers.catalog import format_score


def _trials(value: float | None, budget: int) -> str:
    return f">{budget}" if value is None else f"{value:.0f}"


BOUNDED = "*"  # marks a cell that does not reach delta: fewer than half its runs did
BOUNDED_NOTE = f"{BOUNDED} fewer than half the runs reached δ: the budget bounds that cost"


def _row(r: TuningCostRow) -> list[str]:
    return [
        r.label,
        r.searcher,
        f"{r.delta:g}",
        f"{r.trials:.1f}" + ("" if r.reaches else BOUNDED),
        f"[{r.ci[0]:.1f}, {r.ci[1]:.1f}]",
        f"{_trials(r.q25, r.budget)}-{_trials(r.q75, r.budget)}",
        f"{r.reached:.0%}",
    ]


def _cost(r: TuningCostRow, name: Cost) -> str:
    """``84 [60, 121]``: a cost's median and interval; ``>`` where not reached; empty without curves."""
    if r.costs is None:
        return ""
    c = r.costs[name]
    digits = COSTS[name].digits
    return f"{c.mean:{digits}} [{c.ci[0]:{digits}}, {c.ci[1]:{digits}}]" + ("" if r.reaches else BOUNDED)


COST_COLUMNS = [*(info.column for info in COSTS.values()), "pruned/run"]


def _cost_cells(r: TuningCostRow) -> list[str]:
    if r.costs is None:
        return []
    return [*(_cost(r, cost) for cost in COSTS), f"{r.pruned or 0:.1f}"]


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
        margin = fact.fidelity.get("margin")
        keeps = f"best 1/{fact.fidelity['eta']}" + (
            f" and all within {margin:g} of a rung's best" if margin else ""
        )
        how = f"successive halving (eta {fact.fidelity['eta']}, rungs {rungs} epochs, {keeps} go on; stopped nodes score their rung)"
    stopped = "" if fact.on_stopped is None else f"; {fact.on_stopped:.0%} of replay trials on stopped nodes"
    return (
        f"; {how}: {compute['epochs']:,} of {compute['full_epochs']:,} epochs "
        f"({compute['share']:.0%}, saving {1 - compute['share']:.0%}), {compute['seconds']:.0f} s of training"
        f"{stopped}"
    )


def headline(comparison: Comparison) -> list[str]:
    """The answer first, in a few lines: per task, each optimizer against the baseline at the
    largest delta, pooled over the searchers (the headline family, corrected over itself), and
    which needs the fewest trials per searcher (ties said as ties); across tasks, the
    random-effects answer. Every number is the one estimator's (restricted mean trials to δ)."""
    if not comparison.rows:
        return ["No replay runs to compare."]
    delta = max(comparison.deltas)
    unit = _short(comparison.delta_unit)
    tasks = list(dict.fromkeys(f.task for f in comparison.landscapes))
    lines = []
    for task in tasks:
        verdicts = [
            v for v in comparison.verdicts if v.task == task and v.delta == delta and v.family == HEADLINE
        ]
        if not verdicts:
            lines.append(f"On {task}: one landscape, nothing to compare.")
            continue
        parts = [_headline_part(v) for v in verdicts]
        family = max(v.comparisons for v in comparison.verdicts if v.family == HEADLINE)
        searchers = sorted({r.searcher for r in comparison.rows if r.task == task})
        lines.append(
            f"On {task} at δ = {delta:g} {unit} of each optimizer's own e*, over {len(searchers)} searchers "
            f"({comparison.verdicts[0].correction if family > 1 else 'one verdict'}"
            + (f" over {family} headline verdicts" if family > 1 else "")
            + (
                f"; intervals over {comparison.replicates} training-seed replicates"
                if comparison.replicates
                else "; landscapes taken as exact"
            )
            + (" and e*'s fresh seeds" if any(f.e_star_fresh for f in comparison.landscapes) else "")
            + "): "
            + "; ".join(parts)
            + "."
        )
        lines.append("  " + _fewest(comparison, task, delta, searchers))
        cautions = dict.fromkeys(c for v in verdicts for c in v.cautions)
        if cautions:
            lines.append(f"  Caution at δ = {delta:g}: " + "; ".join(cautions) + ".")
        shared = {
            (v.optimizer, v.delta): v for v in comparison.shared if v.task == task and v.family == HEADLINE
        }
        if comparison.target is not None:  # one question: the target, whatever delta
            shared = {(o, delta): v for (o, _), v in shared.items()}
        differ = [
            _headline_part(w)
            for v in verdicts
            if (w := shared.get((v.optimizer, v.delta))) is not None and _words(w) != _words(v)
        ]
        question = (
            f"the target {comparison.target:g}"
            if comparison.target is not None
            else f"a target both share ({verdicts[0].baseline}'s e* + {delta:g} {unit})"
        )
        if differ:
            lines.append(f"  To {question} the answer differs: " + "; ".join(differ) + ".")
    suite = comparison.suite
    if suite is not None:
        for v in suite.verdicts:
            if v.family == HEADLINE and v.delta == delta:
                lines.append(f"Across tasks: {v.text}.")
    return lines


def _words(v: Verdict) -> str:
    """A verdict's answer in words: which is cheaper, or why there is none."""
    if v.ratio is None or v.status != Status.TESTED:
        return str(v.status)
    if not v.distinguishable:
        return "not distinguishable"
    return "cheaper" if v.ratio < 1 else "dearer"


def _headline_part(v: Verdict) -> str:
    name = f"{v.optimizer} vs {v.baseline}"
    if v.ratio is None:
        return f"{name}: neither reaches δ"
    if v.status == Status.BUDGET_BOUND:
        return f"{name}: no verdict, both reach δ in under half their runs"
    said = (
        f"{v.optimizer if v.ratio < 1 else v.baseline} cheaper to tune"
        if v.distinguishable
        else "not distinguishable"
    )
    return f"{name} {v.ratio:.2f}× [{v.ci[0]:.2f}, {v.ci[1]:.2f}], {said}"


def _fewest(comparison: Comparison, task: str, delta: float, searchers: list[str]) -> str:
    """Per searcher, the optimizer with the strictly smallest tuning cost among the cells that
    reach delta: a tie (equal to 0.1 trial) is said as one, never counted as a win."""
    wins: dict[str, int] = {}
    ties = none = 0
    for searcher in searchers:
        cells = [
            r
            for r in comparison.rows
            if r.task == task and r.delta == delta and r.searcher == searcher and r.reaches
        ]
        if not cells:
            none += 1
            continue
        best = min(round(r.trials, 1) for r in cells)
        leaders = [r.label for r in cells if round(r.trials, 1) == best]
        if len(leaders) > 1:
            ties += 1
        else:
            wins[leaders[0]] = wins.get(leaders[0], 0) + 1
    said = [f"{label} with {n}" for label, n in sorted(wins.items(), key=lambda kv: -kv[1])]
    if ties:
        said.append(f"a tie with {ties}")
    if none:
        said.append(f"no optimizer reaches δ with {none}")
    return (
        f"Fewest trials to δ = {delta:g} (restricted mean), of {len(searchers)} searchers: "
        + ", ".join(said)
        + "."
    )


def _scores_text(comparison: Comparison) -> str:
    """Scores the field reads, beside trials to δ: AlgoPerf's benchmark score per delta (over
    every (task, searcher) cell) and each landscape's learning-rate sensitivity."""
    lines = [
        "scores: AlgoPerf benchmark score (performance profile of the tuning cost over every (task, searcher) "
        "cell, integrated over τ in [1, 4], /3: 1 is the cheapest everywhere); learning-rate sensitivity "
        f"(Wortsman et al. 2023: mean over α at the best ε of min(score, chance) − e*, {comparison.delta_unit})"
    ]
    for delta in comparison.deltas:
        mine = [p for p in comparison.profiles if p.delta == delta and p.searcher == ALL_SEARCHERS]
        if mine:
            lines.append(
                f"  δ={delta:g}, over {mine[0].problems} cells: "
                + ", ".join(f"{p.optimizer} {p.score:.2f}" for p in mine)
            )
    sens = [f for f in comparison.landscapes if f.lr_sensitivity is not None]
    if sens:
        multi = len({f.task for f in comparison.landscapes}) > 1
        lines.append(
            "  learning-rate sensitivity: "
            + ", ".join(f"{f.task + '/' if multi else ''}{f.label} {f.lr_sensitivity:.2f}" for f in sens)
        )
    return "\n".join(lines)


COMPACT = ["optimizer", "searcher", "delta", "trials", "95% CI", "reached"]
FULL = ["optimizer", "searcher", "delta", "trials", "95% CI", "IQR", "reached"]


def _paired_over(comparison: Comparison, seeds: int) -> str:
    """What a verdict's interval is over: the replicates (training noise included), or the
    replay seeds alone (the landscapes taken as exact); and e*'s noise where it was measured
    on fresh seeds."""
    k = comparison.replicates
    fresh = (
        "; each e*'s noise over its fresh seeds included"
        if any(f.e_star_fresh for f in comparison.landscapes)
        else ""
    )
    if k:
        return (
            f"paired over {k} training-seed replicates of each landscape, {seeds} replay seeds in all{fresh}"
        )
    return f"paired over the {seeds} replay seeds; the landscapes taken as exact (no replicates){fresh}"


def tuning_cost_table(
    comparison: Comparison, *, task: str, seeds: int, budget: int, compact: bool = False
) -> RenderableType:
    """The headline, the verdicts against the baseline (and across tasks), the landscape facts,
    then one row per (optimizer, searcher, delta). ``compact`` fits a 100-column terminal: the
    trials' median, interval and share reached, and the epochs' median; the files keep every column."""
    multi = len({f.task for f in comparison.landscapes}) > 1
    parts: list[RenderableType] = [Text("\n".join(headline(comparison)) + "\n")]
    if comparison.verdicts:
        correction = comparison.verdicts[0].correction
        for family, title in (
            (HEADLINE, "pooled over the searchers (geometric mean): the headline family"),
            (PER_SEARCHER, "per searcher: a second family, corrected on its own"),
        ):
            mine = [v for v in comparison.verdicts if v.family == family]
            parts.append(
                Text(
                    f"verdicts against {comparison.baseline}, {title}: ratio of tuning costs (restricted mean "
                    f"trials to δ, {_paired_over(comparison, seeds)}), intervals at the level {correction}'s "
                    f"correction applied\n" + "\n".join(f"  {v.text}" for v in mine) + "\n"
                )
            )
        shared = [v for v in comparison.shared if v.family == HEADLINE]
        if shared:
            parts.append(
                Text(
                    "to a target both share (AlgoPerf's fixed target: "
                    + (
                        f"{comparison.target:g}"
                        if comparison.target is not None
                        else f"{comparison.baseline}'s e* + δ"
                    )
                    + "), pooled "
                    "over the searchers: a family of its own\n"
                    + "\n".join(f"  {v.text}" for v in shared)
                    + "\n"
                )
            )
    if comparison.suite is not None:
        parts.append(
            Text(
                f"across {len(comparison.suite.tasks)} tasks ({', '.join(comparison.suite.tasks)}): the mean "
                "of the per-task ratios, t on their spread, about tasks like these\n"
                + "\n".join(f"  {v.text}" for v in comparison.suite.verdicts)
                + "\n"
            )
        )
    if comparison.profiles:
        parts.append(Text(_scores_text(comparison) + "\n"))
    lines = [
        f"tuning cost on {task}\ntrials to δ ({_short(comparison.delta_unit)}): restricted mean [95% CI], "
        f"share reaching it within {budget}; {seeds} seeds\n{BOUNDED_NOTE}"
        if compact
        else f"tuning cost on {task}: trials to reach delta ({comparison.delta_unit}): restricted mean (a run "
        f"that never reached it counts the budget, {budget}) [95% CI], IQR, share reaching it; {seeds} seeds; "
        f"{BOUNDED_NOTE}"
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
        ) + (
            ""
            if fact.resolution is None
            else f", resolution {fact.resolution:.2f} {_short(comparison.delta_unit)}"
        )
        name = f"{fact.task}/{fact.label}" if multi else fact.label
        fresh = (
            f", e* {format_score(fact.e_star, fact.unit, 2)}"
            + ("" if fact.e_star_se is None else f" ± {fact.e_star_se:.2f}")
            + " on fresh seeds"
            if fact.e_star_fresh and fact.e_star is not None
            else ""
        )
        if compact:
            lines.append(
                f"  {name}: best {format_score(fact.best_error, fact.unit, 2)}{fresh}, grid nodes within δ: "
                + ", ".join(f"{float(d):g}: {share:.1%}" for d, share in fact.share_within.items())
                + ("" if fact.noise_std_median is None else f", noise {fact.noise_std_median:.2f}")
                + ("" if fact.resolution is None else f", step {fact.resolution:.2f}")
            )
        else:
            lines.append(
                f"  {name:>12}: best {fact.metric} {format_score(fact.best_error, fact.unit, 2)}{fresh}, "
                f"configs within delta of best: {shares}{noise}{compute_text(fact)}"
            )
    with_costs = any(r.costs is not None for r in comparison.rows)
    if compact:
        heads = (["task"] if multi else []) + COMPACT + (["epochs"] if with_costs else [])
    else:
        heads = (["task"] if multi else []) + FULL + (COST_COLUMNS if with_costs else [])
    table = _columns(Table(box=None, header_style="bold", pad_edge=False), heads)
    for r in comparison.rows:
        cells = _row(r)
        if compact:
            cells = [cells[0], cells[1], cells[2], cells[3], cells[4], cells[6]]
            if with_costs:
                cells.append("" if r.costs is None else f"{r.costs[Cost.EPOCHS].mean:.0f}")
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
    "trials",
    "ci_low",
    "ci_high",
    "reached",
    "reaches",
    "q25",
    "q75",
    "seeds",
    "budget",
    *(f"{cost}{part}" for cost in COSTS for part in ("", "_ci_low", "_ci_high")),
    "pruned_per_run",
]


def to_csv(comparison: Comparison) -> str:
    """One line per (landscape, searcher, delta): the table's numbers, unrounded (``trials``: the
    restricted mean; an empty quartile is beyond the budget)."""
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
                r.trials,
                r.ci[0],
                r.ci[1],
                r.reached,
                r.reaches,
                r.q25,
                r.q75,
                r.seeds,
                r.budget,
                *[
                    v
                    for name in COSTS
                    for v in (
                        (None, None, None)
                        if r.costs is None
                        else (r.costs[name].mean, r.costs[name].ci[0], r.costs[name].ci[1])
                    )
                ],
                r.pruned,
            ]
        )
    return buffer.getvalue()


Draw = tuple[Callable[..., None], tuple[Any, ...], dict[str, Any]]  # a figure: (function, args, kwargs)
Drawer = Callable[[list[Draw]], None]  # draws every figure of a report (in order, or at once)


def draw_here(draws: list[Draw]) -> None:
    """Draw each figure in this process, one after another."""
    for function, args, kwargs in draws:
        function(*args, **kwargs)


def write_files(
    comparison: Comparison,
    landscapes: list[LandscapeDetail],
    out_dir: Path,
    *,
    task: str,
    seeds: int,
    budget: int,
    draw: Drawer = draw_here,
) -> list[Path]:
    """The replay's report in ``out_dir``: ``tuning_cost.txt`` and ``.csv``, ``comparison.json``,
    each landscape's figure, the suboptimality curves and trials-to-delta per delta (PNG and
    SVG). Returns the files, table first.

    ``draw`` draws the figures, each a pure function of its arguments that writes its own files:
    here, one after another, by default; a runner hands them to its workers to draw at once
    (matplotlib's text layout makes each figure ~0.2 s of one CPU)."""

    out_dir.mkdir(parents=True, exist_ok=True)
    table = to_text(tuning_cost_table(comparison, task=task, seeds=seeds, budget=budget))
    (out_dir / "tuning_cost.txt").write_text(table + "\n")
    (out_dir / "tuning_cost.csv").write_text(to_csv(comparison))
    (out_dir / "comparison.json").write_text(comparison.model_dump_json(indent=1))
    draws: list[Draw] = []
    tasks = list(dict.fromkeys(f.task for f in comparison.landscapes))
    for task_name in tasks:  # a suite: each task's figures apart, named for it
        one = comparison if len(tasks) == 1 else _only(comparison, task_name)
        tag = "" if len(tasks) == 1 else f"{task_name}_"
        mine = [ls for ls in landscapes if ls.task == task_name]
        scale = suboptimality_range(mine)
        labels = {f.landscape_id: f.label for f in one.landscapes}
        for landscape in mine:
            name = labels.get(landscape.id, landscape.optimizer).replace(" #", "-").replace("+", "_")
            draws.append(
                (
                    landscape_figure,
                    (out_dir / f"landscape_{tag}{name}", landscape),
                    {"deltas": one.deltas, "scale": scale},
                )
            )
        draws.append(
            (curves_figure, (out_dir / f"suboptimality_curves{'_' + task_name if tag else ''}", one), {})
        )
        if any(c.by_cost for c in one.curves):
            for cost in (c for c, info in COSTS.items() if info.drawn):
                draws.append(
                    (
                        curves_figure,
                        (out_dir / f"suboptimality_by_{cost}{'_' + task_name if tag else ''}", one),
                        {"x": cost},
                    )
                )
        with_costs = any(r.costs is not None for r in one.rows)
        for delta in one.deltas:
            draws.append((tuning_cost_figure, (out_dir / f"{tag}trials_to_{delta:g}", one, delta), {}))
            for cost in (c for c, info in COSTS.items() if info.drawn and with_costs):
                draws.append(
                    (tuning_cost_figure, (out_dir / f"{tag}{cost}_to_{delta:g}", one, delta, cost), {})
                )
    if comparison.suite is not None:
        for delta in comparison.deltas:
            draws.append((profile_figure, (out_dir / f"profiles_{delta:g}", comparison, delta), {}))
    draw(draws)
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
            "profiles": [],
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
    for v in sorted(comparison.verdicts, key=lambda v: v.family != HEADLINE):
        css = "cheaper" if v.distinguishable else "tie"
        parts.append(f"<li class='{css}'>{escape(v.text)}</li>")
    if not comparison.verdicts:
        parts.append("<li class='tie'>one landscape per task: nothing to compare</li>")
    if comparison.suite is not None:
        parts.append(f"</ul><h2>Across {len(comparison.suite.tasks)} tasks</h2><ul>")
        for v in comparison.suite.verdicts:
            css = "cheaper" if v.distinguishable else "tie"
            parts.append(f"<li class='{css}'>{escape(v.text)}</li>")
    if comparison.profiles:
        parts.append("</ul><h2>Scores</h2><pre>" + escape(_scores_text(comparison)) + "</pre><ul>")
    parts.append("</ul><h2>Landscapes</h2><table><tr><th>optimizer</th><th>task</th><th>metric</th>")
    parts.append(
        "<th>best node's mean</th><th>e* (fresh seeds)</th><th>seed noise (median std)</th><th>seeds</th>"
        "<th>compute</th></tr>"
    )
    for f in comparison.landscapes:
        noise = "–" if f.noise_std_median is None else f"{f.noise_std_median:.2f} {escape(unit)}"
        fresh = format_score(f.e_star, f.unit, 2) if f.e_star_fresh and f.e_star is not None else "–"
        compute = compute_text(f).removeprefix("; ") or "–"
        parts.append(
            f"<tr><td>{escape(f.label)}</td><td>{escape(f.task)}</td><td>{escape(f.metric)}</td>"
            f"<td>{escape(format_score(f.best_error, f.unit, 2))}</td><td>{escape(fresh)}</td>"
            f"<td>{noise}</td><td>{len(f.seeds)}</td>"
            f"<td>{escape(compute)}</td></tr>"
        )
    with_costs = any(r.costs is not None for r in comparison.rows)
    parts.append(
        f"</table><h2>Trials to reach δ</h2><p class='meta'>restricted mean over the replay seeds (a run that "
        f"never reached δ counts the budget); {escape(BOUNDED_NOTE)}</p><table><tr>"
    )
    multi = len({f.task for f in comparison.landscapes}) > 1
    heads = (["task"] if multi else []) + ["optimizer", "searcher", "δ", "trials", "95% CI", "IQR", "reached"]
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
