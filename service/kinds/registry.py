"""The job kinds by name: the built-ins (``_BUILTIN``, each named by import path and imported on
first use, so listing kinds imports no kind's dependencies) and those :func:`register` added at
run time; :func:`spec_union`, every spec as one body tagged by ``kind``."""

from __future__ import annotations

import importlib
import threading
from typing import Annotated, Any, Union

from pydantic import Field

from tunecost.service.kinds.base import JobKind, Links
from tunecost.service.models import Job

_BUILTIN: dict[str, str] = {
    "search": "tunecost.service.kinds.search.kind:KIND",
    "sweep": "tunecost.service.kinds.sweep.kind:KIND",
    "replay": "tunecost.service.kinds.replay.kind:KIND",
}
_registered: dict[str, JobKind[Any, Any]] = {}
_lock = threading.Lock()


def _load(path: str) -> JobKind[Any, Any]:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def kinds() -> dict[str, JobKind[Any, Any]]:
    """Every kind by name: the built-ins first, then those registered at run time."""
    with _lock:
        for name, path in _BUILTIN.items():
            if name not in _registered:
                _registered[name] = _load(path)
        return dict(_registered)


def get(name: str) -> JobKind[Any, Any]:
    found = kinds().get(name)
    if found is None:
        raise ValueError(f"unknown job kind {name!r}; known: {sorted(kinds())}")
    return found


def links(job: Job) -> Links:
    """Where a job's product is, by its kind (none for a kind no longer registered)."""
    kind = kinds().get(job.kind)
    return Links() if kind is None else kind.links(job)


def warnings(job: Job) -> list[str]:
    kind = kinds().get(job.kind)
    return [] if kind is None else kind.warnings(job)


def register(kind: JobKind[Any, Any]) -> JobKind[Any, Any]:
    """Add a kind (its spec must have ``kind: Literal[<name>]``). Apps created afterwards accept it."""
    with _lock:
        if kind.name in _registered or kind.name in _BUILTIN:
            raise ValueError(f"job kind {kind.name!r} is already registered")
        _registered[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    with _lock:
        if name in _BUILTIN:
            raise ValueError(f"job kind {name!r} is built in")
        _registered.pop(name, None)


def spec_union() -> Any:
    """Every kind's spec as one pydantic type, tagged by ``kind``: the REST body."""
    models = tuple(kind.spec_model for kind in kinds().values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007 - a runtime tuple
