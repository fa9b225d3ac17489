"""Qualified invoices (適格請求書) and credit notes (適格返還請求書) rendered and read back.

Pure: documents in, PDF bytes out, text extracted with pypdf. Extraction puts the cells of
a table on lines of their own, so Japanese text is compared with all whitespace removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from cryptography.exceptions import InvalidTag
from pypdf import PdfReader

from kakin.billing.documents.record import freeze, frozen_parties
from kakin.billing.documents.text import (
    format_money,
    format_period,
    format_quantity,
    format_rate,
    format_short_period,
    format_unit_price,
)
from kakin.billing.invoice_pdf import (
    BankAccount,
    CreditNoteDocument,
    DocumentLine,
    InvoiceDocument,
    Issuer,
    Parties,
    Recipient,
    TaxSubtotal,
    credit_note_document_from,
    era_year,
    format_date,
    invoice_document_from,
    parties_from,
    render_credit_note,
    render_invoice,
)
from kakin.kit.crypto import FieldCipher

D = Decimal
NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
BANK = BankAccount("カキン銀行", "本店営業部", "ordinary", "1234567", "カ）カキンツウシン")
ISSUER = Issuer(
    name="株式会社カキン通信",
    registration_number="T1234567890123",
    address="東京都千代田区丸の内1-1-1",
    phone="03-1234-5678",
    bank_account=BANK,
)
RECIPIENT = Recipient(name="山田 太郎", postal_code="1000001", address="東京都千代田区千代田1-1")


def _line(
    description: str,
    amount: int,
    category: str = "standard",
    rate: str = "0.10",
    quantity: str | None = "1",
    unit_price: str | None = None,
    unit: str | None = None,
    period: tuple[dt.date, dt.date] | None = NOVEMBER,
) -> DocumentLine:
    return DocumentLine(
        description=description,
        amount=D(amount),
        tax_category=category,
        tax_rate=D(rate),
        quantity=D(quantity) if quantity is not None else None,
        unit=unit,
        unit_price=D(unit_price) if unit_price else (D(amount) if quantity else None),
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )


LINES = (
    _line("光回線 ファミリープラン", 5000, unit="月"),
    _line("データ通信 従量料金", 1234, quantity="24.68", unit_price="50", unit="GB"),
    _line("ミネラルウォーター定期便", 3000, "reduced", "0.08", quantity="2", unit_price="1500"),
    _line("収納代行手数料", 110, "exempt", "0", period=None),
    _line("長期利用割引", -500, quantity=None),
)
SUBTOTALS = (
    TaxSubtotal("standard", D("0.10"), D(5734), D(573)),
    TaxSubtotal("reduced", D("0.08"), D(3000), D(240)),
    TaxSubtotal("exempt", D(0), D(110), D(0)),
)
INVOICE = InvoiceDocument(
    language="ja",
    issuer=ISSUER,
    recipient=RECIPIENT,
    invoice_number="INV-000123",
    issue_date=dt.date(2026, 11, 23),
    billing_month="2026-11",
    period_start=NOVEMBER[0],
    period_end=NOVEMBER[1],
    due_date=dt.date(2026, 12, 27),
    payment_method_kind="bank_transfer",
    currency="JPY",
    tax_mode="exclusive",
    lines=LINES,
    tax_subtotals=SUBTOTALS,
    subtotal=D(8844),
    tax_total=D(813),
    total=D(9657),
)
CREDIT_NOTE = CreditNoteDocument(
    language="ja",
    issuer=ISSUER,
    recipient=RECIPIENT,
    credit_note_number="CN-000045",
    issue_date=dt.date(2026, 12, 5),
    original_invoice_number="INV-000123",
    original_issue_date=dt.date(2026, 11, 23),
    billing_month="2026-11",
    period_start=NOVEMBER[0],
    period_end=NOVEMBER[1],
    reason="通信障害に伴う月額料金の減額",
    currency="JPY",
    tax_mode="exclusive",
    lines=(
        _line("光回線 月額料金 減額", 500, quantity=None, period=None),
        _line("ミネラルウォーター定期便 返品", 1500, "reduced", "0.08", unit="箱"),
    ),
    tax_subtotals=(
        TaxSubtotal("standard", D("0.10"), D(500), D(50)),
        TaxSubtotal("reduced", D("0.08"), D(1500), D(120)),
    ),
    subtotal=D(2000),
    tax_total=D(170),
    total=D(2170),
)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _text(pdf: bytes) -> str:
    """All pages' text without whitespace (CID text comes back split at cell borders)."""
    return _squeezed("".join(_pages(pdf)))


