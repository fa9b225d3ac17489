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
subscriptions and usage items a batch names are read with one query per chunk of
references, the records are checked in memory and rendered as COPY text (`prepare`), and
on PostgreSQL `store` writes the ids and the records with two `COPY`s in a savepoint: the
key of `usage_record_ids` is the duplicate check. Only when it finds an id registered
before (or being registered by a concurrent transaction) is the savepoint undone and the
batch claimed the careful way, `INSERT … ON CONFLICT DO NOTHING`, to tell same-content
duplicates from conflicts. On SQLite the careful way is the only one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple, cast
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
    copy_escape,
    copy_new,
    copy_text,
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

Raw = tuple[Any, Any, Any, Any, Any, Any]
"""A record's field values in the order of `FIELDS` (None for an absent field)."""


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
    """What a registration did: records stored, and the same-content duplicates skipped."""

    accepted: int = 0
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    """(position in the request, record_id) of each record accepted earlier."""
    first_record_id: str | None = None
    last_record_id: str | None = None
    """The first and the last record stored, in the request's order."""


@lru_cache(maxsize=64)
def tenant_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 - naive UTC, like the stored instants


def content_hash(
    subscription_id: str, usage_item_id: str, quantity: str, used_at_utc: dt.datetime
) -> str:
    """A record's content, to tell a same-content repeat from a conflicting one: the
    resolved subscription and item (so addressing by id or external reference is the same
    content), the quantity's value (`quantity` a plain decimal text; 1.50 = 1.5) and the
    instant (`used_at_utc`, naive UTC: the same instant written with another offset is the
    same content)."""
    since = used_at_utc - _EPOCH
    canonical = (
        f"{subscription_id}\x1f{usage_item_id}\x1f{_canonical_quantity(quantity)}"
        f"\x1f{since.days}.{since.seconds}.{since.microseconds}"
    )
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _canonical_quantity(text: str) -> str:
    """`format(Decimal(text).normalize(), "f")`, without the Decimal for a plain integer."""
    if "." not in text and (len(text) == 1 or text[0] != "0"):
        return text
    return format(Decimal(text).normalize(), "f")


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


@dataclass
class Lookups:
    """The subscriptions and usage items records name, each reference read once: a CSV
    import keeps one across its chunks and asks only for the references it has not seen."""

    by_id: dict[str, _Life | None] = field(default_factory=dict)
    by_ref: dict[str, _Life | None] = field(default_factory=dict)
    items: dict[str, str | None] = field(default_factory=dict)

    def resolve(self, session: Session, ids: set[str], refs: set[str], items: set[str]) -> None:
        if new := ids - self.by_id.keys():
            found = _subscriptions(session, Subscription.id, new)
            self.by_id.update({key: found.get(key) for key in new})
        if new := refs - self.by_ref.keys():
            found = _subscriptions(session, Subscription.external_ref, new)
            self.by_ref.update({key: found.get(key) for key in new})
        if new := items - self.items.keys():
            found_items = _usage_items(session, new)
            self.items.update({key: found_items.get(key) for key in new})


def _quick(raw: Raw) -> tuple[str, bool, str, str, str, dt.datetime] | None:
    """The common case checked fast: (record_id, named by external reference?, the
    subscription key, usage item, quantity text, instant), or None when anything is off
    (`_parse` then names the problem)."""
    record_id, sub_id, ref, item, quantity, used_at = raw
    if (
        type(record_id) is not str
        or not 0 < len(record_id) <= RECORD_ID_LENGTH
        or not record_id.isprintable()
        or type(item) is not str
        or not item
        or type(quantity) is not str
        or _QUANTITY.fullmatch(quantity) is None
        or type(used_at) is not str
    ):
        return None
    if type(sub_id) is str and sub_id and (ref is None or ref == ""):
        by_ref, key = False, sub_id
    elif type(ref) is str and ref and (sub_id is None or sub_id == ""):
        by_ref, key = True, ref
    else:
        return None
    try:
        moment = dt.datetime.fromisoformat(used_at)
    except ValueError:
        return None
    if moment.tzinfo is None or check_date_range(moment) is not None:
        return None
    return record_id, by_ref, key, item, quantity, moment


