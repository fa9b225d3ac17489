"""Monthly partitions of `usage_records` on PostgreSQL (SCALE.md: "Usage records are
append-only and partitioned by month").

The migration creates the partitioned table with a DEFAULT partition; a month's partition
is created on demand, before the first row of that month is written, in the schema
`usage_partitions` (so the application schema lists only the tables the models declare).
PostgreSQL refuses to create a month's partition while the DEFAULT partition holds rows of
that month, so a failure to create one is logged and the rows go to DEFAULT: nothing is
lost, the month is merely not pruned. Old partitions can be detached and archived on
their own. On SQLite there are no partitions and every function here does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Iterable

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

PARTITION_SCHEMA = "usage_partitions"
"""Where the partitions live (created by migration 0002)."""

PARENT_TABLE = "usage_records"

LOCK_TIMEOUT = "5s"
"""How long creating a partition may wait for the parent table's lock."""

log = logging.getLogger("kakin.usage.partitions")

_known: weakref.WeakKeyDictionary[Engine, set[dt.date]] = weakref.WeakKeyDictionary()
"""Months whose partition was seen to exist, per engine: a cache that can be dropped."""


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{PARENT_TABLE}_{month.year:04d}_{month.month:02d}"


def ensure_month_partitions(session: Session, days: Iterable[dt.date]) -> None:
    """Make sure each month of `days` has its partition, in the session's transaction.

    Call it before the transaction first reads or writes `usage_records`: creating a
    partition takes an exclusive lock on the parent table, which the transaction then
    holds until it ends (a new month's partition is created once, so this is rare). A
    lost race with another process creating the same partition is harmless.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    engine = bind if isinstance(bind, Engine) else bind.engine
    known = _known.setdefault(engine, set())
    wanted = {month_of(d) for d in days} - known
    if not wanted:
        return
    existing = set(
        session.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i"
                " JOIN pg_class c ON c.oid = i.inhrelid"
                " JOIN pg_class p ON p.oid = i.inhparent"
                " WHERE p.relname = :parent"
            ),
            {"parent": PARENT_TABLE},
        )
    )
    for month in sorted(wanted):
        name = partition_name(month)
        if name in existing or not _create_partition(session, month, name):
            # Existing, or not creatable now: either way not tried again by this process.
            known.add(month)


_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :t, true)")


def _create_partition(session: Session, month: dt.date, name: str) -> bool:
    """Create the month's partition; False if that failed (its rows then go to DEFAULT)."""
    ddl = (
        f'CREATE TABLE IF NOT EXISTS "{PARTITION_SCHEMA}"."{name}"'
        f' PARTITION OF "{PARENT_TABLE}"'
        f" FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
    )
    try:
        with session.begin_nested():
            previous = session.scalar(text("SELECT current_setting('lock_timeout')"))
            # Never queue behind a long reader of usage_records for long (and make every
            # other user of the table queue behind this DDL meanwhile).
            session.execute(_SET_LOCK_TIMEOUT, {"t": LOCK_TIMEOUT})
            session.execute(text(ddl))
            session.execute(_SET_LOCK_TIMEOUT, {"t": previous})
    except DBAPIError as exc:
        # Another process created it meanwhile, DEFAULT already holds rows of the month,
        # or the table stayed locked: the rows have a home all the same (the month's
        # partition or DEFAULT).
        log.warning("partition %s not created: %s", name, str(exc.orig).strip())
        return False
    return True
