"""The rating engine: a contract's billing month → its receivable draft (RATING.md §3–§8)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from kakin.kit.money import RoundingMode
from kakin.rating import (
    Adjustment,
    AdvanceBilling,
    Band,
    BillingMonth,
    BillingTiming,
    ContractInput,
    Discount,
    DiscountKind,
    DiscountTable,
    EarlierPeriodUsage,
    EarlyTerminationKind,
    EarlyTerminationRule,
    Interval,
    IntervalAlignment,
    LineKind,
    LineNote,
    MinimumTerm,
    OneTimeCharge,
    OneTimeFee,
    PaymentTerms,
    Period,
    PlanAssignment,
    PriceOverride,
    PricePlan,
    ProrationMode,
    QuantityChange,
    RatingPolicy,
    ReceivableDraft,
    RecurringFee,
    Suspension,
    SuspensionFee,
    Tariff,
    TariffShape,
    TariffVersion,
    TaxCategory,
    TaxMode,
    TopUp,
    UsageCharge,
    UsageEntry,
    rate_period,
    remaining_allowance_on,
)

from .factories import D, contract, d, monthly_plan, per_unit_charge, subscription
from .test_tariffs import GRADUATED

NOVEMBER = BillingMonth(2026, 11)


def rate(contract_input: ContractInput, month: BillingMonth = NOVEMBER) -> ReceivableDraft:
    """Rate and check the receivable's arithmetic (RATING.md §8: "The lines add up to the
    receivable's pre-tax total, exactly")."""
    draft = rate_period(contract_input, month)
    assert draft.lines_total == sum((line.amount for line in draft.lines), D(0))
    assert draft.tax_total == sum((s.tax for s in draft.tax_subtotals), D(0))
    return draft


def amounts(draft: ReceivableDraft, kind: LineKind | None = None) -> list[Decimal]:
    return [line.amount for line in draft.lines if kind is None or line.kind is kind]


def test_a_subscription_starting_mid_period_pays_its_active_days() -> None:
    """RATING.md §3: "fee × active_days / period_days. Start date and end date both count as
    active days." 20th closing, 2026-11 has 31 days; from 11-11 that is 10 of them."""
    draft = rate(contract(subscription(monthly_plan(3100), start="2026-11-11"), closing_day=20))
    (line,) = draft.lines
    assert line.amount == D(1000)
    assert (line.days, line.period) == (10, Period(d("2026-11-11"), d("2026-11-20")))
    assert draft.period == Period(d("2026-10-21"), d("2026-11-20"))


def test_full_proration_charges_the_whole_fee_for_a_partial_period() -> None:
    """RATING.md §3: "`full` (any active day means the whole fee — the seed platform's own
    fees work this way)"."""
    plan = monthly_plan(3100, proration=ProrationMode.FULL)
    draft = rate(contract(subscription(plan, start="2026-11-20"), closing_day=20))
    assert amounts(draft) == [D(3100)]


def test_a_plan_change_splits_the_period_at_its_effective_date() -> None:
    """RATING.md §3: "A plan change effective on date E: the old plan is active through E−1,
    the new plan from E." Each segment gives its own line (§4)."""
    sub = subscription(monthly_plan(3000), start="2026-01-01")
    changed = (*sub.plans, PlanAssignment(d("2026-11-16"), monthly_plan(6000, plan_id="pro")))
    draft = rate(contract(replace(sub, plans=changed)))
    assert amounts(draft) == [D(1500), D(3000)]
    assert [line.period for line in draft.lines] == [
        Period(d("2026-11-01"), d("2026-11-15")),
        Period(d("2026-11-16"), d("2026-11-30")),
    ]


def test_a_quantity_change_splits_the_recurring_fee() -> None:
    """RATING.md §3: "A quantity change likewise." 1,000 per unit: 10 days × 2 units and 20
    days × 3 units of a 30-day period."""
    sub = subscription(
        monthly_plan(1000),
        quantities=(
            QuantityChange(d("2026-01-01"), D(2)),
            QuantityChange(d("2026-11-11"), D(3)),
        ),
    )
    draft = rate(contract(sub))
    assert amounts(draft) == [D(666), D(2000)]
    assert [line.quantity for line in draft.lines] == [D(2), D(3)]


def test_a_negotiated_price_is_dated_like_a_plan_change() -> None:
    """RATING.md §3: "A subscription may override any amount of its plan (相対価格 …); an
    override is dated like a plan change." """
    sub = subscription(
        monthly_plan(3000), overrides=(PriceOverride("base", d("2026-11-16"), amount=D(2500)),)
    )
    draft = rate(contract(sub))
    assert amounts(draft) == [D(1500), D(1250)]
    assert [line.unit_price for line in draft.lines] == [D(3000), D(2500)]


