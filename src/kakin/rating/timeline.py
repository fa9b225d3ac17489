"""A subscription's life as the rating core sees it, and cut into segments — RATING.md §3, §4.

`subscription_input` turns the `Timeline` of a subscription's events (`rating.events`) and
its plans' versions into the dated lists of `SubscriptionInput`; `SubscriptionTimeline`
answers "what holds on day d" from them and cuts windows into segments.

RATING.md §4 "Partial periods": "A segment runs over the subscription's life inside the
period under one plan and one tariff version; suspended days stay inside their segment".
A charge's segments are the runs of days over which everything that charge depends on
(plan, its amount or override, quantity, tariff version) stays the same, so a change that
does not touch a charge does not cut its line in two.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final, Generic, TypeVar

from kakin.rating.events import State, Status, Timeline
from kakin.rating.model import (
    PlanAssignment,
    PriceOverride,
    PricePlan,
    QuantityChange,
    SubscriptionInput,
    Suspension,
)
from kakin.rating.periods import Period, merge_periods, overlap, subtract_periods
from kakin.rating.tariffs import negotiated_tariff
from kakin.rating.versions import version_on, version_runs

_ONE_DAY: Final = timedelta(days=1)
_ONE: Final = Decimal(1)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Segment(Generic[K]):
    """A run of days under one unchanged `key`."""

    period: Period
    key: K


def subscription_input(
    subscription_id: str,
    service_id: str,
    timeline: Timeline,
    plans: Mapping[str, Sequence[PlanAssignment]],
) -> SubscriptionInput:
    """A subscription's life (its events' `Timeline`) as the rating core's dated lists.

    `plans` holds every version of each price plan of the life, as assignments from the
    version's date. RATING.md §3: a change effective E applies from E; while a plan holds,
    each of its versions applies from its own date (§4 "a revision applies from its
    date"); suspended days run from a suspension to the day before the resumption; an
    override holds from its date until its amount changes or a plan change clears it.
    """
    changes = _changes(timeline)
    assignments = _assignments(timeline, changes, plans)
    overrides = _overrides(changes)
    negotiated = [o for override in overrides for o in negotiated_usage(assignments, override)]
    return SubscriptionInput(
        subscription_id=subscription_id,
        service_id=service_id,
        start_date=timeline.start,
        end_date=timeline.end,
        plans=assignments,
        quantities=tuple(
            QuantityChange(start, Decimal(state.quantity))
            for start, state, previous in changes
            if previous is None or state.quantity != previous.quantity
        ),
        suspensions=_suspensions(timeline, changes),
        overrides=(*overrides, *negotiated),
    )


_Change = tuple[date, State, State | None]
"""(first day, state, the state before) of a state of the life."""


def _changes(timeline: Timeline) -> list[_Change]:
    states = timeline.states
    return [
        (start, state, states[n - 1] if n else None)
        for n, (start, state) in enumerate(zip(timeline.breaks, states, strict=True))
    ]


def _assignments(
    timeline: Timeline,
    changes: Sequence[_Change],
    plans: Mapping[str, Sequence[PlanAssignment]],
) -> tuple[PlanAssignment, ...]:
    """RATING.md §3 "the old plan is active through E−1, the new plan from E", and within
    each plan's days the version in force on each day (§4)."""
    switches = [
        (start, state.price_plan_id)
        for start, state, previous in changes
        if previous is None or state.price_plan_id != previous.price_plan_id
    ]
    result: list[PlanAssignment] = []
    for n, (start, plan_id) in enumerate(switches):
        end = switches[n + 1][0] - _ONE_DAY if n + 1 < len(switches) else timeline.end
        for run in version_runs(plans.get(plan_id, ()), start, end):
            result.append(PlanAssignment(run.start, run.version.plan))
    return tuple(result)


def _suspensions(timeline: Timeline, changes: Sequence[_Change]) -> tuple[Suspension, ...]:
    """RATING.md §3: suspended from a suspension's date, active again from a resumption's."""
    result: list[Suspension] = []
    since: date | None = None
    for start, state, _ in changes:
        if state.status is Status.SUSPENDED and since is None:
            since = start
        elif state.status is Status.ACTIVE and since is not None:
            result.append(Suspension(since, start - _ONE_DAY))
            since = None
    if since is not None:
        result.append(Suspension(since, timeline.end))
    return tuple(result)


def _overrides(changes: Sequence[_Change]) -> list[PriceOverride]:
    """RATING.md §3: each negotiated amount over the days it holds — from its date until
    another amount of the same component, its removal or a plan change."""
    result: list[PriceOverride] = []
    open_since: dict[str, tuple[date, Decimal]] = {}
    for start, state, _ in changes:
        current = dict(state.overrides)
        for code, (since, amount) in list(open_since.items()):
            if current.get(code) != amount:
                result.append(PriceOverride(code, since, start - _ONE_DAY, amount))
                del open_since[code]
        for code, amount in current.items():
            if code not in open_since:
                open_since[code] = (start, amount)
    for code, (since, amount) in open_since.items():
        result.append(PriceOverride(code, since, None, amount))
    return result


def negotiated_usage(
    plans: Sequence[PlanAssignment], override: PriceOverride
) -> Iterator[PriceOverride]:
    """RATING.md §3: "A subscription may override any amount of its plan (相対価格 …); an
    override is dated like a plan change." An override naming a usage charge replaces the
    amount of the charge's tariff (`negotiated_tariff`): one negotiated tariff per run of
    days under one plan version and one tariff version, listed after the override itself
    so they win on their days (`SubscriptionTimeline.override_on`)."""
    if override.amount is None:
        return
    for plan_run in version_runs(plans, override.valid_from, override.valid_to):
        charge = next(
            (c for c in plan_run.version.plan.usage_charges if c.charge_id == override.target_id),
            None,
        )
        if charge is None:
            continue
        for run in version_runs(charge.tariffs, plan_run.start, plan_run.end):
            version = run.version
            tariff = negotiated_tariff(version.tariff, override.amount)
            if tariff is None:
                raise ValueError(
                    f"the negotiated price of usage charge {override.target_id!r} cannot"
                    f" replace the amounts of the {version.tariff.shape} tariff"
                    f" {version.tariff_id} from {version.valid_from}"
                )
            yield PriceOverride(override.target_id, run.start, run.end, override.amount, tariff)


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
        assignment = version_on(self._plans, day)
        return assignment.plan if assignment is not None else None

    def quantity_on(self, day: date) -> Decimal:
        change = version_on(self._quantities, day)
        return change.quantity if change is not None else _ONE

    def override_on(self, target_id: str, day: date) -> PriceOverride | None:
        """RATING.md §3: the negotiated price (相対価格) in force on `day`: of the overrides
        of `target_id` not ended by `day`, the latest (of one day's, the last listed)."""
        if not self.subscription.overrides:
            return None  # most subscriptions pay their plan's prices
        return version_on(
            (
                override
                for override in self.subscription.overrides
                if override.target_id == target_id
                and (override.valid_to is None or day <= override.valid_to)
            ),
            day,
        )

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
