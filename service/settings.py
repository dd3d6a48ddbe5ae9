"""All configuration in one pydantic-settings class; every field reads ``TUNECOST_<NAME>``."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


def split_token(token: str) -> tuple[str, str]:
    """A configured token's (owner, secret): ``name:secret`` is owned by ``name``; a bare secret
    by ``sha256:`` and the first 16 hex digits of its digest. An owner survives the token list
    being reordered or other tokens rotated out, so a job's owner is never whoever takes its
    place in the list."""
    name, sep, secret = token.partition(":")
    if sep and secret and TOKEN_NAME.fullmatch(name):
        return name, secret
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16], token


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUNECOST_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".tunecost"), description="Where the embedded default keeps its files.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: a SQLite file under `home`.")
    ray_address: str | None = Field(
        None, description="Ray cluster to join (e.g. `ray://head:10001`); default: start a local one."
    )
    ray_num_cpus: int | None = Field(None, description="CPUs for a local Ray instance.")
    api_tokens: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens allowed to change state; empty: no auth. Env: JSON list or "
        "comma-separated. `name:secret` names its owner (rotate the secret, keep the name: the jobs "
        "stay its own); a bare secret is known by its digest (`sha256:` and 16 hex digits).",
    )
    admin_tokens: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Tokens that may also cancel other tokens' jobs (they can write too). Same format.",
    )
    auth_reads: bool = Field(False, description="Require a token for reads too.")
    data_dir: Path = Field(Path("data"), description="Where tasks that need files (CIFAR-10) look.")
    budget_cap: int = Field(2000, ge=1, description="Largest budget a job may ask for.")
    grid_cap: int = Field(
        250_000, ge=1, description="Most nodes a job's grid may have (a sweep trains every one)."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body the API reads.")
    lease_seconds: float = Field(
        60.0, gt=0, description="A running job whose heartbeat is older is reclaimed."
    )
    auto_migrate: bool = Field(True, description="Apply database migrations when the server starts.")
    poll_seconds: float = Field(1.0, gt=0, description="How often an idle runner looks for work.")

    @field_validator("api_tokens", "admin_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        """A JSON list or comma-separated tokens; an empty string is none. A value that is not
        empty but holds no token (``' , '``) is refused: it would silently turn auth off."""
        if isinstance(value, str):
            if not value:
                return []
            tokens = (
                json.loads(value) if value.strip().startswith("[") else [t.strip() for t in value.split(",")]
            )
            tokens = [t for t in tokens if isinstance(t, str) and t.strip()]
            if not tokens:
                raise ValueError(f"{value!r} holds no token; leave it empty (or unset) for no auth")
            return tokens
        return value

    def identity(self, presented: str) -> tuple[str, bool] | None:
        """Who a presented bearer secret is, and whether it is an admin; None: no token matches.
        Compared in constant time against every configured token."""
        found = None
        for admin, tokens in ((True, self.admin_tokens), (False, self.api_tokens)):
            for token in tokens:
                name, secret = split_token(token)
                if secrets.compare_digest(presented.encode(), secret.encode()) and found is None:
                    found = (name, admin)
        return found

    def admins(self) -> set[str]:
        return {split_token(t)[0] for t in self.admin_tokens}

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        """Absolute at start-up: a relative path would resolve inside Ray's per-trial working
        directory, where no data is."""
        return value.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'tunecost.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        """Optuna artifact store (figures attached to studies; the dashboard serves them)."""
        return (self.home / "artifacts").resolve()

    @property
    def reports_dir(self) -> Path:
        """Replay reports (table, CSV, figures) the runner writes and the API's report page serves."""
        return (self.home / "reports").resolve()

    @property
    def ray_results_dir(self) -> Path:
        return (self.home / "ray_results").resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