# ------------------------------------------------------------------- qualified invoice


def test_a_qualified_invoice_states_every_item_the_law_requires() -> None:
    pdf = render_invoice(INVOICE)

    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    # 適格請求書の記載事項 (消費税法57条の4): issuer and registration number, ...
    assert "適格請求書" in text
    assert "株式会社カキン通信" in text
    assert "登録番号:T1234567890123" in text
    # ... the date of the transaction (the billing month and its period) ...
    assert "対象月2026年11月分" in text
    assert "対象期間2026年11月1日〜2026年11月30日" in text
    # ... what was supplied, reduced-rate items marked ※ ...
    assert "光回線ファミリープラン2026/11/01〜11/301月¥5,00010%¥5,000" in text
    assert "データ通信従量料金2026/11/01〜11/3024.68GB¥5010%¥1,234" in text
    assert "ミネラルウォーター定期便※2026/11/01〜11/302¥1,5008%¥3,000" in text
    assert "収納代行手数料1¥110非課税¥110" in text
    assert "光回線ファミリープラン※" not in text
    assert text.count("※") == 3  # the line, its per-rate row, and the note
    # ... the amounts per rate and the tax per rate ...
    assert "10%対象¥5,734消費税¥573" in text
    assert "8%対象※¥3,000消費税¥240" in text
    assert "非課税¥110" in text
    assert "※は軽減税率対象" in text
    # ... and the recipient.
    assert "山田太郎様" in text
    assert "〒100-0001東京都千代田区千代田1-1" in text
    # Beyond the law: the number, issue date, totals, due date and how to pay.
    assert "請求書番号INV-000123" in text
    assert "発行日2026年11月23日" in text
    assert "小計¥8,844" in text
    assert "消費税合計¥813" in text
    assert "ご請求金額(税込)¥9,657" in text
    assert "お支払期限2026年12月27日" in text
    assert "お支払方法銀行振込" in text
    assert "振込先カキン銀行本店営業部普通1234567口座名義カ）カキンツウシン" in text
    assert "上記の振込先へお振込みください" in text


def test_the_discount_line_shows_a_negative_amount() -> None:
    text = _text(render_invoice(INVOICE))

    assert "長期利用割引2026/11/01〜11/3010%-¥500" in text


def test_the_pdf_title_names_the_document_and_its_number() -> None:
    reader = PdfReader(io.BytesIO(render_invoice(INVOICE)))

    assert reader.metadata is not None
    assert reader.metadata.title == "適格請求書 INV-000123 2026年11月分"
    assert reader.metadata.author == "株式会社カキン通信"


def test_the_same_invoice_renders_to_the_same_bytes() -> None:
    assert render_invoice(INVOICE) == render_invoice(INVOICE)


def test_without_reduced_lines_there_is_no_reduced_rate_note() -> None:
    invoice = dataclasses.replace(
        INVOICE,
        lines=(LINES[0],),
        tax_subtotals=(TaxSubtotal("standard", D("0.10"), D(5000), D(500)),),
        subtotal=D(5000),
        tax_total=D(500),
        total=D(5500),
    )

    text = _text(render_invoice(invoice))

    assert "※" not in text
    assert "10%対象¥5,000消費税¥500" in text
    assert "ご請求金額(税込)¥5,500" in text


def test_an_organisation_is_addressed_with_onchu() -> None:
    invoice = dataclasses.replace(INVOICE, recipient=Recipient("株式会社ミライ", honorific="御中"))

    assert "株式会社ミライ御中" in _text(render_invoice(invoice))


def test_an_issuer_without_registration_number_issues_a_plain_invoice() -> None:
    invoice = dataclasses.replace(INVOICE, issuer=Issuer(name="カキン商店"))

    text = _text(render_invoice(invoice))

    assert "適格請求書" not in text
    assert text.startswith("請求書")
    assert "登録番号" not in text


def test_a_draft_preview_is_not_a_qualified_invoice() -> None:
    invoice = dataclasses.replace(INVOICE, invoice_number=None, issue_date=None)

    text = _text(render_invoice(invoice))

    assert "適格請求書" not in text
    assert "請求書(下書き)" in text
    assert "請求書番号—" in text


