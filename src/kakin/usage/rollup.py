"""The daily usage rollup (the seed's "every morning" batch): per-day totals.

SCALE.md: "Closings read per-day totals, not raw records." The rollup recomputes, from
the raw records, the totals of every day marked pending (records registered or deleted
since its last rollup) — or of given days wholesale — replacing what was there. It is
idempotent: running it twice gives the same table. Usage is visible to rating at once
anyway: `usage.repository` reads pending days from the raw records.

Each tenant's days are done in chunks, one transaction per chunk (a rerun of a chunk is
harmless). A day's mark is removed only if no registration bumped it meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from kakin.kit.bulk import insert_rows
from kakin.kit.db import current_tenant, tenant_session, unscoped_session, utcnow
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from kakin.usage.models import UsageDailyTotal, UsagePendingDay, UsageRecord
from kakin.usage.partitions import ensure_month_partitions, month_of, next_month

DAYS_PER_CHUNK = 31
"""Days recomputed per transaction."""


@dataclass
class RollupResult:
    tenants: int = 0
    days: int = 0
    totals: int = 0
    tenant_days: dict[str, list[dt.date]] = field(default_factory=dict)


def pending_days(session: Session) -> dict[dt.date, int]:
    """The tenant's days whose totals are stale → their change counter."""
    rows = session.execute(select(UsagePendingDay.used_on, UsagePendingDay.changes))
    return dict(rows.all())


def rollup_days(session: Session, days: Sequence[dt.date], marks: dict[dt.date, int]) -> int:
    """Recompute the tenant's totals of `days` from the raw records; clear the marks of
    those days that still carry the counter read in `marks`. Returns the totals written."""
    if not days:
        return 0
    tenant_id = current_tenant(session)
    session.execute(
        delete(UsageDailyTotal)
        .where(UsageDailyTotal.used_on.in_(days))
        .execution_options(synchronize_session=False)
    )
    written = _write_totals(session, tenant_id, days)
    for day in days:
        changes = marks.get(day)
        if changes is not None:
            session.execute(
                delete(UsagePendingDay)
                .where(UsagePendingDay.used_on == day, UsagePendingDay.changes == changes)
                .execution_options(synchronize_session=False)
            )
    session.flush()
    return written


def _write_totals(session: Session, tenant_id: str, days: Sequence[dt.date]) -> int:
    r = UsageRecord
    if session.get_bind().dialect.name == "postgresql":
        grouped = (
            select(
                r.tenant_id,
                r.subscription_id,
                r.usage_item_id,
                r.used_on,
                func.sum(r.quantity),
                func.count(),
                func.now(),
            )
            .where(r.tenant_id == tenant_id, r.used_on.in_(days))
            .group_by(r.tenant_id, r.subscription_id, r.usage_item_id, r.used_on)
        )
        result = session.connection().execute(
            insert(cast(Table, UsageDailyTotal.__table__)).from_select(
                [
                    "tenant_id",
                    "subscription_id",
                    "usage_item_id",
                    "used_on",
                    "raw_total",
                    "record_count",
                    "rolled_up_at",
                ],
                grouped,
            ),
            execution_options={"preserve_rowcount": True},
        )
        return result.rowcount
    # SQLite keeps decimals as text and would SUM them as floats: add them exactly here.
    totals: dict[tuple[str, str, dt.date], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    rows = session.execute(
        select(r.subscription_id, r.usage_item_id, r.used_on, r.quantity).where(r.used_on.in_(days))
    )
    for subscription_id, item_id, day, quantity in rows:
        key = (subscription_id, item_id, day)
        totals[key] += quantity
        counts[key] += 1
    now = utcnow()
    insert_rows(
        session,
        UsageDailyTotal,
        [
            {
                "subscription_id": key[0],
                "usage_item_id": key[1],
                "used_on": key[2],
                "raw_total": total,
                "record_count": counts[key],
                "rolled_up_at": now,
            }
            for key, total in totals.items()
        ],
    )
    return len(totals)


def run_rollup(
    runtime: Runtime,
    tenant_id: str | None = None,
    days: Iterable[dt.date] | None = None,
    today: dt.date | None = None,
) -> RollupResult:
    """The batch: for one tenant or every tenant, the pending days (or `days` wholesale).

    It also creates the partitions of this month and the next ahead of time, so usage
    arriving on a new month finds its partition waiting.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    with unscoped_session(runtime.sessions) as session:
        this_month = month_of(today)
        ensure_month_partitions(session, [this_month, next_month(this_month)])
        if tenant_id is not None:
            tenants = [tenant_id]
        elif days is not None:
            tenants = list(session.scalars(select(Tenant.tenant_id).order_by(Tenant.tenant_id)))
        else:
            tenants = list(
                session.scalars(
                    select(UsagePendingDay.tenant_id).distinct().order_by(UsagePendingDay.tenant_id)
                )
            )
    wanted = sorted(set(days)) if days is not None else None
    result = RollupResult()
    for tenant in tenants:
        with tenant_session(runtime.sessions, tenant) as session:
            marks = pending_days(session)
        todo = wanted if wanted is not None else sorted(marks)
        if not todo:
            continue
        result.tenants += 1
        result.days += len(todo)
        result.tenant_days[tenant] = todo
        for start in range(0, len(todo), DAYS_PER_CHUNK):
            chunk = todo[start : start + DAYS_PER_CHUNK]
            with tenant_session(runtime.sessions, tenant) as session:
                result.totals += rollup_days(session, chunk, marks)
    return result
