"""Use cases of usage records: register (one or a batch), read, search, delete.

Registration itself is `usage.intake` (shared with the CSV import); the daily totals and
the closing's loader are `usage.rollup` and `usage.repository`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.catalog.models import UsageItem
from kakin.contracts.models import Contract, Subscription
from kakin.contracts.service import ensure_period_open
from kakin.kit.errors import InvalidRequest
from kakin.kit.ids import new_id
from kakin.kit.pagination import Page, decode_cursor, encode_cursor
from kakin.tenancy.models import Tenant
from kakin.usage.errors import UsageRecordNotFound
from kakin.usage.intake import register_records
from kakin.usage.models import UsageRecord, UsageRecordId
from kakin.usage.records import Locate, Registration
from kakin.usage.schemas import UsageRecordOut
from kakin.usage.store import mark_days_pending

RESOURCE = "usage_record"


def plain(value: Decimal) -> Decimal:
    """1.500000 (NUMERIC) and 1.5 (text) are the same quantity: show it without padding."""
    return Decimal(format(value.normalize(), "f"))


def record_out(row: UsageRecord, usage_item_code: str) -> UsageRecordOut:
    return UsageRecordOut(
        record_id=row.record_id,
        subscription_id=row.subscription_id,
        usage_item_id=row.usage_item_id,
        usage_item=usage_item_code,
        quantity=plain(row.quantity),
        used_at=row.used_at,
        used_on=row.used_on,
        created_at=row.created_at,
    )


def _with_code() -> Select[UsageRecord, str]:
    return select(UsageRecord, UsageItem.code).join(
        UsageItem, UsageItem.id == UsageRecord.usage_item_id
    )


# --- registration -------------------------------------------------------------------------


def register_one(
    session: Session, tenant: Tenant, body: Mapping[str, Any], locate: Locate
) -> tuple[UsageRecordOut, bool]:
    """One record; (the record as stored, whether it was a same-content duplicate)."""
    result = register_records(session, tenant.time_zone, [body], locate)
    out = get_record(session, str(body["record_id"]))
    if result.accepted:
        record(session, "create", RESOURCE, out.record_id, after=_audit_row(out))
    return out, not result.accepted


def register_batch(
    session: Session,
    tenant: Tenant,
    records: Sequence[Mapping[str, Any]],
    locate: Locate,
    source: str = "api",
) -> Registration:
    """A batch, all or nothing. Audited as one event per batch (a bulk registration of
    tens of thousands of records a second would otherwise double its own writes)."""
    result = register_records(session, tenant.time_zone, records, locate)
    audit_batch(session, result, source)
    return result


def audit_batch(session: Session, result: Registration, source: str) -> None:
    """One audit event for a batch that stored records (the API's, or a whole file)."""
    if result.accepted:
        record(
            session,
            "register",
            "usage_batch",
            new_id("ubt"),
            after={
                "source": source,
                "accepted": result.accepted,
                "duplicates": len(result.duplicates),
                "first_record_id": result.first_record_id,
                "last_record_id": result.last_record_id,
            },
        )


def _audit_row(row: Any) -> dict[str, Any]:
    used_at = row.used_at if row.used_at.tzinfo else row.used_at.replace(tzinfo=dt.UTC)
    return {
        "subscription_id": row.subscription_id,
        "usage_item_id": row.usage_item_id,
        "quantity": str(plain(row.quantity)),
        "used_at": used_at.isoformat(),
        "used_on": row.used_on.isoformat(),
    }


# --- reading ------------------------------------------------------------------------------


def _used_on(session: Session, record_id: str) -> dt.date:
    """The local day of a registered record (from `usage_record_ids`: the partition to
    read, instead of one index probe per month)."""
    used_on = session.scalar(
        select(UsageRecordId.used_on).where(UsageRecordId.record_id == record_id)
    )
    if used_on is None:
        raise UsageRecordNotFound(record_id)
    return used_on


def get_record(session: Session, record_id: str) -> UsageRecordOut:
    used_on = _used_on(session, record_id)
    found = session.execute(
        _with_code().where(UsageRecord.record_id == record_id, UsageRecord.used_on == used_on)
    ).first()
    if found is None:
        raise UsageRecordNotFound(record_id)
    return record_out(found[0], found[1])


@dataclass(frozen=True)
class UsageFilter:
    subscription_id: str | None = None
    subscription_external_ref: str | None = None
    usage_item: str | None = None
    used_from: dt.date | None = None
    used_to: dt.date | None = None


def _cursor_out(row: UsageRecord) -> str:
    return encode_cursor(f"{row.used_on.isoformat()}|{row.record_id}")


def _cursor_in(cursor: str) -> tuple[dt.date, str]:
    text = decode_cursor(cursor)
    day, sep, record_id = text.partition("|")
    try:
        if not sep:
            raise ValueError(text)
        return dt.date.fromisoformat(day), record_id
    except ValueError:
        raise InvalidRequest([("/query/cursor", "not a cursor this API returned")]) from None


def search_records(
    session: Session, filters: UsageFilter, cursor: str | None, limit: int
) -> Page[UsageRecordOut]:
    """Records in (local day, record_id) order — keyset pagination that also lets
    PostgreSQL prune the month partitions outside `used_from`…`used_to`."""
    statement = _with_code()
    if filters.subscription_id is not None:
        statement = statement.where(UsageRecord.subscription_id == filters.subscription_id)
    if filters.subscription_external_ref is not None:
        statement = statement.where(
            UsageRecord.subscription_id.in_(
                select(Subscription.id).where(
                    Subscription.external_ref == filters.subscription_external_ref
                )
            )
        )
    if filters.usage_item is not None:
        statement = statement.where(
            (UsageItem.code == filters.usage_item) | (UsageItem.id == filters.usage_item)
        )
    if filters.used_from is not None:
        statement = statement.where(UsageRecord.used_on >= filters.used_from)
    if filters.used_to is not None:
        statement = statement.where(UsageRecord.used_on <= filters.used_to)
    if cursor:
        day, record_id = _cursor_in(cursor)
        statement = statement.where(
            or_(
                UsageRecord.used_on > day,
                and_(UsageRecord.used_on == day, UsageRecord.record_id > record_id),
            )
        )
    rows = session.execute(
        statement.order_by(UsageRecord.used_on, UsageRecord.record_id).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[UsageRecordOut](
        items=[record_out(row, code) for row, code in rows],
        next_cursor=_cursor_out(rows[-1][0]) if more and rows else None,
    )


# --- deletion -----------------------------------------------------------------------------


def delete_record(session: Session, record_id: str) -> None:
    """Delete a record and its id (the id may then be registered again), only while the
    billing period of its day is open: afterwards a correction is an adjustment
    (RATING.md §8)."""
    used_on = _used_on(session, record_id)
    row = session.scalar(
        select(UsageRecord).where(
            UsageRecord.record_id == record_id, UsageRecord.used_on == used_on
        )
    )
    if row is None:
        raise UsageRecordNotFound(record_id)
    contract = session.scalar(
        select(Contract)
        .join(Subscription, Subscription.contract_id == Contract.id)
        .where(Subscription.id == row.subscription_id)
    )
    if contract is not None:
        ensure_period_open(session, contract, row.used_on)
    before = _audit_row(row)
    session.execute(
        delete(UsageRecord)
        .where(UsageRecord.record_id == record_id, UsageRecord.used_on == row.used_on)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(UsageRecordId)
        .where(UsageRecordId.record_id == record_id)
        .execution_options(synchronize_session=False)
    )
    mark_days_pending(session, [row.used_on])
    record(session, "delete", RESOURCE, record_id, before=before)
