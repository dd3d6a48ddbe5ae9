"""Runs a ``search`` job (:mod:`service.kinds.search`) as a Ray Tune experiment.

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
import math
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from ray import tune
from ray.tune.search import ConcurrencyLimiter, Searcher
from ray.tune.search.optuna import OptunaSearch
from sqlalchemy import select

from search_spaces import ALPHA, EPSILON, GridSpace, Space, build_sampler
from service import studies
from service.db import session_scope
from service.kinds import RunContext
from service.models import Trial, utcnow
from service.specs import task_metric
from service.states import TrialStatus
from workers.catalog import OPTIMIZERS
from workers.trainable import run_trial

if TYPE_CHECKING:  # the kind's spec, for the signature only: the kind imports this module to run
    from service.kinds.search import SearchSpec

log = logging.getLogger(__name__)
METRIC = "error"

ConfigKey = tuple[float, float]


def _key(config: dict[str, Any]) -> ConfigKey:
    return float(config["alpha"]), float(config["epsilon"])


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _error_line(trial: Any) -> str:
    """The exception line ('RuntimeError: ...') of a failed Tune trial's error log."""
    text = ""
    path = trial.error_file  # written on the driver by Trial.handle_error
    if path:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else "trial failed")[:2000]


class TrialRecorder(tune.Callback):
    """Writes each finished trial to ``tunecost_trials`` with best-so-far and suboptimality."""

    def __init__(
        self,
        url: str,
        job_id: int,
        seed: int,
        reference_error: float | None,
        on_progress: Callable[[int], None] | None = None,
        study: tuple[optuna.storages.BaseStorage, int] | None = None,
    ) -> None:
        self.url, self.job_id, self.seed = url, job_id, seed
        self.study = study  # the job's Optuna study (storage, study id): each trial's flags go there too
        self.reference_error = reference_error
        self.on_progress = on_progress
        self._lock = threading.Lock()
        with session_scope(url) as session:
            rows = list(session.scalars(select(Trial).where(Trial.job_id == job_id).order_by(Trial.position)))
        self.position = max((r.position for r in rows), default=0)
        self.number = max((r.number or 0 for r in rows), default=0)
        completed = [r for r in rows if r.number is not None and r.error is not None]
        self.best = min((r.error for r in completed), default=None)
        self.cache: dict[ConfigKey, float] = {(r.alpha, r.epsilon): r.error for r in completed}
        failed_rows = [r for r in rows if r.status == TrialStatus.FAILED and not r.cached]
        self.failed = len(failed_rows)
        # configs that raised (after Tune's retries): re-proposals are refused, not retrained
        self.failed_configs: set[ConfigKey] = {(r.alpha, r.epsilon) for r in failed_rows}
        # configs a scheduler stopped early: a re-proposal is answered as stopped, not retrained
        self.pruned_configs: set[ConfigKey] = {
            (r.alpha, r.epsilon) for r in rows if r.status == TrialStatus.PRUNED and not r.cached
        }
        self._recorded: set[str] = set()  # Tune trial ids whose result is written

    # Tune pickles its callbacks with the experiment state; the copy never runs.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        state["on_progress"] = None
        state["study"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _suboptimality(self) -> float | None:
        if self.best is None or self.reference_error is None:
            return None
        return self.best - self.reference_error

    def _write(self, config: dict[str, Any], *, counted: bool, **fields: Any) -> Trial:
        with self._lock:
            self.position += 1
            if counted:
                self.number += 1
            error = fields.get("error")
            if error is not None and counted:
                self.best = error if self.best is None else min(self.best, error)
                self.cache[_key(config)] = error
            row = Trial(
                job_id=self.job_id,
                position=self.position,
                number=self.number if counted else None,
                seed=self.seed,
                alpha=float(config["alpha"]),
                epsilon=float(config["epsilon"]),
                best_so_far=self.best,
                suboptimality=self._suboptimality(),
                optuna_trial_number=config.get("optuna_trial"),
                created_at=utcnow(),
                **fields,
            )
            with session_scope(self.url) as session:
                session.add(row)
            self._flag_optuna_trial(config, row)
            if counted and self.on_progress:
                self.on_progress(self.number)
            return row

    def _flag_optuna_trial(self, config: dict[str, Any], row: Trial) -> None:
        """The row's flags and count on its Optuna trial (the dashboard shows user attributes).
        The row is written before the study is told, so the trial is still running here; a
        trial the study already finished (a failure Tune reported first) keeps what it has."""
        number = config.get("optuna_trial")
        if self.study is None or number is None:
            return
        storage, study_id = self.study
        try:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, int(number))
            for key, value in {
                "diverged": bool(row.diverged),
                "cached": bool(row.cached),
                "tunecost_trial": row.number,  # the API's trial count (from 1); null when cached
            }.items():
                storage.set_trial_user_attr(trial_id, key, value)
        except (KeyError, RuntimeError, optuna.exceptions.UpdateFinishedTrialError) as exc:
            log.debug("optuna trial %s not flagged: %s", number, exc)

    def record_result(self, config: dict[str, Any], result: dict[str, Any]) -> Trial:
        return self._write(
            config,
            counted=True,
            error=float(result[METRIC]),
            val_loss=_finite_or_none(result.get("val_loss")),
            train_loss=_finite_or_none(result.get("train_loss")),
            diverged=bool(result.get("diverged", False)),
            seconds=_finite_or_none(result.get("seconds")),
            node_id=result.get("node_id"),
            status=TrialStatus.COMPLETE,
            cached=False,
        )

    def record_pruned(self, config: dict[str, Any], result: dict[str, Any], *, cached: bool = False) -> Trial:
        """A trial the scheduler stopped early: it used its slot and its epochs, and has no
        final score (its last epoch's score is in the message)."""
        if not cached:
            self.pruned_configs.add(_key(config))
        epoch, score = result.get("epoch"), result.get(METRIC)
        message = (
            "stopped early before; not retried"
            if cached
            else f"stopped early by the scheduler after epoch {epoch} (score then {score:.6g})"
        )
        return self._write(
            config, counted=not cached, error=None, status=TrialStatus.PRUNED, cached=cached, message=message
        )

    def record_cached(self, config: dict[str, Any], error: float) -> Trial:
        return self._write(
            config, counted=False, error=error, status=TrialStatus.COMPLETE, cached=True, diverged=False
        )

    def record_failure(self, config: dict[str, Any], message: str, *, cached: bool = False) -> Trial:
        if not cached:
            self.failed += 1
            self.failed_configs.add(_key(config))
        return self._write(
            config, counted=False, error=None, status=TrialStatus.FAILED, cached=cached, message=message
        )

    # --- Tune callback hooks (run in the driver) ---
    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        """The trial's final report (``final``; an epoch's report is not one): written now,
        before Tune tells the searcher (on completion)."""
        if METRIC in result and result.get("final", True) and trial.trial_id not in self._recorded:
            self._recorded.add(trial.trial_id)
            self.record_result(trial.config, result)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        if METRIC in result and trial.trial_id not in self._recorded:
            self._recorded.add(trial.trial_id)
            if result.get("final", True):
                self.record_result(trial.config, result)
            else:  # its last report was an epoch's: a scheduler stopped it
                self.record_pruned(trial.config, result)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.record_failure(trial.config, _error_line(trial))


