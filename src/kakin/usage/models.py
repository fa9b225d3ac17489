"""Tables of the usage domain.

`usage_records` is append-only and, on PostgreSQL, declaratively partitioned by month of
`used_on` (SCALE.md). Alembic's autogenerate cannot express partitioning, so the table is
marked `manual_migration` and created by the hand-written migration 0002; `migrations/env.py`
leaves such tables out of autogenerate and `alembic check`. A partitioned table's unique
key must contain the partition column, hence the primary key `(tenant_id, record_id,
used_on)`. That a `record_id` is stored once in the tenant, whatever its date, is the
primary key of the unpartitioned `usage_record_ids`: each registration claims its ids
there (`INSERT … ON CONFLICT DO NOTHING`, set-wise) in the transaction that stores the
records, so of concurrent registrations of one id exactly one stores it (`usage.intake`).

`usage_daily_totals` holds per (subscription, usage item, local day) sums written by the
daily rollup; `usage_pending_days` lists the tenant's days whose totals are stale (records
arrived or were deleted since the rollup), so readers take those days from the raw records.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kakin.kit.db import ID_LENGTH, Base, ExactDecimal, TenantOwned, utcnow

RECORD_ID_LENGTH = 64
"""A caller-chosen record id: room for a UUID or a source system's key, and short enough
to be an audit trail's resource id."""

CONTENT_HASH_LENGTH = 32
"""Hex of a 16-byte BLAKE2b digest of a record's content (see `records.content_hash`)."""

MANUAL_MIGRATION = {"manual_migration": True}
"""`Table.info` flag: the table is created by a hand-written migration (see env.py)."""


class UsageRecord(TenantOwned, Base):
    """利用実績: a quantity of a usage item used by a subscription at a time.

    `used_on` is the tenant-local date of `used_at` (RATING.md §2 "A usage record belongs
    to the period that contains its local date"), fixed when the record is registered.
    """

    __tablename__ = "usage_records"

    record_id: Mapped[str] = mapped_column(String(RECORD_ID_LENGTH), primary_key=True)
    used_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    usage_item_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    used_at: Mapped[dt.datetime] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(CONTENT_HASH_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_usage_records_subscription_day", "tenant_id", "subscription_id", "used_on"),
        # RATING.md §8: the closing finds late usage among the records that arrived since
        # the last closing and are dated before the current period, whatever their age
        # (billing.history): a range of arrival times, the day checked inside the index.
        Index("ix_usage_records_arrival", "tenant_id", "created_at", "used_on"),
        {"info": MANUAL_MIGRATION},
    )


class UsageRecordId(TenantOwned, Base):
    """The tenant's registered record ids: one row per usage record, written and deleted
    with it. Its key is what makes a `record_id` unique across the monthly partitions;
    `content_hash` tells a same-content repeat from a conflicting one, and `used_on`
    names the partition holding the record, without looking into every month."""

    __tablename__ = "usage_record_ids"

    record_id: Mapped[str] = mapped_column(String(RECORD_ID_LENGTH), primary_key=True)
    used_on: Mapped[dt.date] = mapped_column(Date)
    content_hash: Mapped[str] = mapped_column(String(CONTENT_HASH_LENGTH))


class UsageDailyTotal(TenantOwned, Base):
    """The raw quantity and record count of one subscription's usage item on one local day,
    as of the last rollup of that day (SCALE.md: "Closings read per-day totals")."""

    __tablename__ = "usage_daily_totals"

    subscription_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    usage_item_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    used_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    raw_total: Mapped[Decimal] = mapped_column(ExactDecimal(precision=30))
    record_count: Mapped[int] = mapped_column()
    rolled_up_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_usage_daily_totals_day", "tenant_id", "used_on"),)


class UsagePendingDay(TenantOwned, Base):
    """A local day of the tenant whose daily totals are stale.

    Every registration or deletion bumps `changes` for the days it touched (an upsert in
    its own transaction); the rollup recomputes a day and then deletes the mark only if
    `changes` is still what it read, so a registration that commits meanwhile keeps its
    day pending instead of being lost.
    """

    __tablename__ = "usage_pending_days"

    used_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    changes: Mapped[int] = mapped_column(default=1)
