"""A subscription's timeline inside a window of days, cut into segments — RATING.md §3, §4.

RATING.md §4 "Partial periods": "A segment runs over the subscription's life inside the
period under one plan and one tariff version; suspended days stay inside their segment".
A charge's segments are the runs of days over which everything that charge depends on
(plan, its amount or override, quantity, tariff version) stays the same, so a change that
does not touch a charge does not cut its line in two.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final, Generic, TypeVar

from kakin.rating.model import (
    PlanAssignment,
    PriceOverride,
    PricePlan,
    QuantityChange,
    SubscriptionInput,
    TariffVersion,
)
from kakin.rating.periods import Period, merge_periods, overlap, subtract_periods

_ONE_DAY: Final = timedelta(days=1)
_ONE: Final = Decimal(1)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Segment(Generic[K]):
    """A run of days under one unchanged `key`."""

    period: Period
    key: K


def tariff_version_on(versions: tuple[TariffVersion, ...], day: date) -> TariffVersion | None:
    """RATING.md §4: "a revision applies from its date" — the latest version valid on `day`."""
    best: TariffVersion | None = None
    for version in versions:
        if version.valid_from <= day and (best is None or version.valid_from > best.valid_from):
            best = version
    return best


class SubscriptionTimeline:
    """Answers "what holds on day d" for one subscription, and cuts windows into segments."""

    def __init__(self, subscription: SubscriptionInput) -> None:
        self.subscription = subscription
        self.life = Period(subscription.start_date, subscription.end_date or date.max)
        self._plans: list[PlanAssignment] = sorted(subscription.plans, key=lambda a: a.valid_from)
        self._plan_starts = [a.valid_from for a in self._plans]
        self._quantities: list[QuantityChange] = sorted(
            subscription.quantities, key=lambda q: q.valid_from
        )
        self._quantity_starts = [q.valid_from for q in self._quantities]
        self._suspensions = merge_periods(
            Period(s.start, s.end or date.max) for s in subscription.suspensions
        )
        breakpoints: set[date] = set(self._plan_starts) | set(self._quantity_starts)
        for override in subscription.overrides:
            breakpoints.add(override.valid_from)
            if override.valid_to is not None and override.valid_to < date.max:
                breakpoints.add(override.valid_to + _ONE_DAY)
        for assignment in self._plans:
            for charge in assignment.plan.usage_charges:
                breakpoints.update(version.valid_from for version in charge.tariffs)
        self._breakpoints = sorted(breakpoints)

    @property
    def subscription_id(self) -> str:
        return self.subscription.subscription_id

    def life_in(self, window: Period) -> Period | None:
        """The subscription's life inside `window`, suspended days included (the days it
        is active are `active_days`)."""
        return self.life.intersect(window)

    def active_days(self, window: Period) -> tuple[Period, ...]:
        """The days of `window` on which the subscription is active: its life less its
        suspensions, as disjoint periods. RATING.md §5: "Suspended days are not active
        days, for discounts as for fees (§3)"."""
        life = self.life_in(window)
        return tuple(subtract_periods([life], self._suspensions)) if life else ()

    def plan_on(self, day: date) -> PricePlan | None:
        """RATING.md §3: "the old plan is active through E−1, the new plan from E"."""
        index = bisect.bisect_right(self._plan_starts, day) - 1
        return self._plans[index].plan if index >= 0 else None

    def quantity_on(self, day: date) -> Decimal:
        index = bisect.bisect_right(self._quantity_starts, day) - 1
        return self._quantities[index].quantity if index >= 0 else _ONE

    def override_on(self, target_id: str, day: date) -> PriceOverride | None:
        """RATING.md §3: the negotiated price (相対価格) in force on `day`, the latest first."""
        if not self.subscription.overrides:
            return None  # most subscriptions pay their plan's prices
        best: PriceOverride | None = None
        for override in self.subscription.overrides:
            if (
                override.target_id == target_id
                and override.valid_from <= day
                and (override.valid_to is None or day <= override.valid_to)
                and (best is None or override.valid_from >= best.valid_from)
            ):
                best = override
        return best

    def suspended_days(self, window: Period) -> int:
        """RATING.md §3: the days of `window` on which the subscription is suspended."""
        if not self._suspensions:
            return 0
        return overlap(self._suspensions, window)[0]

    def latest_plan_change(self, on: date) -> date | None:
        """RATING.md §5: the date of the latest plan change effective on or before `on` (a
        switch to another plan, not a revision of the same plan), or None."""
        latest: date | None = None
        for previous, current in zip(self._plans, self._plans[1:], strict=False):
            if current.valid_from <= on and current.plan.plan_id != previous.plan.plan_id:
                latest = current.valid_from
        return latest

    def segments(self, window: Period, key_of: Callable[[date], K | None]) -> list[Segment[K]]:
        """The runs of days of the subscription's life inside `window` over which
        `key_of(day)` stays the same; days where it is None (nothing to charge) drop out."""
        active = self.life_in(window)
        if active is None:
            return []
        starts = [active.start] + [
            day for day in self._breakpoints if active.start < day <= active.end
        ]
        result: list[Segment[K]] = []
        for index, start in enumerate(starts):
            end = starts[index + 1] - _ONE_DAY if index + 1 < len(starts) else active.end
            key = key_of(start)
            if key is None:
                continue
            if result and result[-1].key == key and result[-1].period.end + _ONE_DAY == start:
                result[-1] = Segment(Period(result[-1].period.start, end), key)
            else:
                result.append(Segment(Period(start, end), key))
        return result
