"""The ``tunecost`` command: serve, run jobs, submit and inspect them, open the dashboard.

Commands that talk to a server use ``TUNECOST_URL`` (default http://127.0.0.1:8000)
and ``TUNECOST_TOKEN``; ``serve``, ``runner``, ``study``, ``quickstart``, ``dashboard`` and
``db`` work on the database of the settings (``TUNECOST_DATABASE_URL``, default a
SQLite file under ``./.tunecost/``). Errors are one line on stderr, exit code 1.

A face: every command parses its options, calls the client or a service function, and
prints what comes back (tables with rich). No SQL and no job logic live here. The commands
that work on the database import the service stack (SQLAlchemy, Optuna, FastAPI: about a
second) when they run, so the client commands (`status`, `curve`, ...) start in a fifth of that.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from tunecost.api.client import TunecostClient, TunecostError, format_detail
from tunecost.api.schemas import CurvePoint, JobPublic
from tunecost.service.errors import TunecostError as ServiceError
from tunecost.service.settings import get_settings
from tunecost.service.specs import task_metric
from tunecost.workers.catalog import format_score

app = typer.Typer(help="tunecost: what does it cost to tune this optimizer?", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
figure_app = typer.Typer(help="Figures from the paper, reproduced.", no_args_is_help=True)
app.add_typer(figure_app, name="figure")

F = TypeVar("F", bound=Callable[..., Any])
# A terminal's own width; piped or redirected, wide enough that the tables never wrap.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def friendly_errors(fn: F) -> F:
    """Turn expected failures (server errors, bad input, no server) into one line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TunecostError as exc:
            _fail(format_detail(exc.detail) if exc.status_code == 422 else str(exc.detail))
        except httpx.ConnectError as exc:
            _fail(
                f"cannot reach the tunecost server ({exc}); start one with `tunecost serve` or set TUNECOST_URL"
            )
        except ValidationError as exc:
            _fail(format_detail(exc.errors()))
        except (ServiceError, ValueError) as exc:
            _fail(str(exc))

    return wrapper  # type: ignore[return-value]


def _print_json(data: Any) -> None:
    """An answer as JSON: a response model (or a list of them) as the API sent it, or plain data."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    typer.echo(json.dumps(data, indent=2, default=str))


def _score(value: float, metric: dict[str, Any] | None) -> str:
    """A score with its unit from the job's (or best config's) ``metric``; percent without one."""
    return format_score(value, "%" if metric is None else metric["unit"])


def _print_curve(points: list[CurvePoint], metric: dict[str, Any] | None = None) -> None:
    """A curve as the API serves it, headed by the task's metric."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    unit = "%" if metric is None else metric["unit"]
    score = "error" if metric is None or metric["kind"] == "error" else metric["kind"]
    for name in (
        "trial",
        "alpha",
        "epsilon",
        f"{score} {unit}".strip(),
        f"best {unit}".strip(),
        "subopt",
        "",
    ):
        table.add_column(name, justify="right")

    def num(value: float | None, spec: str) -> str:
        return "" if value is None else format(value, spec)

    for p in points:
        table.add_row(
            str(p.trial),
            f"{p.alpha:.3g}",
            f"{p.epsilon:.3g}",
            num(p.error, ".3f"),
            num(p.best_so_far, ".3f"),
            num(p.suboptimality, ".3f"),
            "diverged" if p.diverged else "",
        )
    console.print(table)


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _numbers(option: str, value: str) -> list[float]:
    try:
        return [float(v) for v in _csv(value)]
    except ValueError:
        _fail(f"{option} must be comma-separated numbers, got {value!r}")


class _Bars:
    """Progress of the embedded commands as tqdm bars on stderr, one per job."""

    def __init__(self) -> None:
        self.bars: dict[int, Any] = {}

    def note(self, message: str) -> None:
        typer.echo(message, err=True)

    def job_started(self, job_id: int, label: str, total: int | None) -> None:
        self.bars[job_id] = tqdm(total=total, desc=f"{label} (job {job_id})", file=sys.stderr)

    def job_advanced(self, job_id: int, done: int, total: int | None = None) -> None:
        if job_id in self.bars:
            if total is not None:
                self.bars[job_id].total = total  # a sweep learns its refinement region as it goes
            self.bars[job_id].n = done
            self.bars[job_id].refresh()

    def job_finished(self, job_id: int) -> None:
        if job_id in self.bars:
            self.bars.pop(job_id).close()