def test_a_tariff_revision_splits_usage_but_not_the_recurring_fee() -> None:
    """RATING.md §4: "a period that straddles a revision is rated with each version over its
    days (usage by record date …)"."""
    charge = UsageCharge(
        "calls-charge",
        "calls",
        tariffs=(
            TariffVersion("v1", d("2020-01-01"), Tariff(TariffShape.PER_UNIT, unit_price=D(10))),
            TariffVersion("v2", d("2026-11-16"), Tariff(TariffShape.PER_UNIT, unit_price=D(8))),
        ),
    )
    sub = subscription(monthly_plan(3000, usage_charges=(charge,)))
    usage = (
        UsageEntry("s1", "calls", d("2026-11-10"), D(5)),
        UsageEntry("s1", "calls", d("2026-11-20"), D(5)),
    )
    draft = rate(contract(sub, usage=usage))
    assert amounts(draft, LineKind.RECURRING) == [D(3000)]
    usage_lines = [line for line in draft.lines if line.kind is LineKind.USAGE]
    assert [(line.source_id, line.quantity, line.amount) for line in usage_lines] == [
        ("v1", D(5), D(50)),
        ("v2", D(5), D(40)),
    ]


def test_a_partial_segment_prorates_the_tariffs_fixed_amounts_only() -> None:
    """RATING.md §4 "Partial periods": "the tariff's amounts that do not depend on q … are
    prorated by the segment's active days over the period's days, exactly like a
    recurring fee … Unit prices and band bounds are never prorated." """
    tariff = Tariff(TariffShape.BASE_PLUS_USAGE, fixed_fee=D(1000), unit_price=D(10))
    charge = UsageCharge("data", "data", (TariffVersion("t", d("2020-01-01"), tariff),))
    plan = PricePlan("p", usage_charges=(charge,))
    usage = (UsageEntry("s1", "data", d("2026-11-20"), D(7)),)
    draft = rate(contract(subscription(plan, start="2026-11-16"), usage=usage))
    assert amounts(draft) == [D(570)]  # 1,000 × 15/30 + 10 × 7
    full = PricePlan("p", usage_charges=(charge,), proration=ProrationMode.FULL)
    draft = rate(contract(subscription(full, start="2026-11-16"), usage=usage))
    assert amounts(draft) == [D(1070)]


def test_suspended_days_are_not_charged_without_a_suspension_fee() -> None:
    """RATING.md §3: "Suspended days (停止) are not charged unless the plan has a suspension
    fee, which is then prorated over the suspended days the same way." """
    suspension = (Suspension(d("2026-11-11"), d("2026-11-20")),)
    draft = rate(contract(subscription(monthly_plan(3000), suspensions=suspension)))
    assert amounts(draft) == [D(2000)]
    assert draft.lines[0].days == 20
    plan = monthly_plan(3000, suspension_fee=SuspensionFee("keep", D(300)))
    draft = rate(contract(subscription(plan, suspensions=suspension)))
    assert amounts(draft) == [D(2000), D(100)]
    assert draft.lines[1].note is LineNote.SUSPENSION_FEE
    assert draft.lines[1].days == 10


def test_usage_on_suspended_days_is_rated() -> None:
    """RATING.md §4: "A record on a suspended day is accepted and rated like any other."""
    plan = PricePlan("p", usage_charges=(per_unit_charge("10"),))
    sub = subscription(plan, suspensions=(Suspension(d("2026-11-01")),))
    usage = (UsageEntry("s1", "calls", d("2026-11-05"), D(3)),)
    assert amounts(rate(contract(sub, usage=usage))) == [D(30)]


def test_unused_usage_makes_no_line_but_a_fixed_usage_amount_is_still_due() -> None:
    """RATING.md §4 #7: "band 1 is always reached (its flat `f_1` is due even at q = 0)"."""
    graduated = UsageCharge("g", "data", (TariffVersion("t", d("2020-01-01"), GRADUATED),))
    plan = PricePlan("p", usage_charges=(per_unit_charge("10"), graduated))
    assert amounts(rate(contract(subscription(plan)))) == [D(2)]


def test_suspension_with_full_proration_charges_a_segment_with_any_active_day() -> None:
    """RATING.md §4: "With `full` proration a segment with at least one active day is
    charged in full, one with none is not charged." """
    plan = monthly_plan(3000, proration=ProrationMode.FULL)
    partly = (Suspension(d("2026-11-02"), d("2026-11-30")),)
    assert amounts(rate(contract(subscription(plan, suspensions=partly)))) == [D(3000)]
    wholly = (Suspension(d("2026-10-20"), d("2026-12-02")),)
    assert rate(contract(subscription(plan, suspensions=wholly))).lines == ()


