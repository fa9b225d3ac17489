"""Properties of rating that must hold for any input (Hypothesis) — RATING.md §1, §3, §5, §8."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kakin.kit.money import RoundingMode, round_money
from kakin.rating import (
    Adjustment,
    AdvanceBilling,
    BillingMonth,
    BillingTiming,
    ContractInput,
    Discount,
    DiscountKind,
    DiscountScope,
    DiscountTable,
    LineKind,
    LineNote,
    PlanAssignment,
    PricePlan,
    ProrationMode,
    QuantityChange,
    RatingPolicy,
    RecurringFee,
    SubscriptionInput,
    Suspension,
    TariffVersion,
    TaxCategory,
    TaxMode,
    UsageCharge,
    UsageEntry,
    billing_period,
    rate_period,
)
from kakin.rating.discounts import (
    BucketKey,
    DiscountSetting,
    SubscriptionFacts,
    apply_discounts,
    split_proportionally,
)
from kakin.rating.periods import CLOSING_DAYS, ClosingDay, Period
from kakin.rating.proration import scale

from .test_tariffs import DOUBLE_FLAT, GRADUATED, STEP, VOLUME

ENGINE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

closing_days = st.sampled_from(CLOSING_DAYS)
months = st.builds(BillingMonth, st.integers(2025, 2027), st.integers(1, 12))
rounding_modes = st.sampled_from(list(RoundingMode))
categories = st.sampled_from(list(TaxCategory))
fees = st.decimals(min_value=0, max_value=100_000, places=2)
tariffs = st.sampled_from([GRADUATED, VOLUME, STEP, DOUBLE_FLAT])


@st.composite
def contracts(draw: st.DrawFn) -> tuple[ContractInput, BillingMonth]:
    """A random contract around a random billing month: subscriptions starting and ending
    anywhere near the period, plan changes, quantity changes, suspensions, usage through
    the seed's tariffs, discounts of every kind and scope, adjustments."""
    closing_day: ClosingDay = draw(closing_days)
    month = draw(months)
    period = billing_period(closing_day, month)

    def near(days: int = 40) -> date:
        return period.start + timedelta(days=draw(st.integers(-days, period.days + days)))

    subscriptions = []
    usage = []
    for index in range(draw(st.integers(1, 3))):
        sub_id = f"s{index}"
        start = near()
        end = draw(st.one_of(st.none(), st.builds(near)))
        if end is not None and end < start:
            start, end = end, start
        charge = UsageCharge(
            "u",
            "data",
            (TariffVersion("t", date(2000, 1, 1), draw(tariffs)),),
            tax_category=draw(categories),
        )
        plan = PricePlan(
            f"p{index}",
            proration=draw(st.sampled_from(list(ProrationMode))),
            recurring_fees=(RecurringFee("base", draw(fees), tax_category=draw(categories)),),
            usage_charges=(charge,) if draw(st.booleans()) else (),
        )
        plans = [PlanAssignment(start, plan)]
        if draw(st.booleans()):
            other = replace(
                plan, plan_id="other", recurring_fees=(RecurringFee("base", draw(fees)),)
            )
            plans.append(PlanAssignment(max(start, near()), other))
        quantities = (QuantityChange(start, Decimal(draw(st.integers(1, 5)))),)
        suspensions: tuple[Suspension, ...] = ()
        if draw(st.booleans()):
            first, second = sorted((near(), near()))
            suspensions = (Suspension(first, second),)
        subscriptions.append(
            SubscriptionInput(
                sub_id,
                draw(st.sampled_from(["internet", "power", "tv"])),
                start,
                tuple(plans),
                end_date=end,
                quantities=quantities,
                suspensions=suspensions,
            )
        )
        for _ in range(draw(st.integers(0, 4))):
            usage.append(UsageEntry(sub_id, "data", near(0), draw(fees)))
    discounts = []
    for index in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(list(DiscountKind)))
        value = (
            draw(st.decimals(0, 100, places=1)) if kind is DiscountKind.FIXED_RATE else draw(fees)
        )
        discounts.append(
            Discount(
                f"d{index}",
                DiscountTable(f"t{index}", kind, value),
                subscription_id=draw(st.one_of(st.none(), st.sampled_from(["s0", "s1"]))),
                scope=draw(st.sampled_from(list(DiscountScope))),
                valid_from=draw(st.one_of(st.none(), st.builds(near))),
                priority=draw(st.integers(0, 3)),
            )
        )
    adjustments = tuple(
        Adjustment(f"a{i}", draw(st.decimals(-5000, 5000, places=0)))
        for i in range(draw(st.integers(0, 2)))
    )
    policy = RatingPolicy(
        currency=draw(st.sampled_from(["JPY", "USD"])),
        line_rounding=draw(rounding_modes),
        tax_rounding=draw(rounding_modes),
        tax_mode=draw(st.sampled_from(list(TaxMode))),
    )
    contract = ContractInput(
        "c",
        closing_day,
        date(2020, 1, 1),
        tuple(subscriptions),
        policy=policy,
        usage=tuple(usage),
        discounts=tuple(discounts),
        adjustments=adjustments,
    )
    return contract, month