@dataclass
class Prepared:
    """Validated records ready to store: on PostgreSQL their `usage_records` and
    `usage_record_ids` rows as COPY text, elsewhere as `Row`s; in the request's order."""

    count: int = 0
    records: bytes = b""
    ids: bytes = b""
    rows: list[Row] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    """Each row's position in the request (what `Locate` takes)."""
    days: set[dt.date] = field(default_factory=set)
    repeats: list[tuple[int, str]] = field(default_factory=list)
    """(position, record_id) of same-content repeats inside the request."""
    first_record_id: str | None = None
    last_record_id: str | None = None


RECORD_COLUMNS = (
    "tenant_id",
    "record_id",
    "used_on",
    "subscription_id",
    "usage_item_id",
    "quantity",
    "used_at",
    "content_hash",
    "created_at",
)
ID_COLUMNS = ("tenant_id", "record_id", "used_on", "content_hash")


_Fields = tuple[int, str, bool, str, str, str, dt.datetime]
"""A parsed record: position, record_id, named by external reference?, the subscription
key, usage item, quantity text, instant."""


def _parse_all(
    raws: Sequence[tuple[int, Raw]], locate: Locate, errors: list[tuple[str, str]]
) -> list[_Fields]:
    parsed: list[_Fields] = []
    for position, raw in raws:
        quick = _quick(raw)
        if quick is not None:
            parsed.append((position, *quick))
            continue
        slow = _parse(position, dict(zip(FIELDS, raw, strict=True)), locate, errors)
        if slow is not None:
            named_by_ref = slow.subscription_id is None
            key = slow.external_ref if named_by_ref else slow.subscription_id
            quantity = str(slow.quantity)
            parsed.append(
                (
                    position,
                    slow.record_id,
                    named_by_ref,
                    cast(str, key),
                    slow.usage_item,
                    quantity,
                    slow.used_at,
                )
            )
    return parsed


def prepare(  # noqa: PLR0915 - one pass over the records, kept in one loop for speed
    session: Session,
    time_zone: str,
    raws: Sequence[tuple[int, Raw]],
    locate: Locate,
    *,
    lookups: Lookups | None = None,
    errors: list[tuple[str, str]] | None = None,
    created_at: dt.datetime | None = None,
) -> Prepared:
    """Check every (position, record); raise `UsageRecordsInvalid` listing each bad one
    (after `errors`, found before), or `UsageRecordConflict` for a record_id repeated
    with other content. A record_id repeated with the same content is stored once."""
    errors = [] if errors is None else errors
    lookups = Lookups() if lookups is None else lookups
    parsed = _parse_all(raws, locate, errors)
    lookups.resolve(
        session,
        {p[3] for p in parsed if not p[2]},
        {p[3] for p in parsed if p[2]},
        {p[4] for p in parsed},
    )
    zone = tenant_zone(time_zone)
    as_text = session.get_bind().dialect.name == "postgresql"
    tenant_id = current_tenant(session)
    stamp = (created_at or utcnow()).astimezone(_UTC).replace(tzinfo=None)
    head, tail = f"{tenant_id}\t", f"\t{stamp.isoformat()}\n"
    result = Prepared()
    records: list[str] = []
    ids: list[str] = []
    seen: dict[str, tuple[str, int]] = {}
    conflicts: list[tuple[str, str]] = []
    for position, record_id, named_by_ref, key, item, quantity, moment in parsed:
        life = (lookups.by_ref if named_by_ref else lookups.by_id).get(key)
        if life is None:
            if named_by_ref:
                where, reason = (
                    "subscription_external_ref",
                    "no subscription has this external reference",
                )
            else:
                where, reason = "subscription_id", "no such subscription"
            errors.append((locate(position, where), reason))
        item_id = lookups.items.get(item)
        if item_id is None:
            errors.append((locate(position, "usage_item"), "no such usage item"))
        if life is None or item_id is None:
            continue
        used_on = moment.astimezone(zone).date()
        # RATING.md §4: "A usage record must fall on a day inside its subscription's life
        # (start to end); any other is refused when it is registered."
        if not is_within_life(used_on, life.start, life.end):
            end = life.end.isoformat() if life.end else "open"
            errors.append(
                (
                    locate(position, "used_at"),
                    f"local day {used_on.isoformat()} is outside the subscription's life "
                    f"({life.start.isoformat()} to {end})",
                )
            )
            continue
        used_at = moment.astimezone(_UTC).replace(tzinfo=None)
        digest = content_hash(life.id, item_id, quantity, used_at)
        earlier = seen.get(record_id)
        if earlier is not None:
            if earlier[0] == digest:
                result.repeats.append((position, record_id))
            else:
                conflicts.append(
                    (
                        locate(position, "record_id"),
                        f"repeats the record_id of record {earlier[1]} with other content",
                    )
                )
            continue
        seen[record_id] = (digest, position)
        if result.first_record_id is None:
            result.first_record_id = record_id
        result.last_record_id = record_id
        result.positions.append(position)
        result.days.add(used_on)
        if as_text:
            escaped = copy_escape(record_id)
            day = used_on.isoformat()
            records.append(
                f"{head}{escaped}\t{day}\t{life.id}\t{item_id}\t{quantity}\t"
                f"{used_at.isoformat()}\t{digest}{tail}"
            )
            ids.append(f"{head}{escaped}\t{day}\t{digest}\n")
        else:
            result.rows.append(
                Row(record_id, used_on, life.id, item_id, Decimal(quantity), used_at, digest)
            )
    if errors:
        raise UsageRecordsInvalid(errors)
    if conflicts:
        raise UsageRecordConflict(conflicts)
    result.count = len(result.positions)
    result.records = "".join(records).encode()
    result.ids = "".join(ids).encode()
    return result