def test_a_line_is_taxed_at_the_rate_valid_on_the_last_day_it_covers() -> None:
    """RATING.md §7: "Rates are dated master data" — September 2019 at 8 %, October at 10 %."""
    sub = subscription(monthly_plan(1000), start="2019-01-01")
    september = rate(contract(sub), BillingMonth(2019, 9))
    october = rate(contract(sub), BillingMonth(2019, 10))
    assert (september.lines[0].tax_rate, september.tax_total) == (D("0.08"), D(80))
    assert (october.lines[0].tax_rate, october.tax_total) == (D("0.10"), D(100))


def test_per_record_items_round_each_record_up() -> None:
    """RATING.md §4: "An item may instead rate per record (each call rounded up to its units
    and priced on its own, then summed)"."""
    charge = per_unit_charge("10", unit=D(30), per_record=True, unit_name="30s")
    plan = PricePlan("p", usage_charges=(charge,))
    usage = tuple(UsageEntry("s1", "calls", d("2026-11-05"), D(raw)) for raw in (10, 10, 31))
    draft = rate(contract(subscription(plan), usage=usage))
    assert [(line.quantity, line.unit, line.amount) for line in draft.lines] == [
        (D(4), "30s", D(40))
    ]


def test_a_top_up_raises_the_allowance_and_is_billed_as_a_one_time_fee() -> None:
    """RATING.md §4: "Top-ups bought during a period (追加購入) raise that period's allowance
    and are billed as one-time fees." """
    charge = per_unit_charge("100", item="gb", allowance=D(3))
    plan = PricePlan("p", usage_charges=(charge,))
    usage = (UsageEntry("s1", "gb", d("2026-11-25"), D(5)),)
    top_up = TopUp("t1", "s1", "gb", d("2026-11-20"), D(1), D(550))
    draft = rate(contract(subscription(plan), usage=usage, top_ups=(top_up,)))
    assert [(line.kind, line.note, line.amount) for line in draft.lines] == [
        (LineKind.USAGE, LineNote.CHARGE, D(100)),  # 5 − (3 + 1) = 1 GB
        (LineKind.ONE_TIME, LineNote.TOP_UP, D(550)),
    ]


def test_the_remaining_allowance_can_be_read_at_any_time() -> None:
    """RATING.md §4: "What remains of an allowance can be read at any time." 3 GB included,
    1 GB bought on 11-20; 2 GB used by 11-19 and 3 more on 11-25."""
    charge = per_unit_charge("100", item="gb", allowance=D(3))
    plan = PricePlan("p", usage_charges=(charge,))
    usage = (
        UsageEntry("s1", "gb", d("2026-11-19"), D(2)),
        UsageEntry("s1", "gb", d("2026-11-25"), D(3)),
    )
    top_up = TopUp("t1", "s1", "gb", d("2026-11-20"), D(1), D(550))
    c = contract(subscription(plan), usage=usage, top_ups=(top_up,))
    assert remaining_allowance_on(c, "s1", "gb", d("2026-11-19")) == D(1)
    assert remaining_allowance_on(c, "s1", "gb", d("2026-11-20")) == D(2)
    assert remaining_allowance_on(c, "s1", "gb", d("2026-11-30")) == D(0)
    assert remaining_allowance_on(c, "s1", "gb", d("2026-12-01")) == D(3)
    assert remaining_allowance_on(c, "s1", "sms", d("2026-11-19")) is None


def test_one_time_fees_are_billed_at_the_first_closing_after_they_are_incurred() -> None:
    """RATING.md §3: "One-time fees … are billed on the first closing after the date they are
    incurred (a subscription's one-time fees are incurred on its start date). A one-time fee
    is per subscription, or per unit of quantity when the plan says so." """
    plan = monthly_plan(
        0,
        one_time_fees=(
            OneTimeFee("contract-fee", D(3300)),
            OneTimeFee("device", D(10_000), per_quantity=True),
        ),
    )
    sub = subscription(
        plan, start="2026-11-30", quantities=(QuantityChange(d("2026-11-30"), D(2)),)
    )
    charges = (
        OneTimeCharge("c1", "construction", d("2026-11-20"), D(20_000), subscription_id="s1"),
        OneTimeCharge("c2", "construction", d("2026-12-01"), D(5000), subscription_id="s1"),
    )
    draft = rate(contract(sub, one_time_charges=charges))
    assert amounts(draft, LineKind.ONE_TIME) == [D(3300), D(20_000), D(20_000)]
    december = rate(contract(sub, one_time_charges=charges[1:]), BillingMonth(2026, 12))
    assert amounts(december, LineKind.ONE_TIME) == [D(5000)]


ADVANCE = PricePlan(
    "adv", recurring_fees=(RecurringFee("base", D(3000), timing=BillingTiming.ADVANCE),)
)


