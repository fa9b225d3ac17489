"""Registering usage records: the one place that validates and stores them.

The API (one record or a batch) and the CSV import hand their records here as plain
mappings of field → value (JSON values, or CSV strings). The rules, from the issue and
RATING.md §4:

- `record_id` (caller-chosen, unique in the tenant), `subscription_id` *or*
  `subscription_external_ref`, `usage_item` (the usage item's code), `quantity` (a
  non-negative decimal string with at most 6 decimal places) and `used_at` (an ISO 8601
  timestamp with a UTC offset).
- "A usage record must fall on a day inside its subscription's life (start to end); any
  other is refused when it is registered" — the day being the tenant-local date.
- A repeated `record_id` with the same content is accepted once and reported as a
  duplicate; with other content the whole request is a 409.
- Any invalid record and nothing is stored; every bad record is listed.

It is set-based for speed (SCALE.md, tens of thousands of records a second): the
subscriptions, usage items and already-registered record ids a batch needs are read with
one query per chunk of ids, the records are checked in memory, and the new rows are
written with `COPY` on PostgreSQL (one executemany on SQLite).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from kakin.catalog.models import UsageItem
from kakin.contracts.models import Subscription
from kakin.kit.bounds import check_date_range
from kakin.kit.bulk import (
    LOOKUP_CHUNK_POSTGRESQL,
    chunks,
    id_chunks,
    in_values,
    insert_rows,
)
from kakin.kit.db import current_tenant, utcnow
from kakin.rating.usage import is_within_life
from kakin.usage.errors import (
    UsageRecordConflict,
    UsageRecordsInvalid,
)
from kakin.usage.models import RECORD_ID_LENGTH, UsagePendingDay, UsageRecord, UsageRecordId
from kakin.usage.partitions import ensure_month_partitions

FIELDS = (
    "record_id",
    "subscription_id",
    "subscription_external_ref",
    "usage_item",
    "quantity",
    "used_at",
)
"""A usage record's fields, in the order of the CSV header."""

MAX_BATCH = 10_000
"""The issue: `POST /v1/usage-records/batch` takes up to 10,000 records in one request."""

QUANTITY_PLACES = 6
"""RATING.md §1: quantities and unit prices carry up to 6 decimal places."""

QUANTITY_DIGITS = 18
"""Digits before the point that fit `ExactDecimal()` (NUMERIC(24, 6))."""

_ALLOWED = frozenset(FIELDS)
_QUANTITY = re.compile(
    rf"[0-9]{{1,{QUANTITY_DIGITS}}}(?:\.[0-9]{{1,{QUANTITY_PLACES}}})?"  # ASCII digits only
)
_UTC = dt.UTC

Locate = Callable[[int, str], str]
"""Where a record's field is, for error reports: (index, field) → a JSON pointer or a
file position."""

T = TypeVar("T")


class Row(NamedTuple):
    """A validated record, ready to store."""

    record_id: str
    used_on: dt.date
    subscription_id: str
    usage_item_id: str
    quantity: Decimal
    used_at: dt.datetime  # naive UTC, as the column stores it (kit.db.UTCDateTime)
    content_hash: str


@dataclass
class Registration:
    """What a registration did: rows stored, and the same-content duplicates skipped."""

    stored: list[Row] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    """(index in the request, record_id) of each record accepted earlier."""


@lru_cache(maxsize=64)
def tenant_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 - naive UTC, like the stored instants


def content_hash(
    subscription_id: str, usage_item_id: str, quantity: Decimal, used_at_utc: dt.datetime
) -> str:
    """A record's content, to tell a same-content repeat from a conflicting one: the
    resolved subscription and item (so addressing by id or external reference is the same
    content), the quantity's value (1.50 = 1.5) and the instant (`used_at_utc`, naive UTC:
    the same instant written with another offset is the same content)."""
    since = used_at_utc - _EPOCH
    canonical = (
        f"{subscription_id}\x1f{usage_item_id}\x1f{format(quantity.normalize(), 'f')}"
        f"\x1f{since.days}.{since.seconds}.{since.microseconds}"
    )
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


