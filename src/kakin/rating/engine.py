"""The rating engine: one contract, one billing month → one receivable draft (RATING.md §3–§8).

`rate_period` is pure: the same `ContractInput` and billing month always give the same
`ReceivableDraft` (RATING.md §8 "A closing run is repeatable"). Every amount is computed
exactly, as a `Fraction` (`charges.py`, `exact.py`), and rounded once, by line rounding,
when it becomes a line; discounts work on the rounded lines; tax is rounded once per rate
(RATING.md §1).
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Final

from kakin.rating.charges import (
    Charge,
    advance_settlement,
    early_termination_charge,
    late_usage_charge,
    plan_one_time_charges,
    recurring_charges,
    suspension_charges,
    usage_charges,
    usage_items,
    usage_key,
)
from kakin.rating.discounts import BucketKey, DiscountSetting, SubscriptionFacts, apply_discounts
from kakin.rating.due_dates import due_date
from kakin.rating.exact import round_line
from kakin.rating.lines import (
    BUCKET_KIND_ORDER,
    LineKind,
    LineNote,
    ReceivableDraft,
    ReceivableLine,
    SourceKind,
)
from kakin.rating.model import ContractInput, UsageEntry
from kakin.rating.periods import BillingMonth, Period, billing_month_of, billing_period
from kakin.rating.tax import RATING_PRECISION, TaxCategory, receivable_totals, tax_rate_on
from kakin.rating.timeline import SubscriptionTimeline
from kakin.rating.usage import rated_quantity, remaining_allowance

ZERO: Final = Decimal(0)


class _Rater:
    """Builds the lines of one contract for one billing month."""

    def __init__(self, contract: ContractInput, billing_month: BillingMonth) -> None:
        self.contract = contract
        self.month = billing_month
        self.period = billing_period(contract.closing_day, billing_month)
        self.policy = contract.policy
        # Sorted by id, so the order the caller loaded them in never changes the result.
        self.timelines = {
            s.subscription_id: SubscriptionTimeline(s)
            for s in sorted(contract.subscriptions, key=lambda s: s.subscription_id)
        }
        self.lines: list[ReceivableLine] = []
        # Lines share a few tax points: each (category, date) is looked up once.
        self._tax_rates: dict[tuple[TaxCategory, date], Decimal] = {}

    def round_line(self, exact: Fraction) -> Decimal:
        """RATING.md §1 "Line rounding — each receivable line's amount is rounded to the
        currency's minor unit once, after its tariff, proration and quantity are applied."""
        return round_line(exact, self.policy.currency, self.policy.line_rounding)

    def add(self, charge: Charge) -> None:
        """A charge becomes a line: rounded once, taxed at the rate valid on its tax point,
        labelled with its source's name (its kind when the source has none)."""
        point = charge.tax_point or (charge.period.end if charge.period else self.period.end)
        rate = self._tax_rates.get((charge.tax_category, point))
        if rate is None:
            rate = tax_rate_on(self.contract.tax_rates, charge.tax_category, point)
            self._tax_rates[(charge.tax_category, point)] = rate
        self.lines.append(
            ReceivableLine(
                kind=charge.kind,
                amount=self.round_line(charge.exact),
                tax_category=charge.tax_category,
                tax_rate=rate,
                subscription_id=charge.subscription_id,
                source_id=charge.source_id,
                note=charge.note,
                quantity=charge.quantity,
                unit=charge.unit,
                unit_price=charge.unit_price,
                period=charge.period,
                days=charge.days,
                billing_month=charge.billing_month,
                usage_item_id=charge.usage_item_id,
                name=charge.name or charge.kind.value,
                source_kind=charge.source_kind,
            )
        )

    def timeline(self, subscription_id: str) -> SubscriptionTimeline:
        try:
            return self.timelines[subscription_id]
        except KeyError:
            raise ValueError(f"unknown subscription {subscription_id!r}") from None

    # --- the parts of the receivable, in their order -------------------------------------

    def rate_subscriptions(self) -> tuple[UsageEntry, ...]:
        """Recurring fees, suspension fees, usage and the plans' one-time fees of every
        subscription; returns the usage entries of the period that nothing could rate."""
        usage: dict[tuple[str, str], list[UsageEntry]] = defaultdict(list)
        first, last = self.period.start, self.period.end
        for entry in self.contract.usage:
            if first <= entry.day <= last:
                usage[(entry.subscription_id, entry.usage_item_id)].append(entry)
        unrated: list[UsageEntry] = []
        seen: set[tuple[str, str]] = set()
        closing_day = self.contract.closing_day
        for sub_id, timeline in self.timelines.items():
            for charge in recurring_charges(timeline, closing_day, self.month):
                self.add(charge)
            for charge in suspension_charges(timeline, self.period):
                self.add(charge)
            for item_id in usage_items(timeline):
                seen.add((sub_id, item_id))
                entries = usage.get((sub_id, item_id), [])
                top_ups = [
                    t
                    for t in self.contract.top_ups
                    if t.subscription_id == sub_id and t.usage_item_id == item_id
                ]
                charges, used = usage_charges(timeline, item_id, self.period, entries, top_ups)
                if len(used) < len(entries):
                    unrated.extend(e for i, e in enumerate(entries) if i not in used)
                for charge in charges:
                    self.add(charge)
            for charge in plan_one_time_charges(timeline, self.period):
                self.add(charge)
        for key, entries in usage.items():
            if key not in seen:
                unrated.extend(entries)
        return tuple(sorted(unrated, key=lambda e: (e.subscription_id, e.usage_item_id, e.day)))

    def rate_one_time_charges(self) -> None:
        """RATING.md §3: one-time fees "are billed on the first closing after the date they
        are incurred"; top-ups "are billed as one-time fees" (§4). The caller passes those
        not yet on an issued receivable; those incurred after the period wait."""
        for one_time in sorted(self.contract.one_time_charges, key=lambda c: c.charge_id):
            if one_time.incurred_on <= self.period.end:
                self.add(
                    Charge(
                        LineKind.ONE_TIME,
                        Fraction(one_time.amount) * Fraction(one_time.quantity),
                        one_time.tax_category,
                        subscription_id=one_time.subscription_id,
                        source_id=one_time.fee_id,
                        source_kind=SourceKind.ONE_TIME_CHARGE,
                        name=one_time.name,
                        quantity=one_time.quantity,
                        unit_price=one_time.amount,
                        tax_point=one_time.incurred_on,
                    )
                )
        for top_up in sorted(self.contract.top_ups, key=lambda t: t.top_up_id):
            if top_up.bought_on <= self.period.end:
                self.add(
                    Charge(
                        LineKind.ONE_TIME,
                        Fraction(top_up.price),
                        top_up.tax_category,
                        subscription_id=top_up.subscription_id,
                        source_id=top_up.top_up_id,
                        source_kind=SourceKind.TOP_UP,
                        name=top_up.name,
                        note=LineNote.TOP_UP,
                        unit_price=top_up.price,
                        tax_point=top_up.bought_on,
                    )
                )

    def rate_corrections(self) -> None:
        """Settlements of advance-billed periods (RATING.md §3) and late usage (§8)."""
        for billing in self.contract.advance_billings:
            timeline = self.timeline(billing.subscription_id)
            settlement = advance_settlement(timeline, billing, self.round_line)
            if settlement is not None:
                self.add(settlement)
        for earlier in self.contract.earlier_usage:
            timeline = self.timeline(earlier.subscription_id)
            late = late_usage_charge(timeline, earlier, self.contract.closing_day, self.round_line)
            if late is not None:
                self.add(late)

    def rate_discounts(self) -> None:
        if not self.contract.discounts:
            return  # most contracts have none: no buckets, no facts to gather
        buckets: dict[BucketKey, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            # RATING.md §5: the target is "the contract's recurring, one-time and usage lines
            # … (never early-termination fees or adjustments)". Late usage belongs to an
            # earlier period and its discounts, so it is no target either.
            if line.kind in BUCKET_KIND_ORDER and line.note is not LineNote.LATE_USAGE:
                buckets[(line.subscription_id, line.tax_category, line.kind)] += line.amount
        facts = {
            sub_id: SubscriptionFacts(
                subscription_id=sub_id,
                service_id=timeline.subscription.service_id,
                start_date=timeline.life.start,
                plan_changed_on=timeline.latest_plan_change(self.period.end),
                life=timeline.life_in(self.period),
                active=timeline.active_days(self.period),
            )
            for sub_id, timeline in self.timelines.items()
        }
        setting = DiscountSetting(
            self.period, self.contract.start_date, self.policy.currency, self.policy.line_rounding
        )
        for applied in apply_discounts(self.contract.discounts, buckets, facts, setting):
            self.add(
                Charge(
                    LineKind.DISCOUNT,
                    Fraction(applied.amount),
                    applied.tax_category,
                    subscription_id=applied.discount.subscription_id,
                    source_id=applied.discount.discount_id,
                    source_kind=SourceKind.DISCOUNT,
                    name=applied.discount.name,
                    unit_price=applied.amount,
                    period=applied.covered,
                    days=applied.days,
                )
            )

    def rate_early_terminations(self) -> None:
        for timeline in self.timelines.values():
            charge = early_termination_charge(timeline, self.period)
            if charge is not None:
                self.add(charge)

    def rate_adjustments(self) -> None:
        """RATING.md §8: "a late change becomes an `adjustment` line on the next receivable"."""
        for adjustment in sorted(self.contract.adjustments, key=lambda a: a.adjustment_id):
            self.add(
                Charge(
                    LineKind.ADJUSTMENT,
                    Fraction(adjustment.amount),
                    adjustment.tax_category,
                    subscription_id=adjustment.subscription_id,
                    source_id=adjustment.adjustment_id,
                    source_kind=SourceKind.ADJUSTMENT,
                    name=adjustment.name,
                    unit_price=adjustment.amount,
                    period=adjustment.period,
                )
            )

    def run(self) -> ReceivableDraft:
        unrated = self.rate_subscriptions()
        self.rate_one_time_charges()
        self.rate_corrections()
        self.rate_discounts()
        self.rate_early_terminations()
        self.rate_adjustments()
        return self.receivable(unrated)

    def receivable(self, unrated: tuple[UsageEntry, ...]) -> ReceivableDraft:
        policy = self.policy
        totals = receivable_totals(
            [(line.tax_category, line.tax_rate, line.amount) for line in self.lines],
            policy.tax_mode,
            policy.currency,
            policy.tax_rounding,
        )
        terms = self.contract.payment_terms
        return ReceivableDraft(
            contract_id=self.contract.contract_id,
            billing_month=self.month,
            period=self.period,
            currency=policy.currency,
            tax_mode=policy.tax_mode,
            lines=tuple(self.lines),
            totals=totals,
            due_date=(
                due_date(terms, self.month, direct_debit=self.contract.direct_debit)
                if terms
                else None
            ),
            unrated_usage=unrated,
        )


def rate_period(contract: ContractInput, billing_month: BillingMonth) -> ReceivableDraft:
    """Rate one contract for one billing month: its receivable draft (RATING.md §8)."""
    with decimal.localcontext(prec=RATING_PRECISION):
        return _Rater(contract, billing_month).run()


def remaining_allowance_on(
    contract: ContractInput, subscription_id: str, usage_item_id: str, on: date
) -> Decimal | None:
    """RATING.md §4: "What remains of an allowance can be read at any time." The allowance
    of the segment containing `on` (raised by the top-ups bought in it up to `on`) less the
    rated quantity of the usage dated in it up to `on`; None when no charge applies then."""
    subscription = next(
        (s for s in contract.subscriptions if s.subscription_id == subscription_id), None
    )
    if subscription is None:
        raise ValueError(f"unknown subscription {subscription_id!r}")
    timeline = SubscriptionTimeline(subscription)
    key = usage_key(timeline, usage_item_id, on)
    if key is None or not timeline.life.contains(on):
        return None
    period = billing_period(contract.closing_day, billing_month_of(contract.closing_day, on))
    segment = next(
        s.period
        for s in timeline.segments(period, lambda d: usage_key(timeline, usage_item_id, d))
        if s.period.contains(on)
    )
    so_far = Period(segment.start, on)
    top_ups = [
        t.quantity
        for t in contract.top_ups
        if t.subscription_id == subscription_id
        and t.usage_item_id == usage_item_id
        and so_far.contains(t.bought_on)
    ]
    raws = [
        e.raw
        for e in contract.usage
        if e.subscription_id == subscription_id
        and e.usage_item_id == usage_item_id
        and so_far.contains(e.day)
    ]
    unit = key.charge.unit
    if key.charge.per_record:
        used = sum((rated_quantity(raw, unit) for raw in raws), ZERO)
    else:
        used = rated_quantity(sum(raws, ZERO), unit)
    return remaining_allowance(key.charge.allowance, top_ups, used)
