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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kakin.catalog.models import UsageItem
from kakin.contracts.models import Subscription
from kakin.kit.bounds import check_date_range
from kakin.kit.bulk import (
    copy_escape,
    id_chunks,
    in_values,
)
from kakin.kit.db import current_tenant, utcnow
from kakin.rating.usage import is_within_life
from kakin.usage.errors import (
    UsageRecordConflict,
    UsageRecordsInvalid,
)
from kakin.usage.models import RECORD_ID_LENGTH
from kakin.usage.records import (
    ALLOWED_FIELDS,
    FIELDS,
    QUANTITY_TEXT,
    Locate,
    Prepared,
    Raw,
    Registration,
    Row,
    content_hash,
    parse_record,
    tenant_zone,
)
from kakin.usage.store import store

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
    (`parse_record` then names the problem)."""
    record_id, sub_id, ref, item, quantity, used_at = raw
    if (
        type(record_id) is not str
        or not 0 < len(record_id) <= RECORD_ID_LENGTH
        or not record_id.isprintable()
        or type(item) is not str
        or not item
        or type(quantity) is not str
        or QUANTITY_TEXT.fullmatch(quantity) is None
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
        slow = parse_record(position, dict(zip(FIELDS, raw, strict=True)), locate, errors)
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
    stamp = (created_at or utcnow()).astimezone(dt.UTC).replace(tzinfo=None)
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
        used_at = moment.astimezone(dt.UTC).replace(tzinfo=None)
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
        if type(raw) is dict and raw.keys() <= ALLOWED_FIELDS:
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
            parse_record(index, raw, locate, errors)
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
