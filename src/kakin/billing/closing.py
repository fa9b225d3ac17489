"""The closing batch (締め処理): a stored run, split into chunks, each rated and written
in one transaction.

RATING.md §2: "The closing batch run on date D rates every contract whose period ended
on D−1." SCALE.md: a run is a row, its contracts are chunks stored as rows; a worker claims
a chunk (`FOR UPDATE SKIP LOCKED` on PostgreSQL), writes its receivables and the chunk's
completion in one transaction, and a crashed worker's chunk is claimed again after a
timeout. A lock row stops two runs of the same tenant and date from overlapping.
RATING.md §8: a rerun recomputes only `draft` receivables and never touches `open` ones.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kakin.billing.errors import ClosingInProgress
from kakin.billing.models import ClosingChunk, ClosingLock, ClosingRun, ReceivableLine
from kakin.billing.rate_chunk import rate_and_write_chunk
from kakin.contracts.models import Contract
from kakin.kit.bulk import insert_rows
from kakin.kit.db import tenant_session, utcnow
from kakin.kit.ids import new_id
from kakin.rating.periods import Closing, closing_on
from kakin.tenancy.models import Tenant
from kakin.tenancy.service import count_rows

log = logging.getLogger("kakin.closing")

CHUNK_SIZE = 1000
"""Contracts per chunk: big enough for set-based loading (a chunk's fixed cost of a
dozen queries is spread over many contracts), small enough that a crash loses little and
several workers share a run evenly."""

CLAIM_TIMEOUT = dt.timedelta(minutes=10)
"""A chunk claimed longer ago than this belonged to a crashed worker and is claimed again."""

LOCK_TIMEOUT = dt.timedelta(minutes=10)
"""A run lock whose heartbeat is older than this belonged to a crashed process."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _contracts_to_close(session: Session, closing: Closing | None) -> list[str]:
    """Contracts on the closing day that were active on some day of its period."""
    if closing is None:
        return []
    period = closing.period
    return list(
        session.scalars(
            select(Contract.id)
            .where(
                Contract.closing_day == str(closing.closing_day),
                Contract.start_date <= period.end,
                or_(Contract.end_date.is_(None), Contract.end_date >= period.start),
            )
            .order_by(Contract.id)
        )
    )


def _acquire_lock(session: Session, closing_date: dt.date, run_id: str, holder: str) -> str:
    """Take the (tenant, date) lock for `run_id`; returns the run id that owns the lock
    (an earlier run's when a crashed holder's stale lock is taken over, to resume it)."""
    existing = session.scalar(
        select(ClosingLock).where(ClosingLock.closing_date == closing_date).with_for_update()
    )
    now = utcnow()
    if existing is None:
        try:
            with session.begin_nested():
                session.add(
                    ClosingLock(
                        closing_date=closing_date, run_id=run_id, holder=holder, heartbeat_at=now
                    )
                )
        except IntegrityError:
            raise ClosingInProgress(closing_date) from None
        return run_id
    if now - existing.heartbeat_at < LOCK_TIMEOUT:
        raise ClosingInProgress(closing_date, run_id=existing.run_id)
    existing.holder = holder
    existing.heartbeat_at = now
    return existing.run_id


def start_run(session: Session, closing_date: dt.date, holder: str | None = None) -> ClosingRun:
    """Create a run for `closing_date` (or resume a crashed one) with its chunks."""
    holder = holder or worker_name()
    run_id = new_id("clr")
    owner = _acquire_lock(session, closing_date, run_id, holder)
    if owner != run_id:
        resumed = session.scalar(select(ClosingRun).where(ClosingRun.id == owner))
        if resumed is not None and resumed.status in ("pending", "running"):
            log.info("resuming closing run %s of %s", owner, closing_date)
            return resumed
        session.execute(
            update(ClosingLock)
            .where(ClosingLock.closing_date == closing_date)
            .values(run_id=run_id)
        )
    contract_ids = _contracts_to_close(session, closing_on(closing_date))
    chunks = [contract_ids[i : i + CHUNK_SIZE] for i in range(0, len(contract_ids), CHUNK_SIZE)]
    run = ClosingRun(
        id=run_id,
        closing_date=closing_date,
        status="running",
        contracts_total=len(contract_ids),
        chunks_total=len(chunks),
        lines_at_start=count_rows(session, ReceivableLine),
        started_at=utcnow(),
        errors=[],
    )
    session.add(run)
    session.flush()
    insert_rows(
        session,
        ClosingChunk,
        [
            {
                "run_id": run_id,
                "chunk_no": n,
                "contract_ids": ids,
                "status": "pending",
                "errors": [],
            }
            for n, ids in enumerate(chunks)
        ],
    )
    return run


