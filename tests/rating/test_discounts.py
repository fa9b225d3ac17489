"""Discounts, campaigns, bundle and loyalty discounts — RATING.md §5."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kakin.kit.money import RoundingMode
from kakin.rating.discounts import (
    AppliedDiscount,
    BucketKey,
    CampaignWindow,
    Discount,
    DiscountKind,
    DiscountScope,
    DiscountSetting,
    DiscountTable,
    LoyaltyStep,
    SubscriptionFacts,
    WindowAnchor,
    apply_discounts,
    contract_age_years,
    split_proportionally,
)
from kakin.rating.lines import LineKind
from kakin.rating.periods import Period, subtract_periods
from kakin.rating.tax import TaxCategory

from .factories import D, d

NOVEMBER = Period(d("2026-11-01"), d("2026-11-30"))
STANDARD, REDUCED, EXEMPT = TaxCategory.STANDARD, TaxCategory.REDUCED, TaxCategory.EXEMPT
RECURRING, USAGE, ONE_TIME = LineKind.RECURRING, LineKind.USAGE, LineKind.ONE_TIME


def rate(value: str | int, table: str = "rate") -> DiscountTable:
    return DiscountTable(table, DiscountKind.FIXED_RATE, D(value))


def amount(value: str | int, table: str = "amount") -> DiscountTable:
    return DiscountTable(table, DiscountKind.FIXED_AMOUNT, D(value))


def facts(
    sub: str = "s1",
    service: str = "internet",
    start: str = "2020-01-01",
    life: Period | None = NOVEMBER,
    plan_changed_on: date | None = None,
    suspended: tuple[Period, ...] = (),
) -> SubscriptionFacts:
    active = tuple(subtract_periods([life], suspended)) if life else ()
    return SubscriptionFacts(sub, service, d(start), plan_changed_on, life, active)


def run(
    discounts: list[Discount],
    buckets: dict[BucketKey, Decimal],
    subs: list[SubscriptionFacts] | None = None,
    contract_start: str = "2020-01-01",
    period: Period = NOVEMBER,
    rounding: RoundingMode = RoundingMode.FLOOR,
) -> list[AppliedDiscount]:
    subs = subs if subs is not None else [facts()]
    setting = DiscountSetting(period, d(contract_start), "JPY", rounding)
    return apply_discounts(discounts, buckets, {f.subscription_id: f for f in subs}, setting)


def amounts(applied: list[AppliedDiscount]) -> list[tuple[str, TaxCategory, Decimal]]:
    return [(a.discount.discount_id, a.tax_category, a.amount) for a in applied]


def test_subscription_discounts_come_first_then_rate_before_amount_then_priority() -> None:
    """RATING.md §5: "(1) subscription discounts, then (2) contract discounts; at each level
    rate discounts before amount discounts, and several of the same kind in the order of
    their priority. Each discount works on what remains after the ones before it." """
    discounts = [
        Discount("contract-half", rate(50)),
        Discount("sub-1000", amount(1000), subscription_id="s1"),
        Discount("sub-10pct", rate(10), subscription_id="s1", priority=5),
        Discount("sub-20pct", rate(20), subscription_id="s1", priority=1),
    ]
    applied = run(discounts, {("s1", STANDARD, RECURRING): D(10_000)})
    assert amounts(applied) == [
        ("sub-20pct", STANDARD, D(-2000)),  # 20 % of 10,000
        ("sub-10pct", STANDARD, D(-800)),  # 10 % of 8,000
        ("sub-1000", STANDARD, D(-1000)),  # leaves 6,200
        ("contract-half", STANDARD, D(-3100)),
    ]


def test_a_discount_larger_than_what_remains_is_cut_to_what_remains() -> None:
    """RATING.md §5: "The target never goes below zero: a discount larger than what remains
    is cut to what remains." The next discount finds nothing and makes no line."""
    discounts = [
        Discount("big", amount(12_000), subscription_id="s1"),
        Discount("more", amount(500)),
    ]
    applied = run(discounts, {("s1", STANDARD, RECURRING): D(10_000)})
    assert amounts(applied) == [("big", STANDARD, D(-10_000))]


