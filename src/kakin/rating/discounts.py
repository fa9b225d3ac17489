"""Discounts (割引), campaigns, bundle and loyalty discounts — RATING.md §5.

`apply_discounts` works on buckets: what remains of the receivable's discountable lines,
kept by (subscription, tax category, line kind) in integer minor units. Each discount is
computed exactly, rounded once by line rounding (on its magnitude), cut to what remains,
and split over the buckets in its scope; the result is one negative amount per tax category.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Final

from kakin.kit.money import RoundingMode, from_minor, to_minor
from kakin.rating.exact import round_line
from kakin.rating.lines import BUCKET_KIND_ORDER, LineKind
from kakin.rating.periods import Period, add_months, merge_periods, overlap
from kakin.rating.proration import NOTHING, scale
from kakin.rating.tax import TAX_CATEGORY_ORDER, TaxCategory

_ONE_DAY: Final = timedelta(days=1)


class DiscountKind(enum.StrEnum):
    """RATING.md §5: "A discount table is `fixed_rate` (r %) or `fixed_amount` (d)"."""

    FIXED_RATE = "fixed_rate"
    FIXED_AMOUNT = "fixed_amount"


class DiscountScope(enum.StrEnum):
    """RATING.md §5: "A subscription discount's scope is `all`, `recurring`, `usage` or
    `one_time`." A contract discount's target is all three kinds."""

    ALL = "all"
    RECURRING = "recurring"
    USAGE = "usage"
    ONE_TIME = "one_time"


SCOPE_KINDS: Final[dict[DiscountScope, frozenset[LineKind]]] = {
    DiscountScope.ALL: frozenset(BUCKET_KIND_ORDER),
    DiscountScope.RECURRING: frozenset({LineKind.RECURRING}),
    DiscountScope.USAGE: frozenset({LineKind.USAGE}),
    DiscountScope.ONE_TIME: frozenset({LineKind.ONE_TIME}),
}
"""RATING.md §5: the line kinds each scope targets (never early-termination or adjustment)."""


class WindowAnchor(enum.StrEnum):
    """RATING.md §5: a campaign window is "relative to the subscription's start or its
    latest plan change"."""

    START = "start"
    PLAN_CHANGE = "plan_change"


@dataclass(frozen=True, slots=True)
class DiscountTable:
    """RATING.md §5: `value` is r in percent for `fixed_rate` (50 = 50 %), d for
    `fixed_amount` (per billing period)."""

    table_id: str
    kind: DiscountKind
    value: Decimal

    def __post_init__(self) -> None:
        if self.value < 0 or (self.kind is DiscountKind.FIXED_RATE and self.value > 100):
            raise ValueError("a discount is 0..100 % or a non-negative amount")


@dataclass(frozen=True, slots=True)
class CampaignWindow:
    """RATING.md §5: "first 6 months 50 % off" = months=6; "first month free" = months=1;
    "2 months half price after switching plans" = anchor plan_change, months=2. The window
    runs from `offset_months` after the anchor date for `months` months (both by calendar
    month from the anchor's day)."""

    anchor: WindowAnchor
    months: int
    offset_months: int = 0

    def __post_init__(self) -> None:
        if self.months < 1 or self.offset_months < 0:
            raise ValueError("a campaign window lasts at least a month, from its anchor on")


@dataclass(frozen=True, slots=True)
class LoyaltyStep:
    """RATING.md §5: from `years` whole years of contract age on, the table's value is
    `value` (2 y: 5 %, 5 y: 10 %, …)."""

    years: int
    value: Decimal


@dataclass(frozen=True, slots=True)
class Discount:
    """RATING.md §5: "A discount applies one [discount table] to a subscription … or to the
    whole contract, for a date range." `subscription_id=None` is a contract discount.
    Conditions: a campaign `window`, `required_services` (bundle) and `loyalty_steps`.
    `name` labels its lines."""

    discount_id: str
    table: DiscountTable
    subscription_id: str | None = None
    scope: DiscountScope = DiscountScope.ALL
    valid_from: date | None = None
    valid_to: date | None = None
    priority: int = 0
    window: CampaignWindow | None = None
    required_services: frozenset[str] = field(default=frozenset())
    loyalty_steps: tuple[LoyaltyStep, ...] = ()
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class SubscriptionFacts:
    """What discounts need to know of a subscription in the period: its service, its
    start, its latest plan change (None when none), its life inside the period (None when
    it does not live in it) and its active days there, as disjoint periods: RATING.md §5
    "Suspended days are not active days, for discounts as for fees (§3)"."""

    subscription_id: str
    service_id: str
    start_date: date
    plan_changed_on: date | None
    life: Period | None
    active: tuple[Period, ...]


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """One discount line: RATING.md §5 "A discount is a negative line of its own, one per
    tax category". `amount` is negative and already rounded."""

    discount: Discount
    tax_category: TaxCategory
    amount: Decimal
    covered: Period | None
    days: int