def records_of(
    records: Sequence[Any], locate: Locate
) -> tuple[list[tuple[int, Raw]], list[tuple[str, str]]]:
    """An API request's records as (index, values), and the errors of those that are not
    records with known fields (no more is checked of them)."""
    raws: list[tuple[int, Raw]] = []
    errors: list[tuple[str, str]] = []
    for index, raw in enumerate(records):
        if type(raw) is dict and raw.keys() <= _ALLOWED:
            get = raw.get
            raws.append(
                (
                    index,
                    (
                        get("record_id"),
                        get("subscription_id"),
                        get("subscription_external_ref"),
                        get("usage_item"),
                        get("quantity"),
                        get("used_at"),
                    ),
                )
            )
        else:
            _parse(index, raw, locate, errors)
    return raws, errors


def register_records(
    session: Session,
    time_zone: str,
    records: Sequence[Mapping[str, Any]],
    locate: Locate,
) -> Registration:
    """Validate `records` and store the new ones, all or nothing (the caller's transaction
    rolls back on any raised problem). Never commits."""
    raws, errors = records_of(records, locate)
    return store(session, prepare(session, time_zone, raws, locate, errors=errors), locate)


# --- storing ------------------------------------------------------------------------------


def store(session: Session, prepared: Prepared, locate: Locate) -> Registration:
    """Store the prepared records whose ids are new; count those registered before with
    the same content as duplicates; raise `UsageRecordConflict` for those registered with
    other content. Marks the stored days pending. Never commits."""
    result = Registration(duplicates=list(prepared.repeats))
    if prepared.count:
        # Before this transaction first touches usage_records (see ensure_month_partitions).
        ensure_month_partitions(session, prepared.days)
        if prepared.rows:
            days = _store_rows_carefully(session, prepared, locate, result)
        elif copy_new(
            session,
            [
                ("usage_record_ids", ID_COLUMNS, prepared.ids),
                ("usage_records", RECORD_COLUMNS, prepared.records),
            ],
        ):
            result.accepted = prepared.count
            result.first_record_id = prepared.first_record_id
            result.last_record_id = prepared.last_record_id
            days = prepared.days
        else:
            days = _store_text_carefully(session, prepared, locate, result)
        mark_days_pending(session, days)
    result.duplicates.sort()
    return result


