"""Domain errors. ``api/`` turns each into one HTTP status in one place."""

from __future__ import annotations


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