def claim_chunk(session: Session, run_id: str, holder: str) -> ClosingChunk | None:
    """The next pending chunk (or one abandoned by a crashed worker), marked claimed."""
    stale = utcnow() - CLAIM_TIMEOUT
    statement = (
        select(ClosingChunk)
        .where(
            ClosingChunk.run_id == run_id,
            or_(
                ClosingChunk.status == "pending",
                and_(ClosingChunk.status == "claimed", ClosingChunk.claimed_at < stale),
            ),
        )
        .order_by(ClosingChunk.chunk_no)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    chunk = session.scalar(statement)
    if chunk is None:
        return None
    chunk.status = "claimed"
    chunk.claimed_by = holder
    chunk.claimed_at = utcnow()
    chunk.attempts += 1
    return chunk


@dataclass(frozen=True)
class RunProgress:
    done: int
    total: int


def work_on_run(
    sessions: sessionmaker[Session],
    tenant_id: str,
    run_id: str,
    holder: str | None = None,
    progress: Callable[[RunProgress], None] | None = None,
) -> int:
    """Claim and process chunks of `run_id` until none is left; returns chunks processed.

    Several processes may call this for the same run at once (PostgreSQL): each chunk is
    processed by one of them. Each chunk commits with its results.
    """
    holder = holder or worker_name()
    processed = 0
    while True:
        with tenant_session(sessions, tenant_id) as session:
            chunk = claim_chunk(session, run_id, holder)
            if chunk is None:
                return processed
            chunk_no = chunk.chunk_no
        with tenant_session(sessions, tenant_id) as session:
            run = session.scalar(select(ClosingRun).where(ClosingRun.id == run_id))
            if run is None:
                raise LookupError(f"no closing run {run_id}")
            chunk = session.scalar(
                select(ClosingChunk)
                .where(ClosingChunk.run_id == run_id, ClosingChunk.chunk_no == chunk_no)
                .with_for_update()
            )
            if chunk is None:
                raise LookupError(f"no chunk {chunk_no} of closing run {run_id}")
            if chunk.status == "done":  # another worker finished it after a timeout
                continue
            with _collector_paused():
                outcome = rate_and_write_chunk(
                    session,
                    run.closing_date,
                    run_id,
                    chunk.contract_ids,
                    line_room=_line_room(session, run),
                )
            chunk.status = "done"
            chunk.finished_at = utcnow()
            chunk.contracts_done = outcome.contracts_done
            chunk.contracts_failed = len(outcome.errors)
            chunk.receivables_written = outcome.receivables_written
            chunk.lines_written = outcome.lines_written
            chunk.lines_removed = outcome.lines_removed
            chunk.errors = outcome.errors
            session.execute(
                update(ClosingLock)
                .where(ClosingLock.closing_date == run.closing_date)
                .values(heartbeat_at=utcnow())
            )
        processed += 1
        if progress is not None:
            with tenant_session(sessions, tenant_id) as session:
                done = session.scalars(
                    select(ClosingChunk.contract_ids).where(
                        ClosingChunk.run_id == run_id, ClosingChunk.status == "done"
                    )
                ).all()
                total = session.scalar(
                    select(ClosingRun.contracts_total).where(ClosingRun.id == run_id)
                )
            progress(RunProgress(sum(len(ids) for ids in done), int(total or 0)))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a chunk is rated: a chunk builds some hundred
    thousand objects that live until it is written, and each collection would walk them
    all again. The few cycles it leaves (the ORM's) are collected once it is done."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _line_room(session: Session, run: ClosingRun) -> int:
    """How many more receivable lines the tenant may hold: its limit less the lines it
    held when the run started and what the run's finished chunks added since. (Workers
    sharing a run may each pass the check at once: at most one chunk over, by design.)"""
    limit = session.scalar(select(Tenant.limit_receivable_lines)) or 0
    written, removed = session.execute(
        select(
            func.coalesce(func.sum(ClosingChunk.lines_written), 0),
            func.coalesce(func.sum(ClosingChunk.lines_removed), 0),
        ).where(ClosingChunk.run_id == run.id, ClosingChunk.status == "done")
    ).one()
    return int(limit) - run.lines_at_start - int(written) + int(removed)


def finish_run(session: Session, run_id: str) -> ClosingRun:
    """Sum the chunks into the run, set its final status and release the lock."""
    run = session.scalar(select(ClosingRun).where(ClosingRun.id == run_id))
    if run is None:
        raise LookupError(f"no closing run {run_id}")
    chunks: Sequence[ClosingChunk] = session.scalars(
        select(ClosingChunk).where(ClosingChunk.run_id == run_id)
    ).all()
    if any(c.status != "done" for c in chunks):
        return run  # other workers are still at it; the last one finishes the run
    run.contracts_done = sum(c.contracts_done for c in chunks)
    run.contracts_failed = sum(c.contracts_failed for c in chunks)
    run.receivables_written = sum(c.receivables_written for c in chunks)
    run.lines_written = sum(c.lines_written for c in chunks)
    run.errors = [e for c in sorted(chunks, key=lambda c: c.chunk_no) for e in c.errors]
    run.status = "completed_with_errors" if run.contracts_failed else "completed"
    run.finished_at = utcnow()
    session.execute(
        delete(ClosingLock).where(
            ClosingLock.closing_date == run.closing_date, ClosingLock.run_id == run_id
        )
    )
    return run


def fail_run(session: Session, run_id: str, reason: str) -> None:
    """Mark a run failed and release its lock; its done chunks stay written (each was a
    complete transaction) and a new run of the date resumes from where it stopped."""
    run = session.scalar(select(ClosingRun).where(ClosingRun.id == run_id))
    if run is None:
        return
    run.status = "failed"
    run.errors = [*run.errors, {"contract_id": None, "reason": reason}]
    run.finished_at = utcnow()
    session.execute(
        delete(ClosingLock).where(
            ClosingLock.closing_date == run.closing_date, ClosingLock.run_id == run_id
        )
    )


def close(
    sessions: sessionmaker[Session],
    tenant_id: str,
    closing_date: dt.date,
    progress: Callable[[RunProgress], None] | None = None,
) -> str:
    """Run (or resume) the closing of `closing_date` for one tenant, start to finish."""
    started = time.perf_counter()
    with tenant_session(sessions, tenant_id) as session:
        run_id = start_run(session, closing_date).id
    work_on_run(sessions, tenant_id, run_id, progress=progress)
    with tenant_session(sessions, tenant_id) as session:
        run = finish_run(session, run_id)
        log.info(
            "closing %s of %s: %s contracts, %s lines in %.1fs",
            run_id,
            closing_date,
            run.contracts_done,
            run.lines_written,
            time.perf_counter() - started,
        )
    return run_id