def test_a_tax_inclusive_invoice_states_the_tax_included_per_rate() -> None:
    invoice = dataclasses.replace(
        INVOICE,
        tax_mode="inclusive",
        lines=(LINES[0], LINES[2]),
        tax_subtotals=(
            TaxSubtotal("standard", D("0.10"), D(5000), D(455)),
            TaxSubtotal("reduced", D("0.08"), D(3000), D(222)),
        ),
        subtotal=D(8000),
        tax_total=D(677),
        total=D(8000),
    )

    text = _text(render_invoice(invoice))

    assert "10%対象(税込)¥5,000内消費税¥455" in text
    assert "8%対象(税込)※¥3,000内消費税¥222" in text
    assert "小計(税込)¥8,000" in text
    assert "内消費税合計¥677" in text
    assert "ご請求金額(税込)¥8,000" in text


def test_out_of_scope_amounts_have_a_row_of_their_own() -> None:
    invoice = dataclasses.replace(
        INVOICE,
        lines=(*LINES, _line("立替金", 300, "out_of_scope", "0", period=None)),
        tax_subtotals=(*SUBTOTALS, TaxSubtotal("out_of_scope", D(0), D(300), D(0))),
    )

    text = _text(render_invoice(invoice))

    assert "立替金1¥300不課税¥300" in text
    assert "非課税¥110不課税¥300消費税合計" in text


def test_wareki_dates_are_printed_in_the_reiwa_era_on_request() -> None:
    text = _text(render_invoice(dataclasses.replace(INVOICE, wareki=True)))

    assert "発行日令和8年11月23日" in text
    assert "対象月令和8年11月分" in text
    assert "お支払期限令和8年12月27日" in text


def test_markup_characters_in_a_description_are_printed_as_written() -> None:
    invoice = dataclasses.replace(INVOICE, lines=(_line("<b>A&B</b> プラン", 5000),))

    assert "<b>A&B</b>プラン" in _text(render_invoice(invoice))


# ----------------------------------------------------------------------------- English


def test_an_english_invoice_is_written_in_english() -> None:
    invoice = dataclasses.replace(
        INVOICE,
        language="en",
        issuer=Issuer("Kakin Telecom K.K.", "T1234567890123", "1-1-1 Marunouchi, Tokyo"),
    )

    pages = _pages(render_invoice(invoice))
    text = " ".join(" ".join(pages).split())

    assert "Qualified Invoice" in text
    assert "Kakin Telecom K.K." in text
    assert "Registration No.: T1234567890123" in text
    assert "Invoice No. INV-000123" in text
    assert "Issue date 23 November 2026" in text
    assert "Billing month November 2026" in text
    assert "Service period 1 November 2026 – 30 November 2026" in text
    assert "Due date 27 December 2026" in text
    assert "Payment method Bank transfer" in text
    assert "10% taxable ¥5,734 Tax ¥573" in text
    assert "8% taxable ※ ¥3,000 Tax ¥240" in text
    assert "Tax-exempt ¥110" in text
    assert "※ reduced tax rate item" in text
    assert "Amount due (tax incl.) ¥9,657" in text
    assert "Exempt" in text
    # The customer's Japanese name and the Japanese line names still print.
    assert "山田 太郎" in text
    assert "ミネラルウォーター定期便 ※" in text
    assert "様" not in text
    assert "適格請求書" not in text


# -------------------------------------------------------------------------- pagination


def test_a_long_invoice_continues_over_pages_with_its_header_repeated() -> None:
    lines = tuple(_line(f"項目{n:03d}", 100) for n in range(1, 201))
    invoice = dataclasses.replace(
        INVOICE,
        lines=lines,
        tax_subtotals=(TaxSubtotal("standard", D("0.10"), D(20000), D(2000)),),
        subtotal=D(20000),
        tax_total=D(2000),
        total=D(22000),
    )

    pages = [_squeezed(page) for page in _pages(render_invoice(invoice))]

    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        if "項目" in page:
            assert "品目期間数量単価税率金額" in page  # the table's header row, repeated
        assert f"{number}/{len(pages)}ページ" in page
        assert "登録番号:T1234567890123" in page
        if number > 1:
            assert "適格請求書INV-000123(続き)" in page
            assert "山田太郎様" in page
    every_line = "".join(pages)
    assert sum("項目" in page for page in pages) > 1
    for n in range(1, 201):
        assert every_line.count(f"項目{n:03d}") == 1
    last_line_page = next(i for i, page in enumerate(pages) if "項目200" in page)
    summary = "消費税合計¥2,000ご請求金額(税込)¥22,000"
    assert [summary in page for page in pages].index(True) >= last_line_page
    assert every_line.count(summary) == 1