# --- parsing one record -------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A string field's value; an empty string (a blank CSV cell) counts as absent."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else None


def parse_quantity(value: Any) -> Decimal | str:
    """The quantity, or the reason it is refused."""
    if isinstance(value, str):
        if _QUANTITY.fullmatch(value):
            return Decimal(value)
        if not value:
            return "required"
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return "not a decimal number"
        if not number.is_finite():
            return "not a decimal number"
        if number < 0:
            return "must not be negative"
        if number.as_tuple().exponent < -QUANTITY_PLACES:  # type: ignore[operator]
            return f"at most {QUANTITY_PLACES} decimal places"
        if number >= 10**QUANTITY_DIGITS:
            return f"at most {QUANTITY_DIGITS} digits before the decimal point"
        return "write a plain decimal such as 12.5"
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            return "must not be negative"
        if value >= 10**QUANTITY_DIGITS:
            return f"at most {QUANTITY_DIGITS} digits before the decimal point"
        return Decimal(value)
    if value is None:
        return "required"
    return 'a decimal string such as "12.5" (JSON numbers with a fraction lose precision)'


def parse_used_at(value: Any) -> dt.datetime | str:
    """The instant (aware), or the reason it is refused."""
    if not isinstance(value, str) or not value:
        return "required" if value is None or value == "" else "an ISO 8601 timestamp string"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return "not an ISO 8601 timestamp"
    if moment.tzinfo is None:
        return "needs a UTC offset, e.g. 2026-11-01T09:30:00+09:00 or …Z"
    return check_date_range(moment) or moment


@dataclass(slots=True)
class _Parsed:
    index: int
    record_id: str
    subscription_id: str | None
    external_ref: str | None
    usage_item: str
    quantity: Decimal
    used_at: dt.datetime


def _parse(
    index: int, raw: Mapping[str, Any], locate: Locate, errors: list[tuple[str, str]]
) -> _Parsed | None:
    bad = len(errors)
    if not isinstance(raw, Mapping):
        errors.append((locate(index, ""), "a usage record must be an object"))
        return None
    if len(raw) > len(FIELDS) or not raw.keys() <= _ALLOWED:
        for name in sorted(raw.keys() - _ALLOWED):
            errors.append((locate(index, str(name)), "unknown field"))
    record_id = raw.get("record_id")
    if not isinstance(record_id, str) or not record_id:
        errors.append((locate(index, "record_id"), "required, a string"))
    elif len(record_id) > RECORD_ID_LENGTH or not record_id.isprintable():
        errors.append(
            (
                locate(index, "record_id"),
                f"1 to {RECORD_ID_LENGTH} printable characters",
            )
        )
    subscription_id = _text(raw.get("subscription_id"))
    external_ref = _text(raw.get("subscription_external_ref"))
    if (subscription_id is None) == (external_ref is None):
        for name in ("subscription_id", "subscription_external_ref"):
            if raw.get(name) not in (None, "") and _text(raw.get(name)) is None:
                errors.append((locate(index, name), "a string"))
                break
        else:
            errors.append(
                (
                    locate(index, "subscription_id"),
                    "give exactly one of subscription_id and subscription_external_ref",
                )
            )
    usage_item = _text(raw.get("usage_item"))
    if usage_item is None:
        errors.append((locate(index, "usage_item"), "required, the usage item's code"))
    quantity = parse_quantity(raw.get("quantity"))
    if isinstance(quantity, str):
        errors.append((locate(index, "quantity"), quantity))
    used_at = parse_used_at(raw.get("used_at"))
    if isinstance(used_at, str):
        errors.append((locate(index, "used_at"), used_at))
    if len(errors) > bad:
        return None
    return _Parsed(
        index,
        record_id,  # type: ignore[arg-type]
        subscription_id,
        external_ref,
        usage_item,  # type: ignore[arg-type]
        quantity,  # type: ignore[arg-type]
        used_at,  # type: ignore[arg-type]
    )