def test_an_advance_fee_bills_the_first_period_and_the_next_at_the_first_closing() -> None:
    """RATING.md §3: "A price plan may bill it in advance instead (on the closing before the
    period it covers)"; "a new subscription's first interval: at its first closing"."""
    sub = subscription(ADVANCE, start="2026-11-11")
    draft = rate(contract(sub))
    assert amounts(draft) == [D(2000), D(3000)]
    assert {line.note for line in draft.lines} == {LineNote.IN_ADVANCE}
    assert draft.lines[1].period == Period(d("2026-12-01"), d("2026-12-31"))
    assert amounts(rate(contract(sub), BillingMonth(2026, 12))) == [D(3000)]


def test_a_subscription_registered_before_its_start_is_billed_in_advance_only_once() -> None:
    """RATING.md §3: "a new subscription's first interval: at its first closing" — the
    closing of its first billing month, not the one before it."""
    sub = subscription(ADVANCE, start="2026-12-11")
    assert rate(contract(sub)).lines == ()
    december = rate(contract(sub), BillingMonth(2026, 12))
    assert [line.period for line in december.lines] == [
        Period(d("2026-12-11"), d("2026-12-31")),
        Period(d("2027-01-01"), d("2027-01-31")),
    ]


def test_cancelling_an_advance_billed_period_gives_a_prorated_credit_next_time() -> None:
    """RATING.md §3: "then a mid-period cancellation or downgrade gives a prorated credit line
    on the next receivable". December (31 days) was billed 3,000 in advance; the
    subscription ends on 12-15, so 15 days are due: 1,451 → a credit of 1,549."""
    sub = subscription(ADVANCE, start="2026-01-01", end="2026-12-15")
    december = Period(d("2026-12-01"), d("2026-12-31"))
    billed = AdvanceBilling("s1", "base", december, D(3000))
    draft = rate(contract(sub, advance_billings=(billed,)), BillingMonth(2026, 12))
    (credit,) = draft.lines
    assert (credit.note, credit.amount, credit.period) == (
        LineNote.ADVANCE_SETTLEMENT,
        D(-1549),
        december,
    )
    settled = AdvanceBilling("s1", "base", december, D(1451))
    assert rate(contract(sub, advance_billings=(settled,)), BillingMonth(2026, 12)).lines == ()


def test_switching_from_an_advance_plan_to_an_arrears_plan_never_bills_a_day_twice() -> None:
    """RATING.md §3: the advance-billed days of the old plan are credited; the new plan's
    days are billed by its own (in-arrears) line. December: 15 days each side."""
    arrears = monthly_plan(6200, plan_id="arrears")
    sub = subscription(ADVANCE, start="2026-01-01")
    sub = replace(sub, plans=(*sub.plans, PlanAssignment(d("2026-12-16"), arrears)))
    december = Period(d("2026-12-01"), d("2026-12-31"))
    billed = AdvanceBilling("s1", "base", december, D(3000))
    draft = rate(contract(sub, advance_billings=(billed,)), BillingMonth(2026, 12))
    assert [(line.note, line.amount) for line in draft.lines] == [
        (LineNote.CHARGE, D(3200)),  # 6,200 × 16/31
        (LineNote.ADVANCE_SETTLEMENT, D(1451) - D(3000)),  # 3,000 × 15/31 = 1,451.6
    ]


def test_a_subscription_ending_inside_an_arrears_interval_is_billed_on_its_final_receivable() -> (
    None
):
    """RATING.md §3: a partial interval "is prorated by active days over the interval's
    days"; the cancelled subscription has no later closing, so its final one bills it."""
    plan = PricePlan("q", recurring_fees=(RecurringFee("base", D(9000), interval=Interval(3)),))
    sub = subscription(plan, start="2026-01-01", end="2026-02-14")
    (line,) = rate(contract(sub), BillingMonth(2026, 2)).lines
    assert line.amount == D(4500)  # 45 of the quarter's 90 days
    assert rate(contract(sub), BillingMonth(2026, 3)).lines == ()


def test_a_calendar_quarter_fee_in_advance_bills_the_rest_of_the_first_quarter() -> None:
    """RATING.md §3: intervals "aligned to calendar quarters … when the plan says so"; in
    advance "a new subscription's first interval: at its first closing"."""
    quarterly = Interval(3, IntervalAlignment.CALENDAR)
    fee = RecurringFee("base", D(9000), timing=BillingTiming.ADVANCE, interval=quarterly)
    sub = subscription(PricePlan("q", recurring_fees=(fee,)), start="2026-02-01")
    (line,) = rate(contract(sub), BillingMonth(2026, 2)).lines
    assert (line.amount, line.period) == (D(5900), Period(d("2026-02-01"), d("2026-03-31")))
    (line,) = rate(contract(sub), BillingMonth(2026, 3)).lines
    assert line.period == Period(d("2026-04-01"), d("2026-06-30"))


