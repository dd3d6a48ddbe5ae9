"""The ``tunecost`` command: serve, run jobs, submit and inspect them, open the dashboard.

Commands that talk to a server use ``TUNECOST_URL`` (default http://127.0.0.1:8000)
and ``TUNECOST_TOKEN``; ``serve``, ``runner``, ``quickstart``, ``dashboard`` and
``db`` work on the database of the settings (``TUNECOST_DATABASE_URL``, default a
SQLite file under ``./.tunecost/``). Errors are one line on stderr, exit code 1.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(help="tunecost: what does it cost to tune this optimizer?", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def friendly_errors(fn: F) -> F:
    """Turn expected failures (server errors, bad input, no server) into one line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import httpx
        from pydantic import ValidationError

        from api.client import TunecostError, format_detail
        from service.errors import TunecostError as ServiceError

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


def _client() -> Any:
    from api.client import TunecostClient

    return TunecostClient()


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _print_curve(points: list[dict[str, Any]]) -> None:
    typer.echo(f"{'trial':>5}  {'alpha':>9}  {'epsilon':>9}  {'error %':>8}  {'best %':>8}  {'subopt':>8}")
    for p in points:
        sub = "" if p["suboptimality"] is None else f"{p['suboptimality']:8.3f}"
        err = "" if p["error"] is None else f"{p['error']:8.3f}"
        flag = "  diverged" if p.get("diverged") else ""
        typer.echo(
            f"{p['trial']:>5}  {p['alpha']:>9.3g}  {p['epsilon']:>9.3g}  {err:>8}  {p['best_so_far']:8.3f}  {sub:>8}{flag}"
        )


# --------------------------------------------------------------------------- servers
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    runner: Annotated[bool, typer.Option(help="Also run jobs in this process (embedded default).")] = True,
) -> None:
    """Run the REST API (and, by default, a job runner in the same process)."""
    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(run_jobs=runner), host=host, port=port)


@app.command("runner")
def runner_cmd(
    once: Annotated[bool, typer.Option(help="Run at most one queued job, then exit.")] = False,
) -> None:
    """Run a job runner alone: claims queued jobs from the database and drives Ray."""
    from service.db import upgrade
    from service.runner import JobRunner
    from service.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    if settings.auto_migrate:
        upgrade(settings.resolved_database_url)
    job_runner = JobRunner(settings)
    if once:
        job_runner.run_once()
        return
    stop = threading.Event()
    try:
        job_runner.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
) -> None:
    """Open optuna-dashboard on tunecost's database: every job is a study there."""
    import optuna_dashboard

    from service.db import upgrade
    from service.settings import get_settings

    url = get_settings().resolved_database_url
    upgrade(url)

    from optuna.artifacts import FileSystemArtifactStore

    settings = get_settings()
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"optuna-dashboard on {url} at http://{host}:{port}/dashboard", err=True)
    optuna_dashboard.run_server(
        url, host=host, port=port, artifact_store=FileSystemArtifactStore(str(settings.artifacts_dir))
    )


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from service.db import current_revision, upgrade
    from service.settings import get_settings

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    from service.db import current_revision
    from service.settings import get_settings

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
    client = _client()
    job = client.submit(spec)
    typer.echo(job["id"])
    if wait:
        job = client.wait(job["id"])
        _print_curve(client.curve(job["id"]))
        typer.echo(f"job {job['id']} {job['state']}" + (f": {job['error']}" if job["error"] else ""))


