"""Typed dependencies: settings, one database session per request, bearer-token auth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tunecost.service.db import Session, session_scope
from tunecost.service.settings import Settings
from tunecost.service.specs import MAX_INT

# Ids and offsets fit the database's 32-bit integers: a larger one is a 422, not an overflow.
PathId = Annotated[int, Path(ge=1, le=MAX_INT)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_INT)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]

_bearer = HTTPBearer(auto_error=False, description="One of TUNECOST_API_TOKENS, when any are configured.")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """One session, one transaction per request: committed when the route returns, rolled back
    when it raises, so a request that fails writes nothing."""
    with session_scope(settings.resolved_database_url) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a 2xx means committed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _caller(settings: Settings, scheme: str, secret: str) -> str | tuple[int, str]:
    """Who presents ``scheme`` and ``secret``: the owner name (a named token's name, else its
    digest; see :func:`tunecost.service.settings.split_token`), or (status, detail) to refuse it with."""
    if scheme.lower() != "bearer" or not secret:
        return status.HTTP_401_UNAUTHORIZED, "Not authenticated"
    found = settings.identity(secret)
    return (status.HTTP_403_FORBIDDEN, "Invalid token") if found is None else found[0]


def _check_token(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The caller's owner name for a route, or None when auth is off."""
    if not settings.api_tokens and not settings.admin_tokens:
        return None
    caller = _caller(settings, *((credentials.scheme, credentials.credentials) if credentials else ("", "")))
    if isinstance(caller, tuple):
        code, detail = caller
        headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
        raise HTTPException(code, detail, headers=headers)
    return caller


def authorize(settings: Settings) -> Callable[[bytes | None, bool], tuple[int, str] | None] | None:
    """The check :class:`tunecost.api.guards.RequestGuard` runs before a /v1 request's body is read:
    (status, detail) to refuse it with, or None to let it through (the route's dependency then
    names the caller). None when no token is configured."""
    if not settings.api_tokens and not settings.admin_tokens:
        return None

    def check(header: bytes | None, write: bool) -> tuple[int, str] | None:
        if not write and not settings.auth_reads:
            return None
        scheme, _, secret = (header or b"").decode("latin-1").partition(" ")
        caller = _caller(settings, scheme, secret.strip())
        return caller if isinstance(caller, tuple) else None

    return check


def is_admin(settings: Settings, caller: str | None) -> bool:
    return caller is not None and caller in settings.admins()


def require_writer(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str | None:
    return _check_token(settings, credentials)


def require_reader(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str | None:
    return _check_token(settings, credentials) if settings.auth_reads else None


WriterDep = Annotated[str | None, Depends(require_writer)]
