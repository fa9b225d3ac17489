"""Labels as data (issue 7): every line prints its own source's name and says what its
source id names; names label, they never price."""

from __future__ import annotations

from kakin.rating import (
    Adjustment,
    BillingMonth,
    LineKind,
    PlanAssignment,
    PricePlan,
    RecurringFee,
    SourceKind,
    SubscriptionInput,
    rate_period,
)
from tests.rating.factories import D, contract, d, per_unit_charge, subscription

OCTOBER = BillingMonth(2026, 10)


def test_each_line_carries_its_sources_name_and_kind() -> None:
    plan = PricePlan(
        plan_id="home",
        recurring_fees=(RecurringFee("base", D(3100), name="月額基本料"),),
        usage_charges=(per_unit_charge("0.05", name="パケット"),),
    )
    sub = subscription(plan, start="2026-10-01")
    draft = rate_period(
        contract(
            sub,
            adjustments=(Adjustment("adj1", D(-100), name="お詫び"),),
        ),
        OCTOBER,
    )
    labels = {(line.kind, line.source_kind, line.source_id): line.name for line in draft.lines}
    assert labels == {
        (LineKind.RECURRING, SourceKind.RECURRING_FEE, "base"): "月額基本料",
        (LineKind.ADJUSTMENT, SourceKind.ADJUSTMENT, "adj1"): "お詫び",
    }


def test_a_source_without_a_name_prints_its_kind() -> None:
    plan = PricePlan(plan_id="p", recurring_fees=(RecurringFee("base", D(1000)),))
    [line] = rate_period(contract(subscription(plan, start="2026-10-01")), OCTOBER).lines
    assert line.name == "recurring"


def test_a_fee_renamed_by_a_plan_revision_stays_one_line_with_the_same_amount() -> None:
    """A name takes no part in comparing fees: a revision that only renames a fee leaves
    its line as it was (one segment, one rounding), labelled by the name in force on the
    segment's last days."""
    before = PricePlan("p", recurring_fees=(RecurringFee("base", D(1000), name="旧"),))
    after = PricePlan("p", recurring_fees=(RecurringFee("base", D(1000), name="新"),))
    renamed = SubscriptionInput(
        subscription_id="s1",
        service_id="internet",
        start_date=d("2026-10-01"),
        plans=(PlanAssignment(d("2026-10-01"), before), PlanAssignment(d("2026-10-11"), after)),
    )
    [line] = rate_period(contract(renamed), OCTOBER).lines
    assert (line.amount, line.days, line.name) == (D(1000), 31, "新")