@ENGINE
@given(contracts())
def test_lines_add_up_to_the_receivable(case: tuple[ContractInput, BillingMonth]) -> None:
    """RATING.md §8: "The lines add up to the receivable's pre-tax total, exactly." And
    every line is rounded to the minor unit (§1 line rounding)."""
    contract, month = case
    draft = rate_period(contract, month)
    assert draft.lines_total == sum((line.amount for line in draft.lines), Decimal(0))
    assert draft.tax_total == sum((s.tax for s in draft.tax_subtotals), Decimal(0))
    assert draft.total - draft.tax_total == draft.pre_tax_total
    expected = draft.lines_total + (draft.tax_total if draft.tax_mode is TaxMode.EXCLUSIVE else 0)
    assert draft.total == expected
    for line in draft.lines:
        mode = contract.policy.line_rounding
        assert round_money(line.amount, contract.policy.currency, mode) == line.amount


@ENGINE
@given(contracts())
def test_discounts_never_take_any_category_below_zero(
    case: tuple[ContractInput, BillingMonth],
) -> None:
    """RATING.md §5: "The target never goes below zero" — per tax category, the discount
    lines never exceed what the discountable lines hold."""
    contract, month = case
    draft = rate_period(contract, month)
    held: dict[tuple[str | None, TaxCategory, LineKind], Decimal] = {}
    for line in draft.lines:
        if line.kind in (LineKind.RECURRING, LineKind.USAGE, LineKind.ONE_TIME):
            key = (line.subscription_id, line.tax_category, line.kind)
            held[key] = held.get(key, Decimal(0)) + line.amount
    for category in TaxCategory:
        available = sum(
            (max(v, Decimal(0)) for k, v in held.items() if k[1] is category), Decimal(0)
        )
        taken = -sum(
            (
                ln.amount
                for ln in draft.lines
                if ln.kind is LineKind.DISCOUNT and ln.tax_category is category
            ),
            Decimal(0),
        )
        assert 0 <= taken <= available


@ENGINE
@given(contracts())
def test_rating_is_deterministic(case: tuple[ContractInput, BillingMonth]) -> None:
    """RATING.md §8: "A closing run is repeatable: the same inputs give the same receivables",
    whatever order the subscriptions were loaded in."""
    contract, month = case
    first = rate_period(contract, month)
    assert rate_period(contract, month) == first
    reordered = replace(contract, subscriptions=tuple(reversed(contract.subscriptions)))
    assert rate_period(reordered, month) == first


@ENGINE
@given(closing_days, months, st.decimals(0, 1_000_000, places=6), rounding_modes)
def test_a_full_period_with_daily_proration_charges_exactly_the_fee(
    closing_day: ClosingDay, month: BillingMonth, fee: Decimal, mode: RoundingMode
) -> None:
    """RATING.md §3: `fee × active_days / period_days` with every day active is the fee (one
    line rounding, nothing lost to proration)."""
    period = billing_period(closing_day, month)
    plan = PricePlan("p", recurring_fees=(RecurringFee("base", fee),))
    sub = SubscriptionInput("s", "internet", period.start, (PlanAssignment(period.start, plan),))
    policy = RatingPolicy(line_rounding=mode)
    draft = rate_period(ContractInput("c", closing_day, period.start, (sub,), policy), month)
    assert [line.amount for line in draft.lines] == [round_money(fee, "JPY", mode)]


@ENGINE
@given(
    closing_days,
    months,
    st.decimals(0, 1_000_000, places=2),
    st.integers(1, 27),
    st.integers(1, 5),
    rounding_modes,
    st.sampled_from(["JPY", "USD"]),
)
def test_splitting_a_period_costs_at_most_one_minor_unit_per_part(
    closing_day: ClosingDay,
    month: BillingMonth,
    fee: Decimal,
    split_after: int,
    quantity: int,
    mode: RoundingMode,
    currency: str,
) -> None:
    """RATING.md §4 "Partial periods": a period split into segments is rated per segment, each
    line rounded once (§1): the parts add up to the whole within one minor unit per part."""
    period = billing_period(closing_day, month)
    plan = PricePlan("p", recurring_fees=(RecurringFee("base", fee),))
    switch = period.start + timedelta(days=split_after)
    # The same price under another plan and fee id, so that the fee's line is cut in two.
    renamed = PricePlan("q", recurring_fees=(RecurringFee("base-q", fee),))
    sub = SubscriptionInput(
        "s",
        "internet",
        period.start,
        (PlanAssignment(period.start, plan), PlanAssignment(switch, renamed)),
        quantities=(QuantityChange(period.start, Decimal(quantity)),),
    )
    policy = RatingPolicy(currency=currency, line_rounding=mode)
    draft = rate_period(ContractInput("c", closing_day, period.start, (sub,), policy), month)
    parts = [line.amount for line in draft.lines]
    assert len(parts) == 2
    whole = round_money(fee * quantity, currency, mode)
    minor = Decimal(1).scaleb(-2 if currency == "USD" else 0)
    assert abs(sum(parts, Decimal(0)) - whole) <= minor * len(parts)


