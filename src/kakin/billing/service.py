"""Use cases of billing: receivables, finalisation and numbering, adjustments, credit notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.billing.documents.record import freeze, live_parties
from kakin.billing.errors import (
    ClosingRunNotFound,
    CreditExceedsReceivable,
    ReceivableNotDraft,
    ReceivableNotFound,
    ReceivableNotOpen,
)
from kakin.billing.models import (
    Adjustment,
    ClosingRun,
    CreditNote,
    DocumentSequence,
    Receivable,
    ReceivableLine,
)
from kakin.billing.receivable_rows import totals_row
from kakin.billing.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    ClosingRunOut,
    CreditNoteIn,
    CreditNoteOut,
    ReceivableDetailOut,
    ReceivableLineOut,
    ReceivableOut,
)
from kakin.contracts.models import Contract, Subscription
from kakin.contracts.service import close_period
from kakin.kit.bounds import in_currency, minor_units_of
from kakin.kit.crypto import FieldCipher
from kakin.kit.errors import InvalidRequest, NotFound, pointer
from kakin.kit.ids import new_id
from kakin.kit.money import RoundingMode, from_minor
from kakin.kit.pagination import Page, decode_cursor, encode_cursor, paginate, paginate_rows
from kakin.rating.tax import TaxCategory, TaxMode, TaxRate, receivable_totals, tax_rate_on
from kakin.tenancy.clock import tenant_today
from kakin.tenancy.models import Tenant


def get_receivable(session: Session, receivable_id: str, *, for_update: bool = False) -> Receivable:
    statement = select(Receivable).where(Receivable.id == receivable_id)
    if for_update:
        statement = statement.with_for_update()
    receivable = session.scalar(statement)
    if receivable is None:
        raise ReceivableNotFound(f"no receivable {receivable_id}")
    return receivable


def get_credit_note(session: Session, credit_note_id: str) -> CreditNote:
    note = session.scalar(select(CreditNote).where(CreditNote.id == credit_note_id))
    if note is None:
        raise NotFound(f"no credit note {credit_note_id}")
    return note


def get_closing_run(session: Session, run_id: str) -> ClosingRun:
    run = session.scalar(select(ClosingRun).where(ClosingRun.id == run_id))
    if run is None:
        raise ClosingRunNotFound(f"no closing run {run_id}")
    return run


def receivable_lines(session: Session, receivable_id: str) -> list[ReceivableLine]:
    return list(
        session.scalars(
            select(ReceivableLine)
            .where(ReceivableLine.receivable_id == receivable_id)
            .order_by(ReceivableLine.line_no)
        )
    )


def next_number(session: Session, kind: str) -> int:
    """The next gapless number of `kind`, taken under a row lock in this transaction."""
    sequence = session.scalar(
        select(DocumentSequence).where(DocumentSequence.kind == kind).with_for_update()
    )
    if sequence is None:
        sequence = DocumentSequence(kind=kind, last_number=0)
        session.add(sequence)
    sequence.last_number += 1
    session.flush()
    return sequence.last_number


def finalize(
    session: Session, cipher: FieldCipher, tenant: Tenant, receivable: Receivable
) -> Receivable:
    """`draft` → `open`: number the invoice, fix the issue date and freeze what the invoice
    shows of its parties (issuer, addressee): never rewritten again. Its period is closed
    from now on (RATING.md §8: a late change becomes an adjustment)."""
    if receivable.status != "draft":
        raise ReceivableNotDraft(
            f"receivable {receivable.id} is {receivable.status}", status_now=receivable.status
        )
    before = {"status": receivable.status}
    receivable.status = "open"
    receivable.invoice_number = next_number(session, "invoice")
    receivable.issued_on = tenant_today(tenant)
    freeze(cipher, receivable, live_parties(session, cipher, tenant, receivable.contract_id))
    session.flush()
    close_period(session, receivable.contract_id, receivable.period_end)
    record(session, "finalize", "receivable", receivable.id, before, {"status": "open"})
    return receivable


def finalize_month(
    session: Session, cipher: FieldCipher, tenant: Tenant, billing_month: str
) -> int:
    """Finalise every draft of a billing month, numbering them in contract order."""
    drafts = session.scalars(
        select(Receivable)
        .where(Receivable.billing_month == billing_month, Receivable.status == "draft")
        .order_by(Receivable.contract_id)
        .with_for_update()
    ).all()
    for receivable in drafts:
        finalize(session, cipher, tenant, receivable)
    return len(drafts)


def add_adjustment(session: Session, contract_id: str, body: AdjustmentIn) -> Adjustment:
    """RATING.md §8: a late change "becomes an `adjustment` line on the next receivable" —
    of the contract, or of one of its subscriptions."""
    if body.subscription_id is not None and (
        session.scalar(
            select(Subscription.id).where(
                Subscription.id == body.subscription_id, Subscription.contract_id == contract_id
            )
        )
        is None
    ):
        raise InvalidRequest(
            [
                (
                    pointer("body", "subscription_id"),
                    f"{body.subscription_id} is not a subscription of contract {contract_id}",
                )
            ]
        )
    currency = session.scalars(select(Contract.currency).where(Contract.id == contract_id)).one()
    adjustment = Adjustment(
        id=new_id("adj"),
        contract_id=contract_id,
        subscription_id=body.subscription_id,
        amount=minor_units_of(body.amount, currency, pointer("body", "amount")),
        tax_category=body.tax_category,
        reason=body.reason,
        actor=str(session.info.get("actor", "system")),
    )
    session.add(adjustment)
    session.flush()
    # the trail shows what the API shows: money in the currency's major unit
    out = AdjustmentOut.model_validate(adjustment, context=in_currency(currency))
    record(session, "create", "adjustment", adjustment.id, None, out)
    return adjustment


def issue_credit_note(
    session: Session,
    cipher: FieldCipher,
    tenant: Tenant,
    receivable: Receivable,
    body: CreditNoteIn,
    tax_rates: tuple[TaxRate, ...],
) -> CreditNote:
    """返還請求書 against an issued receivable; tax once per rate (RATING.md §7), with the
    rates of the receivable's period and the tenant's tax rounding.

    The credit notes of a receivable never take back more than its total: `receivable`
    must be locked (`get_receivable(for_update=True)`), so concurrent notes are checked
    against each other's amounts one after the other."""
    if receivable.status not in ("open", "partially_paid", "overdue", "paid"):
        raise ReceivableNotOpen(f"receivable {receivable.id} is {receivable.status}")
    currency = receivable.currency
    mode = TaxMode(receivable.tax_mode)
    minor = [
        minor_units_of(line.amount, currency, pointer("body", "lines", i, "amount"))
        for i, line in enumerate(body.lines)
    ]
    amounts = [
        (
            TaxCategory(line.tax_category),
            tax_rate_on(tax_rates, TaxCategory(line.tax_category), receivable.period_end),
            line.amount,
        )
        for line in body.lines
    ]
    totals = receivable_totals(amounts, mode, currency, RoundingMode(tenant.tax_rounding))
    figures = totals_row(totals, currency)
    total, total_minor = totals.total, figures["total"]
    if receivable.credited + total_minor > receivable.total:
        remaining = from_minor(max(receivable.total - receivable.credited, 0), currency)
        raise CreditExceedsReceivable(
            f"this credit note's total {total} would take the credit notes of receivable "
            f"{receivable.id} past its total {from_minor(receivable.total, currency)}: "
            f"{remaining} is left to credit",
            credited=receivable.credited,
            total=receivable.total,
            requested=total_minor,
        )
    receivable.credited += total_minor
    note = CreditNote(
        id=new_id("crn"),
        receivable_id=receivable.id,
        number=next_number(session, "credit_note"),
        issued_on=tenant_today(tenant),
        reason=body.reason,
        lines=[
            {
                "description": line.description,
                "amount": amount,
                "tax_category": line.tax_category,
                "tax_rate": str(rate),
            }
            for line, amount, (_, rate, _) in zip(body.lines, minor, amounts, strict=True)
        ],
        subtotal=figures["subtotal"],
        tax_total=figures["tax_total"],
        total=total_minor,
        tax_breakdown=figures["tax_breakdown"],
    )
    freeze(cipher, note, live_parties(session, cipher, tenant, receivable.contract_id))
    session.add(note)
    session.flush()
    out = CreditNoteOut.model_validate(note, context=in_currency(receivable.currency))
    record(session, "create", "credit_note", note.id, None, out)
    return note


