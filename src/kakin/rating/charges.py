"""A subscription's charges for a billing month, as exact amounts — RATING.md §3, §4, §6.

Each function here turns one part of a subscription's timeline into `Charge`s: exact,
unrounded amounts (`Fraction`s, see `exact.py`) with everything their receivable line will
show. `engine.py` rounds each charge once (line rounding) when it becomes a line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Final

from kakin.rating.exact import RoundLine, exact_of
from kakin.rating.lines import LineKind, LineNote, SourceKind
from kakin.rating.model import (
    AdvanceBilling,
    BillingTiming,
    EarlierPeriodUsage,
    RecurringFee,
    SuspensionFee,
    TopUp,
    UsageCharge,
    UsageEntry,
)
from kakin.rating.periods import (
    BillingMonth,
    ClosingDay,
    Period,
    billing_month_of,
    billing_period,
    interval_months,
    interval_period,
)
from kakin.rating.proration import FULL, NOTHING, ProrationMode, proration_factor, scale
from kakin.rating.tariffs import Tariff, single_unit_price
from kakin.rating.tax import TaxCategory
from kakin.rating.termination import early_termination_fee
from kakin.rating.timeline import Segment, SubscriptionTimeline
from kakin.rating.usage import per_record_usage_amount, period_usage_amount
from kakin.rating.versions import version_on

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
_ONE_DAY: Final = timedelta(days=1)


@dataclass(slots=True)
class Charge:
    """An exact amount about to become a receivable line (see `ReceivableLine`). Its tax
    point — the date whose tax rate applies — is `tax_point`, else the last day of
    `period`, else the last day of the billing period. `name` is the label of its source
    (`source_kind`, `source_id`).

    Not frozen: a charge lives from its function to `_Rater.add`, which copies it into its
    (frozen) line, and a frozen dataclass of 16 fields takes some 4 µs to build against
    0.6 µs — several thousand charges a closing chunk."""

    kind: LineKind
    exact: Fraction
    tax_category: TaxCategory
    subscription_id: str | None = None
    source_id: str | None = None
    note: LineNote = LineNote.CHARGE
    quantity: Decimal = ONE
    unit: str | None = None
    unit_price: Decimal | None = None
    period: Period | None = None
    days: int | None = None
    billing_month: BillingMonth | None = None
    usage_item_id: str | None = None
    tax_point: date | None = None
    name: str = ""
    source_kind: SourceKind | None = None


def _amount_on(timeline: SubscriptionTimeline, fee_id: str, amount: Decimal, day: date) -> Decimal:
    """RATING.md §3: "A subscription may override any amount of its plan (相対価格)"."""
    override = timeline.override_on(fee_id, day)
    return override.amount if override and override.amount is not None else amount


# --- recurring fees (RATING.md §3) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FeeKey:
    fee: RecurringFee
    amount: Decimal
    quantity: Decimal
    proration: ProrationMode


def _fee_key(timeline: SubscriptionTimeline, fee_id: str, day: date) -> _FeeKey | None:
    plan = timeline.plan_on(day)
    if plan is None:
        return None
    fee = next((f for f in plan.recurring_fees if f.fee_id == fee_id), None)
    if fee is None:
        return None
    quantity = timeline.quantity_on(day) if fee.per_quantity else ONE
    return _FeeKey(fee, _amount_on(timeline, fee_id, fee.amount, day), quantity, plan.proration)


def fee_segments(
    timeline: SubscriptionTimeline, fee_id: str, covered: Period
) -> list[tuple[Segment[_FeeKey], int, Fraction]]:
    """(segment, charged days, exact amount) of a recurring fee over `covered` (a billing
    period, or an interval's periods).

    RATING.md §3: "A subscription active on only part of a period pays `fee × active_days /
    period_days`" and "Suspended days (停止) are not charged"; with `full` proration "any
    active day means the whole fee"."""
    result = []
    for segment in timeline.segments(covered, lambda d: _fee_key(timeline, fee_id, d)):
        key = segment.key
        charged = segment.period.days - timeline.suspended_days(segment.period)
        factor = proration_factor(key.proration, charged, covered.days)
        if factor:
            result.append(
                (segment, charged, scale(exact_of(key.amount) * exact_of(key.quantity), factor))
            )
    return result


def recurring_windows(
    timeline: SubscriptionTimeline, fee: RecurringFee, closing_day: ClosingDay, month: BillingMonth
) -> list[tuple[Period, LineNote]]:
    """The days a fee is billed for at the closing of `month`, each a whole interval.

    RATING.md §3 "Intervals (周期型課金)": "In arrears it is billed at the closing of the
    interval's last billing month; in advance at the closing just before the interval starts
    (a new subscription's first interval: at its first closing)." A subscription that ends
    inside an interval billed in arrears has no later closing: its final one bills it."""
    first_month = billing_month_of(closing_day, timeline.life.start)
    if fee.timing is BillingTiming.ARREARS:
        first, last = interval_months(fee.interval, month, first_month)
        end = timeline.subscription.end_date
        end_month = billing_month_of(closing_day, end) if end else None
        due = month == last and (end_month is None or end_month >= last)
        if due or (end_month == month and month < last):
            return [(interval_period(closing_day, first, last), LineNote.CHARGE)]
        return []
    # The subscription's first interval is billed at its first closing (that of its first
    # billing month), every later one at the closing just before it starts.
    windows: list[tuple[Period, LineNote]] = []
    first_interval = interval_months(fee.interval, first_month, first_month)
    if month == first_month:
        windows.append((interval_period(closing_day, *first_interval), LineNote.IN_ADVANCE))
    following = interval_months(fee.interval, month.shift(1), first_month)
    if following[0] == month.shift(1) and following != first_interval:
        windows.append((interval_period(closing_day, *following), LineNote.IN_ADVANCE))
    return windows


def recurring_charges(
    timeline: SubscriptionTimeline, closing_day: ClosingDay, month: BillingMonth
) -> list[Charge]:
    """Every recurring fee of the subscription due at the closing of `month`, one charge
    per segment (RATING.md §4 "Each segment gives its own line")."""
    fees: dict[str, set[RecurringFee]] = defaultdict(set)
    for assignment in timeline.subscription.plans:
        for fee in assignment.plan.recurring_fees:
            fees[fee.fee_id].add(fee)
    charges = []
    for fee_id in sorted(fees):
        # A fee id may be billed on another schedule under another plan: each schedule
        # bills the days its own plans hold.
        schedules = list({(fee.timing, fee.interval): fee for fee in fees[fee_id]}.items())
        if len(schedules) > 1:  # (the sort key prints the schedule: not for the usual one)
            schedules.sort(key=lambda item: str(item[0]))
        for schedule, fee in schedules:
            for covered, note in recurring_windows(timeline, fee, closing_day, month):
                for segment, charged, exact in fee_segments(timeline, fee_id, covered):
                    key = segment.key
                    if (key.fee.timing, key.fee.interval) != schedule:
                        continue
                    charges.append(
                        Charge(
                            LineKind.RECURRING,
                            exact,
                            key.fee.tax_category,
                            subscription_id=timeline.subscription_id,
                            source_id=fee_id,
                            source_kind=SourceKind.RECURRING_FEE,
                            name=key.fee.name,
                            note=note,
                            quantity=key.quantity,
                            unit_price=key.amount,
                            period=segment.period,
                            days=charged,
                        )
                    )
    return charges


def advance_settlement(
    timeline: SubscriptionTimeline, billing: AdvanceBilling, round_line: RoundLine
) -> Charge | None:
    """RATING.md §3: "a mid-period cancellation or downgrade gives a prorated credit line on
    the next receivable" — what the advance-billed days cost now, less what was billed for
    them. None when nothing changed (so settling again is harmless)."""
    # Only the days still billed in advance: days that moved to a fee billed in arrears
    # (a plan change) are charged by that fee's own line.
    segments = [
        item
        for item in fee_segments(timeline, billing.fee_id, billing.covered)
        if item[0].key.fee.timing is BillingTiming.ADVANCE
    ]
    actual = sum((round_line(exact) for _, _, exact in segments), ZERO)
    if actual == billing.billed:
        return None
    fee = next(
        (
            fee
            for assignment in timeline.subscription.plans
            for fee in assignment.plan.recurring_fees
            if fee.fee_id == billing.fee_id
        ),
        None,
    )
    return Charge(
        LineKind.RECURRING,
        Fraction(actual - billing.billed),
        fee.tax_category if fee else TaxCategory.STANDARD,
        subscription_id=billing.subscription_id,
        source_id=billing.fee_id,
        source_kind=SourceKind.RECURRING_FEE,
        name=fee.name if fee else "",
        note=LineNote.ADVANCE_SETTLEMENT,
        period=billing.covered,
        days=sum(charged for _, charged, _ in segments),
    )


@dataclass(frozen=True, slots=True)
class _SuspensionKey:
    fee: SuspensionFee
    amount: Decimal
    quantity: Decimal
    proration: ProrationMode


def suspension_charges(timeline: SubscriptionTimeline, period: Period) -> list[Charge]:
    """RATING.md §3: "Suspended days (停止) are not charged unless the plan has a suspension
    fee, which is then prorated over the suspended days the same way." With `full`
    proration a segment suspended on all its days pays the whole suspension fee (and one
    with an active day pays the whole recurring fee instead)."""

    def key_of(day: date) -> _SuspensionKey | None:
        plan = timeline.plan_on(day)
        if plan is None or plan.suspension_fee is None:
            return None
        fee = plan.suspension_fee
        quantity = timeline.quantity_on(day) if fee.per_quantity else ONE
        amount = _amount_on(timeline, fee.fee_id, fee.amount, day)
        return _SuspensionKey(fee, amount, quantity, plan.proration)

    charges = []
    for segment in timeline.segments(period, key_of):
        key = segment.key
        suspended = timeline.suspended_days(segment.period)
        if key.proration is ProrationMode.FULL:
            factor = FULL if suspended == segment.period.days else NOTHING
        else:
            factor = proration_factor(key.proration, suspended, period.days)
        if factor:
            charges.append(
                Charge(
                    LineKind.RECURRING,
                    scale(exact_of(key.amount) * exact_of(key.quantity), factor),
                    key.fee.tax_category,
                    subscription_id=timeline.subscription_id,
                    source_id=key.fee.fee_id,
                    source_kind=SourceKind.SUSPENSION_FEE,
                    name=key.fee.name,
                    note=LineNote.SUSPENSION_FEE,
                    quantity=key.quantity,
                    unit_price=key.amount,
                    period=segment.period,
                    days=suspended,
                )
            )
    return charges


# --- usage (RATING.md §4) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageKey:
    """The usage charge in force, with its tariff version (or negotiated tariff)."""

    charge: UsageCharge
    tariff_id: str
    tariff: Tariff
    proration: ProrationMode
    source_kind: SourceKind = SourceKind.TARIFF


def usage_key(timeline: SubscriptionTimeline, item_id: str, day: date) -> UsageKey | None:
    """The usage charge of `item_id` in force on `day`: RATING.md §4 "a revision applies from
    its date"; §3 a negotiated price may replace the tariff."""
    plan = timeline.plan_on(day)
    if plan is None:
        return None
    charge = next((c for c in plan.usage_charges if c.usage_item_id == item_id), None)
    if charge is None:
        return None
    override = timeline.override_on(charge.charge_id, day)
    if override is not None and override.tariff is not None:
        return UsageKey(
            charge,
            f"override:{charge.charge_id}",
            override.tariff,
            plan.proration,
            SourceKind.NEGOTIATED_TARIFF,
        )
    version = version_on(charge.tariffs, day)
    if version is None:
        return None
    return UsageKey(charge, version.tariff_id, version.tariff, plan.proration)


def usage_items(timeline: SubscriptionTimeline) -> list[str]:
    """The usage items any plan of the subscription charges for."""
    return sorted(
        {
            charge.usage_item_id
            for assignment in timeline.subscription.plans
            for charge in assignment.plan.usage_charges
        }
    )


def usage_segments(
    timeline: SubscriptionTimeline,
    item_id: str,
    period: Period,
    entries: Sequence[UsageEntry],
    top_ups: Iterable[TopUp],
) -> list[tuple[Segment[UsageKey], Decimal, Fraction, list[int]]]:
    """(segment, q, exact amount, indexes of the entries rated) of a usage item.

    RATING.md §4 "Partial periods": "each segment is rated on its own: its usage is the
    records dated inside it, and the tariff's amounts that do not depend on q … are prorated
    by the segment's active days over the period's days … suspended days stay inside their
    segment — not charged, but usage dated on them is rated." """
    top_up_list = list(top_ups)
    result = []
    for segment in timeline.segments(period, lambda d: usage_key(timeline, item_id, d)):
        key = segment.key
        first, last = segment.period.start, segment.period.end
        used = [i for i, e in enumerate(entries) if first <= e.day <= last]
        # RATING.md §4: "Top-ups bought during a period … raise that period's allowance" —
        # the allowance of the segment they were bought in.
        allowance = key.charge.allowance + sum(
            (t.quantity for t in top_up_list if first <= t.bought_on <= last), ZERO
        )
        charged = segment.period.days - timeline.suspended_days(segment.period)
        factor = proration_factor(key.proration, charged, period.days)
        raws = [entries[i].raw for i in used]
        unit = key.charge.unit
        if key.charge.per_record:
            q, exact = per_record_usage_amount(key.tariff, raws, unit, allowance, factor)
        else:
            q, exact = period_usage_amount(key.tariff, sum(raws, ZERO), unit, allowance, factor)
        result.append((segment, q, exact, used))
    return result


def usage_charges(
    timeline: SubscriptionTimeline,
    item_id: str,
    period: Period,
    entries: Sequence[UsageEntry],
    top_ups: Iterable[TopUp],
) -> tuple[list[Charge], set[int]]:
    """The usage lines of one item (one per segment) and the indexes of the entries rated.
    A segment with no usage and nothing due makes no line."""
    charges = []
    rated: set[int] = set()
    for segment, q, exact, used in usage_segments(timeline, item_id, period, entries, top_ups):
        rated.update(used)
        if q == 0 and exact == 0:
            continue
        key = segment.key
        charges.append(
            Charge(
                LineKind.USAGE,
                exact,
                key.charge.tax_category,
                subscription_id=timeline.subscription_id,
                source_id=key.tariff_id,
                source_kind=key.source_kind,
                name=key.charge.name,
                quantity=q,
                unit=key.charge.unit_name,
                unit_price=single_unit_price(key.tariff),
                period=segment.period,
                days=segment.period.days,
                usage_item_id=item_id,
            )
        )
    return charges, rated


def late_usage_charge(
    timeline: SubscriptionTimeline,
    earlier: EarlierPeriodUsage,
    closing_day: ClosingDay,
    round_line: RoundLine,
) -> Charge | None:
    """RATING.md §8: "Usage that arrives for an already-rated period goes onto the next
    receivable as a usage line marked with its original period." The earlier period is
    rated again with all its usage; the line is the difference to what was billed."""
    period = billing_period(closing_day, earlier.billing_month)
    entries = [e for e in earlier.entries if e.usage_item_id == earlier.usage_item_id]
    rated = usage_segments(timeline, earlier.usage_item_id, period, entries, earlier.top_ups)
    amount = sum((round_line(exact) for _, _, exact, _ in rated), ZERO)
    quantity = sum((q for _, q, _, _ in rated), ZERO)
    if amount == earlier.billed_amount and quantity == earlier.billed_quantity:
        return None
    charge = rated[0][0].key.charge if rated else None
    return Charge(
        LineKind.USAGE,
        Fraction(amount - earlier.billed_amount),
        charge.tax_category if charge else TaxCategory.STANDARD,
        subscription_id=earlier.subscription_id,
        source_id=charge.charge_id if charge else None,
        source_kind=SourceKind.USAGE_CHARGE if charge else None,
        name=charge.name if charge else "",
        note=LineNote.LATE_USAGE,
        quantity=quantity - earlier.billed_quantity,
        unit=charge.unit_name if charge else None,
        period=period,
        days=period.days,
        billing_month=earlier.billing_month,
        usage_item_id=earlier.usage_item_id,
    )


# --- one-time fees and early termination (RATING.md §3, §6) --------------------------------


def plan_one_time_charges(timeline: SubscriptionTimeline, period: Period) -> list[Charge]:
    """RATING.md §3: "a subscription's one-time fees are incurred on its start date" and
    billed "on the first closing after" it; "A one-time fee is per subscription, or per unit
    of quantity when the plan says so." """
    start = timeline.life.start
    plan = timeline.plan_on(start)
    if plan is None or not period.contains(start):
        return []
    charges = []
    for fee in plan.one_time_fees:
        amount = _amount_on(timeline, fee.fee_id, fee.amount, start)
        quantity = timeline.quantity_on(start) if fee.per_quantity else ONE
        charges.append(
            Charge(
                LineKind.ONE_TIME,
                Fraction(amount) * Fraction(quantity),
                fee.tax_category,
                subscription_id=timeline.subscription_id,
                source_id=fee.fee_id,
                source_kind=SourceKind.ONE_TIME_FEE,
                name=fee.name,
                quantity=quantity,
                unit_price=amount,
                tax_point=start,
            )
        )
    return charges


def early_termination_charge(timeline: SubscriptionTimeline, period: Period) -> Charge | None:
    """RATING.md §6: "A cancellation effective before the term ends adds an
    early-termination line on the final receivable, computed by the plan's rule" (the
    plan in force on the last active day)."""
    end = timeline.subscription.end_date
    if end is None or not period.contains(end):
        return None
    plan = timeline.plan_on(end)
    if plan is None or plan.minimum_term is None or plan.early_termination is None:
        return None
    term_start = timeline.subscription.term_start or timeline.life.start
    # "one month's recurring fee (× quantity)": a fee charged every n months counts 1/n.
    monthly = NOTHING
    for fee in plan.recurring_fees:
        amount = _amount_on(timeline, fee.fee_id, fee.amount, end)
        quantity = timeline.quantity_on(end) if fee.per_quantity else ONE
        monthly += scale(Fraction(amount) * Fraction(quantity), Fraction(1, fee.interval.every))
    rule = plan.early_termination
    owed = early_termination_fee(plan.minimum_term, rule, term_start, end, monthly)
    if owed is None:
        return None
    exact, last = owed
    return Charge(
        LineKind.EARLY_TERMINATION,
        exact,
        rule.tax_category,
        subscription_id=timeline.subscription_id,
        source_id=rule.rule_id,
        source_kind=SourceKind.EARLY_TERMINATION_RULE,
        name=rule.name,
        period=Period(end + _ONE_DAY, last),
        tax_point=end,
    )