# --- validating a batch -------------------------------------------------------------------


class _Life(NamedTuple):
    id: str
    start: dt.date
    end: dt.date | None


def _subscriptions(
    session: Session, column: InstrumentedAttribute[Any], keys: set[str]
) -> dict[str, _Life]:
    found: dict[str, _Life] = {}
    for chunk in id_chunks(session, sorted(keys)):
        rows = session.execute(
            select(column, Subscription.id, Subscription.start_date, Subscription.end_date).where(
                in_values(session, column, chunk)
            )
        )
        for key, sub_id, start, end in rows:
            found[key] = _Life(sub_id, start, end)
    return found


def _usage_items(session: Session, references: set[str]) -> dict[str, str]:
    """Reference → usage item id, a usage item being named by its code or its id (the API
    takes either wherever it takes a master)."""
    found: dict[str, str] = {}
    for chunk in id_chunks(session, sorted(references)):
        rows = session.execute(
            select(UsageItem.code, UsageItem.id).where(
                in_values(session, UsageItem.code, chunk) | in_values(session, UsageItem.id, chunk)
            )
        )
        for code, item_id in rows:
            found.setdefault(code, item_id)
            found[item_id] = item_id  # an id wins over another item's equal code
    return {ref: found[ref] for ref in references if ref in found}


def validate_records(
    session: Session,
    time_zone: str,
    records: Sequence[Mapping[str, Any]],
    locate: Locate,
) -> tuple[list[Row], list[int], list[tuple[int, str]]]:
    """Check every record; raise `UsageRecordsInvalid` listing each bad one.

    Returns the rows to store (first occurrence of each record id), their indexes in
    `records`, and the (index, record_id) of same-content repeats inside the request.
    """
    errors: list[tuple[str, str]] = []
    parsed = [p for i, raw in enumerate(records) if (p := _parse(i, raw, locate, errors))]
    lives_by_id = _subscriptions(
        session, Subscription.id, {p.subscription_id for p in parsed if p.subscription_id}
    )
    lives_by_ref = _subscriptions(
        session, Subscription.external_ref, {p.external_ref for p in parsed if p.external_ref}
    )
    items = _usage_items(session, {p.usage_item for p in parsed})
    zone = tenant_zone(time_zone)

    rows: list[Row] = []
    indexes: list[int] = []
    repeats: list[tuple[int, str]] = []
    seen: dict[str, tuple[str, int]] = {}
    conflicts: list[tuple[str, str]] = []
    for p in parsed:
        if p.subscription_id is not None:
            life = lives_by_id.get(p.subscription_id)
            if life is None:
                errors.append((locate(p.index, "subscription_id"), "no such subscription"))
        else:
            life = lives_by_ref.get(p.external_ref)  # type: ignore[arg-type]
            if life is None:
                errors.append(
                    (
                        locate(p.index, "subscription_external_ref"),
                        "no subscription has this external reference",
                    )
                )
        item_id = items.get(p.usage_item)
        if item_id is None:
            errors.append((locate(p.index, "usage_item"), "no such usage item"))
        if life is None or item_id is None:
            continue
        used_on = p.used_at.astimezone(zone).date()
        # RATING.md §4: "A usage record must fall on a day inside its subscription's life
        # (start to end); any other is refused when it is registered."
        if not is_within_life(used_on, life.start, life.end):
            end = life.end.isoformat() if life.end else "open"
            errors.append(
                (
                    locate(p.index, "used_at"),
                    f"local day {used_on.isoformat()} is outside the subscription's life "
                    f"({life.start.isoformat()} to {end})",
                )
            )
            continue
        used_at = p.used_at.astimezone(_UTC).replace(tzinfo=None)
        digest = content_hash(life.id, item_id, p.quantity, used_at)
        earlier = seen.get(p.record_id)
        if earlier is not None:
            if earlier[0] == digest:
                repeats.append((p.index, p.record_id))
            else:
                conflicts.append(
                    (
                        locate(p.index, "record_id"),
                        f"repeats the record_id of record {earlier[1]} with other content",
                    )
                )
            continue
        seen[p.record_id] = (digest, p.index)
        rows.append(Row(p.record_id, used_on, life.id, item_id, p.quantity, used_at, digest))
        indexes.append(p.index)
    if errors:
        raise UsageRecordsInvalid(errors)
    if conflicts:
        raise UsageRecordConflict(conflicts)
    return rows, indexes, repeats