def test_an_interval_fee_in_arrears_is_billed_at_the_intervals_last_month() -> None:
    """RATING.md §3: "A recurring fee is charged every 1 (default), 2, 3, 6 or 12 billing
    months … In arrears it is billed at the closing of the interval's last billing month"."""
    plan = PricePlan("q", recurring_fees=(RecurringFee("base", D(9000), interval=Interval(3)),))
    sub = subscription(plan, start="2026-01-01")
    assert rate(contract(sub), BillingMonth(2026, 2)).lines == ()
    (line,) = rate(contract(sub), BillingMonth(2026, 3)).lines
    assert (line.amount, line.period) == (D(9000), Period(d("2026-01-01"), d("2026-03-31")))


def test_a_partial_interval_is_prorated_over_the_intervals_days() -> None:
    """RATING.md §3: "A partial interval is prorated by active days over the interval's
    days; cancelling inside an interval paid in advance gives a prorated credit line"."""
    plan = PricePlan(
        "y",
        recurring_fees=(
            RecurringFee("base", D(12_000), timing=BillingTiming.ADVANCE, interval=Interval(12)),
        ),
    )
    sub = subscription(plan, start="2026-04-01")
    (line,) = rate(contract(sub), BillingMonth(2026, 4)).lines
    year = Period(d("2026-04-01"), d("2027-03-31"))
    assert (line.amount, line.period) == (D(12_000), year)
    assert rate(contract(sub), BillingMonth(2026, 5)).lines == ()
    cancelled = subscription(plan, start="2026-04-01", end="2026-09-30")
    billed = AdvanceBilling("s1", "base", year, D(12_000))
    (credit,) = rate(contract(cancelled, advance_billings=(billed,)), BillingMonth(2026, 9)).lines
    assert credit.amount == D(6016) - D(12_000)  # 12,000 × 183/365 = 6,016.4


def test_late_usage_goes_on_the_next_receivable_marked_with_its_period() -> None:
    """RATING.md §8: "Usage that arrives for an already-rated period goes onto the next
    receivable as a usage line marked with its original period." """
    plan = PricePlan("p", usage_charges=(per_unit_charge("10"),))
    october = BillingMonth(2026, 10)
    entries = (
        UsageEntry("s1", "calls", d("2026-10-05"), D(10)),
        UsageEntry("s1", "calls", d("2026-10-30"), D(5)),  # the late one
    )
    earlier = EarlierPeriodUsage(october, "s1", "calls", entries, D(100), D(10))
    draft = rate(contract(subscription(plan), earlier_usage=(earlier,)))
    late = [line for line in draft.lines if line.note is LineNote.LATE_USAGE]
    assert [(line.amount, line.quantity, line.billing_month) for line in late] == [
        (D(50), D(5), october)
    ]


def test_early_termination_is_charged_on_the_final_receivable_and_never_discounted() -> None:
    """RATING.md §6: "A cancellation effective before the term ends adds an early-termination
    line on the final receivable … The line has the tax category the rule names"; §5: the
    target of a contract discount is "never early-termination fees or adjustments"."""
    plan = monthly_plan(
        3000,
        minimum_term=MinimumTerm(24),
        early_termination=EarlyTerminationRule(
            "penalty", EarlyTerminationKind.REMAINING_MONTHS_FEES, cap=D(10_000)
        ),
    )
    sub = subscription(plan, start="2025-01-01", end="2026-11-15")
    everything_free = Discount("free", DiscountTable("t", DiscountKind.FIXED_RATE, D(100)))
    adjustment = Adjustment("a1", D(-200))
    draft = rate(contract(sub, discounts=(everything_free,), adjustments=(adjustment,)))
    by_kind = {line.kind: line for line in draft.lines}
    assert by_kind[LineKind.RECURRING].amount == D(1500)
    assert by_kind[LineKind.DISCOUNT].amount == D(-1500)
    penalty = by_kind[LineKind.EARLY_TERMINATION]
    assert (penalty.amount, penalty.tax_category) == (D(6000), TaxCategory.OUT_OF_SCOPE)
    assert penalty.period == Period(d("2026-11-16"), d("2026-12-31"))
    assert by_kind[LineKind.ADJUSTMENT].amount == D(-200)
    assert draft.lines_total == D(5800)
    assert draft.tax_total == D(-20)  # standard: 1,500 − 1,500 − 200 = −200 → −20


def test_tax_exclusive_total_adds_tax_and_tax_inclusive_total_is_the_lines() -> None:
    """RATING.md §7: tax-inclusive "the total is the sum of the lines"."""
    sub = subscription(monthly_plan(1000))
    exclusive = rate(contract(sub))
    assert (exclusive.lines_total, exclusive.tax_total, exclusive.total) == (
        D(1000),
        D(100),
        D(1100),
    )
    inclusive = rate(contract(sub, policy=RatingPolicy(tax_mode=TaxMode.INCLUSIVE)))
    assert (inclusive.lines_total, inclusive.tax_total, inclusive.total) == (
        D(1000),
        D(90),
        D(1000),
    )
    assert inclusive.pre_tax_total == D(910)