class _Claim(NamedTuple):
    record_id: str
    used_on: dt.date
    content_hash: str


def _sort_out(
    session: Session,
    claims: Sequence[_Claim],
    positions: Sequence[int],
    locate: Locate,
    result: Registration,
) -> list[int]:
    """Claim the ids; the indexes (into `claims`) of those to store. Same-content repeats
    of registered records go to `result.duplicates`; other content raises."""
    claimed = claim_ids(session, claims)
    registered = _registered(session, [c.record_id for c in claims if c.record_id not in claimed])
    keep: list[int] = []
    conflicts: list[tuple[str, str]] = []
    for n, (claim, position) in enumerate(zip(claims, positions, strict=True)):
        if claim.record_id in claimed:
            keep.append(n)
        elif registered.get(claim.record_id) == claim.content_hash:
            result.duplicates.append((position, claim.record_id))
        else:
            conflicts.append(
                (locate(position, "record_id"), "already registered with other content")
            )
    if conflicts:
        raise UsageRecordConflict(conflicts)
    if keep:
        result.accepted = len(keep)
        result.first_record_id = claims[keep[0]].record_id
        result.last_record_id = claims[keep[-1]].record_id
    return keep


def _store_rows_carefully(
    session: Session, prepared: Prepared, locate: Locate, result: Registration
) -> set[dt.date]:
    rows = prepared.rows
    keep = _sort_out(
        session,
        [_Claim(r.record_id, r.used_on, r.content_hash) for r in rows],
        prepared.positions,
        locate,
        result,
    )
    stored = [rows[n] for n in keep]
    store_rows(session, stored)
    return {r.used_on for r in stored}


def _unescape(text: str) -> str:
    return text.replace("\\\\", "\\") if "\\" in text else text


def _store_text_carefully(
    session: Session, prepared: Prepared, locate: Locate, result: Registration
) -> set[dt.date]:
    """The careful way on PostgreSQL, from the prepared COPY text (one line per record,
    in the same order in both texts)."""
    claims = []
    for line in prepared.ids.decode().split("\n")[:-1]:
        _, record_id, day, digest = line.split("\t")
        claims.append(_Claim(_unescape(record_id), dt.date.fromisoformat(day), digest))
    keep = _sort_out(session, claims, prepared.positions, locate, result)
    if keep:
        lines = prepared.records.split(b"\n")
        copy_text(
            session, "usage_records", RECORD_COLUMNS, [b"".join(lines[n] + b"\n" for n in keep)]
        )
    return {claims[n].used_on for n in keep}


def claim_ids(session: Session, claims: Sequence[_Claim]) -> set[str]:
    """Claim the record ids in `usage_record_ids`; returns those this transaction
    claimed (the others were registered before).

    One `INSERT … ON CONFLICT DO NOTHING` per chunk, in record_id order: PostgreSQL makes a
    claim of an id another transaction has claimed but not committed wait for it (and
    then skip the id if it committed), so concurrent registrations of one id store it
    exactly once; the one order keeps two batches of the same ids from deadlocking.
    """
    ordered = sorted(claims)
    tenant_id = current_tenant(session)
    claimed: set[str] = set()
    if session.get_bind().dialect.name == "postgresql":
        for chunk in chunks(ordered, LOOKUP_CHUNK_POSTGRESQL):
            claimed.update(
                session.scalars(
                    _CLAIM_POSTGRESQL,
                    {
                        "tenant_id": tenant_id,
                        "record_ids": [c.record_id for c in chunk],
                        "days": [c.used_on for c in chunk],
                        "hashes": [c.content_hash for c in chunk],
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
                        "record_id": c.record_id,
                        "used_on": c.used_on,
                        "content_hash": c.content_hash,
                    }
                    for c in chunk
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


def store_rows(session: Session, rows: Sequence[Row]) -> None:
    """Write validated rows whose ids this transaction claimed (`claim_ids`), off
    PostgreSQL: one executemany."""
    if not rows:
        return
    created_at = utcnow()
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
