"""Use cases of billing: receivables, finalisation and numbering, adjustments, credit notes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.billing.documents.record import freeze, live_parties
from kakin.billing.errors import (
    CreditExceedsReceivable,
    ReceivableNotDraft,
    ReceivableNotFound,
    ReceivableNotOpen,
)
from kakin.billing.models import (
    Adjustment,
    CreditNote,
    DocumentSequence,
    Receivable,
    ReceivableLine,
)
from kakin.billing.receivable_rows import totals_row
from kakin.billing.schemas import AdjustmentIn, CreditNoteIn
from kakin.contracts.models import Contract, Subscription
from kakin.kit.bounds import minor_units_of
from kakin.kit.crypto import FieldCipher
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.ids import new_id
from kakin.kit.money import RoundingMode, from_minor
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


def receivable_lines(session: Session, receivable_id: str) -> list[ReceivableLine]:
    return list(
        session.scalars(
            select(ReceivableLine)
            .where(ReceivableLine.receivable_id == receivable_id)
            .order_by(ReceivableLine.line_no)
        )
    )


def is_period_closed(session: Session, contract_id: str, day: dt.date) -> bool:
    """True when `day` lies in a period of `contract_id` whose receivable was issued.

    RATING.md §8: an `open` or later receivable is never rewritten, so changes dated
    inside its period are refused (a correction becomes an adjustment); a `draft` is
    simply recomputed by the next closing run.
    """
    return bool(
        session.scalar(
            select(
                exists().where(
                    Receivable.contract_id == contract_id,
                    Receivable.status != "draft",
                    Receivable.period_end >= day,
                )
            )
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
    shows of its parties (issuer, addressee): never rewritten again."""
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
    adjustment = Adjustment(
        id=new_id("adj"),
        contract_id=contract_id,
        subscription_id=body.subscription_id,
        amount=minor_units_of(
            body.amount,
            session.scalars(select(Contract.currency).where(Contract.id == contract_id)).one(),
            pointer("body", "amount"),
        ),
        tax_category=body.tax_category,
        reason=body.reason,
        actor=str(session.info.get("actor", "system")),
    )
    session.add(adjustment)
    session.flush()
    record(session, "create", "adjustment", adjustment.id, None, {"amount": adjustment.amount})
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
    record(session, "create", "credit_note", note.id, None, {"total": note.total})
    return note
