"""One usage record: its fields, their parsing, its content hash, and the forms a
validated batch takes on its way to the database (`Row`, `Prepared`).

The rules are `intake`'s (see its docstring); this module holds the parts `intake` (the
validation of a batch) and `store` (writing it) share."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from kakin.kit.bounds import check_date_range
from kakin.usage.models import RECORD_ID_LENGTH

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

ALLOWED_FIELDS = frozenset(FIELDS)
QUANTITY_TEXT = re.compile(
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
        if QUANTITY_TEXT.fullmatch(value):
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


def parse_record(
    index: int, raw: Mapping[str, Any], locate: Locate, errors: list[tuple[str, str]]
) -> _Parsed | None:
    bad = len(errors)
    if not isinstance(raw, Mapping):
        errors.append((locate(index, ""), "a usage record must be an object"))
        return None
    if len(raw) > len(FIELDS) or not raw.keys() <= ALLOWED_FIELDS:
        for name in sorted(raw.keys() - ALLOWED_FIELDS):
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
