"""How documents write dates, money, rates and their fixed wording, in Japanese and English.

BRIEF.md "Japanese conventions users expect": dates as 2026年11月23日 (和暦 令和8年 as an
option), money as ¥1,234, tax lines as 「10%対象 ¥x,xxx 消費税 ¥xxx」 and 「※は軽減税率対象」.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

from kakin.billing.documents.model import BankAccount, Language
from kakin.kit.money import UNIT_PRICE_PLACES, minor_units

REDUCED_MARK: Final = "※"
"""The mark of a reduced-rate (軽減税率) line on a qualified invoice."""

ERAS: Final[tuple[tuple[str, dt.date], ...]] = (
    ("令和", dt.date(2019, 5, 1)),
    ("平成", dt.date(1989, 1, 8)),
    ("昭和", dt.date(1926, 12, 25)),
)
"""Japanese eras (元号) with their first days, newest first (Cabinet Office; the era
changes on the day itself, so 2019-04-30 is 平成31年 and 2019-05-01 令和元年)."""

CURRENCY_SYMBOLS: Final[dict[str, str]] = {"JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}
"""Symbols printed before amounts; other currencies print their ISO code."""

_MONTHS_EN: Final = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip

PAYMENT_METHODS: Final[dict[str, dict[Language, str]]] = {
    "bank_transfer": {"ja": "銀行振込", "en": "Bank transfer"},
    "direct_debit": {"ja": "口座振替", "en": "Direct debit"},
    "convenience_store": {"ja": "コンビニ払い", "en": "Convenience-store payment"},
    "credit_card": {"ja": "クレジットカード", "en": "Credit card"},
    "virtual_account": {"ja": "振込(専用口座)", "en": "Bank transfer (dedicated account)"},
}
"""COLLECTIONS.md payment method kinds as the customer reads them."""

PAYMENT_HOW_TO: Final[dict[str, dict[Language, str]]] = {
    "bank_transfer": {
        "ja": (
            "お支払期限までに上記の振込先へお振込みください。振込手数料はお客様のご負担となります。"
        ),
        "en": "Please transfer the amount to the account above by the due date.",
    },
    "direct_debit": {
        "ja": "ご登録の口座からお支払期限の日に引き落とします。前日までに残高をご確認ください。",
        "en": "The amount will be debited from your registered account on the due date.",
    },
    "convenience_store": {
        "ja": "お支払期限までに払込票をお近くのコンビニエンスストアでお支払いください。",
        "en": "Please pay with the payment slip at a convenience store by the due date.",
    },
    "credit_card": {
        "ja": "ご登録のクレジットカードに請求いたします。",
        "en": "The amount will be charged to your registered credit card.",
    },
}
"""One sentence per payment method saying how to pay. A transfer (「お振込みください」) is
asked for only with the account to pay into: `bank_transfer` with the issuer's bank
account; `virtual_account` has none until collections assigns the customer's own."""

TRANSFER_METHODS: Final = frozenset({"bank_transfer"})
"""Payment methods whose sentence asks for a transfer to the issuer's bank account."""

BANK_ACCOUNT_TYPES: Final[dict[str, dict[Language, str]]] = {
    "ordinary": {"ja": "普通", "en": "Ordinary"},
    "current": {"ja": "当座", "en": "Current"},
    "savings": {"ja": "貯蓄", "en": "Savings"},
}
"""Japanese bank account types (預金種目) as printed."""

LINE_KINDS: Final[dict[str, dict[Language, str]]] = {
    "recurring": {"ja": "月額料金", "en": "Recurring fee"},
    "one_time": {"ja": "一時料金", "en": "One-time fee"},
    "usage": {"ja": "従量料金", "en": "Usage"},
    "discount": {"ja": "割引", "en": "Discount"},
    "early_termination": {"ja": "解約違約金", "en": "Early-termination fee"},
    "adjustment": {"ja": "調整", "en": "Adjustment"},
}
"""RATING.md §8 line kinds, printed when a line has no description of its own."""


def era_year(day: dt.date) -> tuple[str, int] | None:
    """The era and year of `day` (令和, 8 for 2026-11-23), or None before 昭和."""
    for name, first_day in ERAS:
        if day >= first_day:
            return name, day.year - first_day.year + 1
    return None


