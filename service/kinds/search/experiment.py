"""Runs a ``search`` job (:mod:`tunecost.service.kinds.search.kind`) as a Ray Tune experiment.

    Tuner(trainable with {cpu, gpu} resources,
          search_alg = ConcurrencyLimiter(CachingSearcher(OptunaSearch(sampler, RDB storage))),
          reuse_actors=True, FailureConfig(max_failures), callbacks=[TrialRecorder])

* ``OptunaSearch`` writes the job's Optuna study into the service's own database, so
  optuna-dashboard shows it live.
* ``CachingSearcher`` (hand-written: no library answers re-proposals from a cache)
  answers a config the job already evaluated from the job's cache: the searcher
  is told the known error, a ``cached`` row is written, and no Tune trial (and no
  budget) is spent on it (docs/ARCHITECTURE.md, "Trial count").
* ``TrialRecorder`` writes one ``tunecost_trials`` row per finished trial, with
  best-so-far and suboptimality, as soon as its result arrives — before Tune tells
  the Optuna study — so a crash loses no finished trial. A restarted job resumes: its
  finished rows seed the cache, the Optuna study is loaded, and a study trial a crash
  left RUNNING is settled from its row (COMPLETE with the recorded error) or failed
  when it has none; so tunecost's rows and the study agree after a kill at any point.
* One budget rule: a trial that raised after its retries uses its slot of the budget,
  in the first run and after a resume alike (Tune counts it as a sample too).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import optuna
from ray import tune
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch

from tunecost.search_spaces import build_sampler
from tunecost.service import studies
from tunecost.service.kinds.base import RunContext
from tunecost.service.kinds.search.recorder import METRIC, ConfigKey, TrialRecorder
from tunecost.service.kinds.search.sampler import DefineByRun, WithRealValues
from tunecost.service.kinds.search.searcher import CachingSearcher
from tunecost.service.kinds.search.spec import SearchSpec
from tunecost.service.kinds.search.stopper import CancelStopper
from tunecost.service.specs import task_metric
from tunecost.workers.catalog import OPTIMIZERS
from tunecost.workers.trainable import run_trial

log = logging.getLogger(__name__)


def _settle_stale_optuna_trials(study: optuna.Study, recorded: dict[ConfigKey, float]) -> int:
    """Trials a crashed runner left RUNNING: COMPLETE with the recorded error when tunecost
    wrote the row (the crash came between the row and the study), else FAIL. Returns how many
    were completed."""
    completed = 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        key = (trial.user_attrs.get("alpha"), trial.user_attrs.get("epsilon"))
        if key in recorded:
            study.tell(trial.number, recorded[key])
            completed += 1
        else:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return completed


@dataclass(frozen=True)
class SearchRun:
    """What one attempt of a search ran: trials recorded before it (a resume), trained and
    failed in it, and whether the searcher ran out of new configs."""

    resumed_from: int
    trained: int = 0
    failed: int = 0
    searcher_exhausted: bool = False


def run_search(ctx: RunContext, spec: SearchSpec) -> SearchRun:
    """Run (or resume) the search; returns what ran, for the job's ``result``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = spec.space
    storage = optuna.storages.RDBStorage(ctx.url)
    study = optuna.create_study(
        storage=storage, study_name=ctx.study_name, direction="minimize", load_if_exists=True
    )
    studies.describe(
        study,
        kind="search",
        job_id=ctx.job_id,
        metric=task_metric(spec.task),
        task=spec.task,
        optimizer=spec.optimizer,
        searcher=spec.searcher,
        recipe=spec.recipe,
        seeds=[spec.seed],
        seed=spec.seed,
        space=space.to_json(),
    )
    recorder = TrialRecorder(
        ctx.url,
        ctx.job_id,
        spec.seed,
        spec.reference_error,
        lambda done: ctx.progress(done, spec.budget),
        study=(storage, storage.get_study_id_from_name(ctx.study_name)),
    )
    settled = _settle_stale_optuna_trials(study, recorder.cache)
    if settled:
        log.info(
            "job %s: %d study trials a crash left running were completed from their rows", ctx.job_id, settled
        )
    remaining = spec.budget - recorder.number - recorder.failed
    if remaining <= 0:
        return SearchRun(resumed_from=recorder.number)
    resumed_from = recorder.number

    defaults = OPTIMIZERS[spec.optimizer]
    sampler = WithRealValues(
        build_sampler(
            spec.searcher,
            space,
            seed=spec.seed,
            options=spec.searcher_options,
            default_point=(defaults.default_alpha, defaults.default_epsilon),
        ),
        space,
    )
    optuna_search = OptunaSearch(
        space=DefineByRun(space),
        metric=METRIC,
        mode="min",
        sampler=sampler,
        study_name=ctx.study_name,
        storage=storage,
    )
    caching = CachingSearcher(optuna_search, recorder, space_size=space.size)
    search_alg = ConcurrencyLimiter(caching, max_concurrent=spec.max_concurrent)

    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial,
            task=spec.task,
            optimizer=spec.optimizer,
            seed=spec.seed,
            recipe=spec.recipe,
            data_dir=str(ctx.settings.data_dir),
            threads=max(1, int(spec.resources.cpu)),
        ),
        {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=search_alg,
            scheduler=None if spec.scheduler is None else spec.scheduler.build(spec.recipe["epochs"], METRIC),
            num_samples=remaining,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=f"job-{ctx.job_id}",
            storage_path=str(ctx.settings.ray_results_dir),
            failure_config=tune.FailureConfig(max_failures=spec.max_failures),
            callbacks=[recorder],
            stop=CancelStopper(ctx.stop),
            verbose=0,
        ),
    )
    with warnings.catch_warnings():
        # OptunaSearch warns when a define-by-run call takes > 1 s; here that time is the
        # sampler's own work (CMA-ES/TPE over the stored trials), not training.
        warnings.filterwarnings(
            "ignore", message="Define-by-run function passed in the `space` argument took"
        )
        tuner.fit()
    return SearchRun(
        resumed_from=resumed_from,
        trained=recorder.number,
        failed=recorder.failed,
        searcher_exhausted=caching.exhausted,
    )