BucketKey = tuple[str | None, TaxCategory, LineKind]
"""(subscription id — None once merged for contract discounts, tax category, line kind)."""


def discount_order(discount: Discount) -> tuple[int, int, int, str]:
    """RATING.md §5: "(1) subscription discounts, then (2) contract discounts; at each level
    rate discounts before amount discounts, and several of the same kind in the order of
    their priority." The discount id breaks remaining ties, so the order is total."""
    level = 0 if discount.subscription_id is not None else 1
    kind = 0 if discount.table.kind is DiscountKind.FIXED_RATE else 1
    return (level, kind, discount.priority, discount.discount_id)


def contract_age_years(contract_start: date, on: date) -> int:
    """RATING.md §5: "the contract's age in whole years at the period end". A contract
    started on 29 February has its anniversary on 1 March in common years."""
    years = on.year - contract_start.year
    if (on.month, on.day) < (contract_start.month, contract_start.day):
        years -= 1
    return max(years, 0)


def loyalty_value(steps: Sequence[LoyaltyStep], age_years: int) -> Decimal | None:
    """The step of the step table reached at `age_years` (the highest one), or None."""
    reached = [step for step in steps if step.years <= age_years]
    return max(reached, key=lambda step: step.years).value if reached else None


def campaign_window(window: CampaignWindow, anchor: date) -> Period:
    """RATING.md §5: the days of a campaign window relative to its anchor date."""
    start = add_months(anchor, window.offset_months)
    end = add_months(anchor, window.offset_months + window.months) - _ONE_DAY
    return Period(start, end)