def test_a_discount_makes_one_negative_line_per_tax_category() -> None:
    """RATING.md §5: "A discount is a negative line of its own, one per tax category"."""
    buckets: dict[BucketKey, Decimal] = {
        ("s1", STANDARD, RECURRING): D(3000),
        ("s1", STANDARD, USAGE): D(1000),
        ("s1", REDUCED, ONE_TIME): D(4000),
    }
    applied = run([Discount("half", rate(50), subscription_id="s1")], buckets)
    assert amounts(applied) == [("half", STANDARD, D(-2000)), ("half", REDUCED, D(-2000))]


def test_equal_buckets_give_the_remainder_to_standard_before_reduced() -> None:
    """RATING.md §5: "each share rounded down, the remainder to the largest bucket; ties in
    the order `standard`, `reduced`, `exempt`, `out_of_scope`". 1,001 over two buckets of
    1,000: 500 + 500, and the remaining 1 yen to standard."""
    buckets: dict[BucketKey, Decimal] = {
        ("s1", REDUCED, RECURRING): D(1000),
        ("s1", STANDARD, RECURRING): D(1000),
    }
    applied = run([Discount("d", amount(1001), subscription_id="s1")], buckets)
    assert amounts(applied) == [("d", STANDARD, D(-501)), ("d", REDUCED, D(-500))]


def test_equal_buckets_of_one_category_tie_in_kind_order() -> None:
    """RATING.md §5: ties "then `recurring`, `usage`, `one_time`"."""
    assert split_proportionally(5, [2, 2, 2]) == [2, 2, 1]
    buckets: dict[BucketKey, Decimal] = {
        ("s1", EXEMPT, USAGE): D(500),
        ("s1", EXEMPT, ONE_TIME): D(500),
    }
    applied = run([Discount("d", amount(3), subscription_id="s1")], buckets)
    assert amounts(applied) == [("d", EXEMPT, D(-3))]


def test_the_remainder_goes_to_the_largest_bucket() -> None:
    """RATING.md §5: "the remainder to the largest bucket". 100 over 3,000 / 6,001: 33.33… →
    33 and 66.67 → 66; the 1 left goes to the larger bucket."""
    assert split_proportionally(100, [3000, 6001]) == [33, 67]


def test_a_remainder_never_takes_a_bucket_below_zero() -> None:
    """RATING.md §5: "no later discount … can push a bucket below zero". Three buckets of 1
    yen and a 2 yen discount: floor shares are all 0; the remainder spreads one by one."""
    assert split_proportionally(2, [1, 1, 1]) == [1, 1, 0]


def test_fixed_rate_covers_only_the_share_of_active_days_in_its_range() -> None:
    """RATING.md §5: "c is the share of the target's active days in the period that lie
    inside the discount's date range". 15 of 30 days at 10 % of 3,000 → 150."""
    discount = Discount(
        "d", rate(10), subscription_id="s1", valid_from=d("2026-11-16"), valid_to=d("2027-01-31")
    )
    applied = run([discount], {("s1", STANDARD, RECURRING): D(3000)})
    assert amounts(applied) == [("d", STANDARD, D(-150))]
    assert applied[0].covered == Period(d("2026-11-16"), d("2026-11-30"))
    assert applied[0].days == 15


def test_fixed_amount_is_prorated_like_a_negative_recurring_fee() -> None:
    """RATING.md §5: "`fixed_amount`: discount = d × (days that are inside the discount's
    range and on which the target is active) / period days". 1,000 × 10/30 = 333.33 → 333."""
    sub = facts(life=Period(d("2026-11-21"), d("2026-11-30")))
    applied = run(
        [Discount("d", amount(1000), subscription_id="s1")],
        {("s1", STANDARD, RECURRING): D(5000)},
        [sub],
    )
    assert amounts(applied) == [("d", STANDARD, D(-333))]


def test_a_discounts_rounding_applies_to_its_magnitude() -> None:
    """RATING.md §1: "a floor-rounded discount never exceeds the exact discount"; `ceil`
    rounds the magnitude up."""
    buckets: dict[BucketKey, Decimal] = {("s1", STANDARD, RECURRING): D(999)}
    floor = run([Discount("d", rate(10), subscription_id="s1")], buckets)
    ceil = run([Discount("d", rate(10), subscription_id="s1")], buckets, rounding=RoundingMode.CEIL)
    assert floor[0].amount == D(-99)
    assert ceil[0].amount == D(-100)


