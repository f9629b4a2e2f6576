"""One typed settings object, built lazily so that importing a flow module never reads the
environment or touches the disk (a Prefect worker imports flows to load them)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHUCUN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path.home() / ".zhucun",
        description="Where zhucun keeps its SQLite database, Prefect's own database and logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of zhucun's database; default: a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    batch_size: int = Field(default=2000, ge=50, le=100_000, description="Rows per batch.")
    policy_year: int | None = Field(default=None, description="Policy year override.")
    policy_region: str | None = Field(default=None, description="Policy region override.")
    db_lock_timeout_ms: int | None = Field(
        default=None,
        ge=1,
        description="PostgreSQL lock_timeout of zhucun's sessions (ms); default: the server's.",
    )
    task_workers: int = Field(default=2, ge=1, le=64, description="Threads per flow's task runner.")
    server_port: int = Field(default=4200, description="Port of the local Prefect server.")
    lang: Literal["zh", "en"] = Field(
        default="zh",
        description="Language of operator-facing CLI text (headers, labels, summaries): zh or "
        "en. Files keep their stable codes; importer rule messages are not translated.",
    )
    county: str | None = Field(
        default=None,
        pattern=r"^\d{6}$",
        description="County (6-digit code) that scheduled deployments run for by default.",
    )

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'zhucun.db'}"

    @property
    def prefect_home(self) -> Path:
        """Prefect's own home (and SQLite database): never the same file as zhucun's."""
        return self.data_dir / "prefect"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


# What else must be forgotten with the settings (zhucun.db registers its engine cache):
# settings sit at the bottom of the layers and import nothing of zhucun's.
_ON_RESET: list[Callable[[], None]] = []


def on_reset(callback: Callable[[], None]) -> None:
    if callback not in _ON_RESET:
        _ON_RESET.append(callback)


def reset_settings() -> None:
    """Forget cached settings (and engines): for tests and for the CLI's --data-dir option."""
    get_settings.cache_clear()
    for callback in _ON_RESET:
        callback()