# --- the reads the routes answer ----------------------------------------------------------


def search_closing_runs(
    session: Session, closing_date: dt.date | None, cursor: str | None, limit: int
) -> Page[ClosingRunOut]:
    statement = select(ClosingRun)
    if closing_date is not None:
        statement = statement.where(ClosingRun.closing_date == closing_date)
    return paginate(session, statement, ClosingRun.id, cursor, limit, ClosingRunOut.model_validate)


@dataclass(frozen=True)
class ReceivableFilter:
    contract_id: str | None = None
    customer_id: str | None = None
    billing_month: str | None = None
    status: str | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None


def receivable_out(receivable: Receivable) -> ReceivableOut:
    return ReceivableOut.model_validate(receivable, context=in_currency(receivable.currency))


def receivable_detail(session: Session, receivable: Receivable) -> ReceivableDetailOut:
    """The receivable with its lines, in its currency."""
    lines = receivable_lines(session, receivable.id)
    money = in_currency(receivable.currency)
    return ReceivableDetailOut.model_validate(
        {
            **receivable_out(receivable).model_dump(),
            "lines": [ReceivableLineOut.model_validate(line, context=money) for line in lines],
        }
    )


def search_receivables(
    session: Session, filters: ReceivableFilter, cursor: str | None, limit: int
) -> Page[ReceivableOut]:
    statement = select(Receivable)
    if filters.contract_id:
        statement = statement.where(Receivable.contract_id == filters.contract_id)
    if filters.customer_id:
        statement = statement.where(Receivable.customer_id == filters.customer_id)
    if filters.billing_month:
        statement = statement.where(Receivable.billing_month == filters.billing_month)
    if filters.status:
        statement = statement.where(Receivable.status == filters.status)
    if filters.due_from:
        statement = statement.where(Receivable.due_date >= filters.due_from)
    if filters.due_to:
        statement = statement.where(Receivable.due_date <= filters.due_to)
    return paginate(session, statement, Receivable.id, cursor, limit, receivable_out)