def _japanese_year(day: dt.date, wareki: bool) -> str:
    era = era_year(day) if wareki else None
    if era is None:
        return f"{day.year}年"
    name, year = era
    return f"{name}{'元' if year == 1 else year}年"


def format_date(day: dt.date, language: Language, *, wareki: bool = False) -> str:
    """2026年11月23日 (令和8年11月23日 with `wareki`), or "23 November 2026" in English."""
    if language == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{_japanese_year(day, wareki)}{day.month}月{day.day}日"


def format_month(billing_month: str, language: Language, *, wareki: bool = False) -> str:
    """A billing month "2026-11" as 2026年11月分 (令和8年11月分), or "November 2026"."""
    year, month = (int(part) for part in billing_month.split("-"))
    if language == "en":
        return f"{_MONTHS_EN[month - 1]} {year}"
    return f"{_japanese_year(dt.date(year, month, 1), wareki)}{month}月分"


def format_period(start: dt.date, end: dt.date, language: Language, *, wareki: bool = False) -> str:
    """A period in full: 2026年11月1日〜2026年11月30日."""
    first = format_date(start, language, wareki=wareki)
    if start == end:
        return first
    separator = " – " if language == "en" else "〜"
    return f"{first}{separator}{format_date(end, language, wareki=wareki)}"


def format_short_period(start: dt.date | None, end: dt.date | None, language: Language) -> str:
    """A line's period, compact for the table: 2026/11/01〜11/30 (2026-11-01 – 11-30)."""
    if start is None or end is None:
        return ""
    sep, dash = ("-", " – ") if language == "en" else ("/", "〜")
    first = f"{start.year}{sep}{start.month:02}{sep}{start.day:02}"
    if start == end:
        return first
    last = f"{end.month:02}{sep}{end.day:02}"
    if end.year != start.year:
        last = f"{end.year}{sep}{last}"
    return f"{first}{dash}{last}"


def format_money(amount: Decimal, currency: str) -> str:
    """¥1,234 / -¥500 / $1,234.50: grouped, to the currency's minor unit."""
    places = minor_units(currency)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.{places}f}"


def format_unit_price(price: Decimal, currency: str) -> str:
    """A unit price with as many decimals as it has (up to 6), at least the currency's:
    ¥0.05 per packet, ¥1,000 per month."""
    exponent = price.normalize().as_tuple().exponent
    own_places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    places = min(max(own_places, minor_units(currency)), UNIT_PRICE_PLACES)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if price < 0 else ""
    return f"{sign}{symbol}{abs(price):,.{places}f}"


def format_quantity(quantity: Decimal | None, unit: str | None) -> str:
    """1,234.5 GB: grouped, without trailing zeros, with its unit."""
    if quantity is None:
        return ""
    value = quantity.normalize()
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    text = f"{value:,.{places}f}"
    return f"{text} {unit}" if unit else text


def format_rate(rate: Decimal) -> str:
    """A tax rate fraction as a percentage: Decimal("0.10") → "10%"."""
    percent = (rate * 100).normalize()
    return f"{percent:f}%"


def format_postal_code(code: str) -> str:
    """〒100-0001 (a 7-digit code gets its hyphen)."""
    digits = code.strip()
    if len(digits) == 7 and digits.isdigit():
        digits = f"{digits[:3]}-{digits[3:]}"
    return f"〒{digits}"


def payment_method_label(kind: str | None, language: Language) -> str:
    """銀行振込, 口座振替, ... for a payment method kind; the kind itself if unknown."""
    if kind is None:
        return "—"
    labels = PAYMENT_METHODS.get(kind)
    return labels[language] if labels else kind


def format_bank_account(account: BankAccount, language: Language) -> str:
    """カキン銀行 本店営業部 普通 1234567 口座名義 カ）カキンツウシン."""
    kind = BANK_ACCOUNT_TYPES[account.account_type][language]
    holder = f"{label('account_holder', language)} {account.holder_kana}"
    return f"{account.bank_name} {account.branch_name} {kind} {account.number} {holder}"


def document_number(prefix: str, number: int) -> str:
    """INV-000123: a per-tenant sequence number with its document prefix."""
    return f"{prefix}-{number:06d}"


