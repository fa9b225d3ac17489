"""From stored rows to documents: the one place where minor units become amounts.

The functions read attributes only (the ORM rows of `kakin.billing.models` and
`kakin.tenancy.models.Tenant` fit, and so does any object with the same attributes); they
touch no database. The parties (issuer, recipient, language) come in as `Parties`: live
from the tenant for a draft, as frozen at issue for an issued document (`record.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, Protocol

from kakin.billing.documents.model import (
    BankAccount,
    CreditNoteDocument,
    DocumentLine,
    InvoiceDocument,
    Issuer,
    Language,
    Parties,
    Recipient,
    TaxSubtotal,
)
from kakin.billing.documents.text import LINE_KINDS, document_number
from kakin.kit.money import from_minor, stored_decimal

INVOICE_PREFIX: Final = "INV"
"""Printed before an invoice's sequence number: INV-000123."""

CREDIT_NOTE_PREFIX: Final = "CN"
"""Printed before a credit note's sequence number: CN-000045."""


class TenantLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def issuer_name(self) -> str | None: ...
    @property
    def registration_number(self) -> str | None: ...
    @property
    def issuer_address(self) -> str | None: ...
    @property
    def issuer_phone(self) -> str | None: ...
    @property
    def bank_account(self) -> Mapping[str, Any] | None: ...
    @property
    def language(self) -> str: ...
    @property
    def sandbox(self) -> bool: ...


