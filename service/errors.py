"""Domain errors. ``api/`` turns each into one HTTP status in one place."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class TunecostError(Exception):
    """Base class of every error the service raises on purpose."""


class NotFound(TunecostError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class InvalidField(TunecostError):
    """Input that passed the schema but not the service's rules (e.g. the budget cap).
    ``where`` is the part of the request the field is in: ``body`` or ``query``."""

    def __init__(self, field: str, message: str, *, where: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.where = where


class Conflict(TunecostError):
    """The request is valid but the resource's state forbids it (cancel a finished job)."""


class Forbidden(TunecostError):
    """The caller is known but may not do this (cancel another token's job)."""


class Unplaceable(TunecostError):
    """A job asks for resources that no node of the Ray cluster has: it fails at once rather
    than wait forever and block the runner."""


def one_line(exc: BaseException, limit: int = 1000) -> str:
    """A job's ``error``: the user's own exception as one line, ``Type: message (where)``.

    Ray wraps an exception raised in a task in a ``RayTaskError`` whose text is the worker's
    whole traceback, with colour codes, paths and addresses; its ``cause`` is the exception the
    user's code raised. Notes added on the way (``exc.add_note``: which configs, which seed)
    are kept. The traceback itself belongs in the server log, never in the job row.
    """
    seen = set()
    while (cause := getattr(exc, "cause", None)) is not None and isinstance(cause, BaseException):
        if id(cause) in seen:
            break
        seen.add(id(cause))
        exc = cause
    message = " ".join(_ANSI.sub("", str(exc)).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    notes = [" ".join(_ANSI.sub("", note).split()) for note in getattr(exc, "__notes__", ())]
    if notes:
        text += f" ({'; '.join(notes)})"
    return text if len(text) <= limit else text[: limit - 1] + "…"
