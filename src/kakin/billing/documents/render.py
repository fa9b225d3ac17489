"""Invoices and credit notes as A4 PDFs (ReportLab platypus): plain data in, bytes out.

Both documents share one layout (`_Sheet`): title, parties, the amount, the facts, the
table of lines (its header row repeated on every page it continues on), the per-rate
summary and the notes. Fonts and page furniture are in `page.py`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from kakin.billing.documents.model import (
    HONORIFIC_PERSON,
    CreditNoteDocument,
    DocumentLine,
    InvoiceDocument,
    Issuer,
    Language,
    Recipient,
    TaxSubtotal,
)
from kakin.billing.documents.page import (
    CJK_FONT,
    GREY,
    HEAD,
    LATIN_BOLD,
    LATIN_FONT,
    MARGIN,
    RULE,
    SANDBOX,
    SHADE,
    WIDTH,
    is_latin,
    numbered_canvas,
    register_fonts,
    running_header,
    script_runs,
)
from kakin.billing.documents.text import (
    PAYMENT_HOW_TO,
    REDUCED_MARK,
    TAX_CATEGORY_LABELS,
    TAX_CATEGORY_SHORT,
    TRANSFER_METHODS,
    format_bank_account,
    format_date,
    format_money,
    format_month,
    format_period,
    format_postal_code,
    format_quantity,
    format_rate,
    format_short_period,
    format_unit_price,
    label,
    payment_method_label,
)

LINE_COLUMNS: Final = (0.32, 0.21, 0.12, 0.11, 0.09, 0.15)
"""Shares of WIDTH: description, period, quantity, unit price, tax, amount."""

TAX_CATEGORY_ORDER: Final = {"standard": 0, "reduced": 1, "exempt": 2, "out_of_scope": 3}
"""RATING.md §5 order of tax categories, the order of the per-rate rows."""


@dataclass(frozen=True, slots=True)
class _Sheet:
    """What an invoice and a credit note have in common, ready to lay out."""

    language: Language
    title: str
    meta: tuple[tuple[str, str], ...]
    issuer: Issuer
    recipient: Recipient
    greeting: str
    headline_label: str
    total: Decimal
    facts: tuple[tuple[str, str], ...]
    lines: tuple[DocumentLine, ...]
    tax_subtotals: tuple[TaxSubtotal, ...]
    subtotal: Decimal
    tax_total: Decimal
    currency: str
    inclusive: bool
    notes: tuple[str, ...]
    running_header: str
    subject: str
    sandbox: bool


class _Styles:
    """Paragraph styles of one language."""

    def __init__(self, language: Language) -> None:
        self.language = language
        regular = CJK_FONT if language == "ja" else LATIN_FONT
        bold = CJK_FONT if language == "ja" else LATIN_BOLD
        self.body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12.5)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=10)
        self.muted = ParagraphStyle("muted", parent=self.small, textColor=GREY)
        self.cell = ParagraphStyle("cell", parent=self.body, fontSize=8, leading=10.5)
        self.cell_right = ParagraphStyle("cell_right", parent=self.cell, alignment=TA_RIGHT)
        self.head = ParagraphStyle("head", parent=self.cell, fontName=bold)
        self.head_right = ParagraphStyle("head_right", parent=self.head, alignment=TA_RIGHT)
        self.title = ParagraphStyle(
            "title", fontName=bold, fontSize=20, leading=26, alignment=TA_CENTER
        )
        self.name = ParagraphStyle("name", parent=self.body, fontName=bold, fontSize=13, leading=18)
        self.issuer = ParagraphStyle("issuer", parent=self.body, fontName=bold, fontSize=11)
        self.headline = ParagraphStyle("headline", parent=self.body, fontName=bold, fontSize=12)
        self.headline_amount = ParagraphStyle(
            "headline_amount", parent=self.headline, fontSize=18, leading=22, alignment=TA_RIGHT
        )
        self.total = ParagraphStyle("total", parent=self.cell, fontName=bold, fontSize=10)
        self.total_right = ParagraphStyle("total_right", parent=self.total, alignment=TA_RIGHT)
        self.sandbox = ParagraphStyle(
            "sandbox", parent=self.body, fontName=bold, textColor=SANDBOX, alignment=TA_CENTER
        )

    def para(self, text: str, style: ParagraphStyle) -> Paragraph:
        """`text` escaped; in English, in the CID font when Helvetica lacks its glyphs."""
        if self.language == "ja" or is_latin(text):
            markup = escape(text)
        else:
            markup = "".join(
                escape(run) if is_latin(run) else f'<font name="{CJK_FONT}">{escape(run)}</font>'
                for run in script_runs(text)
            )
        return Paragraph(markup.replace("\n", "<br/>"), style)


# ---------------------------------------------------------------------------- documents


def render_invoice(doc: InvoiceDocument) -> bytes:
    """The invoice as a PDF: a qualified invoice (適格請求書) when the issuer has a
    registration number and the invoice a number, else a plain invoice (請求書)."""
    lang = doc.language
    qualified = doc.issuer.registration_number is not None and doc.invoice_number is not None
    title = label("qualified_invoice" if qualified else "invoice", lang)
    if doc.invoice_number is None:
        title += label("draft", lang)
    number = doc.invoice_number or "—"
    issued = format_date(doc.issue_date, lang, wareki=doc.wareki) if doc.issue_date else "—"
    due = format_date(doc.due_date, lang, wareki=doc.wareki) if doc.due_date else "—"
    method = doc.payment_method_kind
    account = doc.issuer.bank_account if method in TRANSFER_METHODS else None
    payment = [(label("payment_method", lang), payment_method_label(method, lang))]
    if account is not None:
        payment.append((label("bank_account", lang), format_bank_account(account, lang)))
    notes: list[str] = []
    # 「お振込みください」 only together with the account to pay into.
    if method in PAYMENT_HOW_TO and (method not in TRANSFER_METHODS or account is not None):
        notes.append(PAYMENT_HOW_TO[method][lang])
    notes.extend(doc.remarks)
    sheet = _Sheet(
        language=lang,
        title=title,
        meta=((label("invoice_number", lang), number), (label("issue_date", lang), issued)),
        issuer=doc.issuer,
        recipient=doc.recipient,
        greeting=label("invoice_greeting", lang),
        headline_label=label("amount_due", lang),
        total=doc.total,
        facts=(
            (
                label("billing_month", lang),
                format_month(doc.billing_month, lang, wareki=doc.wareki),
            ),
            (
                label("period", lang),
                format_period(doc.period_start, doc.period_end, lang, wareki=doc.wareki),
            ),
            (label("due_date", lang), due),
            *payment,
        ),
        lines=doc.lines,
        tax_subtotals=doc.tax_subtotals,
        subtotal=doc.subtotal,
        tax_total=doc.tax_total,
        currency=doc.currency,
        inclusive=doc.tax_mode == "inclusive",
        notes=tuple(notes),
        running_header=f"{title}  {number}",
        subject=_subject(f"{title} {number} {format_month(doc.billing_month, lang)}", doc.sandbox),
        sandbox=doc.sandbox,
    )
    return _render(sheet)


def render_credit_note(doc: CreditNoteDocument) -> bytes:
    """The credit note as a PDF: a qualified credit note (適格返還請求書) when the issuer
    has a registration number, else a credit note (返還請求書)."""
    lang = doc.language
    qualified = doc.issuer.registration_number is not None
    title = label("qualified_credit_note" if qualified else "credit_note", lang)
    original = doc.original_invoice_number or "—"
    if doc.original_issue_date is not None:
        issued = format_date(doc.original_issue_date, lang, wareki=doc.wareki)
        original += f" ({label('issue_date', lang)} {issued})"
    sheet = _Sheet(
        language=lang,
        title=title,
        meta=(
            (label("credit_note_number", lang), doc.credit_note_number),
            (label("issue_date", lang), format_date(doc.issue_date, lang, wareki=doc.wareki)),
        ),
        issuer=doc.issuer,
        recipient=doc.recipient,
        greeting=label("credit_greeting", lang),
        headline_label=label("amount_credited", lang),
        total=doc.total,
        facts=(
            (label("original_invoice", lang), original),
            (
                label("billing_month", lang),
                format_month(doc.billing_month, lang, wareki=doc.wareki),
            ),
            (
                label("period", lang),
                format_period(doc.period_start, doc.period_end, lang, wareki=doc.wareki),
            ),
            (label("reason", lang), doc.reason),
        ),
        lines=doc.lines,
        tax_subtotals=doc.tax_subtotals,
        subtotal=doc.subtotal,
        tax_total=doc.tax_total,
        currency=doc.currency,
        inclusive=doc.tax_mode == "inclusive",
        notes=doc.remarks,
        running_header=f"{title}  {doc.credit_note_number}",
        subject=_subject(f"{title} {doc.credit_note_number}", doc.sandbox),
        sandbox=doc.sandbox,
    )
    return _render(sheet)


def _subject(subject: str, sandbox: bool) -> str:
    return f"SANDBOX {subject}" if sandbox else subject


# ------------------------------------------------------------------------------- layout


def _render(sheet: _Sheet) -> bytes:
    register_fonts()
    styles = _Styles(sheet.language)
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=20 * mm,
        bottomMargin=18 * mm,
        title=sheet.subject,
        author=sheet.issuer.name,
        subject=sheet.subject,
        creator="kakin",
        lang="ja-JP" if sheet.language == "ja" else "en",
        displayDocTitle=True,
        invariant=True,
    )
    story: list[Flowable] = []
    if sheet.sandbox:
        story += [styles.para(label("sandbox", sheet.language), styles.sandbox), Spacer(0, 2 * mm)]
    story += [
        styles.para(sheet.title, styles.title),
        Spacer(0, 5 * mm),
        _parties(sheet, styles),
        Spacer(0, 5 * mm),
        styles.para(sheet.greeting, styles.body),
        Spacer(0, 2 * mm),
        _headline(sheet, styles),
        Spacer(0, 3 * mm),
        _facts(sheet, styles),
        Spacer(0, 5 * mm),
        _lines_table(sheet, styles),
        Spacer(0, 4 * mm),
        KeepTogether(_summary(sheet, styles)),
    ]
    story.extend(_notes(sheet, styles))
    lang, recipient, issuer = sheet.language, sheet.recipient, sheet.issuer
    footer = issuer.name
    if issuer.registration_number:
        footer += f"  {label('registration_number', lang)}: {issuer.registration_number}"
    template.build(
        story,
        onLaterPages=running_header(
            sheet.running_header + label("continued", lang), _addressee(recipient, lang, " ")
        ),
        canvasmaker=numbered_canvas(
            footer, label("page", lang), watermark="SANDBOX" if sheet.sandbox else None
        ),
    )
    return buffer.getvalue()


def _addressee(recipient: Recipient, language: Language, space: str) -> str:
    """The name addressed, with its department and honorific in Japanese:
    山田 太郎 様, 株式会社ミライ 経理部 御中."""
    names = [recipient.name]
    if recipient.department:
        names.append(recipient.department)
    if language == "ja":
        names.append(recipient.honorific)
    return space.join(names)


def _parties(sheet: _Sheet, styles: _Styles) -> Table:
    """Recipient on the left; number, date and issuer (with 登録番号) on the right."""
    lang = sheet.language
    recipient = sheet.recipient
    left: list[Flowable] = []
    if lang == "en":
        left.append(styles.para(label("bill_to", lang), styles.muted))
    if recipient.postal_code:
        left.append(styles.para(format_postal_code(recipient.postal_code), styles.body))
    if recipient.address:
        left.append(styles.para(recipient.address, styles.body))
    left.append(Spacer(0, 2 * mm))
    left.append(
        styles.para(_addressee(recipient, lang, "　" if lang == "ja" else " "), styles.name)
    )
    if recipient.attention:
        honorific = f" {HONORIFIC_PERSON}" if lang == "ja" else ""
        attention = f"{label('attention', lang)}: {recipient.attention}{honorific}"
        left.append(styles.para(attention, styles.body))

    meta = Table(
        [
            [styles.para(key, styles.muted), styles.para(value, styles.body)]
            for key, value in sheet.meta
        ],
        colWidths=[26 * mm, None],
        style=TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        ),
    )
    issuer = sheet.issuer
    right: list[Flowable] = [meta, Spacer(0, 4 * mm), styles.para(issuer.name, styles.issuer)]
    if issuer.address:
        right.append(styles.para(issuer.address, styles.small))
    if issuer.phone:
        right.append(styles.para(f"{label('phone', lang)} {issuer.phone}", styles.small))
    if issuer.registration_number:
        right.append(
            styles.para(
                f"{label('registration_number', lang)}: {issuer.registration_number}", styles.body
            )
        )
    table = Table([[left, right]], colWidths=[WIDTH * 0.56, WIDTH * 0.44])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (0, 0), 0.8, colors.black),
            ]
        )
    )
    return table


def _headline(sheet: _Sheet, styles: _Styles) -> Table:
    """The amount in a shaded box: ご請求金額(税込) ¥12,345."""
    heading = sheet.headline_label
    if sheet.language == "ja" or sheet.tax_total:
        heading += label("tax_included", sheet.language)
    table = Table(
        [
            [
                styles.para(heading, styles.headline),
                styles.para(format_money(sheet.total, sheet.currency), styles.headline_amount),
            ]
        ],
        colWidths=[WIDTH * 0.3, WIDTH * 0.26],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    return table


def _facts(sheet: _Sheet, styles: _Styles) -> Table:
    """Billing month, period, due date and payment method (or the credited invoice)."""
    rows = [
        [styles.para(key, styles.cell), styles.para(value, styles.cell)]
        for key, value in sheet.facts
    ]
    table = Table(rows, colWidths=[WIDTH * 0.18, WIDTH * 0.82])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _tax_cell(line: DocumentLine, language: Language) -> str:
    untaxed = TAX_CATEGORY_SHORT.get(line.tax_category)
    return untaxed[language] if untaxed else format_rate(line.tax_rate)


def _description(line: DocumentLine, language: Language) -> str:
    text = line.description
    if line.original_billing_month:
        month = format_month(line.original_billing_month, language)
        text += label("billing_month_of", language).format(month=month)
    if line.tax_category == "reduced":
        text += f" {REDUCED_MARK}"
    return text


def _lines_table(sheet: _Sheet, styles: _Styles) -> Table:
    """Every line; the header row repeats on each page the table continues on."""
    lang = sheet.language
    header = [
        styles.para(label("col_description", lang), styles.head),
        styles.para(label("col_period", lang), styles.head),
        styles.para(label("col_quantity", lang), styles.head_right),
        styles.para(label("col_unit_price", lang), styles.head_right),
        styles.para(label("col_tax", lang), styles.head_right),
        styles.para(label("col_amount", lang), styles.head_right),
    ]
    rows: list[list[Any]] = [header]
    for line in sheet.lines:
        price = (
            format_unit_price(line.unit_price, sheet.currency)
            if line.unit_price is not None
            else ""
        )
        rows.append(
            [
                styles.para(_description(line, lang), styles.cell),
                styles.para(
                    format_short_period(line.period_start, line.period_end, lang), styles.cell
                ),
                styles.para(format_quantity(line.quantity, line.unit), styles.cell_right),
                styles.para(price, styles.cell_right),
                styles.para(_tax_cell(line, lang), styles.cell_right),
                styles.para(format_money(line.amount, sheet.currency), styles.cell_right),
            ]
        )
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if not sheet.lines:
        rows.append([styles.para(label("no_lines", lang), styles.cell), "", "", "", "", ""])
        commands.append(("SPAN", (0, 1), (-1, 1)))
    else:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, SHADE]))
    return Table(
        rows,
        colWidths=[WIDTH * share for share in LINE_COLUMNS],
        repeatRows=1,
        style=TableStyle(commands),
    )


def _ordered(subtotals: Sequence[TaxSubtotal]) -> list[TaxSubtotal]:
    return sorted(subtotals, key=lambda s: (TAX_CATEGORY_ORDER.get(s.tax_category, 9), -s.rate))


def _summary(sheet: _Sheet, styles: _Styles) -> list[Flowable]:
    """小計, one row per rate (「10%対象 ¥x 消費税 ¥y」, 「8%対象 ※ …」, 非課税, 不課税),
    the tax, and the total."""
    lang, currency = sheet.language, sheet.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    taxed_suffix = label("tax_included", lang) if sheet.inclusive else ""
    tax_word = label("tax_inner" if sheet.inclusive else "tax", lang)
    rows: list[list[Any]] = [
        [
            styles.para(label("subtotal", lang) + taxed_suffix, styles.cell),
            "",
            "",
            styles.para(money(sheet.subtotal), styles.cell_right),
        ]
    ]
    for subtotal in _ordered(sheet.tax_subtotals):
        untaxed = TAX_CATEGORY_LABELS.get(subtotal.tax_category)
        if untaxed:
            rows.append(
                [
                    styles.para(untaxed[lang], styles.cell),
                    styles.para(money(subtotal.base), styles.cell_right),
                    "",
                    "",
                ]
            )
            continue
        name = label("taxable", lang).format(rate=format_rate(subtotal.rate)) + taxed_suffix
        if subtotal.tax_category == "reduced":
            name += f" {REDUCED_MARK}"
        rows.append(
            [
                styles.para(name, styles.cell),
                styles.para(money(subtotal.base), styles.cell_right),
                styles.para(tax_word, styles.cell_right),
                styles.para(money(subtotal.tax), styles.cell_right),
            ]
        )
    rows.append(
        [
            styles.para(
                label("tax_inner_total" if sheet.inclusive else "tax_total", lang), styles.cell
            ),
            "",
            "",
            styles.para(money(sheet.tax_total), styles.cell_right),
        ]
    )
    rows.append(
        [
            styles.para(sheet.headline_label + label("tax_included", lang), styles.total),
            "",
            "",
            styles.para(money(sheet.total), styles.total_right),
        ]
    )
    table = Table(
        rows,
        colWidths=[WIDTH * 0.25, WIDTH * 0.16, WIDTH * 0.09, WIDTH * 0.15],
        hAlign="RIGHT",
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
                ("BACKGROUND", (0, -1), (-1, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return [table]


def _notes(sheet: _Sheet, styles: _Styles) -> list[Flowable]:
    """※は軽減税率対象 when a reduced-rate line is present, then how to pay and remarks."""
    reduced = any(line.tax_category == "reduced" for line in sheet.lines) or any(
        s.tax_category == "reduced" for s in sheet.tax_subtotals
    )
    notes = ([label("reduced_note", sheet.language)] if reduced else []) + list(sheet.notes)
    if not notes:
        return []
    block: list[Flowable] = [
        styles.para(label("remarks", sheet.language), styles.head),
        Spacer(0, 1 * mm),
    ]
    block.extend(styles.para(note, styles.small) for note in notes)
    return [Spacer(0, 5 * mm), KeepTogether(block)]