def test_lines_carry_the_tax_rate_of_their_category() -> None:
    """RATING.md §7: "Every fee has a tax category"; each rate is taxed once (§7)."""
    plan = PricePlan(
        "food",
        recurring_fees=(
            RecurringFee("box", D(3000), tax_category=TaxCategory.REDUCED),
            RecurringFee("delivery", D(500)),
        ),
    )
    draft = rate(contract(subscription(plan)))
    assert [(s.category, s.rate, s.tax) for s in draft.tax_subtotals] == [
        (TaxCategory.STANDARD, D("0.10"), D(50)),
        (TaxCategory.REDUCED, D("0.08"), D(240)),
    ]


def test_the_draft_carries_the_due_date_of_the_payment_terms() -> None:
    """RATING.md §8: the receivable holds "the due date"; direct debit moves off holidays."""
    terms = PaymentTerms(month_offset=1, day=20)
    sub = subscription(monthly_plan(1000))
    draft = rate(contract(sub, closing_day=20, payment_terms=terms, direct_debit=True))
    assert draft.due_date == d("2026-12-21")


def test_usage_no_charge_can_rate_is_reported_not_dropped() -> None:
    sub = subscription(monthly_plan(1000))
    stray = UsageEntry("s1", "sms", d("2026-11-03"), D(4))
    assert rate(contract(sub, usage=(stray,))).unrated_usage == (stray,)


def test_a_zero_receivable_is_kept_but_requests_no_payment() -> None:
    """RATING.md §8: "A zero-amount receivable is kept (the customer's statement shows it)
    but produces no payment request." """
    draft = rate(contract(subscription(monthly_plan(0))))
    assert draft.total == 0
    assert len(draft.lines) == 1
    assert not draft.requests_payment


# --- issue 6 §1: the money rules as RATING.md states them now ------------------------------


def test_a_fixed_amount_discount_is_prorated_over_active_days_not_suspended_ones() -> None:
    """RATING.md §5: "`fixed_amount`: discount = d × (days that are inside the discount's
    range and on which the target is active) / period days" and "Suspended days are not
    active days, for discounts as for fees (§3)". A subscription lives 17 of November's 30
    days (11-14 … 11-30) and is suspended on 2 of them: 600 × 15/30 = 300, not 600 × 17/30."""
    suspended = (Suspension(d("2026-11-20"), d("2026-11-21")),)
    sub = subscription(monthly_plan(3000), start="2026-11-14", suspensions=suspended)
    contract_discount = Discount("d", DiscountTable("t", DiscountKind.FIXED_AMOUNT, D(600)))
    draft = rate(contract(sub, discounts=(contract_discount,)))
    assert amounts(draft) == [D(1500), D(-300)]  # the fee too: 3,000 × 15/30
    assert draft.lines[1].days == 15


def test_a_rate_discount_covering_every_active_day_applies_in_full() -> None:
    """RATING.md §5: "c is the share of the target's active days in the period that lie
    inside the discount's date range (1 when it covers them all …). Suspended days are not
    active days". Suspended 11-16 … 11-30, the 50 % discount runs 11-01 … 11-15: c = 1."""
    suspended = (Suspension(d("2026-11-16"), d("2026-11-30")),)
    sub = subscription(monthly_plan(3000), suspensions=suspended)
    half = Discount(
        "half",
        DiscountTable("t", DiscountKind.FIXED_RATE, D(50)),
        subscription_id="s1",
        valid_to=d("2026-11-15"),
    )
    assert amounts(rate(contract(sub, discounts=(half,)))) == [D(1500), D(-750)]


def test_a_contracts_active_days_are_the_days_any_subscription_is_active() -> None:
    """RATING.md §5: "a contract's active days are the days on which any of its
    subscriptions is active", suspended days not being active. Two subscriptions suspended
    on the same second half leave 15 active days (600 × 15/30); suspended on opposite
    halves they leave all 30."""
    first_half = (Suspension(d("2026-11-01"), d("2026-11-15")),)
    second_half = (Suspension(d("2026-11-16"), d("2026-11-30")),)
    fixed = Discount("d", DiscountTable("t", DiscountKind.FIXED_AMOUNT, D(600)))

    def contract_discount(*suspensions: tuple[Suspension, ...]) -> Decimal:
        subs = [
            subscription(monthly_plan(3000), sub_id=f"s{i}", suspensions=s)
            for i, s in enumerate(suspensions)
        ]
        return sum(amounts(rate(contract(*subs, discounts=(fixed,))), LineKind.DISCOUNT), D(0))

    assert contract_discount(second_half, second_half) == D(-300)
    assert contract_discount(first_half, second_half) == D(-600)


