"""One way out: a rated draft as the rows the closing stores (billing/receivable_rows.py)."""

from __future__ import annotations

from kakin.billing.receivable_rows import receivable_rows, totals_row, unstorable_amount
from kakin.kit.bounds import MAX_STORED_MINOR
from kakin.rating.engine import rate_period
from kakin.rating.periods import BillingMonth
from kakin.rating.tax import TaxMode
from tests.rating.factories import contract, monthly_plan, subscription

NOVEMBER = BillingMonth(2026, 11)


def test_a_draft_becomes_its_rows_in_minor_units_without_rounding() -> None:
    draft = rate_period(contract(subscription(monthly_plan("3000"), start="2026-11-11")), NOVEMBER)
    receivable, lines = receivable_rows(draft)
    # 3,000 × 20/30 days = 2,000; tax 10 % = 200
    assert {k: receivable[k] for k in ("subtotal", "tax_total", "total", "line_count")} == {
        "subtotal": 2000,
        "tax_total": 200,
        "total": 2200,
        "line_count": 1,
    }
    assert receivable["tax_breakdown"] == [
        {"tax_category": "standard", "rate": "0.10", "base": 2000, "tax": 200}
    ]
    assert receivable["tax_mode"] == TaxMode.EXCLUSIVE.value
    assert receivable["billing_month"] == "2026-11"
    (line,) = lines
    assert (line["line_no"], line["kind"], line["amount"], line["days"]) == (
        1,
        "recurring",
        2000,
        20,
    )
    assert (line["description"], line["source_kind"], line["source_id"]) == (
        "recurring",
        "recurring_fee",
        "base",
    )
    assert totals_row(draft.totals, draft.currency) == {
        k: receivable[k] for k in ("subtotal", "tax_total", "total", "tax_breakdown")
    }
    assert unstorable_amount(receivable, lines) is None


def test_an_amount_no_column_can_hold_is_named() -> None:
    draft = rate_period(contract(subscription(monthly_plan("3000"))), NOVEMBER)
    receivable, lines = receivable_rows(draft)
    lines[0]["amount"] = MAX_STORED_MINOR + 1
    assert unstorable_amount(receivable, lines) == (
        f"line 1's amount {MAX_STORED_MINOR + 1} is out of range"
    )
    receivable["total"] = -MAX_STORED_MINOR - 1
    assert unstorable_amount(receivable, lines) == (
        f"the receivable's total {-MAX_STORED_MINOR - 1} is out of range"
    )
