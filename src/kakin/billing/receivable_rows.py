"""One way out: a rated receivable as the rows it is stored as.

The closing writes these rows (`rate_chunk`); the preview and the simulation answer with
the same rows, never stored (`preview`); a credit note stores its totals the same way
(`service`). Money leaves rating as Decimal amounts already rounded (RATING.md §1) and is
stored as integers of the currency's minor unit: nothing is rounded here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from kakin.kit.bounds import MAX_STORED_MINOR
from kakin.kit.money import to_minor
from kakin.rating.lines import ReceivableDraft, ReceivableLine
from kakin.rating.tax import ReceivableTotals

Row = dict[str, Any]

STORABLE: Final = range(-MAX_STORED_MINOR, MAX_STORED_MINOR + 1)
"""What a stored amount (minor units, a 64-bit integer column) can hold."""


def totals_row(totals: ReceivableTotals, currency: str) -> Row:
    """The totals columns of a receivable or a credit note: pre-tax subtotal, tax, total
    and the per-rate breakdown (`tax_breakdown`), in minor units."""
    return {
        "subtotal": to_minor(totals.pre_tax_total, currency),
        "tax_total": to_minor(totals.tax_total, currency),
        "total": to_minor(totals.total, currency),
        "tax_breakdown": [
            {
                "tax_category": s.category.value,
                "rate": str(s.rate),
                "base": to_minor(s.lines_total, currency),
                "tax": to_minor(s.tax, currency),
            }
            for s in totals.tax_subtotals
        ],
    }


def line_rows(lines: Iterable[ReceivableLine], currency: str) -> list[Row]:
    """The lines as `receivable_lines` rows (without the receivable's keys), numbered from 1
    in their order, each with the label and the source it carries."""
    return [
        {
            "line_no": n,
            "kind": line.kind.value,
            "note": line.note.value,
            "description": line.name,
            "subscription_id": line.subscription_id,
            "source_kind": line.source_kind.value if line.source_kind else None,
            "source_id": line.source_id,
            "quantity": line.quantity,
            "unit": line.unit,
            "unit_price": line.unit_price,
            "period_start": line.period_start,
            "period_end": line.period_end,
            "days": line.days,
            "tax_category": line.tax_category.value,
            "tax_rate": line.tax_rate,
            "amount": to_minor(line.amount, currency),
            "original_billing_month": str(line.billing_month) if line.billing_month else None,
        }
        for n, line in enumerate(lines, start=1)
    ]


def receivable_rows(draft: ReceivableDraft) -> tuple[Row, list[Row]]:
    """What the draft says as its `receivables` row and its `receivable_lines` rows, without
    ids (the closing adds its own and what it knows of the contract and the run)."""
    currency = draft.currency
    receivable = {
        "contract_id": draft.contract_id,
        "billing_month": str(draft.billing_month),
        "period_start": draft.period.start,
        "period_end": draft.period.end,
        "currency": currency,
        "tax_mode": draft.tax_mode.value,
        **totals_row(draft.totals, currency),
        "due_date": draft.due_date,
        "line_count": len(draft.lines),
    }
    return receivable, line_rows(draft.lines, currency)


def unstorable_amount(receivable: Row, lines: Sequence[Row]) -> str | None:
    """What of these rows an amount column cannot hold (an absurd fee or quantity), named;
    None when everything fits."""
    for name in ("subtotal", "tax_total", "total"):
        if receivable[name] not in STORABLE:
            return f"the receivable's {name} {receivable[name]} is out of range"
    for part in receivable["tax_breakdown"]:
        for name in ("base", "tax"):
            if part[name] not in STORABLE:
                return f"the {part['tax_category']} {name} {part[name]} is out of range"
    for line in lines:
        if line["amount"] not in STORABLE:
            return f"line {line['line_no']}'s amount {line['amount']} is out of range"
    return None
