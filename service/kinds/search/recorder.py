"""``TrialRecorder``: the Ray Tune callback that writes one ``tunecost_trials`` row per finished
trial, with best-so-far and suboptimality, as soon as its result arrives (before Tune tells the
Optuna study), so a crash loses no finished trial; a resume seeds its cache from those rows."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

import optuna
from ray import tune
from sqlalchemy import select

from tunecost.service.db import session_scope
from tunecost.service.models import Trial, utcnow
from tunecost.service.states import TrialStatus

log = logging.getLogger(__name__)
METRIC = "error"  # what the trainable reports and the study minimises

ConfigKey = tuple[float, float]


def config_key(config: dict[str, Any]) -> ConfigKey:
    return float(config["alpha"]), float(config["epsilon"])


def finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def error_line(trial: Any) -> str:
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
                self.cache[config_key(config)] = error
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
            val_loss=finite_or_none(result.get("val_loss")),
            train_loss=finite_or_none(result.get("train_loss")),
            diverged=bool(result.get("diverged", False)),
            seconds=finite_or_none(result.get("seconds")),
            node_id=result.get("node_id"),
            status=TrialStatus.COMPLETE,
            cached=False,
        )

    def record_pruned(self, config: dict[str, Any], result: dict[str, Any], *, cached: bool = False) -> Trial:
        """A trial the scheduler stopped early: it used its slot and its epochs, and has no
        final score (its last epoch's score is in the message)."""
        if not cached:
            self.pruned_configs.add(config_key(config))
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
            self.failed_configs.add(config_key(config))
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
        self.record_failure(trial.config, error_line(trial))
