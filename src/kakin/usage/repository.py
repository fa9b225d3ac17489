"""What the closing batch reads: usage per subscription, as `kakin.rating.usage.UsageEntry`.

For items rated over the period total (`per_total`) an entry is a day's total: taken from
`usage_daily_totals` for rolled-up days and summed from the raw records for the tenant's
pending days (so usage is visible to rating at once, before the morning rollup). For items
rated per record (`per_record`, RATING.md §4 "each call rounded up to its units and priced
on its own") an entry is one record, in the order of `used_at`. A whole chunk of
subscriptions is read with a handful of queries, never one per subscription.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kakin.catalog.models import UsageItem
from kakin.contracts.models import Subscription
from kakin.kit.bulk import id_chunks, in_values
from kakin.rating.usage import UsageEntry
from kakin.usage.models import UsageDailyTotal, UsagePendingDay, UsageRecord

PER_RECORD = "per_record"
"""`UsageItem.rating` of items rated record by record (catalog.schemas.UsageRating)."""


def load_usage(
    session: Session,
    subscription_ids: Iterable[str],
    period_start: dt.date,
    period_end: dt.date,
) -> dict[str, list[UsageEntry]]:
    """Usage of `subscription_ids` on the local days `period_start`…`period_end`
    (inclusive): subscription id → entries ordered by usage item, then day (per-total
    items) or `used_at` (per-record items). Subscriptions without usage are absent."""
    per_record = set(session.scalars(select(UsageItem.id).where(UsageItem.rating == PER_RECORD)))
    pending = sorted(
        session.scalars(
            select(UsagePendingDay.used_on).where(
                UsagePendingDay.used_on >= period_start, UsagePendingDay.used_on <= period_end
            )
        )
    )
    totals: dict[tuple[str, str, dt.date], Decimal] = {}
    records: list[tuple[str, str, dt.datetime, str, dt.date, Decimal]] = []
    for chunk in id_chunks(session, sorted(set(subscription_ids))):
        _rolled_up(session, chunk, period_start, period_end, pending, per_record, totals)
        if pending:
            _pending(session, chunk, pending, per_record, totals)
        if per_record:
            records.extend(_per_record(session, chunk, period_start, period_end, per_record))
    usage: dict[str, list[UsageEntry]] = defaultdict(list)
    for (subscription_id, item_id, day), raw in sorted(totals.items()):
        usage[subscription_id].append(UsageEntry(subscription_id, item_id, day, raw))
    for subscription_id, item_id, _, _, day, raw in sorted(records):
        usage[subscription_id].append(UsageEntry(subscription_id, item_id, day, raw))
    for entries in usage.values():
        entries.sort(key=lambda e: e.usage_item_id)  # stable: keeps day / used_at order
    return dict(usage)


def load_usage_of_contracts(
    session: Session, contract_ids: Collection[str], period_start: dt.date, period_end: dt.date
) -> dict[str, list[UsageEntry]]:
    """`load_usage` for every subscription of `contract_ids` (the closing's chunks)."""
    subscription_ids: list[str] = []
    for chunk in id_chunks(session, sorted(set(contract_ids))):
        subscription_ids.extend(
            session.scalars(
                select(Subscription.id).where(in_values(session, Subscription.contract_id, chunk))
            )
        )
    return load_usage(session, subscription_ids, period_start, period_end)


def _rolled_up(
    session: Session,
    chunk: Collection[str],
    start: dt.date,
    end: dt.date,
    pending: list[dt.date],
    per_record: set[str],
    totals: dict[tuple[str, str, dt.date], Decimal],
) -> None:
    t = UsageDailyTotal
    statement = select(t.subscription_id, t.usage_item_id, t.used_on, t.raw_total).where(
        in_values(session, t.subscription_id, list(chunk)), t.used_on >= start, t.used_on <= end
    )
    if pending:
        statement = statement.where(t.used_on.not_in(pending))
    for subscription_id, item_id, day, raw in session.execute(statement):
        if item_id not in per_record:
            totals[(subscription_id, item_id, day)] = raw


def _pending(
    session: Session,
    chunk: Collection[str],
    pending: list[dt.date],
    per_record: set[str],
    totals: dict[tuple[str, str, dt.date], Decimal],
) -> None:
    """Day totals of the pending days, summed from the raw records."""
    r = UsageRecord
    where = (in_values(session, r.subscription_id, list(chunk)), r.used_on.in_(pending))
    if session.get_bind().dialect.name == "postgresql":
        grouped = (
            select(r.subscription_id, r.usage_item_id, r.used_on, func.sum(r.quantity))
            .where(*where)
            .group_by(r.subscription_id, r.usage_item_id, r.used_on)
        )
        for subscription_id, item_id, day, raw in session.execute(grouped):
            if item_id not in per_record:
                totals[(subscription_id, item_id, day)] = Decimal(raw)
        return
    # SQLite keeps decimals as text and would SUM them as floats: add them exactly here.
    rows = session.execute(
        select(r.subscription_id, r.usage_item_id, r.used_on, r.quantity).where(*where)
    )
    for subscription_id, item_id, day, quantity in rows:
        if item_id not in per_record:
            key = (subscription_id, item_id, day)
            totals[key] = totals.get(key, Decimal(0)) + quantity


def _per_record(
    session: Session,
    chunk: Collection[str],
    start: dt.date,
    end: dt.date,
    per_record: set[str],
) -> Iterable[tuple[str, str, dt.datetime, str, dt.date, Decimal]]:
    r = UsageRecord
    rows = session.execute(
        select(
            r.subscription_id, r.usage_item_id, r.used_at, r.record_id, r.used_on, r.quantity
        ).where(
            in_values(session, r.subscription_id, list(chunk)),
            r.usage_item_id.in_(sorted(per_record)),
            r.used_on >= start,
            r.used_on <= end,
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]