def _currencies(session: Session, receivable_ids: Iterable[str]) -> dict[str, str]:
    """receivable id → its currency, in one query (a page's lines or notes)."""
    return dict(
        session.execute(
            select(Receivable.id, Receivable.currency).where(Receivable.id.in_(set(receivable_ids)))
        ).all()
    )


def search_receivable_lines(
    session: Session,
    receivable_id: str | None,
    contract_id: str | None,
    subscription_id: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Page[ReceivableLineOut]:
    """Lines of a receivable, contract or subscription (one of them is needed), in line
    order; the cursor is the last line's (receivable, line number)."""
    if not (receivable_id or contract_id or subscription_id):
        raise InvalidRequest(
            [("/query/receivable_id", "name a receivable_id, contract_id or subscription_id")]
        )
    statement = select(ReceivableLine)
    if receivable_id:
        statement = statement.where(ReceivableLine.receivable_id == receivable_id)
    if contract_id:
        statement = statement.where(ReceivableLine.contract_id == contract_id)
    if subscription_id:
        statement = statement.where(ReceivableLine.subscription_id == subscription_id)
    if kind:
        statement = statement.where(ReceivableLine.kind == kind)
    if cursor:
        receivable, _, line_no = decode_cursor(cursor).rpartition(":")
        if not line_no.isdigit():
            raise InvalidRequest([("/query/cursor", "not a cursor this API returned")])
        statement = statement.where(
            tuple_(ReceivableLine.receivable_id, ReceivableLine.line_no)
            > (receivable, int(line_no))
        )
    rows = session.scalars(
        statement.order_by(ReceivableLine.receivable_id, ReceivableLine.line_no).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        encode_cursor(f"{rows[-1].receivable_id}:{rows[-1].line_no}") if more and rows else None
    )
    currencies = _currencies(session, (r.receivable_id for r in rows))
    return Page[ReceivableLineOut](
        items=[
            ReceivableLineOut.model_validate(r, context=in_currency(currencies[r.receivable_id]))
            for r in rows
        ],
        next_cursor=next_cursor,
    )


def adjustments_of(
    session: Session, contract: Contract, cursor: str | None, limit: int
) -> Page[AdjustmentOut]:
    money = in_currency(contract.currency)
    statement = select(Adjustment).where(Adjustment.contract_id == contract.id)
    return paginate(
        session,
        statement,
        Adjustment.id,
        cursor,
        limit,
        lambda row: AdjustmentOut.model_validate(row, context=money),
    )


@dataclass(frozen=True)
class CreditNoteFilter:
    receivable_id: str | None = None
    contract_id: str | None = None
    customer_id: str | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None


def _notes_out(session: Session, notes: Sequence[CreditNote]) -> list[CreditNoteOut]:
    """Credit notes as answers, in their receivables' currencies (one query per page)."""
    currencies = _currencies(session, (n.receivable_id for n in notes))
    return [
        CreditNoteOut.model_validate(n, context=in_currency(currencies[n.receivable_id]))
        for n in notes
    ]


def search_credit_notes(
    session: Session, filters: CreditNoteFilter, cursor: str | None, limit: int
) -> Page[CreditNoteOut]:
    """Credit notes by receivable, its contract or customer, and issue date."""
    statement = select(CreditNote)
    if filters.receivable_id:
        statement = statement.where(CreditNote.receivable_id == filters.receivable_id)
    if filters.contract_id or filters.customer_id:
        receivables = select(Receivable.id)
        if filters.contract_id:
            receivables = receivables.where(Receivable.contract_id == filters.contract_id)
        if filters.customer_id:
            receivables = receivables.where(Receivable.customer_id == filters.customer_id)
        statement = statement.where(CreditNote.receivable_id.in_(receivables))
    if filters.issued_from:
        statement = statement.where(CreditNote.issued_on >= filters.issued_from)
    if filters.issued_to:
        statement = statement.where(CreditNote.issued_on <= filters.issued_to)
    return paginate_rows(
        session, statement, CreditNote.id, cursor, limit, lambda notes: _notes_out(session, notes)
    )
