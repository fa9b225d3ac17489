"""Configuration from KAKIN_* environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator may set; each field is `KAKIN_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KAKIN_", env_file=None)

    var_dir: Path = Path("var")
    """Where the embedded database and the generated master key live by default."""

    database_url: str = ""
    """SQLAlchemy URL; empty means a SQLite file `kakin.db` under `var_dir`."""

    master_key: str = ""
    """Base64 of 32 bytes wrapping every tenant's data key; empty means `var_dir/master.key`."""

    scheduler_interval_seconds: float = 300.0
    """How often `kakin serve` / `kakin worker` look for due rollups and closings; 0 turns
    the scheduler off in `kakin serve` (run `kakin worker` instead)."""

    access_token_ttl_seconds: int = 3600
    """RFC 6749 §4.4 tokens are short-lived: one hour unless configured."""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'kakin.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