def test_an_invoice_without_lines_says_so() -> None:
    invoice = dataclasses.replace(
        INVOICE, lines=(), tax_subtotals=(), subtotal=D(0), tax_total=D(0), total=D(0)
    )

    text = _text(render_invoice(invoice))

    assert "明細はありません。" in text
    assert "ご請求金額(税込)¥0" in text


# ------------------------------------------------------------------------- credit note


def test_a_qualified_credit_note_states_what_it_returns_and_for_which_invoice() -> None:
    pdf = render_credit_note(CREDIT_NOTE)

    text = _text(pdf)
    assert text.startswith("適格返還請求書")
    assert "株式会社カキン通信" in text
    assert "登録番号:T1234567890123" in text
    assert "山田太郎様" in text
    assert "返還請求書番号CN-000045" in text
    assert "発行日2026年12月5日" in text
    # 適格返還請求書: the date of the original transaction and what is returned.
    assert "対象請求書INV-000123(発行日2026年11月23日)" in text
    assert "対象月2026年11月分" in text
    assert "対象期間2026年11月1日〜2026年11月30日" in text
    assert "返還理由通信障害に伴う月額料金の減額" in text
    assert "光回線月額料金減額10%¥500" in text
    assert "ミネラルウォーター定期便返品※2026/11/01〜11/301箱¥1,5008%¥1,500" in text
    # Per rate: the amount returned and its tax.
    assert "10%対象¥500消費税¥50" in text
    assert "8%対象※¥1,500消費税¥120" in text
    assert "※は軽減税率対象" in text
    assert "返還金額(税込)¥2,170" in text
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == "適格返還請求書 CN-000045"


def test_an_english_credit_note_is_written_in_english() -> None:
    note = dataclasses.replace(CREDIT_NOTE, language="en", reason="Service outage")

    text = " ".join(" ".join(_pages(render_credit_note(note))).split())

    assert "Qualified Credit Note" in text
    assert "Credit note No. CN-000045" in text
    assert "Credited invoice INV-000123 (Issue date 23 November 2026)" in text
    assert "Reason Service outage" in text
    assert "Amount credited (tax incl.) ¥2,170" in text


# ------------------------------------------------------------------ from the stored rows


def _tenant(language: str = "ja") -> SimpleNamespace:
    return SimpleNamespace(
        name="kakin-demo",
        issuer_name="株式会社カキン通信",
        registration_number="T1234567890123",
        issuer_address=None,
        issuer_phone=None,
        bank_account=None,
        language=language,
        sandbox=False,
    )


def _parties(tenant: SimpleNamespace | None = None) -> Parties:
    return parties_from(tenant or _tenant(), RECIPIENT)


def _receivable(**changes: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "invoice_number": 123,
        "issued_on": dt.date(2026, 11, 23),
        "billing_month": "2026-11",
        "period_start": NOVEMBER[0],
        "period_end": NOVEMBER[1],
        "due_date": dt.date(2026, 12, 27),
        "payment_method_kind": "direct_debit",
        "currency": "JPY",
        "tax_mode": "exclusive",
        "subtotal": 8000,
        "tax_total": 740,
        "total": 8740,
        "tax_breakdown": [
            {"tax_category": "reduced", "rate": "0.08", "base": 3000, "tax": 240},
            {"tax_category": "standard", "rate": "0.10", "base": 5000, "tax": 500},
        ],
    }
    values.update(changes)
    return SimpleNamespace(**values)


def _stored_line(
    line_no: int, kind: str, description: str, amount: int, category: str
) -> SimpleNamespace:
    return SimpleNamespace(
        line_no=line_no,
        kind=kind,
        description=description,
        quantity=D("1.000000"),
        unit=None,
        unit_price=D(f"{amount}.000000"),
        period_start=NOVEMBER[0],
        period_end=NOVEMBER[1],
        tax_category=category,
        tax_rate=D("0.08") if category == "reduced" else D("0.10"),
        amount=amount,
        original_billing_month="2026-10" if kind == "usage" else None,
    )


