"""Typed dependencies: settings, the database URL and bearer-token auth."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="One of TUNECOST_API_TOKENS, when any are configured.")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def database_url(settings: SettingsDep) -> str:
    return settings.resolved_database_url


UrlDep = Annotated[str, Depends(database_url)]


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