class CachingSearcher(Searcher):
    """Answers re-proposed configs from the job's cache instead of training them again.

    A proposal equal to a config that is still running is held back until that trial
    ends, then answered from the cache. A config whose trial failed (after Tune's
    retries) is answered as failed again rather than retrained. The search ends when
    every config of a finite space is known, or when the inner searcher proposes only
    known configs ``max_cached_in_a_row`` times in a row (it is stuck).
    """

    def __init__(
        self,
        searcher: Searcher,
        recorder: TrialRecorder,
        *,
        space_size: float = float("inf"),
        max_cached_in_a_row: int = 200,
    ):
        super().__init__(metric=searcher.metric, mode=searcher.mode)
        self.searcher = searcher
        self.recorder = recorder
        self.max_cached_in_a_row = max_cached_in_a_row
        self.space_size = space_size
        self.exhausted = False
        self._inner_ids: dict[str, str] = {}  # outer (Tune) trial id -> inner searcher trial id
        self._configs: dict[str, dict[str, Any]] = {}
        self._running: set[ConfigKey] = set()
        self._waiting: dict[ConfigKey, list[tuple[str, dict[str, Any]]]] = {}
        self._reported: dict[str, Any] = {}  # outer trial id -> the training_iteration last passed on
        self._counter = 0

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        return False  # let the ConcurrencyLimiter outside us do it

    def _answer_from_cache(self, inner_id: str, config: dict[str, Any], error: float) -> None:
        self.recorder.record_cached(
            config, error
        )  # the row first: a crash leaves the study behind, never ahead
        self.searcher.on_trial_complete(inner_id, result={METRIC: error})

    def suggest(self, trial_id: str) -> dict | str | None:
        for _ in range(self.max_cached_in_a_row):
            known = (
                len(self.recorder.cache)
                + len(self.recorder.failed_configs)
                + len(self.recorder.pruned_configs)
            )
            if known >= self.space_size:
                self.exhausted = True
                return Searcher.FINISHED
            self._counter += 1
            inner_id = f"{trial_id}~{self._counter}"
            config = self.searcher.suggest(inner_id)
            if config is None or config == Searcher.FINISHED:
                return config
            key = _key(config)
            if key in self.recorder.cache:
                self._answer_from_cache(inner_id, config, self.recorder.cache[key])
                continue
            if key in self.recorder.failed_configs:
                self.searcher.on_trial_complete(inner_id, error=True)
                self.recorder.record_failure(config, "config failed before; not retried", cached=True)
                continue
            if key in self.recorder.pruned_configs:
                self.recorder.record_pruned(config, {}, cached=True)
                self.searcher.on_trial_complete(inner_id, result=None)  # Optuna: PRUNED
                continue
            if key in self._running:
                self._waiting.setdefault(key, []).append((inner_id, config))
                return None  # ask again later; answered when the running twin ends
            self._inner_ids[trial_id] = inner_id
            self._configs[trial_id] = config
            self._running.add(key)
            return config
        log.warning(
            "searcher proposed %d known configs in a row; ending the search", self.max_cached_in_a_row
        )
        self.exhausted = True
        return Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._inner_ids:
            self._reported[trial_id] = result.get("training_iteration")
            self.searcher.on_trial_result(self._inner_ids[trial_id], result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        inner_id = self._inner_ids.pop(trial_id, None)
        config = self._configs.pop(trial_id, None)
        if inner_id is None or config is None:
            return
        reported = self._reported.pop(trial_id, None)
        if result is not None and METRIC in result and result.get("training_iteration") != reported:
            # Tune ends a trial on the report a scheduler stopped it at without passing that
            # report on as a result: it is the trial's last intermediate value all the same
            self.searcher.on_trial_result(inner_id, result)
        if result is not None and not result.get("final", True):
            result = None  # stopped by the scheduler after an epoch: the Optuna trial is PRUNED
        self.searcher.on_trial_complete(inner_id, result=result, error=error)
        key = _key(config)
        self._running.discard(key)
        for waiting_id, waiting_config in self._waiting.pop(key, []):
            if key in self.recorder.cache:
                self._answer_from_cache(waiting_id, waiting_config, self.recorder.cache[key])
            elif key in self.recorder.pruned_configs:  # the twin was stopped early: so is this one
                self.recorder.record_pruned(waiting_config, {}, cached=True)
                self.searcher.on_trial_complete(waiting_id, result=None)
            else:  # the twin failed: so does the held-back proposal
                self.searcher.on_trial_complete(waiting_id, error=True)

    # Tune checkpoints its searcher; tunecost's state is the database (a resumed job
    # rebuilds the cache from its rows and reloads its Optuna study), so there is none here.
    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass

    def save(self, checkpoint_path: str) -> None:
        pass

    def restore(self, checkpoint_path: str) -> None:
        pass


class CancelStopper(tune.Stopper):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.event.is_set()

    def __getstate__(self) -> dict[str, Any]:
        return {"stopped": self.event.is_set()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.event = threading.Event()
        if state["stopped"]:
            self.event.set()


class DefineByRun:
    """The define-by-run space for ``OptunaSearch``: suggests the space's parameters, returns (alpha, epsilon).

    A class rather than a closure because Tune pickles its searcher with the experiment.
    """

    def __init__(self, space: Space) -> None:
        self.space = space

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, dist in self.space.distributions().items():
            if isinstance(dist, optuna.distributions.IntDistribution):
                params[name] = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
            else:
                params[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        alpha, epsilon = self.space.decode(params)
        for name, dist in WithRealValues.derived(self.space).items():  # a grid: alpha, epsilon as floats
            trial.suggest_float(name, dist.low, dist.high, log=True)
        trial.set_user_attr("alpha", alpha)
        trial.set_user_attr("epsilon", epsilon)
        return {"alpha": alpha, "epsilon": epsilon, "optuna_trial": trial.number}


class WithRealValues(optuna.samplers.BaseSampler):
    """A grid's sampler, with ``alpha`` and ``epsilon`` added to each trial as real floats on
    log distributions: the grid indices are what the sampler needs, the real values what
    optuna-dashboard plots (slice, contour, Best Trial). The two added parameters are the
    decoded indices, never sampled: they are left out of every relative search space and
    answered from the trial's indices, so the sampler sees exactly the space it saw without
    them. A continuous box already has them; there this is the sampler itself.
    """

    def __init__(self, sampler: optuna.samplers.BaseSampler, space: Space) -> None:
        self.sampler, self.space = sampler, space
        self.added = self.derived(space)

    @staticmethod
    def derived(space: Space) -> dict[str, optuna.distributions.FloatDistribution]:
        if not isinstance(space, GridSpace):
            return {}
        return {
            ALPHA: optuna.distributions.FloatDistribution(min(space.alphas), max(space.alphas), log=True),
            EPSILON: optuna.distributions.FloatDistribution(
                min(space.epsilons), max(space.epsilons), log=True
            ),
        }

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, optuna.distributions.BaseDistribution]:
        space = self.sampler.infer_relative_search_space(study, trial)
        return {name: dist for name, dist in space.items() if name not in self.added}

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, optuna.distributions.BaseDistribution],
    ) -> dict[str, Any]:
        return self.sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: optuna.distributions.BaseDistribution,
    ) -> Any:
        if param_name in self.added:
            alpha, epsilon = self.space.decode(trial.params)
            return alpha if param_name == ALPHA else epsilon
        return self.sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Any,
    ) -> None:
        self.sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()


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
