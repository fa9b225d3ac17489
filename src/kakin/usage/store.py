"""Storing a validated batch of usage records (`intake.prepare` → here): on PostgreSQL
the ids and the records by two `COPY`s in a savepoint, the key of `usage_record_ids`
being the duplicate check; the careful way (`INSERT … ON CONFLICT DO NOTHING`) when it
finds an id registered before, and always on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple, cast

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kakin.kit.bulk import (
    LOOKUP_CHUNK_POSTGRESQL,
    chunks,
    copy_new,
    copy_text,
    id_chunks,
    in_values,
    insert_rows,
)
from kakin.kit.db import current_tenant, utcnow
from kakin.usage.errors import (
    UsageRecordConflict,
)
from kakin.usage.models import UsagePendingDay, UsageRecord, UsageRecordId
from kakin.usage.partitions import ensure_month_partitions
from kakin.usage.records import (
    ID_COLUMNS,
    RECORD_COLUMNS,
    Locate,
    Prepared,
    Registration,
    Row,
)

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
                "used_at": r.used_at.replace(tzinfo=dt.UTC),
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
