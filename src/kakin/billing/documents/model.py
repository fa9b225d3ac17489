"""The documents a customer receives, as plain data: what the PDF renderer takes.

Amounts here are `Decimal` in the currency's major unit (yen, dollars), already rounded
to the minor unit: the mapping from the stored integers (`kakin.kit.money.from_minor`)
happens once, in `mapping.py`, so the renderer never has to know about minor units.
Negative amounts (discounts, credits) keep their sign.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

Language = Literal["ja", "en"]
"""BRIEF.md: documents in Japanese by default, English as the tenant chooses."""


BankAccountType = Literal["ordinary", "current", "savings"]
"""普通, 当座, 貯蓄."""


@dataclass(frozen=True, slots=True)
class BankAccount:
    """The issuer's account to transfer to (振込先); `holder_kana` is 口座名義カナ."""

    bank_name: str
    branch_name: str
    account_type: BankAccountType
    number: str
    holder_kana: str


@dataclass(frozen=True, slots=True)
class Issuer:
    """The business that issues the document (the tenant).

    `registration_number` is the 適格請求書発行事業者登録番号 ("T" + 13 digits); with it the
    document is a qualified invoice (適格請求書), without it a plain invoice (請求書).
    `bank_account`, when known, is where invoices paid by bank transfer are paid into.
    """

    name: str
    registration_number: str | None = None
    address: str | None = None
    phone: str | None = None
    bank_account: BankAccount | None = None


HONORIFIC_PERSON: Final = "様"
HONORIFIC_ORGANISATION: Final = "御中"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom the document is addressed to (decrypted by the caller).

    `honorific` follows the name in Japanese: 「様」 for a person (the default),
    「御中」 for an organisation, whose `name` is then the company, `department` the
    department addressed and `attention` the contact person (ご担当). English documents
    print the names alone.
    """

    name: str
    postal_code: str | None = None
    address: str | None = None
    honorific: str = HONORIFIC_PERSON
    department: str | None = None
    attention: str | None = None


@dataclass(frozen=True, slots=True)
class Parties:
    """Who issues a document, to whom, in which language, and whether it is a sandbox
    tenant's (printed SANDBOX): what a document shows beyond its receivable's figures,
    and what finalisation freezes (`kakin.billing.documents.record`)."""

    issuer: Issuer
    recipient: Recipient
    language: Language = "ja"
    sandbox: bool = False


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One line of the table: a receivable line or a line of a credit note.

    `tax_category` is `standard`, `reduced` (軽減税率, marked ※), `exempt` (非課税) or
    `out_of_scope` (不課税); `tax_rate` a fraction (`Decimal("0.10")`).
    `original_billing_month` ("YYYY-MM") marks late usage billed in a later month.
    """

    description: str
    amount: Decimal
    tax_category: str
    tax_rate: Decimal
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    original_billing_month: str | None = None


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    """The lines of one tax rate added up, and the tax on them (one rounding per rate,
    RATING.md §7). With tax-inclusive prices `base` includes the tax."""

    tax_category: str
    rate: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """A (qualified) invoice for one receivable.

    `invoice_number` is the printed number (`INV-000123`); `None` renders a draft
    preview ("下書き"), which is not a qualified invoice. `billing_month` is "YYYY-MM".
    `tax_mode` is `exclusive` or `inclusive`. `wareki` prints dates in the Japanese era
    (令和8年11月23日); `sandbox` marks a sandbox tenant's document, which bills nobody.
    """

    language: Language
    issuer: Issuer
    recipient: Recipient
    invoice_number: str | None
    issue_date: dt.date | None
    billing_month: str
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date | None
    payment_method_kind: str | None
    currency: str
    tax_mode: str
    lines: tuple[DocumentLine, ...]
    tax_subtotals: tuple[TaxSubtotal, ...]
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    wareki: bool = False
    sandbox: bool = False
    remarks: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CreditNoteDocument:
    """A (qualified) credit note (適格返還請求書) reducing an issued invoice.

    It names the invoice it reduces and that invoice's billing month and period (the
    date of the original transaction, which a qualified credit note must state).
    """

    language: Language
    issuer: Issuer
    recipient: Recipient
    credit_note_number: str
    issue_date: dt.date
    original_invoice_number: str | None
    original_issue_date: dt.date | None
    billing_month: str
    period_start: dt.date
    period_end: dt.date
    reason: str
    currency: str
    tax_mode: str
    lines: tuple[DocumentLine, ...]
    tax_subtotals: tuple[TaxSubtotal, ...]
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    wareki: bool = False
    sandbox: bool = False
    remarks: tuple[str, ...] = field(default=())
