"""Loading the catalog: the built-ins and one entry-point group's plugins, each plugin entry
checked before it is taken (its fields here, its import paths statically by
:mod:`tunecost.workers.catalog._static`, a layer above's own checks through :meth:`Catalog.add_check`);
and :func:`resolve`, which turns an entry's import path into the object where training runs."""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from tunecost.workers.catalog._static import EntryError, check_optimizer_class, check_task_module
from tunecost.workers.catalog.entries import BUILTIN, Metric, OptimizerInfo, PluginError, TaskInfo

log = logging.getLogger(__name__)


def resolve(path: str) -> Any:
    """``"package.module:Attribute"`` -> the attribute (an optimizer class, a task's namespace);
    ``"package.module"`` -> the module. Imports it: call where training runs."""
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def check_entry(info: OptimizerInfo | TaskInfo) -> None:
    """What a plugin's entry must hold for the catalog to take it (an EntryError says which
    field and what). Its import paths are checked too, statically (:mod:`tunecost.workers.catalog._static`):
    no plugin code runs and torch is not imported, so the API can check them."""
    if isinstance(info, OptimizerInfo):
        if ":" not in info.optimizer:
            raise EntryError("optimizer", f"must be 'package.module:Class', got {info.optimizer!r}")
        if not (info.default_alpha > 0 and info.default_epsilon > 0):
            raise EntryError("default_alpha", "`default_alpha` and `default_epsilon` must be positive")
        check_optimizer_class(info)
    else:
        if not (isinstance(info.recipe_model, type) and issubclass(info.recipe_model, BaseModel)):
            raise EntryError("recipe_model", "must be a pydantic model class (subclass tunecost.Recipe)")
        info.recipe_model()  # its defaults must validate
        if not info.analytic and not info.module:
            raise EntryError("module", "must name the task's training module ('package.module[:Namespace]')")
        metric = info.metric
        if not isinstance(metric, Metric) or metric.kind not in ("error", "mse"):
            raise EntryError("metric", "must be a tunecost.Metric of kind 'error' or 'mse'")
        if not metric.lower_is_better:
            raise EntryError(
                "metric",
                f"{metric.name!r}: tunecost minimises; declare a lower-is-better score "
                "(for accuracy, its error 100 - accuracy)",
            )
        least = 2 if metric.kind == "error" else 1
        if not (isinstance(info.num_classes, int) and info.num_classes >= least):
            raise EntryError("num_classes", f"must be an integer >= {least}, got {info.num_classes!r}")
        if info.diverged_score is None or not math.isfinite(info.diverged_score):
            raise EntryError("diverged_score", "must be a finite number (what a diverged trial scores)")
        low, high = metric.bounds
        if not (low <= info.diverged_score and (high is None or info.diverged_score <= high)):
            raise EntryError("diverged_score", f"{info.diverged_score} is outside the metric's bounds")
        if not info.analytic:
            check_task_module(info)


class Catalog(Mapping[str, Any]):
    """Built-ins, then the plugins of one entry-point group, loaded on first use."""

    def __init__(self, group: str, kind: type, builtins: list[Any]) -> None:
        self.group, self.kind, self.builtins = group, kind, builtins
        self._entries: dict[str, Any] | None = None
        self.errors: list[PluginError] = []  # the plugins of the last load that failed
        self.checks: list[Callable[[Any], None]] = []  # a layer above's own checks (add_check)

    def add_check(self, check: Callable[[Any], None]) -> None:
        """One more check every plugin entry must pass, from a layer that knows what this one
        does not (the service: a default grid must be one ``search_spaces`` names). It raises
        :class:`EntryError`; entries already loaded are checked now, a failure moved to
        ``errors``."""
        self.checks.append(check)
        if self._entries is None:
            return
        for name, info in list(self._entries.items()):
            if info.source == BUILTIN:
                continue
            try:
                check(info)
            except EntryError as exc:
                del self._entries[name]
                self.errors.append(PluginError(self.group, name, info.source, str(exc), exc.field))

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            entries = {info.name: info for info in self.builtins}
            errors = []
            for point in entry_points(group=self.group):
                source = f"{point.dist.name} {point.dist.version}" if point.dist else point.value
                try:
                    info = point.load()
                    if not isinstance(info, self.kind):
                        raise TypeError(
                            f"{point.value} is a {type(info).__name__}, not a {self.kind.__name__}"
                        )
                    if info.name != point.name:
                        raise ValueError(f"entry point {point.name!r} names an entry called {info.name!r}")
                    check_entry(info)
                    for check in self.checks:
                        check(info)
                    if info.name in entries:
                        raise ValueError(
                            f"{info.name!r} is already in the catalog ({entries[info.name].source})"
                        )
                    entries[info.name] = replace(info, source=source)
                except Exception as exc:  # a broken plugin is reported, never fatal
                    log.warning("plugin %s %r from %s not loaded: %s", self.group, point.name, source, exc)
                    field = exc.field if isinstance(exc, EntryError) else None
                    message = str(exc) if field else f"{type(exc).__name__}: {exc}"
                    errors.append(PluginError(self.group, point.name, source, message, field))
            self._entries, self.errors = entries, errors
        return self._entries

    def reload(self) -> None:
        """Look at the installed plugins again (tests, and after installing one)."""
        self._entries = None

    def register(self, info: Any) -> None:
        """Add an entry in this process (tests; embedding applications), unchecked."""
        self._load()[info.name] = info

    def failure(self, name: str) -> PluginError | None:
        """Why the installed entry ``name`` is not in the catalog, if one by that name failed."""
        self._load()
        return next((e for e in self.errors if e.name == name), None)

    def unregister(self, name: str) -> None:
        self._load().pop(name, None)

    def __getitem__(self, name: str) -> Any:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