def claim_ids(session: Session, rows: Sequence[Row]) -> set[str]:
    """Claim the rows' record ids in `usage_record_ids`; returns those this transaction
    claimed (the others were registered before).

    One `INSERT … ON CONFLICT DO NOTHING` per chunk, in record_id order: PostgreSQL makes a
    claim of an id another transaction has claimed but not committed wait for it (and
    then skip the id if it committed), so concurrent registrations of one id store it
    exactly once; the one order keeps two batches of the same ids from deadlocking.
    """
    ordered = sorted(rows, key=lambda r: r.record_id)
    tenant_id = current_tenant(session)
    claimed: set[str] = set()
    if session.get_bind().dialect.name == "postgresql":
        for chunk in chunks(ordered, LOOKUP_CHUNK_POSTGRESQL):
            claimed.update(
                session.scalars(
                    _CLAIM_POSTGRESQL,
                    {
                        "tenant_id": tenant_id,
                        "record_ids": [r.record_id for r in chunk],
                        "days": [r.used_on for r in chunk],
                        "hashes": [r.content_hash for r in chunk],
                    },
                )
            )
        return claimed
    table = cast(Table, UsageRecordId.__table__)
    for chunk in chunks(ordered, CLAIM_CHUNK_SQLITE):
        statement = (
            sqlite.insert(table)
            .values(
                [
                    {
                        "tenant_id": tenant_id,
                        "record_id": r.record_id,
                        "used_on": r.used_on,
                        "content_hash": r.content_hash,
                    }
                    for r in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "record_id"])
            .returning(table.c.record_id)
        )
        claimed.update(session.scalars(statement))
    return claimed


CLAIM_CHUNK_SQLITE = 2_000
"""Rows per claim on SQLite (4 parameters a row, under its bound-parameter limit)."""

_CLAIM_POSTGRESQL = text(
    "INSERT INTO usage_record_ids (tenant_id, record_id, used_on, content_hash)"
    " SELECT :tenant_id, i.record_id, i.used_on, i.content_hash"
    " FROM unnest(CAST(:record_ids AS varchar[]), CAST(:days AS date[]),"
    " CAST(:hashes AS varchar[])) WITH ORDINALITY AS i(record_id, used_on, content_hash, n)"
    " ORDER BY i.n"
    " ON CONFLICT (tenant_id, record_id) DO NOTHING RETURNING record_id"
)


def _registered(session: Session, record_ids: Sequence[str]) -> dict[str, str]:
    """record_id → content hash of those already registered (in any month): a lookup by
    the key of `usage_record_ids`, not of the partitions."""
    found: dict[str, str] = {}
    for chunk in id_chunks(session, record_ids):
        rows = session.execute(
            select(UsageRecordId.record_id, UsageRecordId.content_hash).where(
                in_values(session, UsageRecordId.record_id, chunk)
            )
        )
        found.update(dict(rows.all()))
    return found


