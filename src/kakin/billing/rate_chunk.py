"""One chunk of a closing: load its contracts in bulk, rate each, write in bulk.

Functional core, imperative shell: `loader` reads everything the chunk needs with a
fixed number of queries, `kakin.rating.rate_period` computes each receivable, and this
module writes the results with bulk statements. Nothing here queries per contract.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from kakin.billing.loader import ContractBatch, load_contract_batch
from kakin.billing.models import Adjustment, OneTimeCharge, Receivable, ReceivableLine, TopUp
from kakin.billing.receivable_rows import Row, receivable_rows, unstorable_amount
from kakin.billing.repository import MonthReceivable
from kakin.kit.bulk import copy_rows, update_rows
from kakin.kit.db import utcnow
from kakin.kit.ids import new_id
from kakin.rating.engine import rate_period
from kakin.rating.lines import ReceivableDraft
from kakin.rating.model import ContractInput

log = logging.getLogger("kakin.closing")

MAX_ERROR_LENGTH = 500


@dataclass
class ChunkOutcome:
    contracts_done: int = 0
    receivables_written: int = 0
    lines_written: int = 0
    lines_removed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def content_hash(receivable: Row, lines: Sequence[Row]) -> str:
    """A fingerprint of what a receivable's rows say (everything but its id and the run's
    bookkeeping): a rerun with the same result writes nothing."""
    material = repr((tuple(receivable.values()), [tuple(line.values()) for line in lines]))
    return hashlib.sha256(material.encode()).hexdigest()


def _rows(batch: ContractBatch, draft: ReceivableDraft) -> tuple[Row, list[Row]]:
    """The draft's rows with what the closing knows beyond the draft (the contract's
    customer and payment method, the closing date), without ids."""
    receivable, lines = receivable_rows(draft)
    facts = batch.facts[draft.contract_id]
    receivable |= {
        "customer_id": facts.customer_id,
        "closing_date": batch.closing_date,
        "status": "draft",
        "payment_method_kind": facts.payment_method_kind,
    }
    return receivable, lines


@dataclass
class _Billed:
    """The adjustments, one-time charges and top-ups each written receivable bills: marked
    with its id, so the next month's closing leaves them out and a recomputed draft
    takes them again (the loader reads those unbilled or on the month's own draft)."""

    adjustments: dict[str, str] = field(default_factory=dict)
    charges: dict[str, str] = field(default_factory=dict)
    top_ups: dict[str, str] = field(default_factory=dict)

    def add(
        self, contract_input: ContractInput, draft: ReceivableDraft, receivable_id: str
    ) -> None:
        for adjustment in contract_input.adjustments:
            self.adjustments[adjustment.adjustment_id] = receivable_id
        # RATING.md §3: billed on the first closing after the date (later ones wait)
        for charge in contract_input.one_time_charges:
            if charge.incurred_on <= draft.period.end:
                self.charges[charge.charge_id] = receivable_id
        for top_up in contract_input.top_ups:
            if top_up.bought_on <= draft.period.end:
                self.top_ups[top_up.top_up_id] = receivable_id

    def merge(self, other: _Billed) -> None:
        self.adjustments.update(other.adjustments)
        self.charges.update(other.charges)
        self.top_ups.update(other.top_ups)

    def write(self, session: Session) -> None:
        for model, marks in (
            (Adjustment, self.adjustments),
            (OneTimeCharge, self.charges),
            (TopUp, self.top_ups),
        ):
            update_rows(
                session, model, [{"id": i, "receivable_id": rid} for i, rid in marks.items()]
            )


@dataclass
class _Written:
    """What one contract's closing writes: its receivable, its lines, and the marks on
    what the receivable bills."""

    contract_id: str
    receivable: dict[str, Any]
    lines: list[dict[str, Any]]
    replaces: MonthReceivable | None
    billed: _Billed


def _check_amounts(written: _Written) -> None:
    """A receivable whose amounts its columns cannot hold (an absurd fee or quantity) is the
    contract's failure, named here rather than by the database in the middle of a write."""
    problem = unstorable_amount(written.receivable, written.lines)
    if problem is not None:
        raise ArithmeticError(problem)


def _failure(contract_id: str, exc: BaseException) -> dict[str, Any]:
    return {
        "contract_id": contract_id,
        "reason": f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH],
    }


def _write(session: Session, written: Sequence[_Written]) -> None:
    """Replace the drafts being recomputed, insert the new receivables and their lines,
    mark what they bill: a few bulk statements for the whole list."""
    replaced = [w for w in written if w.replaces is not None]
    if replaced:
        session.execute(
            delete(ReceivableLine).where(
                ReceivableLine.receivable_id.in_([w.receivable["id"] for w in replaced])
            )
        )
        update_rows(session, Receivable, [w.receivable for w in replaced])
    copy_rows(session, Receivable, [w.receivable for w in written if w.replaces is None])
    copy_rows(session, ReceivableLine, [line for w in written for line in w.lines])
    billed = _Billed()
    for w in written:
        billed.merge(w.billed)
    billed.write(session)


