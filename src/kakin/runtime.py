"""The process-wide parts a running kakin holds: settings, engine, sessions and keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kakin.kit.crypto import load_or_create_master_key
from kakin.kit.db import make_engine, make_read_session_factory, make_session_factory
from kakin.settings import Settings
from kakin.tenancy.keys import Keyring


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: Keyring
    read_sessions: sessionmaker[Session]
    """Sessions that only read, in autocommit (kit.db.make_read_session_factory)."""
    extras: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url())
        sessions = make_session_factory(engine)
        master_key = load_or_create_master_key(
            settings.master_key, Path(settings.var_dir) / "master.key"
        )
        return cls(
            settings,
            engine,
            sessions,
            Keyring(master_key, sessions),
            make_read_session_factory(engine),
        )

    def close(self) -> None:
        self.engine.dispose()