def split_proportionally(amount: int, remaining: Sequence[int]) -> list[int]:
    """RATING.md §5: take `amount` (minor units) from buckets "in proportion to what remains
    in each (each share rounded down, the remainder to the largest bucket; ties in the
    order …)". `remaining` is given in that tie order. A bucket never gives more than it
    holds: a remainder the largest bucket cannot absorb goes to the next largest."""
    total = sum(remaining)
    if not 0 <= amount <= total:
        raise ValueError("a discount is cut to what remains before it is split")
    if amount == 0:
        return [0] * len(remaining)
    shares = [amount * bucket // total for bucket in remaining]
    left = amount - sum(shares)
    for index in sorted(range(len(remaining)), key=lambda i: (-remaining[i], i)):
        if left == 0:
            break
        take = min(left, remaining[index] - shares[index])
        shares[index] += take
        left -= take
    return shares


def _bucket_tie_key(key: BucketKey) -> tuple[str, int, int]:
    return (key[0] or "", TAX_CATEGORY_ORDER[key[1]], BUCKET_KIND_ORDER[key[2]])


def _date_range(discount: Discount, period: Period) -> Period | None:
    start = max(period.start, discount.valid_from or period.start)
    end = min(period.end, discount.valid_to or period.end)
    return Period(start, end) if start <= end else None


def _active_days(facts: Iterable[SubscriptionFacts]) -> list[Period]:
    """RATING.md §5: "a contract's active days are the days on which any of its
    subscriptions is active" (suspended days are not) — as disjoint periods."""
    return merge_periods(period for fact in facts for period in fact.active)


@dataclass(frozen=True, slots=True)
class DiscountSetting:
    """The contract-wide facts discounts are computed with."""

    period: Period
    contract_start: date
    currency: str
    line_rounding: RoundingMode


def _applicable_range(
    discount: Discount,
    setting: DiscountSetting,
    subscriptions: Mapping[str, SubscriptionFacts],
) -> tuple[Period | None, Decimal | None]:
    """The days a discount applies on inside the period and its value, after its
    conditions; (None, None) when it does not apply."""
    span = _date_range(discount, setting.period)
    target = subscriptions.get(discount.subscription_id) if discount.subscription_id else None
    if discount.subscription_id is not None and target is None:
        return None, None
    if discount.window is not None and span is not None:
        # RATING.md §5: "a window relative to the subscription's start or its latest plan
        # change". A contract discount's window counts from the contract's start.
        if discount.window.anchor is WindowAnchor.START:
            anchor: date | None = target.start_date if target else setting.contract_start
        else:
            anchor = target.plan_changed_on if target else None
        if anchor is None:
            return None, None
        span = span.intersect(campaign_window(discount.window, anchor))
    if discount.required_services:
        # RATING.md §5: "a set of services the contract must hold in the period".
        held = {f.service_id for f in subscriptions.values() if f.life is not None}
        if not discount.required_services <= held:
            return None, None
    value: Decimal | None = discount.table.value
    if discount.loyalty_steps:
        # RATING.md §5: "the contract's age in whole years at the period end".
        age = contract_age_years(setting.contract_start, setting.period.end)
        value = loyalty_value(discount.loyalty_steps, age)
    return span, value


def _exact_discount(
    discount: Discount,
    value: Decimal,
    remaining: int,
    active: list[Period],
    span: Period,
    setting: DiscountSetting,
) -> tuple[Fraction, Period | None, int]:
    covered_days, covered = overlap(active, span)
    if discount.table.kind is DiscountKind.FIXED_RATE:
        # RATING.md §5: "discount = r % × c × (what remains of the target), where c is the
        # share of the target's active days in the period that lie inside the discount's
        # date range".
        active_days = sum(period.days for period in active)
        if not active_days:
            return NOTHING, covered, 0
        coverage = Fraction(covered_days, active_days)
        base = Fraction(from_minor(remaining, setting.currency)) * Fraction(value) / 100
        return base * coverage, covered, covered_days
    # RATING.md §5: "discount = d × (days that are inside the discount's range and on which
    # the target is active) / period days — a fixed amount behaves like a negative
    # recurring fee".
    factor = Fraction(covered_days, setting.period.days)
    return scale(value, factor), covered, covered_days


def apply_discounts(
    discounts: Iterable[Discount],
    buckets: Mapping[BucketKey, Decimal],
    subscriptions: Mapping[str, SubscriptionFacts],
    setting: DiscountSetting,
) -> list[AppliedDiscount]:
    """RATING.md §5: apply every discount in order, each on what the ones before left.

    `buckets` holds the rounded sums of the receivable's recurring, usage and one-time
    lines by (subscription, tax category, kind); a negative sum counts as nothing left.
    """
    currency = setting.currency
    left: dict[BucketKey, int] = {
        key: max(0, to_minor(amount, currency)) for key, amount in buckets.items()
    }
    applied: list[AppliedDiscount] = []
    merged = False
    for discount in sorted(discounts, key=discount_order):
        if discount.subscription_id is None and not merged:
            # RATING.md §5: "A contract discount takes from the buckets of all the
            # contract's subscriptions" — after every subscription discount.
            pooled: dict[BucketKey, int] = {}
            for (_, category, kind), amount in left.items():
                pooled[(None, category, kind)] = pooled.get((None, category, kind), 0) + amount
            left = pooled
            merged = True
        span, value = _applicable_range(discount, setting, subscriptions)
        if span is None or value is None:
            continue
        kinds = SCOPE_KINDS[discount.scope]
        owner = discount.subscription_id if not merged else None
        keys = sorted(
            (k for k in left if k[0] == owner and k[2] in kinds and left[k] > 0),
            key=_bucket_tie_key,
        )
        remaining = sum(left[k] for k in keys)
        if discount.subscription_id is None:
            active = _active_days(subscriptions.values())
        else:
            active = _active_days([subscriptions[discount.subscription_id]])
        exact, covered, days = _exact_discount(discount, value, remaining, active, span, setting)
        # RATING.md §5: "Each discount is rounded by line rounding, applied to its
        # magnitude" and "a discount larger than what remains is cut to what remains".
        rounded = to_minor(round_line(exact, currency, setting.line_rounding), currency)
        taken = min(rounded, remaining)
        shares = split_proportionally(taken, [left[k] for k in keys])
        by_category: dict[TaxCategory, int] = {}
        for key, share in zip(keys, shares, strict=True):
            left[key] -= share
            by_category[key[1]] = by_category.get(key[1], 0) + share
        for category in sorted(by_category, key=TAX_CATEGORY_ORDER.__getitem__):
            if by_category[category] > 0:
                line_amount = -from_minor(by_category[category], currency)
                applied.append(AppliedDiscount(discount, category, line_amount, covered, days))
    return applied