@app.command()
@friendly_errors
def status(
    job_id: Annotated[int | None, typer.Argument(help="A job id; omit to list jobs.")] = None,
    state: Annotated[str | None, typer.Option(help="Filter the list by state.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one job, or list jobs."""
    client = _client()
    if job_id is not None:
        job = client.get(job_id)
        if as_json:
            _print_json(job)
            return
        best = job["best"]
        typer.echo(
            f"job {job['id']}: {job['state']}  {job['task']}/{job['optimizer']}/{job['searcher']}  "
            f"{job['trials_done']}/{job['budget']} trials"
            + (
                f"  best {best['error']:.3f}% at alpha={best['alpha']:g} eps={best['epsilon']:g}"
                if best
                else ""
            )
            + (f"\n  error: {job['error']}" if job["error"] else "")
        )
        return
    listing = client.jobs(state=state)
    if as_json:
        _print_json(listing)
        return
    for job in listing["data"]:
        typer.echo(
            f"{job['id']:>5}  {job['state']:<10} {job['task']}/{job['optimizer']}/{job['searcher']}  "
            f"{job['trials_done']}/{job['budget']}"
        )
    typer.echo(f"{listing['count']} job(s)")


@app.command()
@friendly_errors
def curve(
    job_id: Annotated[int, typer.Argument(help="Job id.")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print a job's suboptimality-vs-trials curve."""
    client = _client()
    if csv:
        typer.echo(client.curve_csv(job_id), nl=False)
    elif as_json:
        _print_json(client.curve(job_id))
    else:
        _print_curve(client.curve(job_id))


@app.command()
@friendly_errors
def best(
    task: Annotated[str, typer.Option(help="Task name.")],
    optimizer: Annotated[str, typer.Option(help="Optimizer name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Best (alpha, epsilon) over all finished trials of TASK and OPTIMIZER."""
    found = _client().best_config(task, optimizer)
    if as_json:
        _print_json(found)
    else:
        typer.echo(
            f"alpha={found['alpha']:g} epsilon={found['epsilon']:g} error={found['error']:.3f}% "
            f"(job {found['job_id']}, trial {found['trial']}, of {found['trials_considered']} trials)"
        )


@app.command()
@friendly_errors
def cancel(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Cancel a queued or running job."""
    job = _client().cancel(job_id)
    typer.echo(f"job {job['id']}: {job['state']}" + (" (stopping)" if job["state"] == "running" else ""))


@app.command()
@friendly_errors
def catalog() -> None:
    """List tasks, optimizers and searchers."""
    _print_json(_client().catalog())


# --------------------------------------------------------------------------- figures
figure_app = typer.Typer(help="Figures from the paper, reproduced.", no_args_is_help=True)
app.add_typer(figure_app, name="figure")


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
    from pathlib import Path

    from service.figures import reddi_figure

    results = reddi_figure(Path(out), steps=steps, lr=lr, seed=seed)
    typer.echo(f"{'optimizer':14} mean F'(w)^2 over the last 10% of {steps} steps")
    for name, value in results.items():
        typer.echo(f"{name:14} {value:.4g}")
    typer.echo(f"wrote {out}.png and {out}.svg")


# --------------------------------------------------------------------------- the study
def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@app.command()
@friendly_errors
def study(
    task: Annotated[str, typer.Option(help="Task to sweep.")] = "mnist5k-mlp",
    optimizers: Annotated[
        str, typer.Option(help="Comma-separated optimizers to sweep.")
    ] = "adam,avagrad,adabelief",
    searchers: Annotated[
        str, typer.Option(help="Comma-separated searchers to replay.")
    ] = "grid,random,tpe,cmaes,gld,cgld",
    seeds: Annotated[int, typer.Option(help="Replay seeds per searcher and optimizer.")] = 100,
    budget: Annotated[int, typer.Option(help="Distinct trials per replay run.")] = 100,
    sweep_seeds: Annotated[str, typer.Option(help="Comma-separated training seeds of each sweep.")] = "0",
    recipe: Annotated[
        str | None, typer.Option(help="Recipe overrides as JSON, e.g. '{\"epochs\": 3}'.")
    ] = None,
    fused: Annotated[
        bool, typer.Option(help="Fused sweeps (many configs at once) where the model allows.")
    ] = True,
    resweep: Annotated[
        bool, typer.Option(help="Sweep again even if a matching landscape is stored.")
    ] = False,
    out: Annotated[str, typer.Option(help="Directory for the figures and the table.")] = "results",
) -> None:
    """The tuning-cost study: sweep each optimizer's grid, replay every searcher, compare, draw.

    Everything stays in the database (landscapes, replays, jobs) for the API and the dashboard.
    """
    from pathlib import Path

    from sqlalchemy import select
    from tqdm import tqdm

    from service import jobs as job_service
    from service.db import session_scope, upgrade
    from service.figures import attach_to_study, curves_figure, landscape_figure, tuning_cost_figure
    from service.models import Landscape
    from service.replay import compare, landscape_detail
    from service.runner import JobRunner
    from service.settings import get_settings
    from service.specs import ReplaySpec, SweepSpec

    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    url = settings.resolved_database_url
    upgrade(url)
    overrides = json.loads(recipe) if recipe else {}
    out_dir = Path(out)
    bars: dict[int, Any] = {}

    def progress(job_id: int, done: int) -> None:
        if job_id in bars:
            bars[job_id].n = done
            bars[job_id].refresh()

    runner = JobRunner(settings, on_progress=progress)

    def run(job_id: int, total: int, label: str) -> Any:
        bars[job_id] = tqdm(total=total, desc=label, unit="cfg" if "sweep" in label else "run")
        claimed = runner.claim_next()
        while claimed is not None:  # older queued jobs run first, in order
            runner.run_job(claimed)
            if claimed.id == job_id:
                break
            claimed = runner.claim_next()
        bars.pop(job_id).close()
        job = job_service.get_job(url, job_id)
        if job.state != "succeeded":
            _fail(f"{label} (job {job_id}) {job.state}: {job.error}")
        return job

    landscape_ids = []
    for optimizer in _csv(optimizers):
        spec = SweepSpec(
            kind="sweep",
            task=task,
            optimizer=optimizer,
            seeds=[int(s) for s in _csv(sweep_seeds)],
            recipe=overrides,
            fused=fused,
        )
        with session_scope(url) as session:
            stored = session.scalars(
                select(Landscape)
                .where(
                    Landscape.task == task,
                    Landscape.optimizer == optimizer,
                    Landscape.recipe_hash == spec.recipe_hash,
                )
                .order_by(Landscape.id.desc())
            ).all()
            match = next((ls.id for ls in stored if ls.space == spec.space and ls.seeds == spec.seeds), None)
        if match is not None and not resweep:
            typer.echo(f"{optimizer}: reusing landscape {match}", err=True)
            landscape_ids.append(match)
            continue
        job = job_service.create_job(url, spec, owner="study")
        size = len(spec.space["alphas"]) * len(spec.space["epsilons"]) * len(spec.seeds)
        landscape_ids.append(run(job.id, size, f"sweep {optimizer}").result["landscape_id"])

    replay = ReplaySpec(
        kind="replay", landscape_ids=landscape_ids, searchers=_csv(searchers), seeds=seeds, budget=budget
    )
    job = job_service.create_job(url, replay, owner="study")
    run(job.id, len(landscape_ids) * len(replay.searchers) * seeds, "replay")
    result = compare(url, job_id=job.id)

    lines = [
        f"tuning cost on {task}: trials to reach delta (median [IQR], mean ± std over seeds that reach it, share reaching it within {budget}); {seeds} seeds"
    ]
    for fact in result["landscapes"]:
        shares = ", ".join(
            f"{float(d):g}: {v:.1%} ({fact['random_expected_trials'][d]:.1f} random trials expected)"
            for d, v in fact["share_within"].items()
        )
        noise = (
            ""
            if fact["noise_std_median"] is None
            else f", seed noise (median std) {fact['noise_std_median']:.2f} pts"
        )
        lines.append(
            f"  {fact['optimizer']:>12}: best {fact['best_error']:.2f}%, configs within delta of best: {shares}{noise}"
        )
    lines.append(
        f"{'optimizer':>12} {'searcher':>8} {'delta':>5} {'median':>7} {'IQR':>11} {'mean ± std':>14} {'reached':>8}"
    )
    for r in result["rows"]:
        med = f">{budget}" if r["median"] is None else f"{r['median']:.0f}"
        iqr = "-".join(f">{budget}" if q is None else f"{q:.0f}" for q in (r["q25"], r["q75"]))
        mean = "-" if r["mean"] is None else f"{r['mean']:.1f} ± {r['std']:.1f}"
        lines.append(
            f"{r['optimizer']:>12} {r['searcher']:>8} {r['delta']:>5g} {med:>7} {iqr:>11} {mean:>14} {r['success_rate']:>8.0%}"
        )
    table = "\n".join(lines)
    typer.echo(table)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tuning_cost.txt").write_text(table + "\n")
    (out_dir / "comparison.json").write_text(json.dumps(result, indent=1))
    for landscape_id in landscape_ids:
        landscape = landscape_detail(url, landscape_id)
        landscape_figure(out_dir / f"landscape_{landscape['optimizer']}", landscape)
    curves_figure(out_dir / "suboptimality_curves", result)
    for delta in result["deltas"]:
        tuning_cost_figure(out_dir / f"trials_to_{delta:g}", result, delta)
    attach_to_study(
        url,
        job_service.study_name_for(job.id),
        sorted(out_dir.glob("*.png")),
        settings.artifacts_dir,
        {
            "tunecost_job_id": job.id,
            "kind": "replay",
            "task": task,
            "landscape_ids": landscape_ids,
            "table": table,
        },
    )
    typer.echo(
        f"figures and table in {out_dir.resolve()}/; replay job {job.id}, landscapes {landscape_ids}; `tunecost dashboard` shows the jobs",
        err=True,
    )


# --------------------------------------------------------------------------- embedded
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
    from tqdm import tqdm

    from service import jobs as job_service
    from service.db import upgrade
    from service.runner import JobRunner
    from service.settings import get_settings
    from service.specs import SearchSpec

    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    url = settings.resolved_database_url
    upgrade(url)
    spec = SearchSpec(task=task, optimizer=optimizer, searcher=searcher, budget=budget, seed=seed)
    job = job_service.create_job(url, spec, owner="quickstart")
    typer.echo(
        f"job {job.id}: {searcher} tunes {optimizer} on {task}, {budget} trials; database {url}", err=True
    )
    bar = tqdm(total=budget, desc=f"job {job.id}", unit="trial")

    def progress(job_id: int, done: int) -> None:
        if job_id == job.id:
            bar.n = done
            bar.refresh()

    runner = JobRunner(settings, on_progress=progress)
    claimed = runner.claim_next()
    while claimed is not None and claimed.id != job.id:  # older queued jobs run first, in order
        runner.run_job(claimed)
        claimed = runner.claim_next()
    if claimed is not None:
        runner.run_job(claimed)
    bar.close()
    finished = job_service.get_job(url, job.id)
    points = [
        {
            "trial": t.number,
            "alpha": t.alpha,
            "epsilon": t.epsilon,
            "error": t.error,
            "best_so_far": t.best_so_far,
            "suboptimality": t.suboptimality,
            "diverged": t.diverged,
        }
        for t in job_service.curve(url, job.id)
    ]
    _print_curve(points)
    if finished.state != "succeeded":
        _fail(f"job {job.id} {finished.state}: {finished.error}")
    found = job_service.best_config(url, task, optimizer, recipe_hash=spec.recipe_hash)
    typer.echo(
        f"best config: alpha={found.alpha:g} epsilon={found.epsilon:g} error={found.error:.3f}% "
        f"(e* = {finished.reference_error:.3f}%, {finished.reference_source}); Optuna study {finished.study_name!r}"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