def test_a_scoped_subscription_discount_takes_only_from_its_kind() -> None:
    """RATING.md §5: "A subscription discount's scope is `all`, `recurring`, `usage` or
    `one_time`"."""
    buckets: dict[BucketKey, Decimal] = {
        ("s1", STANDARD, RECURRING): D(3000),
        ("s1", REDUCED, USAGE): D(1000),
    }
    applied = run(
        [Discount("d", rate(50), subscription_id="s1", scope=DiscountScope.USAGE)], buckets
    )
    assert amounts(applied) == [("d", REDUCED, D(-500))]


def test_a_subscription_discount_never_touches_another_subscription() -> None:
    buckets: dict[BucketKey, Decimal] = {
        ("s1", STANDARD, RECURRING): D(100),
        ("s2", STANDARD, RECURRING): D(5000),
    }
    applied = run(
        [Discount("d", amount(1000), subscription_id="s1")],
        buckets,
        [facts("s1"), facts("s2")],
    )
    assert amounts(applied) == [("d", STANDARD, D(-100))]


def test_a_contract_discount_takes_from_every_subscriptions_buckets() -> None:
    """RATING.md §5: "A contract discount takes from the buckets of all the contract's
    subscriptions." """
    buckets: dict[BucketKey, Decimal] = {
        ("s1", STANDARD, RECURRING): D(1000),
        ("s2", STANDARD, RECURRING): D(3000),
    }
    applied = run([Discount("d", rate(10))], buckets, [facts("s1"), facts("s2")])
    assert amounts(applied) == [("d", STANDARD, D(-400))]


def test_first_month_free_campaign_counts_from_the_subscriptions_start() -> None:
    """RATING.md §5: "a window relative to the subscription's start … ("first month
    free")". Start 2026-11-11: the window is 11-11 … 12-10, so November's 20 active days
    are all free, and 10 of December's 31."""
    window = CampaignWindow(WindowAnchor.START, months=1)
    free = Discount("free", rate(100), subscription_id="s1", window=window)
    sub = facts(start="2026-11-11", life=Period(d("2026-11-11"), d("2026-11-30")))
    november = run([free], {("s1", STANDARD, RECURRING): D(2000)}, [sub])
    assert amounts(november) == [("free", STANDARD, D(-2000))]
    december = Period(d("2026-12-01"), d("2026-12-31"))
    sub = facts(start="2026-11-11", life=december)
    applied = run([free], {("s1", STANDARD, RECURRING): D(3100)}, [sub], period=december)
    assert amounts(applied) == [("free", STANDARD, D(-1000))]


def test_plan_change_campaign_counts_from_the_latest_plan_change() -> None:
    """RATING.md §5: "2 months half price after switching plans". Without a plan change the
    campaign does not apply."""
    window = CampaignWindow(WindowAnchor.PLAN_CHANGE, months=2)
    half = Discount("switch", rate(50), subscription_id="s1", window=window)
    bucket: dict[BucketKey, Decimal] = {("s1", STANDARD, RECURRING): D(3000)}
    assert run([half], bucket, [facts()]) == []
    changed = facts(plan_changed_on=d("2026-10-16"))  # window 10-16 … 12-15
    assert amounts(run([half], bucket, [changed])) == [("switch", STANDARD, D(-1500))]
    late = facts(plan_changed_on=d("2026-09-16"))  # window ends 11-15: 15 of 30 days
    assert amounts(run([half], bucket, [late])) == [("switch", STANDARD, D(-750))]


def test_bundle_discount_needs_every_service_in_the_period() -> None:
    """RATING.md §5: "a set of services the contract must hold in the period ("internet +
    electricity: −500")"."""
    bundle = Discount("bundle", amount(500), required_services=frozenset({"internet", "power"}))
    buckets: dict[BucketKey, Decimal] = {
        ("s1", STANDARD, RECURRING): D(5000),
        ("s2", STANDARD, RECURRING): D(7000),
    }
    both = [facts("s1", "internet"), facts("s2", "power")]
    assert amounts(run([bundle], buckets, both)) == [("bundle", STANDARD, D(-500))]
    ended = [facts("s1", "internet"), facts("s2", "power", life=None)]
    assert run([bundle], buckets, ended) == []