def test_the_invoice_document_is_built_from_the_stored_rows() -> None:
    lines = [
        _stored_line(2, "usage", "", 3000, "reduced"),
        _stored_line(1, "recurring", "光回線", 5000, "standard"),
    ]

    doc = invoice_document_from(_receivable(), lines, _parties())

    assert doc.language == "ja"
    assert doc.invoice_number == "INV-000123"
    assert doc.issuer == Issuer("株式会社カキン通信", "T1234567890123")
    assert [line.description for line in doc.lines] == ["光回線", "従量料金"]
    assert doc.lines[1].original_billing_month == "2026-10"
    assert doc.total == D(8740)
    assert doc.tax_subtotals[0] == TaxSubtotal("reduced", D("0.08"), D(3000), D(240))
    text = _text(render_invoice(doc))
    assert "従量料金(2026年10月分)※" in text
    assert "10%対象¥5,000消費税¥500" in text  # standard first, whatever the stored order
    assert text.index("10%対象") < text.index("8%対象")
    assert "お支払方法口座振替" in text
    assert "ご登録の口座からお支払期限の日に引き落とします" in text


def test_amounts_in_cents_become_dollars() -> None:
    receivable = _receivable(
        currency="USD",
        subtotal=1050,
        tax_total=105,
        total=1155,
        tax_breakdown=[{"tax_category": "standard", "rate": "0.10", "base": 1050, "tax": 105}],
    )
    lines = [_stored_line(1, "recurring", "Plan", 1050, "standard")]

    doc = invoice_document_from(receivable, lines, _parties(_tenant("en")))

    assert doc.language == "en"
    assert doc.total == D("11.55")
    assert doc.lines[0].amount == D("10.50")
    assert "Amount due (tax incl.) $11.55" in " ".join(_pages(render_invoice(doc))[0].split())


def test_an_unfinalised_receivable_gives_a_draft_issued_under_the_tenant_name() -> None:
    tenant = _tenant()
    tenant.issuer_name = None
    receivable = _receivable(invoice_number=None, issued_on=None)

    doc = invoice_document_from(receivable, [], _parties(tenant))

    assert doc.invoice_number is None
    assert doc.issuer.name == "kakin-demo"


def test_the_credit_note_document_is_built_from_the_stored_rows() -> None:
    credit_note = SimpleNamespace(
        number=45,
        issued_on=dt.date(2026, 12, 5),
        reason="通信障害",
        lines=[
            {"kind": "adjustment", "amount": 500, "tax_category": "standard", "tax_rate": "0.10"},
            {
                "description": "返品",
                "amount": 1500,
                "tax_category": "reduced",
                "tax_rate": "0.08",
                "quantity": "1",
                "unit_price": "1500",
                "period_start": "2026-11-01",
                "period_end": "2026-11-30",
            },
        ],
        subtotal=2000,
        tax_total=170,
        total=2170,
        tax_breakdown=[
            {"tax_category": "standard", "rate": "0.10", "base": 500, "tax": 50},
            {"tax_category": "reduced", "rate": "0.08", "base": 1500, "tax": 120},
        ],
    )

    doc = credit_note_document_from(credit_note, _receivable(), _parties())

    assert doc.credit_note_number == "CN-000045"
    assert doc.original_invoice_number == "INV-000123"
    assert doc.lines[0].description == "調整"
    assert doc.lines[1].period_start == NOVEMBER[0]
    text = _text(render_credit_note(doc))
    assert "返品※2026/11/01〜11/301¥1,5008%¥1,500" in text
    assert "返還金額(税込)¥2,170" in text


# -------------------------------------------------------------------- dates and numbers


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 11, 23), "令和8年11月23日"),
        (dt.date(2019, 5, 1), "令和元年5月1日"),
        (dt.date(2019, 4, 30), "平成31年4月30日"),
        (dt.date(1989, 1, 8), "平成元年1月8日"),
        (dt.date(1989, 1, 7), "昭和64年1月7日"),
    ],
)
def test_wareki_years_change_on_the_first_day_of_the_era(day: dt.date, expected: str) -> None:
    assert format_date(day, "ja", wareki=True) == expected


def test_dates_before_showa_fall_back_to_the_western_year() -> None:
    assert era_year(dt.date(1900, 1, 1)) is None
    assert format_date(dt.date(1900, 1, 1), "ja", wareki=True) == "1900年1月1日"


def test_dates_are_written_the_japanese_and_the_english_way() -> None:
    assert format_date(dt.date(2026, 11, 23), "ja") == "2026年11月23日"
    assert format_date(dt.date(2026, 11, 23), "en") == "23 November 2026"
    assert format_period(dt.date(2026, 11, 1), dt.date(2026, 11, 1), "ja") == "2026年11月1日"
    assert format_short_period(dt.date(2026, 12, 16), dt.date(2027, 1, 15), "ja") == (
        "2026/12/16〜2027/01/15"
    )


