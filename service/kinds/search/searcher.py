"""``CachingSearcher`` (hand-written: no library answers re-proposals from a cache): a config the
job already evaluated is answered from the job's cache; the searcher is told the known error, a
``cached`` row is written, and no Tune trial (and no budget) is spent on it (docs/ARCHITECTURE.md,
"Trial count")."""

from __future__ import annotations

import logging
from typing import Any

from ray.tune.search import Searcher

from tunecost.service.kinds.search.recorder import METRIC, ConfigKey, TrialRecorder, config_key

log = logging.getLogger(__name__)


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
            key = config_key(config)
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
        key = config_key(config)
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