@settings(max_examples=200)
@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=8),
    st.data(),
)
def test_a_split_never_takes_more_than_a_bucket_holds(
    buckets: list[int], data: st.DataObject
) -> None:
    """RATING.md §5: shares "in proportion to what remains in each (each share rounded down,
    the remainder to the largest bucket …)": they add up to the discount and no bucket goes
    below zero."""
    amount = data.draw(st.integers(0, sum(buckets)))
    shares = split_proportionally(amount, buckets)
    assert sum(shares) == amount
    assert all(0 <= share <= bucket for share, bucket in zip(shares, buckets, strict=True))
    total = sum(buckets)
    for share, bucket in zip(shares, buckets, strict=True):
        assert share >= amount * bucket // total if total else share == 0


@settings(max_examples=200)
@given(
    st.decimals(0, 100_000, places=0),
    st.decimals(0, 100, places=2),
    st.integers(1, 30),
)
def test_a_floor_rounded_discount_never_exceeds_the_exact_discount(
    remaining: Decimal, rate: Decimal, covered_days: int
) -> None:
    """RATING.md §1: "For negative amounts (discounts, credits) the mode applies to the
    magnitude: a floor-rounded discount never exceeds the exact discount." """
    november = Period(date(2026, 11, 1), date(2026, 11, 30))
    facts = SubscriptionFacts("s", "internet", date(2026, 1, 1), None, november)
    setting = DiscountSetting(november, date(2026, 1, 1), "JPY", RoundingMode.FLOOR)
    discount = Discount(
        "d",
        DiscountTable("t", DiscountKind.FIXED_RATE, rate),
        subscription_id="s",
        valid_to=date(2026, 11, covered_days),
    )
    buckets: dict[BucketKey, Decimal] = {("s", TaxCategory.STANDARD, LineKind.RECURRING): remaining}
    applied = apply_discounts([discount], buckets, {"s": facts}, setting)
    exact = scale(remaining * rate / 100, Fraction(covered_days, 30))
    taken = -sum((a.amount for a in applied), Decimal(0))
    assert taken <= exact
    assert exact - taken < 1


@ENGINE
@given(contracts())
def test_no_line_is_a_late_usage_line_without_earlier_usage(
    case: tuple[ContractInput, BillingMonth],
) -> None:
    """RATING.md §8: only usage "for an already-rated period" is marked with its period."""
    contract, month = case
    draft = rate_period(contract, month)
    assert all(line.note is not LineNote.LATE_USAGE for line in draft.lines)


@ENGINE
@given(closing_days, months, fees, st.integers(0, 27), rounding_modes)
def test_advance_billing_plus_its_settlement_equals_billing_in_arrears(
    closing_day: ClosingDay, month: BillingMonth, fee: Decimal, end_after: int, mode: RoundingMode
) -> None:
    """RATING.md §3: billed in advance, then cancelled mid-period, a subscription pays
    through its credit line exactly what it would have paid in arrears for the same days."""
    following = month.shift(1)
    covered = billing_period(closing_day, following)
    end = covered.start + timedelta(days=end_after)
    policy = RatingPolicy(line_rounding=mode)

    def contract_for(
        timing: BillingTiming, end_date: date | None, **kwargs: object
    ) -> ContractInput:
        plan = PricePlan("p", recurring_fees=(RecurringFee("base", fee, timing=timing),))
        start = date(2020, 1, 1)
        sub = SubscriptionInput("s", "tv", start, (PlanAssignment(start, plan),), end_date=end_date)
        return ContractInput("c", closing_day, start, (sub,), policy, **kwargs)  # type: ignore[arg-type]

    in_advance = rate_period(contract_for(BillingTiming.ADVANCE, None), month)
    (advance_line,) = in_advance.lines
    assert advance_line.period == covered
    billed = AdvanceBilling("s", "base", covered, advance_line.amount)
    settled = rate_period(
        contract_for(BillingTiming.ADVANCE, end, advance_billings=(billed,)), following
    )
    in_arrears = rate_period(contract_for(BillingTiming.ARREARS, end), following)
    paid = advance_line.amount + sum((line.amount for line in settled.lines), Decimal(0))
    assert paid == in_arrears.lines_total
