"""Typed dependencies: settings, one database session per request, bearer-token auth."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.db import Session, session_scope
from service.settings import Settings

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


def _check_token(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """Returns the caller's name ('token-N') or None when auth is off."""
    if not settings.api_tokens:
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    for i, token in enumerate(settings.api_tokens):
        if secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            return f"token-{i}"
    raise HTTPException(status.HTTP_403_FORBIDDEN, "Invalid token")


def require_writer(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str | None:
    return _check_token(settings, credentials)


def require_reader(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str | None:
    return _check_token(settings, credentials) if settings.auth_reads else None


WriterDep = Annotated[str | None, Depends(require_writer)]
