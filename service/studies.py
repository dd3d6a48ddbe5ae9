"""What optuna-dashboard reads: each job's Optuna study, in the job's own terms.

Every job kind is a study named ``tunecost-job-<id>`` in the service's database:

* a **sweep** writes one trial per grid node once its landscape is stored (:func:`write_sweep`):
  parameters ``alpha`` and ``epsilon`` as real floats on log distributions, so the dashboard's
  contour plot over them is the paper's Figure 1; the value is the node's mean score over the
  seeds, a node that failed everywhere a failed trial;
* a **search** is the study its sampler runs on (:mod:`tunecost.service.kinds.search.experiment`),
  with ``alpha`` and ``epsilon`` added to each trial beside the grid indices the sampler needs;
* a **replay** carries its figures and table as artifacts (:func:`attach_replay`: the files
  its kind wrote with :func:`tunecost.service.comparisons.write_report`).

Each study says what it is (:func:`describe`): the metric's name and unit as the objective's
name, and the job's kind, task, optimizer, recipe and seeds as user attributes, which the
dashboard shows on the study's page. Hand-written: Optuna has no importer for a table of
results, and ``optuna.create_trial`` with ``Study.add_trials`` is its documented way in.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState, create_trial

from tunecost.service.analysis.comparison import Comparison
from tunecost.service.analysis.landscape import LandscapeDetail
from tunecost.service.db import session_scope
from tunecost.service.landscapes import detail
from tunecost.service.settings import Settings

log = logging.getLogger(__name__)


def objective_name(metric: dict[str, Any] | None) -> str:
    """``validation error (%)``, ``validation MSE``: the study's objective, named for the dashboard."""
    if not metric:
        return "validation error (%)"
    return metric["name"] + (f" ({metric['unit']})" if metric.get("unit") else "")


def describe(study: Any, *, kind: str, job_id: int, metric: dict[str, Any] | None, **attrs: Any) -> None:
    """Name the objective and set the job's user attributes on ``study`` (idempotent)."""
    with warnings.catch_warnings():  # experimental since Optuna 3.2, still the way to name it
        warnings.simplefilter("ignore", ExperimentalWarning)
        study.set_metric_names([objective_name(metric)])
    for key, value in {"kind": kind, "tunecost_job_id": job_id, **attrs}.items():
        if value is not None:
            study.set_user_attr(key, value)


def open_study(url: str, name: str) -> Any:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(storage=url, study_name=name, direction="minimize", load_if_exists=True)


def write_sweep(url: str, study_name: str, landscape_id: int, job_id: int | None = None) -> int:
    """The landscape's nodes as the study's trials (once: a study that has them all is left as
    it is, so a resumed sweep does not write them twice; one a crash left part-written is
    written again from the start). Returns the trials written."""

    with session_scope(url) as session:
        ls = detail(session, landscape_id)
    study = open_study(url, study_name)
    describe(
        study,
        kind="sweep",
        job_id=job_id if job_id is not None else ls.job_id,
        metric=ls.metric,
        task=ls.task,
        optimizer=ls.optimizer,
        recipe=ls.recipe,
        seeds=ls.seeds,
        sweep_seeds=ls.sweep_seeds,
        landscape_id=ls.id,
        grid=ls.grid_name or f"{len(ls.alphas)}x{len(ls.epsilons)}",
    )
    have = len(study.get_trials(deepcopy=False))
    if have == len(ls.alphas) * len(ls.epsilons):
        return 0
    if have:  # part-written (Optuna adds trials one by one): start again
        optuna.delete_study(study_name=study_name, storage=url)
        return write_sweep(url, study_name, landscape_id, job_id)
    distributions = {
        "alpha": FloatDistribution(min(ls.alphas), max(ls.alphas), log=True),
        "epsilon": FloatDistribution(min(ls.epsilons), max(ls.epsilons), log=True),
    }
    trials = []
    for i, alpha in enumerate(ls.alphas):
        for j, epsilon in enumerate(ls.epsilons):
            value = ls.errors[i][j]
            per_seed = [s[i][j] for s in ls.seed_errors]
            trials.append(
                create_trial(
                    state=TrialState.COMPLETE if value is not None else TrialState.FAIL,
                    value=value,
                    params={"alpha": alpha, "epsilon": epsilon},
                    distributions=distributions,
                    user_attrs={
                        "alpha_index": i,
                        "epsilon_index": j,
                        "diverged": ls.diverged[i][j],  # how many seeds diverged here
                        "error_std": ls.error_stds[i][j],
                        "seed_errors": per_seed,
                    },
                )
            )
    study.add_trials(trials)
    log.info("study %s: %d sweep nodes written", study_name, len(trials))
    return len(trials)


def replay_note(comparison: Comparison, table: str, report_url: str | None) -> str:
    """The replay study's note (markdown, shown whole on the study's page): the table's text as
    a code block, never cut (it opens with the answer and the verdicts), and where the full
    report is."""
    lines = [f"# Tuning cost: replay job {comparison.job_id}", ""]
    if report_url:
        lines += [f"Full report with figures: {report_url}", ""]
    lines += ["```", table, "```"]
    return "\n".join(lines)


def attach_replay(
    url: str,
    settings: Settings,
    job_id: int,
    study_name: str,
    comparison: Comparison,
    landscapes: list[LandscapeDetail],
    files: list[Path],
    **facts: Any,
) -> None:
    """A replay's report (written by its kind) as its study's artifacts (figures PNG and SVG,
    the table as text and CSV, the comparison as JSON), its note (verdicts and table) and
    attributes (``facts``: the spec's searchers, seeds and budget). Files already attached (a
    finish that ran again) are not uploaded twice."""
    # optuna-dashboard: only in the dashboard and where a replay's report is attached
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta, upload_artifact

    task = ", ".join(dict.fromkeys(ls.task for ls in landscapes))
    study = open_study(url, study_name)
    describe(
        study,
        kind="replay",
        job_id=job_id,
        metric=landscapes[0].metric if landscapes else None,
        task=task,
        optimizers=[f.label for f in comparison.landscapes],
        landscape_ids=[f.landscape_id for f in comparison.landscapes],
        **facts,
        deltas=comparison.deltas,
        delta_unit=comparison.delta_unit,
        report=f"/v1/comparisons/{job_id}/report",
    )
    table = files[0].read_text().rstrip("\n")
    optuna_dashboard.save_note(study, replay_note(comparison, table, f"/v1/comparisons/{job_id}/report"))
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    store = FileSystemArtifactStore(str(settings.artifacts_dir))
    attached = {meta.filename for meta in get_all_artifact_meta(study)}
    for path in files:
        if path.name not in attached:
            upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study)
