"""Database plumbing: the declarative base, column types, engines and tenant scoping.

Tenant scoping is ONE mechanism (STYLE.md, Polar's `get_readable_statement`): every ORM
statement run by a `Session` whose `info["tenant_id"]` is set gets a loader criterion
`tenant_id = :tenant` on every tenant-owned entity it touches, and every new tenant-owned
object is stamped with that tenant at flush. A session without a tenant refuses to touch
tenant-owned tables unless it was opened explicitly as unscoped (the CLI's admin paths).
"""

from __future__ import annotations

import datetime as dt
import select
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from psycopg.pq import ConnStatus
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    Numeric,
    String,
    create_engine,
    event,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so Alembic migrations are stable on both databases."""

ID_LENGTH = 40


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as UTC and always returned timezone-aware (SQLite drops offsets)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a Core aggregate
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value  # type: ignore[no-any-return]


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal kept exactly: NUMERIC on PostgreSQL, canonical text on SQLite.

    SQLite has no decimal type (its NUMERIC is a float), and money must never pass
    through a float.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 24, scale: int = 6) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return format(Decimal(value), "f")
        return Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        Decimal: ExactDecimal(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        int: BigInteger(),
    }


class TenantOwned:
    """Mixin of every tenant-owned table: `tenant_id` first in the primary key.

    SCALE.md: tenant_id leads every primary and unique key, so a table can be sharded by
    tenant (Citus) without change. No foreign key may cross tenants: composite foreign
    keys always include tenant_id.
    """

    tenant_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, sort_order=-10)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- engines and sessions ---------------------------------------------------------------


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


POOL_RECYCLE_SECONDS = 1800
"""A pooled PostgreSQL connection is replaced after half an hour, before firewalls or
load balancers that silently drop long-idle TCP connections would."""


def _closed_while_idle(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Pool checkout: refuse a connection the server closed while it sat in the pool.

    This replaces `pool_pre_ping`, which costs a round trip on every checkout (a third of
    a primary-key GET's). An idle PostgreSQL connection receives nothing unless the server
    ends it (restart, `pg_terminate_backend`, `idle_session_timeout`): then its socket is
    readable (the server's FATAL message, then EOF). Polling the socket costs no round trip;
    `DisconnectionError` makes the pool discard the connection and check out another.
    A connection lost without the server's goodbye (a network cut) fails its first
    statement instead, and SQLAlchemy then invalidates it and the pool's older ones.
    """
    pgconn = dbapi_connection.pgconn
    if dbapi_connection.closed or pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server closed this connection while it was pooled")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if engine.dialect.driver == "psycopg" and not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _closed_while_idle)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


READ_ONLY = "read_only"


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read: each statement runs in autocommit.

    A route running one SELECT then costs one round trip instead of three (BEGIN, the
    SELECT, COMMIT); PostgreSQL's default READ COMMITTED gives each statement of a
    transaction its own snapshot anyway, so reads lose no consistency. Such a session
    refuses to write (`ReadOnlySession`): it is scoped to its tenant like any other.
    """
    return sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        info={READ_ONLY: True},
    )


class ReadOnlySession(RuntimeError):
    """A write through a session made by `make_read_session_factory`."""


class TenantScopeMissing(RuntimeError):
    """A tenant-owned table was touched by a session that has no tenant and is not unscoped."""


def current_tenant(session: Session) -> str:
    tenant_id = session.info.get("tenant_id")
    if not tenant_id:
        raise TenantScopeMissing("this session is not scoped to a tenant")
    return str(tenant_id)


@contextmanager
def tenant_session(factory: sessionmaker[Session], tenant_id: str) -> Iterator[Session]:
    """A session scoped to one tenant that commits on success and rolls back on error."""
    with factory() as session:
        session.info["tenant_id"] = tenant_id
        with session.begin():
            yield session


@contextmanager
def unscoped_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for the few cross-tenant paths (tenant directory, start-up key check)."""
    with factory() as session:
        session.info["unscoped"] = True
        with session.begin():
            yield session


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return  # the parent statement already carried the criterion
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and state.session.info.get(READ_ONLY):
        raise ReadOnlySession("a read-only session may not write")
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        if not state.session.info.get("unscoped") and _touches_tenant_tables(state):
            raise TenantScopeMissing("tenant-owned table queried without a tenant scope")
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.tenant_id == tenant_id,
                include_aliases=True,
                track_closure_variables=False,
            )
        )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySession("a read-only session may not write")
    tenant_id = session.info.get("tenant_id")
    for obj in session.new:
        if isinstance(obj, TenantOwned):
            if tenant_id is None:
                if not session.info.get("unscoped"):
                    raise TenantScopeMissing("tenant-owned row added without a tenant scope")
                continue
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
            elif obj.tenant_id != tenant_id:
                raise TenantScopeMissing("row of another tenant added to a scoped session")
