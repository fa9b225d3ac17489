"""Qualified invoices (適格請求書) and credit notes (適格返還請求書) as PDF bytes.

Pure: plain dataclasses in, `bytes` out, no database. The route loads the receivable, its
lines and the parties (`documents.record.document_parties`: frozen once issued), and calls

    document = invoice_document_from(receivable, lines, parties)
    pdf = render_invoice(document)

Document amounts are `Decimal` in the currency's major unit; the `*_from` functions turn
the stored minor units into them (`kakin.kit.money.from_minor`). The pieces live in
`kakin.billing.documents`; this module is their public face.
"""

from __future__ import annotations

from kakin.billing.documents.mapping import (
    CREDIT_NOTE_PREFIX,
    INVOICE_PREFIX,
    credit_note_document_from,
    invoice_document_from,
    issuer_from,
    parties_from,
)
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
from kakin.billing.documents.render import render_credit_note, render_invoice
from kakin.billing.documents.text import (
    document_number,
    era_year,
    format_date,
    format_money,
    payment_method_label,
)

__all__ = [
    "CREDIT_NOTE_PREFIX",
    "INVOICE_PREFIX",
    "BankAccount",
    "CreditNoteDocument",
    "DocumentLine",
    "InvoiceDocument",
    "Issuer",
    "Language",
    "Parties",
    "Recipient",
    "TaxSubtotal",
    "credit_note_document_from",
    "document_number",
    "era_year",
    "format_date",
    "format_money",
    "invoice_document_from",
    "issuer_from",
    "parties_from",
    "payment_method_label",
    "render_credit_note",
    "render_invoice",
]