def register_records(
    session: Session,
    time_zone: str,
    records: Sequence[Mapping[str, Any]],
    locate: Locate,
) -> Registration:
    """Validate `records` and store the new ones, all or nothing (the caller's transaction
    rolls back on any raised problem). Flushes, never commits."""
    rows, indexes, repeats = validate_records(session, time_zone, records, locate)
    # Before this transaction first touches usage_records (see ensure_month_partitions).
    ensure_month_partitions(session, {row.used_on for row in rows})
    claimed = claim_ids(session, rows)
    registered = _registered(
        session, [row.record_id for row in rows if row.record_id not in claimed]
    )
    result = Registration(duplicates=repeats)
    conflicts: list[tuple[str, str]] = []
    for index, row in zip(indexes, rows, strict=True):
        if row.record_id in claimed:
            result.stored.append(row)
        elif registered.get(row.record_id) == row.content_hash:
            result.duplicates.append((index, row.record_id))
        else:
            conflicts.append((locate(index, "record_id"), "already registered with other content"))
    if conflicts:
        raise UsageRecordConflict(conflicts)
    result.duplicates.sort()
    store_rows(session, result.stored)
    mark_days_pending(session, {row.used_on for row in result.stored})
    return result


# --- storing ------------------------------------------------------------------------------

COPY_BLOCK = 5_000
"""Rows sent to COPY per write."""

_COPY = (
    "COPY usage_records (tenant_id, record_id, used_on, subscription_id, usage_item_id,"
    " quantity, used_at, content_hash, created_at) FROM STDIN"
)


def store_rows(session: Session, rows: Sequence[Row]) -> None:
    """Write validated rows whose ids this transaction claimed (`claim_ids`): `COPY` on
    PostgreSQL, one executemany elsewhere."""
    if not rows:
        return
    tenant_id = current_tenant(session)
    created_at = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        _copy_rows(session, tenant_id, rows, created_at)
        return
    insert_rows(
        session,
        UsageRecord,
        [
            {
                "record_id": r.record_id,
                "used_on": r.used_on,
                "subscription_id": r.subscription_id,
                "usage_item_id": r.usage_item_id,
                "quantity": r.quantity,
                "used_at": r.used_at.replace(tzinfo=_UTC),
                "content_hash": r.content_hash,
                "created_at": created_at,
            }
            for r in rows
        ],
    )


def _copy_text(value: str) -> str:
    """A text value escaped for COPY's text format (record ids may hold a backslash)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    return value


def _copy_rows(
    session: Session, tenant_id: str, rows: Sequence[Row], created_at: dt.datetime
) -> None:
    import psycopg  # noqa: PLC0415 - the PostgreSQL driver, only on this path

    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)  # noqa: S101 - make_engine uses psycopg
    # timestamp columns hold naive UTC (kit.db.UTCDateTime); the text is formatted here
    # rather than by write_row's per-value adaptation, several times faster. Record ids
    # are printable (no tab or line break), the other values are ids, numbers and dates.
    tail = f"\t{created_at.astimezone(_UTC).replace(tzinfo=None).isoformat()}\n"
    head = f"{tenant_id}\t"
    with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
        for start in range(0, len(rows), COPY_BLOCK):
            block = "".join(
                head
                + "\t".join(
                    (
                        _copy_text(r.record_id),
                        r.used_on.isoformat(),
                        r.subscription_id,
                        r.usage_item_id,
                        str(r.quantity),
                        r.used_at.isoformat(),
                        r.content_hash,
                    )
                )
                + tail
                for r in rows[start : start + COPY_BLOCK]
            )
            copy.write(block.encode())


def mark_days_pending(session: Session, days: Iterable[dt.date]) -> None:
    """Flag the tenant's `days` as changed since their rollup (see UsagePendingDay).

    Sorted, so concurrent registrations lock the marks in one order (no deadlock).
    """
    ordered = sorted(set(days))
    if not ordered:
        return
    tenant_id = current_tenant(session)
    table = UsagePendingDay.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        [{"tenant_id": tenant_id, "used_on": day, "changes": 1} for day in ordered]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "used_on"],
            set_={"changes": table.c.changes + 1},
        )
    )