def test_loyalty_discount_steps_by_whole_years_of_contract_age() -> None:
    """RATING.md §5: "the contract's age in whole years at the period end (2 y: 5 %, 5 y:
    10 %, 10 y: 15 %, 15 y: 20 %)"."""
    steps = tuple(
        LoyaltyStep(years, D(value)) for years, value in ((2, 5), (5, 10), (10, 15), (15, 20))
    )
    loyalty = Discount("loyal", rate(0), loyalty_steps=steps)
    buckets: dict[BucketKey, Decimal] = {("s1", STANDARD, RECURRING): D(10_000)}
    assert amounts(run([loyalty], buckets, contract_start="2021-11-30")) == [
        ("loyal", STANDARD, D(-1000))
    ]
    assert amounts(run([loyalty], buckets, contract_start="2021-12-01")) == [
        ("loyal", STANDARD, D(-500))
    ]
    assert run([loyalty], buckets, contract_start="2025-06-01") == []
    assert contract_age_years(d("2010-11-30"), d("2026-11-30")) == 16


def test_loyalty_age_of_a_leap_day_contract_turns_on_march_first() -> None:
    assert contract_age_years(d("2024-02-29"), d("2025-02-28")) == 0
    assert contract_age_years(d("2024-02-29"), d("2025-03-01")) == 1


def test_negative_buckets_count_as_nothing_left() -> None:
    """RATING.md §5: the target never goes below zero — a credit makes no room for more."""
    buckets: dict[BucketKey, Decimal] = {
        ("s1", STANDARD, RECURRING): D(-300),
        ("s1", STANDARD, USAGE): D(200),
    }
    applied = run([Discount("d", amount(1000), subscription_id="s1")], buckets)
    assert amounts(applied) == [("d", STANDARD, D(-200))]


def test_a_contract_discount_merges_its_subscriptions_buckets_by_kind_and_category() -> None:
    """RATING.md §5: "A contract discount takes from the contract's buckets: those of all its
    subscriptions merged, one bucket per line kind and tax category (so the tie order above
    is complete)." s1 and s2 hold 1 yen each of standard recurring: one bucket of 2, tied
    with s1's reduced 2, so the 1 yen remainder goes to `standard` ("ties in the order
    `standard`, `reduced`, …"). Unmerged, the largest bucket would be reduced."""
    buckets: dict[BucketKey, Decimal] = {
        ("s1", STANDARD, RECURRING): D(1),
        ("s1", REDUCED, RECURRING): D(2),
        ("s2", STANDARD, RECURRING): D(1),
    }
    applied = run([Discount("d", amount(1))], buckets, [facts("s1"), facts("s2")])
    assert amounts(applied) == [("d", STANDARD, D(-1))]
    # A second contract discount sees the merged buckets after the first: 1 + 2 left.
    applied = run(
        [Discount("d", amount(1)), Discount("e", amount(3), priority=1)],
        buckets,
        [facts("s1"), facts("s2")],
    )
    assert amounts(applied) == [
        ("d", STANDARD, D(-1)),
        ("e", STANDARD, D(-1)),
        ("e", REDUCED, D(-2)),
    ]


def test_suspended_days_are_not_active_days_for_a_fixed_amount() -> None:
    """RATING.md §5: "discount = d × (days that are inside the discount's range and on which
    the target is active) / period days … Suspended days are not active days". 17 days of
    life, 2 suspended: 600 × 15/30 = 300."""
    sub = facts(
        life=Period(d("2026-11-14"), d("2026-11-30")),
        suspended=(Period(d("2026-11-20"), d("2026-11-21")),),
    )
    applied = run([Discount("d", amount(600))], {("s1", STANDARD, RECURRING): D(5000)}, [sub])
    assert amounts(applied) == [("d", STANDARD, D(-300))]
    assert applied[0].days == 15


def test_a_rate_discount_over_every_active_day_has_c_one() -> None:
    """RATING.md §5: c is "the share of the target's active days in the period that lie
    inside the discount's date range (1 when it covers them all …)". Suspended 11-16 …
    11-30, a 50 % discount through 11-15 covers all 15 active days: half of 1,500."""
    sub = facts(suspended=(Period(d("2026-11-16"), d("2026-11-30")),))
    half = Discount("d", rate(50), subscription_id="s1", valid_to=d("2026-11-15"))
    assert amounts(run([half], {("s1", STANDARD, RECURRING): D(1500)}, [sub])) == [
        ("d", STANDARD, D(-750))
    ]
