"""Alembic environment: kakin's metadata, URL from the caller's config or KAKIN_DATABASE_URL."""

from __future__ import annotations

from typing import Any

from alembic import context

import kakin.models
from kakin.kit.db import make_engine
from kakin.settings import get_settings

config = context.config
target_metadata = kakin.models.Base.metadata

MANUAL_TABLES = frozenset(
    name for name, table in target_metadata.tables.items() if table.info.get("manual_migration")
)
"""Tables created by hand-written migrations (e.g. partitioned `usage_records`): autogenerate
cannot express them, so it and `alembic check` leave them and their indexes alone."""


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) not in MANUAL_TABLES


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
