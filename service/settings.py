"""All configuration in one pydantic-settings class; every field reads ``TUNECOST_<NAME>``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
        description="Bearer tokens allowed to change state; empty: no auth. Env: JSON list or comma-separated.",
    )
    auth_reads: bool = Field(False, description="Require a token for reads too.")
    data_dir: Path = Field(Path("data"), description="Where tasks that need files (CIFAR-10) look.")
    budget_cap: int = Field(2000, ge=1, description="Largest budget a job may ask for.")
    lease_seconds: float = Field(
        60.0, gt=0, description="A running job whose heartbeat is older is reclaimed."
    )
    auto_migrate: bool = Field(True, description="Apply database migrations when the server starts.")
    poll_seconds: float = Field(1.0, gt=0, description="How often an idle runner looks for work.")

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [t.strip() for t in value.split(",") if t.strip()]
        return value

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
    def ray_results_dir(self) -> Path:
        return (self.home / "ray_results").resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