# --------------------------------------------------------------------------- servers
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    runner: Annotated[bool, typer.Option(help="Also run jobs in this process (embedded default).")] = True,
) -> None:
    """Run the REST API (and, by default, a job runner in the same process)."""
    # uvicorn: only `serve`
    import uvicorn

    # the server: only `serve`
    from tunecost.api.app import create_app

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    uvicorn.run(create_app(run_jobs=runner), host=host, port=port)


@app.command("runner")
def runner_cmd(
    once: Annotated[bool, typer.Option(help="Run at most one queued job, then exit.")] = False,
) -> None:
    """Run a job runner alone: claims queued jobs from the database and drives Ray.

    SIGTERM or Ctrl-C stops it after the job in hand is cancelled (its finished trials stay);
    it then disconnects from Ray."""
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service.db import upgrade
    from tunecost.service.ray_session import shutdown_ray
    from tunecost.service.runner import JobRunner

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    settings = get_settings()
    if settings.auto_migrate:
        upgrade(settings.resolved_database_url)
    job_runner = JobRunner(settings)
    if once:
        job_runner.run_once()
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("signal %d: stopping the runner", signum)
        stop.set()
        job_runner.stop_current()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        job_runner.run_forever(stop)
    finally:
        shutdown_ray()


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", help="Refuse every change (delete, rename, notes, tell): for shared deployments."
        ),
    ] = False,
) -> None:
    """Open optuna-dashboard on tunecost's database: every job is a study there."""
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service.dashboard import backfill_sweeps
    from tunecost.service.dashboard import serve as serve_dashboard
    from tunecost.service.db import upgrade

    settings = get_settings()
    url = settings.resolved_database_url
    upgrade(url)
    written = backfill_sweeps(url)  # sweeps from before sweeps wrote studies
    if written:
        typer.echo(f"wrote the studies of {len(written)} earlier sweeps: {', '.join(written)}", err=True)
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    mode = " (read-only)" if read_only else ""
    typer.echo(f"optuna-dashboard{mode} on {url} at http://{host}:{port}/dashboard", err=True)
    serve_dashboard(url, settings.artifacts_dir, host=host, port=port, readonly=read_only)


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service.db import current_revision, upgrade

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")


@db_app.command("downgrade")
@friendly_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. 0002.")]) -> None:
    """Take the database back to REVISION (converting what later revisions changed)."""
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service.db import current_revision, downgrade

    url = get_settings().resolved_database_url
    downgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service.db import current_revision

    typer.echo(current_revision(get_settings().resolved_database_url) or "empty")


# --------------------------------------------------------------------------- client side
@app.command()
@friendly_errors
def submit(
    task: Annotated[str, typer.Option(help="Task name (see `tunecost catalog`).")],
    optimizer: Annotated[str, typer.Option(help="Optimizer name.")],
    budget: Annotated[int, typer.Option(help="Distinct configs to train.")],
    searcher: Annotated[str, typer.Option(help="Searcher name.")] = "tpe",
    seed: Annotated[int, typer.Option(help="Seed of searcher and training.")] = 0,
    space: Annotated[str | None, typer.Option(help="Search space as JSON (default: the paper grid).")] = None,
    reference_error: Annotated[float | None, typer.Option(help="e* for suboptimality (%).")] = None,
    max_concurrent: Annotated[int, typer.Option(help="Trials at once.")] = 1,
    wait: Annotated[bool, typer.Option(help="Wait for the job and print its curve.")] = False,
) -> None:
    """Submit a search job to the server; prints the job id."""
    spec: dict[str, Any] = {
        "kind": "search",
        "task": task,
        "optimizer": optimizer,
        "searcher": searcher,
        "budget": budget,
        "seed": seed,
        "max_concurrent": max_concurrent,
    }
    if space:
        try:
            spec["space"] = json.loads(space)
        except json.JSONDecodeError as exc:
            _fail(f"--space is not valid JSON: {exc}")
    if reference_error is not None:
        spec["reference_error"] = reference_error
    client = TunecostClient()
    job = client.submit(spec)
    typer.echo(job.id)
    for warning in job.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if wait:
        job = client.wait(job.id)
        if job.report_url is None:  # a replay's answer is its report, not a curve
            _print_curve(client.curve(job.id), job.metric)
        typer.echo(
            f"job {job.id} {job.state}"
            + (f": {job.error}" if job.error else "")
            + (f"\n  report: {client.base_url}{job.report_url}" if job.report_url else "")
        )


