"""One chunk of a closing: load its contracts in bulk, rate each, write in bulk.

Functional core, imperative shell: `loader` reads everything the chunk needs with a
fixed number of queries, `kakin.rating.rate_period` computes each receivable, and this
module writes the results with bulk statements. Nothing here queries per contract.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from kakin.billing.loader import ContractBatch, load_contract_batch
from kakin.billing.models import Adjustment, OneTimeCharge, Receivable, ReceivableLine, TopUp
from kakin.kit.db import copy_rows, update_rows, utcnow
from kakin.kit.ids import new_id
from kakin.kit.money import to_minor
from kakin.rating.engine import rate_period
from kakin.rating.lines import ReceivableDraft
from kakin.rating.model import ContractInput
from kakin.usage.intake import id_chunks, in_values

MAX_ERROR_LENGTH = 500


@dataclass
class ChunkOutcome:
    contracts_done: int = 0
    receivables_written: int = 0
    lines_written: int = 0
    lines_removed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def content_hash(draft: ReceivableDraft) -> str:
    """A fingerprint of what a receivable says: a rerun with the same result writes nothing."""
    material = repr(
        (
            draft.lines,
            draft.tax_subtotals,
            draft.lines_total,
            draft.tax_total,
            draft.total,
            draft.due_date,
        )
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _receivable_row(
    batch: ContractBatch,
    draft: ReceivableDraft,
    receivable_id: str,
    run_id: str | None,
    digest: str,
) -> dict[str, Any]:
    facts = batch.facts[draft.contract_id]
    currency = draft.currency
    return {
        "id": receivable_id,
        "contract_id": draft.contract_id,
        "customer_id": facts.customer_id,
        "billing_month": str(draft.billing_month),
        "period_start": draft.period.start,
        "period_end": draft.period.end,
        "closing_date": batch.closing_date,
        "currency": currency,
        "tax_mode": draft.tax_mode.value,
        "subtotal": to_minor(draft.pre_tax_total, currency),
        "tax_total": to_minor(draft.tax_total, currency),
        "total": to_minor(draft.total, currency),
        "tax_breakdown": [
            {
                "tax_category": s.category.value,
                "rate": str(s.rate),
                "base": to_minor(s.lines_total, currency),
                "tax": to_minor(s.tax, currency),
            }
            for s in draft.tax_subtotals
        ],
        "status": "draft",
        "due_date": draft.due_date,
        "payment_method_kind": facts.payment_method_kind,
        "content_hash": digest,
        "line_count": len(draft.lines),
        "run_id": run_id,
        "version": 1,
    }


def _line_rows(
    batch: ContractBatch, draft: ReceivableDraft, receivable_id: str
) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(draft.lines, start=1):
        rows.append(
            {
                "receivable_id": receivable_id,
                "line_no": n,
                "contract_id": draft.contract_id,
                "kind": line.kind.value,
                "note": line.note.value,
                "description": batch.describe(line),
                "subscription_id": line.subscription_id,
                "source_id": line.source_id,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "period_start": line.period_start,
                "period_end": line.period_end,
                "days": line.days,
                "tax_category": line.tax_category.value,
                "tax_rate": line.tax_rate,
                "amount": to_minor(line.amount, draft.currency),
                "original_billing_month": str(line.billing_month) if line.billing_month else None,
            }
        )
    return rows


def _existing_receivables(session: Session, batch: ContractBatch) -> dict[str, Receivable]:
    """The receivables the chunk's contracts already have for the month being closed."""
    keys = {(cid, str(month)) for cid, month in batch.months.items()}
    existing: dict[str, Receivable] = {}
    if keys:
        # One id array per query (not a tuple IN of every key: slow to plan and to send).
        ids = sorted({cid for cid, _ in keys})
        months = sorted({month for _, month in keys})
        for part in id_chunks(session, ids):
            for receivable in session.scalars(
                select(Receivable).where(
                    in_values(session, Receivable.contract_id, part),
                    Receivable.billing_month.in_(months),
                )
            ):
                if (receivable.contract_id, receivable.billing_month) in keys:
                    existing[receivable.contract_id] = receivable

    return existing


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

    def write(self, session: Session) -> None:
        for model, marks in (
            (Adjustment, self.adjustments),
            (OneTimeCharge, self.charges),
            (TopUp, self.top_ups),
        ):
            update_rows(
                session, model, [{"id": i, "receivable_id": rid} for i, rid in marks.items()]
            )


def rate_and_write_chunk(
    session: Session,
    closing_date: dt.date,
    run_id: str | None,
    contract_ids: Sequence[str],
    line_room: int | None = None,
) -> ChunkOutcome:
    """Rate `contract_ids` for the months that close on `closing_date` and write the drafts.

    RATING.md §8: "receivables still in `draft` … are recomputed when inputs changed; an
    `open` or later receivable is never rewritten". One contract's failure is recorded
    and the others go on.

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
    existing = _existing_receivables(session, batch)

    new_receivables: list[dict[str, Any]] = []
    new_lines: list[dict[str, Any]] = []
    replaced: list[dict[str, Any]] = []
    billed = _Billed()
    for contract_id, contract_input in batch.inputs.items():
        current = existing.get(contract_id)
        if current is not None and current.status != "draft":
            outcome.contracts_done += 1  # issued: never rewritten (late changes → adjustments)
            continue
        try:
            draft = rate_period(contract_input, batch.months[contract_id])
        except (ArithmeticError, ValueError, KeyError, TypeError, LookupError) as exc:
            outcome.errors.append(
                {
                    "contract_id": contract_id,
                    "reason": f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH],
                }
            )
            continue
        outcome.contracts_done += 1
        digest = content_hash(draft)
        if current is not None and current.content_hash == digest:
            continue
        receivable_id = current.id if current is not None else new_id("rcv")
        row = _receivable_row(batch, draft, receivable_id, run_id, digest)
        if current is not None:
            row["version"] = current.version  # the ORM matches it and bumps it (version_id_col)
            row["updated_at"] = utcnow()
            replaced.append(row)
        else:
            new_receivables.append(row)
        new_lines.extend(_line_rows(batch, draft, receivable_id))
        billed.add(contract_input, draft, receivable_id)

    removed = sum(existing[r["contract_id"]].line_count for r in replaced)
    if line_room is not None and len(new_lines) - removed > line_room:
        reason = "tenant-limit-reached: the receivable lines would exceed the tenant's limit"
        outcome.errors.extend(
            {"contract_id": cid, "reason": reason}
            for cid in batch.inputs
            if cid not in batch.errors
        )
        outcome.contracts_done = 0
        return outcome
    outcome.lines_removed = removed
    if replaced:
        session.execute(
            delete(ReceivableLine).where(
                ReceivableLine.receivable_id.in_([r["id"] for r in replaced])
            )
        )
        update_rows(session, Receivable, replaced)
    copy_rows(session, Receivable, new_receivables)
    copy_rows(session, ReceivableLine, new_lines)
    billed.write(session)
    outcome.receivables_written = len(new_receivables) + len(replaced)
    outcome.lines_written = len(new_lines)
    return outcome