def test_per_record_usage_is_one_line_rounded_once() -> None:
    """RATING.md §1: "each receivable line's amount is rounded to the currency's minor unit
    once, after its tariff, proration and quantity are applied". Three calls rated per
    record with a flat 100 each, over 10 of 30 days: 3 × 100 × 10/30 = 100 exactly, not
    3 × 33.33… = 99."""
    flat = Tariff(TariffShape.FLAT, fixed_fee=D(100))
    charge = UsageCharge(
        "c", "calls", (TariffVersion("t", d("2000-01-01"), flat),), per_record=True
    )
    sub = subscription(PricePlan("p", usage_charges=(charge,)), start="2026-11-21")
    usage = tuple(UsageEntry("s1", "calls", d("2026-11-25"), D(1)) for _ in range(3))
    assert amounts(rate(contract(sub, usage=usage))) == [D(100)]


def test_a_graduated_tariffs_prorated_band_flats_are_rounded_once() -> None:
    """RATING.md §1 line rounding "once", §4 #7 `Σk (f_k + p_k · units of q in band k)`
    with the `f_k` prorated: flats 100/100/100 over 10 of 30 days give 100, not 99."""
    tariff = Tariff(
        TariffShape.GRADUATED,
        bands=(
            Band(D(10), unit_price=D(0), flat_fee=D(100)),
            Band(D(20), unit_price=D(0), flat_fee=D(100)),
            Band(None, unit_price=D(0), flat_fee=D(100)),
        ),
    )
    charge = UsageCharge("c", "data", (TariffVersion("t", d("2000-01-01"), tariff),))
    sub = subscription(PricePlan("p", usage_charges=(charge,)), start="2026-11-21")
    usage = (UsageEntry("s1", "data", d("2026-11-25"), D(25)),)
    assert amounts(rate(contract(sub, usage=usage))) == [D(100)]


def test_an_early_termination_fee_summing_interval_fees_is_rounded_once() -> None:
    """RATING.md §1: one line, one rounding; §6 "one month's recurring fee (× quantity)":
    three quarterly fees of 100 are 3 × 100/3 = 100 a month, not 99."""
    plan = PricePlan(
        "q",
        recurring_fees=tuple(
            RecurringFee(f"fee{i}", D(100), interval=Interval(3)) for i in range(3)
        ),
        minimum_term=MinimumTerm(24),
        early_termination=EarlyTerminationRule("one", EarlyTerminationKind.ONE_MONTH_FEE),
    )
    sub = subscription(plan, start="2026-01-01", end="2026-11-15")
    assert amounts(rate(contract(sub)), LineKind.EARLY_TERMINATION) == [D(100)]


def test_a_contract_discount_takes_from_the_merged_buckets_of_its_subscriptions() -> None:
    """RATING.md §5: "A contract discount takes from the contract's buckets: those of all its
    subscriptions merged, one bucket per line kind and tax category (so the tie order above
    is complete)." Two subscriptions' standard recurring lines of 1 yen make one bucket of
    2, tied with the reduced bucket of 2: a 1 yen discount goes to `standard` first, as one
    line of the contract (no subscription)."""
    both = PricePlan(
        "both",
        recurring_fees=(
            RecurringFee("base", D(1)),
            RecurringFee("box", D(2), tax_category=TaxCategory.REDUCED),
        ),
    )
    subs = (subscription(both, sub_id="s1"), subscription(monthly_plan(1), sub_id="s2"))
    one_yen = Discount("d", DiscountTable("t", DiscountKind.FIXED_AMOUNT, D(1)))
    draft = rate(contract(*subs, discounts=(one_yen,)))
    (line,) = [line for line in draft.lines if line.kind is LineKind.DISCOUNT]
    assert (line.subscription_id, line.tax_category, line.amount) == (
        None,
        TaxCategory.STANDARD,
        D(-1),
    )


def test_an_arrears_interval_that_ends_early_is_billed_on_the_final_receivable() -> None:
    """RATING.md §3: "A subscription that ends inside an interval billed in arrears has that
    partial interval billed on its final receivable (the closing of the period that holds
    its end date), not at the interval's last month." A half-year fee of 18,100 (181 days,
    January … June); the subscription ends 03-31: 90 days → 9,000 at March's closing."""
    plan = PricePlan("h", recurring_fees=(RecurringFee("base", D(18_100), interval=Interval(6)),))
    sub = subscription(plan, start="2026-01-01", end="2026-03-31")
    assert rate(contract(sub), BillingMonth(2026, 2)).lines == ()
    (line,) = rate(contract(sub), BillingMonth(2026, 3)).lines
    assert (line.amount, line.period, line.days) == (
        D(9000),
        Period(d("2026-01-01"), d("2026-03-31")),
        90,
    )
    assert rate(contract(sub), BillingMonth(2026, 6)).lines == ()