class ReceivableLike(Protocol):
    @property
    def invoice_number(self) -> int | None: ...
    @property
    def issued_on(self) -> dt.date | None: ...
    @property
    def billing_month(self) -> str: ...
    @property
    def period_start(self) -> dt.date: ...
    @property
    def period_end(self) -> dt.date: ...
    @property
    def due_date(self) -> dt.date | None: ...
    @property
    def payment_method_kind(self) -> str | None: ...
    @property
    def currency(self) -> str: ...
    @property
    def tax_mode(self) -> str: ...
    @property
    def subtotal(self) -> int: ...
    @property
    def tax_total(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def tax_breakdown(self) -> list[dict[str, Any]]: ...


class ReceivableLineLike(Protocol):
    @property
    def line_no(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def unit_price(self) -> Decimal | None: ...
    @property
    def period_start(self) -> dt.date | None: ...
    @property
    def period_end(self) -> dt.date | None: ...
    @property
    def tax_category(self) -> str: ...
    @property
    def tax_rate(self) -> Decimal: ...
    @property
    def amount(self) -> int: ...
    @property
    def original_billing_month(self) -> str | None: ...


class CreditNoteLike(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def issued_on(self) -> dt.date: ...
    @property
    def reason(self) -> str: ...
    @property
    def lines(self) -> list[dict[str, Any]]: ...
    @property
    def subtotal(self) -> int: ...
    @property
    def tax_total(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def tax_breakdown(self) -> list[dict[str, Any]]: ...


def document_language(tenant: TenantLike) -> Language:
    """The tenant's document language: English when it chose English, else Japanese."""
    return "en" if tenant.language == "en" else "ja"


def bank_account_from(values: Mapping[str, Any] | None) -> BankAccount | None:
    """A stored bank account (the tenant's setting, or a snapshot of it)."""
    if not values:
        return None
    return BankAccount(
        bank_name=str(values["bank_name"]),
        branch_name=str(values["branch_name"]),
        account_type=values["account_type"],
        number=str(values["number"]),
        holder_kana=str(values["holder_kana"]),
    )


def issuer_from(tenant: TenantLike) -> Issuer:
    """The tenant as issuer: its issuer name (its name when it has none), 登録番号,
    address, phone and the bank account it is paid into."""
    return Issuer(
        name=tenant.issuer_name or tenant.name,
        registration_number=tenant.registration_number or None,
        address=tenant.issuer_address or None,
        phone=tenant.issuer_phone or None,
        bank_account=bank_account_from(tenant.bank_account),
    )


def parties_from(tenant: TenantLike, recipient: Recipient) -> Parties:
    """The parties as they stand now: what a draft shows and what finalisation freezes."""
    return Parties(
        issuer=issuer_from(tenant),
        recipient=recipient,
        language=document_language(tenant),
        sandbox=tenant.sandbox,
    )


def tax_subtotals_from(
    breakdown: Iterable[Mapping[str, Any]], currency: str
) -> tuple[TaxSubtotal, ...]:
    """A stored `tax_breakdown` ({"tax_category", "rate", "base", "tax"}, minor units)."""
    return tuple(
        TaxSubtotal(
            tax_category=str(entry["tax_category"]),
            rate=Decimal(str(entry["rate"])),
            base=from_minor(int(entry["base"]), currency),
            tax=from_minor(int(entry["tax"]), currency),
        )
        for entry in breakdown
    )


def _described(description: str | None, kind: str | None, language: Language) -> str:
    if description:
        return description
    labels = LINE_KINDS.get(kind or "")
    return labels[language] if labels else ""


def invoice_document_from(
    receivable: ReceivableLike,
    lines: Iterable[ReceivableLineLike],
    parties: Parties,
    *,
    wareki: bool = False,
) -> InvoiceDocument:
    """The invoice of `receivable` and its `lines` (in line order) between `parties`.

    A receivable not yet finalised (no invoice number) gives a draft preview.
    """
    language = parties.language
    currency = receivable.currency
    number = receivable.invoice_number
    return InvoiceDocument(
        language=language,
        issuer=parties.issuer,
        recipient=parties.recipient,
        invoice_number=document_number(INVOICE_PREFIX, number) if number is not None else None,
        issue_date=receivable.issued_on,
        billing_month=receivable.billing_month,
        period_start=receivable.period_start,
        period_end=receivable.period_end,
        due_date=receivable.due_date,
        payment_method_kind=receivable.payment_method_kind,
        currency=currency,
        tax_mode=receivable.tax_mode,
        lines=tuple(
            DocumentLine(
                description=_described(line.description, line.kind, language),
                amount=from_minor(line.amount, currency),
                tax_category=line.tax_category,
                tax_rate=line.tax_rate,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                period_start=line.period_start,
                period_end=line.period_end,
                original_billing_month=line.original_billing_month,
            )
            for line in sorted(lines, key=lambda line: line.line_no)
        ),
        tax_subtotals=tax_subtotals_from(receivable.tax_breakdown, currency),
        subtotal=from_minor(receivable.subtotal, currency),
        tax_total=from_minor(receivable.tax_total, currency),
        total=from_minor(receivable.total, currency),
        wareki=wareki,
        sandbox=parties.sandbox,
    )


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def credit_line_from(line: Mapping[str, Any], currency: str, language: Language) -> DocumentLine:
    """One stored credit-note line (JSON): `amount` in minor units, `tax_category`,
    `tax_rate` (a decimal string); optionally `description`, `kind`, `quantity`, `unit`,
    `unit_price`, `period_start`/`period_end` (ISO dates), `original_billing_month`."""
    return DocumentLine(
        description=_described(line.get("description"), line.get("kind"), language),
        amount=from_minor(int(line["amount"]), currency),
        tax_category=str(line["tax_category"]),
        tax_rate=Decimal(str(line.get("tax_rate", "0"))),
        quantity=stored_decimal(line.get("quantity")),
        unit=line.get("unit"),
        unit_price=stored_decimal(line.get("unit_price")),
        period_start=_date(line.get("period_start")),
        period_end=_date(line.get("period_end")),
        original_billing_month=line.get("original_billing_month"),
    )


def credit_note_document_from(
    credit_note: CreditNoteLike,
    receivable: ReceivableLike,
    parties: Parties,
    *,
    wareki: bool = False,
) -> CreditNoteDocument:
    """The credit note `credit_note` reducing `receivable`'s invoice, between `parties`."""
    language = parties.language
    currency = receivable.currency
    original = receivable.invoice_number
    return CreditNoteDocument(
        language=language,
        issuer=parties.issuer,
        recipient=parties.recipient,
        credit_note_number=document_number(CREDIT_NOTE_PREFIX, credit_note.number),
        issue_date=credit_note.issued_on,
        original_invoice_number=(
            document_number(INVOICE_PREFIX, original) if original is not None else None
        ),
        original_issue_date=receivable.issued_on,
        billing_month=receivable.billing_month,
        period_start=receivable.period_start,
        period_end=receivable.period_end,
        reason=credit_note.reason,
        currency=currency,
        tax_mode=receivable.tax_mode,
        lines=tuple(credit_line_from(line, currency, language) for line in credit_note.lines),
        tax_subtotals=tax_subtotals_from(credit_note.tax_breakdown, currency),
        subtotal=from_minor(credit_note.subtotal, currency),
        tax_total=from_minor(credit_note.tax_total, currency),
        total=from_minor(credit_note.total, currency),
        wareki=wareki,
        sandbox=parties.sandbox,
    )