TAX_CATEGORY_LABELS: Final[dict[str, dict[Language, str]]] = {
    "exempt": {"ja": "非課税", "en": "Tax-exempt"},
    "out_of_scope": {"ja": "不課税", "en": "Out of scope"},
}
"""RATING.md §7 untaxed categories as printed (taxed ones print their rate)."""

TAX_CATEGORY_SHORT: Final[dict[str, dict[Language, str]]] = {
    "exempt": {"ja": "非課税", "en": "Exempt"},
    "out_of_scope": {"ja": "不課税", "en": "Untaxed"},
}
"""The same, short enough for the tax column of the table of lines."""

LABELS: Final[dict[str, dict[Language, str]]] = {
    "qualified_invoice": {"ja": "適格請求書", "en": "Qualified Invoice"},
    "invoice": {"ja": "請求書", "en": "Invoice"},
    "qualified_credit_note": {"ja": "適格返還請求書", "en": "Qualified Credit Note"},
    "credit_note": {"ja": "返還請求書", "en": "Credit Note"},
    "draft": {"ja": "(下書き)", "en": " (draft)"},
    "continued": {"ja": "(続き)", "en": " (continued)"},
    "invoice_number": {"ja": "請求書番号", "en": "Invoice No."},
    "credit_note_number": {"ja": "返還請求書番号", "en": "Credit note No."},
    "issue_date": {"ja": "発行日", "en": "Issue date"},
    "registration_number": {"ja": "登録番号", "en": "Registration No."},
    "bill_to": {"ja": "", "en": "Bill to"},
    "invoice_greeting": {
        "ja": "下記のとおりご請求申し上げます。",
        "en": "Please find below the charges for the period.",
    },
    "credit_greeting": {
        "ja": "下記のとおりご返還いたします。",
        "en": "The following amounts are credited to you.",
    },
    "amount_due": {"ja": "ご請求金額", "en": "Amount due"},
    "amount_credited": {"ja": "返還金額", "en": "Amount credited"},
    "tax_included": {"ja": "(税込)", "en": " (tax incl.)"},
    "billing_month": {"ja": "対象月", "en": "Billing month"},
    "period": {"ja": "対象期間", "en": "Service period"},
    "due_date": {"ja": "お支払期限", "en": "Due date"},
    "payment_method": {"ja": "お支払方法", "en": "Payment method"},
    "bank_account": {"ja": "振込先", "en": "Pay to"},
    "account_holder": {"ja": "口座名義", "en": "Account holder"},
    "phone": {"ja": "TEL", "en": "Tel."},
    "attention": {"ja": "ご担当", "en": "Attn."},
    "sandbox": {
        "ja": "SANDBOX — テスト環境の書類です。実際の請求ではありません。",
        "en": "SANDBOX — a test document, not a real bill.",
    },
    "original_invoice": {"ja": "対象請求書", "en": "Credited invoice"},
    "reason": {"ja": "返還理由", "en": "Reason"},
    "col_description": {"ja": "品目", "en": "Description"},
    "col_period": {"ja": "期間", "en": "Period"},
    "col_quantity": {"ja": "数量", "en": "Quantity"},
    "col_unit_price": {"ja": "単価", "en": "Unit price"},
    "col_tax": {"ja": "税率", "en": "Tax"},
    "col_amount": {"ja": "金額", "en": "Amount"},
    "no_lines": {"ja": "明細はありません。", "en": "No charges."},
    "subtotal": {"ja": "小計", "en": "Subtotal"},
    "taxable": {"ja": "{rate}対象", "en": "{rate} taxable"},
    "tax": {"ja": "消費税", "en": "Tax"},
    "tax_inner": {"ja": "内消費税", "en": "incl. tax"},
    "tax_total": {"ja": "消費税合計", "en": "Tax total"},
    "tax_inner_total": {"ja": "内消費税合計", "en": "Tax included"},
    "reduced_note": {"ja": "※は軽減税率対象", "en": "※ reduced tax rate item"},
    "remarks": {"ja": "備考", "en": "Notes"},
    "page": {"ja": "{page} / {pages} ページ", "en": "Page {page} of {pages}"},
    "billing_month_of": {"ja": "({month})", "en": " ({month})"},
}
"""The fixed wording of invoices and credit notes."""


def label(key: str, language: Language) -> str:
    """The fixed wording `key` in `language`."""
    return LABELS[key][language]