def test_an_advance_credit_keeps_exactly_what_was_billed() -> None:
    """RATING.md §3: "Cancelling inside an interval paid in advance gives a credit line on the
    next receivable: what was billed for the interval minus the interval's fee prorated over
    the days kept, rounded as a line (so kept + credit = billed, exactly)." 10,000 a year
    (365 days) billed in advance, ended after 100 days: kept 10,000 × 100/365 = 2,739.7…"""
    fee = RecurringFee("base", D(10_000), timing=BillingTiming.ADVANCE, interval=Interval(12))
    plan = PricePlan("y", recurring_fees=(fee,))
    year = Period(d("2026-04-01"), d("2027-03-31"))
    billed = AdvanceBilling("s1", "base", year, D(10_000))
    sub = subscription(plan, start="2026-04-01", end="2026-07-09")  # 100 days
    for mode, kept in [
        (RoundingMode.FLOOR, D(2739)),
        (RoundingMode.CEIL, D(2740)),
        (RoundingMode.HALF_UP, D(2740)),
    ]:
        policy = RatingPolicy(line_rounding=mode)
        draft = rate(
            contract(sub, advance_billings=(billed,), policy=policy), BillingMonth(2026, 7)
        )
        (credit,) = draft.lines
        assert (credit.note, credit.days) == (LineNote.ADVANCE_SETTLEMENT, 100)
        assert credit.amount == kept - billed.billed
        assert kept + (-credit.amount) == billed.billed


def test_a_late_usage_line_is_the_re_rated_amount_rounded_as_a_line_minus_what_was_billed() -> None:
    """RATING.md §8: "the original period's usage charge is rated again with every record
    known now …, rounded as a line, and the line is that amount minus what was billed for
    it." At 0.3 a call: 5 calls billed 1 (1.5 floored); 5 late ones make 10 calls = 3, so
    the late line is 3 − 1 = 2 (rating the 5 late calls alone would give 1)."""
    plan = PricePlan("p", usage_charges=(per_unit_charge("0.3"),))
    october = BillingMonth(2026, 10)
    entries = (
        UsageEntry("s1", "calls", d("2026-10-05"), D(5)),
        UsageEntry("s1", "calls", d("2026-10-30"), D(5)),  # the late one
    )
    earlier = EarlierPeriodUsage(october, "s1", "calls", entries, D(1), D(5))
    draft = rate(contract(subscription(plan), earlier_usage=(earlier,)))
    (late,) = [line for line in draft.lines if line.note is LineNote.LATE_USAGE]
    assert (late.amount, late.quantity, late.billing_month) == (D(2), D(5), october)


def test_late_usage_lines_are_outside_the_next_receivables_discounts() -> None:
    """RATING.md §8: "Late usage lines are outside the next receivable's discounts." A 100 %
    contract discount takes November's fee, never October's late usage."""
    plan = monthly_plan(1000, usage_charges=(per_unit_charge("10"),))
    october = BillingMonth(2026, 10)
    entries = (UsageEntry("s1", "calls", d("2026-10-30"), D(7)),)
    earlier = EarlierPeriodUsage(october, "s1", "calls", entries, D(0), D(0))
    free = Discount("free", DiscountTable("t", DiscountKind.FIXED_RATE, D(100)))
    draft = rate(contract(subscription(plan), earlier_usage=(earlier,), discounts=(free,)))
    assert [(line.kind, line.note, line.amount) for line in draft.lines] == [
        (LineKind.RECURRING, LineNote.CHARGE, D(1000)),
        (LineKind.USAGE, LineNote.LATE_USAGE, D(70)),
        (LineKind.DISCOUNT, LineNote.CHARGE, D(-1000)),
    ]


def test_a_full_plans_suspension_fee_is_due_only_on_a_segment_without_an_active_day() -> None:
    """RATING.md §3: "With `full` proration a segment that has an active day pays the whole
    fee and no suspension fee; a segment with no active day pays the whole suspension fee
    instead." A plan change on 11-16 makes two segments; the subscription is suspended from
    11-10: the first segment (9 active days) pays 3,000, the second (none) pays 500."""
    first = monthly_plan(
        3000, plan_id="a", proration=ProrationMode.FULL, suspension_fee=SuspensionFee("k", D(300))
    )
    second = monthly_plan(
        4000, plan_id="b", proration=ProrationMode.FULL, suspension_fee=SuspensionFee("k", D(500))
    )
    sub = subscription(first, suspensions=(Suspension(d("2026-11-10")),))
    sub = replace(sub, plans=(*sub.plans, PlanAssignment(d("2026-11-16"), second)))
    draft = rate(contract(sub))
    assert [(line.note, line.amount, line.period) for line in draft.lines] == [
        (LineNote.CHARGE, D(3000), Period(d("2026-11-01"), d("2026-11-15"))),
        (LineNote.SUSPENSION_FEE, D(500), Period(d("2026-11-16"), d("2026-11-30"))),
    ]