def _begin_for_savepoints(session: Session) -> None:
    """pysqlite begins a transaction only before a data-changing statement: a SAVEPOINT
    issued first would start a transaction of its own, and its RELEASE would commit it (and
    the chunk with it) early. Begin the transaction explicitly, so savepoints nest."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        if driver is not None and not getattr(driver, "in_transaction", True):
            connection.exec_driver_sql("BEGIN")


def _write_each_alone(
    session: Session, written: Sequence[_Written], outcome: ChunkOutcome
) -> list[_Written]:
    """The chunk's writes in one savepoint; when the database refuses them, each contract's
    in a savepoint of its own, so one contract's refused write fails that contract alone.
    Returns what was written."""
    if not written:
        return []
    _begin_for_savepoints(session)
    try:
        with session.begin_nested():
            _write(session, written)
        return list(written)
    except Exception:
        log.warning("the bulk write of a closing chunk failed; writing contract by contract")
    done = []
    for w in written:
        try:
            with session.begin_nested():
                _write(session, [w])
        except Exception as exc:
            outcome.errors.append(_failure(w.contract_id, exc))
            outcome.contracts_done -= 1
        else:
            done.append(w)
    return done


def rate_and_write_chunk(
    session: Session,
    closing_date: dt.date,
    run_id: str | None,
    contract_ids: Sequence[str],
    line_room: int | None = None,
) -> ChunkOutcome:
    """Rate `contract_ids` for the months that close on `closing_date` and write the drafts.

    RATING.md §8: "receivables still in `draft` … are recomputed when inputs changed; an
    `open` or later receivable is never rewritten". A contract that cannot be loaded, rated
    or written fails alone, its reason recorded, and the others go on (issue 6 §3): rating
    is pure, so any error it raises is the contract's; a refused write is retried contract
    by contract in savepoints.

    `line_room` is how many more receivable lines the tenant may hold (seed 000 制限事項:
    1,000,000 by default): a chunk that would pass it writes nothing, and each of its
    contracts fails with the limit named.
    """
    outcome = ChunkOutcome()
    if session.get_bind().dialect.name == "postgresql":
        # The driver prepares statements it runs often, and PostgreSQL may then keep one
        # generic plan per statement: planned while `receivables` was still empty, the
        # lookups by contract would scan it whole for every later chunk. Planning each
        # query of a chunk for its own ids costs far less than one such scan.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    batch = load_contract_batch(session, closing_date, contract_ids)
    outcome.errors.extend(
        {"contract_id": cid, "reason": reason[:MAX_ERROR_LENGTH]}
        for cid, reason in batch.errors.items()
    )
    existing = batch.existing

    written: list[_Written] = []
    for contract_id, contract_input in batch.inputs.items():
        current = existing.get(contract_id)
        if current is not None and current.status != "draft":
            outcome.contracts_done += 1  # issued: never rewritten (late changes → adjustments)
            continue
        try:
            draft = rate_period(contract_input, batch.months[contract_id])
            row, lines = _rows(batch, draft)
            digest = content_hash(row, lines)
            if current is not None and current.content_hash == digest:
                outcome.contracts_done += 1
                continue
            receivable_id = current.id if current is not None else new_id("rcv")
            row |= {"id": receivable_id, "content_hash": digest, "run_id": run_id, "version": 1}
            if current is not None:
                row["version"] = current.version  # the ORM matches it and bumps it
                row["updated_at"] = utcnow()
            keys = {"receivable_id": receivable_id, "contract_id": contract_id}
            lines = [keys | line for line in lines]
            billed = _Billed()
            billed.add(contract_input, draft, receivable_id)
            item = _Written(contract_id, row, lines, current, billed)
            _check_amounts(item)
        except Exception as exc:
            outcome.errors.append(_failure(contract_id, exc))
            continue
        outcome.contracts_done += 1
        written.append(item)

    removed = sum(w.replaces.line_count for w in written if w.replaces is not None)
    new_lines = sum(len(w.lines) for w in written)
    if line_room is not None and new_lines - removed > line_room:
        reason = "tenant-limit-reached: the receivable lines would exceed the tenant's limit"
        outcome.errors.extend(
            {"contract_id": cid, "reason": reason}
            for cid in batch.inputs
            if cid not in batch.errors
        )
        outcome.contracts_done = 0
        return outcome
    done = _write_each_alone(session, written, outcome)
    outcome.lines_removed = sum(w.replaces.line_count for w in done if w.replaces is not None)
    outcome.receivables_written = len(done)
    outcome.lines_written = sum(len(w.lines) for w in done)
    return outcome
