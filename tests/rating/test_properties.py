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
    Band,
    BillingMonth,
    BillingTiming,
    ContractInput,
    Discount,
    DiscountKind,
    DiscountScope,
    DiscountTable,
    GraduatedMode,
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
    Tariff,
    TariffShape,
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
    facts = SubscriptionFacts("s", "internet", date(2026, 1, 1), None, november, (november,))
    setting = DiscountSetting(november, date(2026, 1, 1), "JPY", RoundingMode.FLOOR)
    discount = Discount(
        "d",
        DiscountTable("t", DiscountKind.FIXED_RATE, rate),
        subscription_id="s",
        valid_to=date(2026, 11, covered_days),
    )
    buckets: dict[BucketKey, Decimal] = {("s", TaxCategory.STANDARD, LineKind.RECURRING): remaining}
    applied = apply_discounts([discount], buckets, {"s": facts}, setting)
    exact = Fraction(remaining) * Fraction(rate) / 100 * Fraction(covered_days, 30)
    taken = -Fraction(sum((a.amount for a in applied), Decimal(0)))
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


# --- RATING.md §1: one line, one rounding, however many parts it sums ----------------------

FLAT = Tariff(TariffShape.FLAT, fixed_fee=Decimal(100))
PER_UNIT = Tariff(TariffShape.PER_UNIT, unit_price=Decimal("0.05"))
BASE_PLUS_USAGE = Tariff(
    TariffShape.BASE_PLUS_USAGE,
    fixed_fee=Decimal(1000),
    unit_price=Decimal("3.3"),
    included=Decimal(50),
)
CAPPED = Tariff(TariffShape.CAPPED, unit_price=Decimal("0.7"), upper=Decimal(2000))
FLATS = Tariff(
    TariffShape.GRADUATED,
    bands=(
        Band(Decimal(10), unit_price=Decimal("0.1"), flat_fee=Decimal(100)),
        Band(Decimal(20), unit_price=Decimal("0.2"), flat_fee=Decimal(100)),
        Band(None, unit_price=Decimal("0.3"), flat_fee=Decimal(100)),
    ),
)
EVERY_SHAPE = [FLAT, PER_UNIT, BASE_PLUS_USAGE, CAPPED, STEP, DOUBLE_FLAT, GRADUATED, VOLUME, FLATS]


def oracle_amount(tariff: Tariff, q: Fraction, f: Fraction) -> Fraction:
    """RATING.md §4's table, re-read independently in rationals: C(q) with `F`, `L`, `U`,
    `P_k`, `f_k` prorated by `f`."""

    def x(value: Decimal | None) -> Fraction:
        assert value is not None
        return Fraction(value)

    match tariff.shape:
        case TariffShape.FLAT:
            return x(tariff.fixed_fee) * f
        case TariffShape.PER_UNIT:
            return x(tariff.unit_price) * q
        case TariffShape.BASE_PLUS_USAGE:
            extra = max(Fraction(0), q - x(tariff.included))
            return x(tariff.fixed_fee) * f + x(tariff.unit_price) * extra
        case TariffShape.CAPPED:
            return min(x(tariff.upper) * f, x(tariff.unit_price) * q)
        case TariffShape.DOUBLE_FLAT:
            p_q = x(tariff.unit_price) * q
            return min(x(tariff.upper) * f, max(x(tariff.lower) * f, p_q))
    bounds = [Fraction(b.up_to) if b.up_to is not None else None for b in tariff.bands]
    reached = next(k for k, t in enumerate(bounds) if t is None or q <= t)
    band = tariff.bands[reached]
    if tariff.shape is TariffShape.STEP:
        return x(band.amount) * f
    if tariff.mode is GraduatedMode.VOLUME:
        return x(band.flat_fee) * f + x(band.unit_price) * q
    total, lower = Fraction(0), Fraction(0)
    for k in range(reached + 1):
        top = q if bounds[k] is None else min(q, bounds[k])  # type: ignore[type-var]
        total += x(tariff.bands[k].flat_fee) * f + x(tariff.bands[k].unit_price) * (top - lower)
        lower = bounds[k] or lower
    return total


def round_once(exact: Fraction, currency: str, mode: RoundingMode) -> Decimal:
    """RATING.md §1 line rounding of an exact rational, the mode applied to its magnitude."""
    places = 2 if currency == "USD" else 0
    m = abs(exact) * 10**places
    whole = {
        RoundingMode.FLOOR: m.numerator // m.denominator,
        RoundingMode.CEIL: -(-m.numerator // m.denominator),
        RoundingMode.HALF_UP: (2 * m.numerator + m.denominator) // (2 * m.denominator),
        RoundingMode.HALF_EVEN: round(m),
    }[mode]
    return (-1 if exact < 0 else 1) * Decimal(whole).scaleb(-places)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(EVERY_SHAPE),
    # Thirds of a 30-day month add up to whole yen only in threes: the counts favour them.
    st.sampled_from([1, 2, 3, 6, 9, 12]).flatmap(
        lambda n: st.lists(st.integers(0, 400), min_size=n, max_size=n)
    ),
    st.integers(0, 29),
    st.integers(0, 30),
    st.booleans(),
    rounding_modes,
    st.sampled_from(["JPY", "USD"]),
)
def test_a_usage_line_is_its_exact_rational_amount_rounded_once(
    tariff: Tariff,
    raws: list[int],
    start_after: int,
    allowance: int,
    per_record: bool,
    mode: RoundingMode,
    currency: str,
) -> None:
    """RATING.md §1: "each receivable line's amount is rounded … once, after its tariff,
    proration and quantity are applied"; §4: per record "each call rounded up to its units
    and priced on its own, then summed", the `F`, `L`, `U`, `P_k`, `f_k` prorated by active
    days. The line equals the exact rational sum of its parts, rounded once."""
    month = BillingMonth(2026, 11)
    period = billing_period("eom", month)
    start = period.start + timedelta(days=start_after)
    charge = UsageCharge(
        "u",
        "calls",
        (TariffVersion("t", date(2000, 1, 1), tariff),),
        unit=Decimal(3),
        per_record=per_record,
        allowance=Decimal(allowance),
    )
    sub = SubscriptionInput(
        "s", "tel", start, (PlanAssignment(start, PricePlan("p", usage_charges=(charge,))),)
    )
    usage = tuple(UsageEntry("s", "calls", start, Decimal(raw)) for raw in raws)
    policy = RatingPolicy(currency=currency, line_rounding=mode)
    draft = rate_period(ContractInput("c", "eom", start, (sub,), policy, usage=usage), month)

    f = Fraction(period.end.day - start.day + 1, period.days)
    ceil_units = [Fraction(-(-raw // 3)) for raw in raws]
    if per_record:
        left, exact = Fraction(allowance), Fraction(0)
        for q in ceil_units:
            free = min(left, q)
            left -= free
            exact += oracle_amount(tariff, q - free, f)
    else:
        q_total = Fraction(-(-sum(raws) // 3))
        exact = oracle_amount(tariff, max(Fraction(0), q_total - allowance), f)
    assert sum((line.amount for line in draft.lines), Decimal(0)) == round_once(
        exact, currency, mode
    )
    assert len(draft.lines) <= 1