def test_money_quantities_and_rates_are_written_as_users_expect() -> None:
    assert format_money(D(1234), "JPY") == "¥1,234"
    assert format_money(D(-500), "JPY") == "-¥500"
    assert format_money(D("1234.5"), "USD") == "$1,234.50"
    assert format_money(D(1000), "KRW") == "KRW 1,000"
    assert format_unit_price(D("0.050000"), "JPY") == "¥0.05"
    assert format_unit_price(D("1000.000000"), "JPY") == "¥1,000"
    assert format_unit_price(D("9.5"), "USD") == "$9.50"
    assert format_quantity(D("1234.500000"), "GB") == "1,234.5 GB"
    assert format_quantity(D("1E+3"), None) == "1,000"
    assert format_rate(D("0.10")) == "10%"
    assert format_rate(D("0.08")) == "8%"


# -------------------------------------------------------------------------------- fonts

STANDARD_14 = {"Helvetica", "Helvetica-Bold"}
"""The Latin fonts every PDF reader has: the only ones a document may leave unembedded."""


def _fonts(pdf: bytes) -> dict[str, object]:
    """Every font the pages use, by its base name, resolved."""
    fonts: dict[str, object] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page["/Resources"].get_object()
        for ref in resources.get("/Font", {}).get_object().values():
            font = ref.get_object()
            fonts[str(font["/BaseFont"])] = font
    return fonts


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_japanese_font_is_embedded_as_a_truetype_subset(language: str) -> None:
    """Issue 6 §6: with a font the reader supplies, every kanji is blank on a machine
    without Japanese fonts; the PDF carries the glyphs it uses instead."""
    pdf = render_invoice(dataclasses.replace(INVOICE, language=language))

    fonts = _fonts(pdf)
    japanese = [name for name in fonts if name.lstrip("/").split("+")[-1] == "IPAexGothic"]
    assert japanese, fonts.keys()
    for name, font in fonts.items():
        base = name.lstrip("/")
        if base in STANDARD_14:
            continue
        descriptor = font["/FontDescriptor"].get_object()  # type: ignore[index]
        assert "/FontFile2" in descriptor, base  # an embedded TrueType program
        assert re.fullmatch(r"[A-Z]{6}\+IPAexGothic", base), base  # a subset (PDF 32000 §9.6.4)
    # And the text still reads back as written.
    assert "山田太郎" in _text(pdf)
    assert "ミネラルウォーター定期便" in _text(pdf)


# ------------------------------------------------------------------ sandbox and snapshot


def test_a_sandbox_tenants_documents_say_sandbox() -> None:
    """Issue 6 §5: documents of a sandbox tenant say SANDBOX (they bill nobody)."""
    invoice = render_invoice(dataclasses.replace(INVOICE, sandbox=True))
    note = render_credit_note(dataclasses.replace(CREDIT_NOTE, sandbox=True))

    for pdf in (invoice, note):
        text = _text(pdf)
        assert "SANDBOX—テスト環境の書類です。実際の請求ではありません。" in text
        reader = PdfReader(io.BytesIO(pdf))
        assert reader.metadata is not None
        assert str(reader.metadata.title).startswith("SANDBOX ")
    assert "SANDBOX" not in _text(render_invoice(INVOICE))


def test_the_sandbox_mark_comes_from_the_tenant() -> None:
    tenant = _tenant()
    assert parties_from(tenant, RECIPIENT).sandbox is False
    tenant.sandbox = True

    parties = parties_from(tenant, RECIPIENT)
    doc = invoice_document_from(_receivable(), [], parties)

    assert parties.sandbox is True
    assert doc.sandbox is True


def test_a_frozen_snapshot_gives_back_the_parties_it_froze() -> None:
    cipher = FieldCipher("ten_1", bytes(32))
    corporate = Recipient(
        "株式会社ミライ", "1050001", "東京都港区1-1", "御中", department="経理部", attention="山田"
    )
    parties = Parties(ISSUER, corporate, language="en", sandbox=True)
    row = SimpleNamespace(document_issuer=None, document_recipient_enc=None)
    assert frozen_parties(cipher, row) is None

    freeze(cipher, row, parties)

    assert frozen_parties(cipher, row) == parties
    assert "株式会社ミライ".encode() not in row.document_recipient_enc
    assert "ミライ" not in json.dumps(row.document_issuer, ensure_ascii=False)
    other_tenant = FieldCipher("ten_2", bytes(32))
    with pytest.raises(InvalidTag):
        frozen_parties(other_tenant, row)