def _subject(job: JobPublic) -> str:
    if job.task is None:  # a replay: its landscapes and searchers
        spec = job.spec
        return f"landscapes {spec.get('landscape_ids')} x {','.join(spec.get('searchers', []))}"
    return "/".join(str(part) for part in (job.task, job.optimizer, job.searcher) if part)


@app.command()
@friendly_errors
def status(
    job_id: Annotated[int | None, typer.Argument(help="A job id; omit to list jobs.")] = None,
    state: Annotated[str | None, typer.Option(help="Filter the list by state.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one job, or list jobs."""
    client = TunecostClient()
    if job_id is not None:
        job = client.get(job_id)
        if as_json:
            _print_json(job)
            return
        best = job.best
        typer.echo(
            f"job {job.id} ({job.kind}): {job.state}  {_subject(job)}"
            + (f"  {job.trials_done}/{job.total} {job.unit}" if job.total else "")
            + (f", {job.missing} missing" if job.missing else "")
            + (f"  landscape {job.landscape_id}" if job.landscape_id else "")
            + (
                f"  best {_score(best.error, job.metric)} at alpha={best.alpha:g} eps={best.epsilon:g}"
                if best
                else ""
            )
            + (f"\n  error: {job.error}" if job.error else "")
            + (f"\n  report: {client.base_url}{job.report_url}" if job.report_url else "")
        )
        return
    listing = client.jobs(state=state)
    if as_json:
        _print_json(listing)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name, justify in (
        ("id", "right"),
        ("kind", "left"),
        ("state", "left"),
        ("subject", "left"),
        ("done", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for job in listing.data:
        done = f"{job.trials_done}/{job.total} {job.unit}" if job.total else ""
        table.add_row(str(job.id), job.kind, job.state, _subject(job), done)
    console.print(table)
    typer.echo(f"{listing.count} job(s)")


@app.command()
@friendly_errors
def curve(
    job_id: Annotated[int, typer.Argument(help="Job id.")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print a job's suboptimality-vs-trials curve."""
    client = TunecostClient()
    if csv:
        typer.echo(client.curve_csv(job_id), nl=False)
    elif as_json:
        _print_json(client.curve(job_id))
    else:
        _print_curve(client.curve(job_id), client.get(job_id).metric)


@app.command()
@friendly_errors
def best(
    task: Annotated[str, typer.Option(help="Task name.")],
    optimizer: Annotated[str, typer.Option(help="Optimizer name.")],
    recipe_hash: Annotated[
        str | None, typer.Option(help="The recipe (a job's recipe_hash); default the task's default recipe.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The (alpha, epsilon) to use for TASK and OPTIMIZER: a landscape's best node (measured on
    fresh seeds where it was), else the best finished search trial."""
    found = TunecostClient().best_config(task, optimizer, recipe_hash=recipe_hash)
    if as_json:
        _print_json(found)
        return
    if found.source == "landscape":
        spread = "" if found.error_std is None else f" ± {found.error_std:.2f}"
        how = "fresh seeds" if found.fresh else "the seeds that chose it: biased low"
        where = f"landscape {found.landscape_id}, mean of {len(found.seeds or [])} {how}{spread}"
    else:
        where = (
            f"job {found.job_id}, trial {found.trial}, of {found.trials_considered} trials: one training run"
        )
    recipe = "the task's default recipe" if found.default_recipe else f"recipe {found.recipe_hash or 'any'}"
    typer.echo(
        f"alpha={found.alpha:g} epsilon={found.epsilon:g} error={_score(found.error, found.metric)} "
        f"({where}; {recipe})"
    )


@app.command()
@friendly_errors
def cancel(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Cancel a queued or running job."""
    job = TunecostClient().cancel(job_id)
    typer.echo(f"job {job.id}: {job.state}" + (" (stopping)" if job.state == "running" else ""))


@app.command()
@friendly_errors
def catalog(
    installed: Annotated[
        bool, typer.Option("--installed", help="The catalog installed here, without asking a server.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The whole catalog as JSON (recipe schemas, options).")
    ] = False,
) -> None:
    """List tasks, optimizers, searchers, schedulers and pruners, plugin errors first: the
    server's, else the one installed here. --json for every field."""
    found: dict[str, Any] | None = None
    if not installed:
        client = TunecostClient()
        try:
            found = client.catalog().model_dump()
        except httpx.ConnectError:
            typer.echo(
                f"no tunecost server at {client.base_url}: the catalog installed here "
                "(a server's may differ: its plugins are those installed where it runs)",
                err=True,
            )
    if found is None:
        # a command imports its service only when it runs: the client commands stay light
        from tunecost.service.catalog import installed as installed_catalog

        catalog_here = installed_catalog()
        found = catalog_here if isinstance(catalog_here, dict) else catalog_here.model_dump()
    if as_json:
        _print_json(found)
    else:
        _print_catalog(found)


def _print_catalog(found: dict[str, Any]) -> None:
    """The catalog as a person reads it: one table per part, plugin errors first."""

    def table(title: str, heads: list[str], rows: list[list[str]]) -> None:
        out = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
        for head in heads:
            out.add_column(head, overflow="fold")
        for row in rows:
            out.add_row(*row)
        console.print(out)
        console.print()

    if found.get("plugin_errors"):
        table(
            "plugin errors (left out of the catalog)",
            ["group", "name", "source", "error"],
            [
                [e.get("group", ""), e.get("name", ""), e.get("source", ""), e.get("error", "")]
                for e in found["plugin_errors"]
            ],
        )
    table(
        "optimizers",
        ["name", "epsilon", "grid", "fused", "source"],
        [
            [
                o["name"],
                (o.get("epsilon_role") or "").split(":")[0],
                str(o.get("grid", "")),
                ("batched" if o.get("batched") else "yes") if o.get("fused") else "no",
                str(o.get("source", "")),
            ]
            for o in found["optimizers"]
        ],
    )
    table(
        "tasks",
        ["name", "metric", "epochs", "source"],
        [
            [
                t["name"],
                f"{t['metric']['name']} ({t['metric']['unit'] or t['metric']['kind']})",
                str((t.get("recipe") or {}).get("epochs", "-")),
                str(t.get("source", "")),
            ]
            for t in found["tasks"]
        ],
    )
    table(
        "searchers",
        ["name", "options"],
        [[x["name"], ", ".join(x.get("options") or {})] for x in found["searchers"]],
    )
    for part in ("schedulers", "pruners"):
        table(
            f"{part} (`{(found[part] or [{}])[0].get('field', part)}`)",
            ["name", "builds", "options"],
            [[x["name"], str(x.get("builds", "")), ", ".join(x.get("options") or {})] for x in found[part]],
        )
    typer.echo("tunecost catalog --json: every field (recipes with their schemas, each option's bounds)")


# --------------------------------------------------------------------------- figures
@figure_app.command("reddi")
@friendly_errors
def figure_reddi(
    out: Annotated[
        str, typer.Option(help="Output path without suffix; writes .png and .svg.")
    ] = "results/reddi",
    steps: Annotated[int, typer.Option(help="Steps per optimizer.")] = 200_000,
    lr: Annotated[float, typer.Option(help="Step size alpha; decays as alpha/sqrt(t).")] = 1e-2,
    seed: Annotated[int, typer.Option(help="Seed of the random draws.")] = 0,
) -> None:
    """The synthetic problem of the paper's Eq. 11 (Figure 3): Adam fails, Delayed Adam and AvaGrad converge."""
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service.analysis.figures import reddi_figure

    results = reddi_figure(Path(out), steps=steps, lr=lr, seed=seed)
    typer.echo(f"{'optimizer':14} mean F'(w)^2 over the last 10% of {steps} steps")
    for name, value in results.items():
        typer.echo(f"{name:14} {value:.4g}")
    typer.echo(f"wrote {out}.png and {out}.svg")


# --------------------------------------------------------------------------- embedded
@app.command()
@friendly_errors
def study(
    task: Annotated[str, typer.Option(help="Task to sweep.")] = "mnist5k-mlp",
    tasks: Annotated[
        str | None,
        typer.Option(
            help="A suite: comma-separated tasks instead of --task, answered one by one and across them."
        ),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="What every verdict compares against; default the first optimizer.")
    ] = None,
    correction: Annotated[
        str,
        typer.Option(
            help="Correction over each family of verdicts: 'holm' (family-wise error) or 'fdr_bh' "
            "(Benjamini-Hochberg, false discovery rate)."
        ),
    ] = "holm",
    target: Annotated[
        float | None,
        typer.Option(
            help="An absolute score every optimizer is asked to reach, beside δ of its own best "
            "(default: the baseline's e* + δ). One task."
        ),
    ] = None,
    optimizers: Annotated[
        str, typer.Option(help="Comma-separated optimizers to sweep.")
    ] = "adam,avagrad,adabelief",
    searchers: Annotated[
        str, typer.Option(help="Comma-separated searchers to replay.")
    ] = "grid,random,tpe,cmaes,gld,cgld",
    seeds: Annotated[int, typer.Option(help="Replay seeds per searcher and optimizer.")] = 100,
    budget: Annotated[int, typer.Option(help="Distinct trials per replay run.")] = 100,
    deltas: Annotated[
        str,
        typer.Option(help="Comma-separated suboptimality thresholds δ, in points of the task's metric."),
    ] = "0.5,1",
    sweep_seeds: Annotated[str, typer.Option(help="Comma-separated training seeds of each sweep.")] = "0",
    replicates: Annotated[
        int | None,
        typer.Option(
            help="Training seeds near each landscape's best, each a replicate of it: the verdicts' "
            "intervals hold the training noise (1: replay seeds only). Default 5; 1 for a task "
            "that trains nothing."
        ),
    ] = None,
    refine_seeds: Annotated[
        str | None,
        typer.Option(
            help="Extra seeds for the configs near each landscape's best ('' for none); default the "
            "seeds after --sweep-seeds, up to --replicates."
        ),
    ] = None,
    reference_seeds: Annotated[
        str,
        typer.Option(help="Fresh seeds that measure e* at each landscape's best node ('' for none)."),
    ] = ",".join(str(s) for s in range(1000, 1010)),
    refine_margin: Annotated[float, typer.Option(help="Points above the best that count as near it.")] = 2.0,
    noise: Annotated[
        str,
        typer.Option(
            help="What replayed searchers are told: 'seed' (one seed's error) or 'none' (the mean)."
        ),
    ] = "seed",
    recipe: Annotated[
        str | None, typer.Option(help="Recipe overrides as JSON, e.g. '{\"epochs\": 3}'.")
    ] = None,
    fused: Annotated[
        bool, typer.Option(help="Fused sweeps (many configs at once) where the model allows.")
    ] = True,
    resweep: Annotated[
        bool, typer.Option(help="Sweep again even if a matching landscape is stored.")
    ] = False,
    fidelity: Annotated[
        str,
        typer.Option(
            help="'full' (every node at the recipe's epochs) or 'successive-halving' (at each rung the "
            "best floor(n/eta) of the n nodes go on, and every node within --margin of the rung's best)."
        ),
    ] = "full",
    eta: Annotated[int, typer.Option(help="Successive halving: keep the best 1/eta at each rung.")] = 3,
    min_epochs: Annotated[int, typer.Option(help="Successive halving: epochs of the first rung.")] = 1,
    margin: Annotated[
        float | None,
        typer.Option(
            help="Successive halving: also promote every node within this margin of a rung's best, in "
            "the metric's delta unit (default 5 points of error; a task scored otherwise must set it); "
            "0: the textbook rule, the best floor(n/eta) only."
        ),
    ] = None,
    early_stopping: Annotated[
        str,
        typer.Option(
            help="Pruner of a second replay on the stored learning curves (with the random and tpe "
            "searchers only): asha, hyperband, median or none."
        ),
    ] = "asha",
    out: Annotated[str, typer.Option(help="Directory for the figures and the table.")] = "results",
    wide: Annotated[
        bool, typer.Option(help="Print every column (the files always have them); default: fit 100 columns.")
    ] = False,
) -> None:
    """The tuning-cost study: sweep each optimizer's grid, replay every searcher, compare, draw.

    Everything stays in the database (landscapes, replays, jobs) for the API and the dashboard.
    """
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service import study as study_service
    from tunecost.service.analysis.report import tuning_cost_table

    logging.basicConfig(level=logging.WARNING)
    try:
        overrides = json.loads(recipe) if recipe else {}
    except json.JSONDecodeError as exc:
        _fail(f"--recipe is not valid JSON: {exc}")
    plan = study_service.StudyPlan(
        task=task,
        tasks=_csv(tasks or ""),
        baseline=baseline,
        correction=correction,
        target=target,
        optimizers=_csv(optimizers),
        searchers=_csv(searchers),
        seeds=seeds,
        budget=budget,
        deltas=_numbers("--deltas", deltas),
        sweep_seeds=[int(s) for s in _csv(sweep_seeds)],
        replicates=replicates,
        refine_seeds=None if refine_seeds is None else [int(s) for s in _csv(refine_seeds)],
        reference_seeds=[int(s) for s in _csv(reference_seeds)],
        refine_margin=refine_margin,
        noise=noise,
        recipe=overrides,
        fused=fused,
        resweep=resweep,
        early_stopping=None if early_stopping == "none" else {"name": early_stopping},
        fidelity=_fidelity(fidelity, eta, min_epochs, margin),
    )
    report = study_service.run_study(get_settings(), plan, Path(out), _Bars())
    console.print(
        tuning_cost_table(
            report.comparison, task=plan.subject, seeds=plan.seeds, budget=plan.budget, compact=not wide
        )
    )
    if report.early_stopping is not None and plan.early_stopping is not None:
        console.print(
            f"\n[bold]with early stopping ({plan.early_stopping.name}), replay job {report.early_stopping_job_id}[/bold]"
        )
        console.print(
            tuning_cost_table(
                report.early_stopping,
                task=plan.subject,
                seeds=plan.seeds,
                budget=plan.budget,
                compact=not wide,
            )
        )
    typer.echo(
        f"figures and table in {report.out_dir}/; replay job {report.replay_job_id}, landscapes "
        f"{report.landscape_ids}; `tunecost dashboard` shows the jobs; with `tunecost serve`, the report "
        f"page is /v1/comparisons/{report.replay_job_id}/report",
        err=True,
    )


def _fidelity(name: str, eta: int, min_epochs: int, margin: float | None) -> dict[str, Any] | None:
    if name == "full":
        return None
    if name != "successive-halving":
        _fail(f"--fidelity must be 'full' or 'successive-halving', not {name!r}")
    rule = {"method": "successive_halving", "eta": eta, "min_epochs": min_epochs}
    return rule if margin is None else {**rule, "margin": margin}


@app.command()
@friendly_errors
def quickstart(
    task: Annotated[str, typer.Option(help="Task.")] = "digits-mlp",
    optimizer: Annotated[str, typer.Option(help="Optimizer.")] = "adam",
    searcher: Annotated[str, typer.Option(help="Searcher.")] = "tpe",
    budget: Annotated[int, typer.Option(help="Trials.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
) -> None:
    """Run one search job end to end on the embedded default (SQLite + local Ray), no server needed.

    Prints the curve and the best config; the job stays in the database for the API and the dashboard.
    """
    # a command imports its service only when it runs: the client commands stay light
    from tunecost.service import study as study_service
    from tunecost.service.kinds.search import SearchSpec

    logging.basicConfig(level=logging.WARNING)
    spec = SearchSpec(task=task, optimizer=optimizer, searcher=searcher, budget=budget, seed=seed)
    report = study_service.quickstart(get_settings(), spec, _Bars())
    metric = task_metric(spec.task)
    _print_curve(report.curve, metric)  # type: ignore[arg-type]  # the same fields as the client's
    if report.best is None:
        _fail(f"job {report.job_id} {report.state}: {report.error}")
    found = report.best
    typer.echo(
        f"best config: alpha={found.alpha:g} epsilon={found.epsilon:g} error={_score(found.error, metric)} "
        f"(e* = {_score(report.reference_error, metric)}, {report.reference_source}); Optuna study {report.study_name!r}; "
        f"database {report.database}"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
