"""A subscription's life reconstructed from its dated events — pure: no database, no clock.

A subscription is a `start` event (plan, quantity, planned end) followed by dated changes:
`plan_change`, `quantity_change`, `price_override`, `suspend`, `resume`, `cancel`.
Contracts validates an event against the whole history with `validate_events` before it
stores it, and answers "what holds on day d" with `Timeline.state_on`; the closing turns
the same `Timeline` into the rating input with `rating.timeline.subscription_input`.

Rules (RATING.md §3):
- A change effective on date E applies from E: the old value holds through E−1.
  This holds for plan changes, quantity changes and price overrides alike.
- A suspension effective E: suspended from E; a resumption effective R: active from R.
- A cancellation effective E: E is the last active day (the end date is an active day).
- A plan change clears the price overrides in force: an override is a negotiated amount
  *of the plan* (相対価格), so it does not carry over to another plan. An override dated
  on the day of a plan change applies to the new plan.

Same-day events are applied in the fixed order of `KIND_ORDER`, and `validate_events`
refuses two events of one kind on one day (two overrides of one component on one day),
so the result never depends on the order in which the events were recorded.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final


class EventKind(enum.StrEnum):
    START = "start"
    PLAN_CHANGE = "plan_change"
    QUANTITY_CHANGE = "quantity_change"
    PRICE_OVERRIDE = "price_override"
    SUSPEND = "suspend"
    RESUME = "resume"
    CANCEL = "cancel"


KIND_ORDER: Final[dict[EventKind, int]] = {kind: rank for rank, kind in enumerate(EventKind)}
"""Order of events effective on the same day: start, plan change (which clears
overrides), quantity change, price override (so an override on a plan-change day applies
to the new plan), suspend, resume, cancel."""


class Status(enum.StrEnum):
    """The state of a subscription on a day of its life."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


Overrides = tuple[tuple[str, Decimal], ...]
"""Price overrides in force: (component code, amount) pairs sorted by code."""


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One dated event. Which fields matter depends on `kind`:
    start: price_plan_id, quantity, end_date (the planned end, None for open-ended);
    plan_change: price_plan_id; quantity_change: quantity;
    price_override: component_code, amount (None removes the override);
    suspend / resume / cancel: nothing more."""

    kind: EventKind
    effective_date: date
    seq: int = 0
    price_plan_id: str | None = None
    quantity: int | None = None
    end_date: date | None = None
    component_code: str | None = None
    amount: Decimal | None = None

    def sort_key(self) -> tuple[date, int, int]:
        return (self.effective_date, KIND_ORDER[self.kind], self.seq)


@dataclass(frozen=True, slots=True)
class State:
    """What holds on one day: plan, quantity, active or suspended, price overrides."""

    price_plan_id: str
    quantity: int
    status: Status
    overrides: Overrides = ()

    @property
    def override_map(self) -> dict[str, Decimal]:
        return dict(self.overrides)


class TimelineCode(enum.StrEnum):
    """Why a set of events is not a possible life (each maps to one API problem)."""

    NO_START = "no-start"
    BEFORE_START = "before-start"
    AFTER_END = "after-end"
    ALREADY_CANCELLED = "already-cancelled"
    NOT_ACTIVE = "not-active"
    NOT_SUSPENDED = "not-suspended"
    DUPLICATE = "duplicate"
    INVALID_VALUE = "invalid-value"


@dataclass(frozen=True, slots=True)
class TimelineProblem:
    code: TimelineCode
    event: TimelineEvent
    reason: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """A subscription's life: `start`..`end` (None: open-ended) and the state changes.

    `breaks[i]` is the first day on which `states[i]` holds; it holds until the day
    before `breaks[i + 1]` (or the end). Adjacent equal states are merged.
    """

    start: date
    end: date | None
    breaks: tuple[date, ...]
    states: tuple[State, ...]

    def state_on(self, day: date) -> State | None:
        """The state on `day`, None outside the subscription's life."""
        if day < self.start or (self.end is not None and day > self.end):
            return None
        return self.states[bisect.bisect_right(self.breaks, day) - 1]

    @property
    def plan_ids(self) -> frozenset[str]:
        """The price plans of the life (what the closing must load for it)."""
        return frozenset(state.price_plan_id for state in self.states)


def ordered(events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    return sorted(events, key=TimelineEvent.sort_key)


def validate_events(events: Sequence[TimelineEvent]) -> list[TimelineProblem]:
    """Every reason the events cannot be one subscription's life, in event order.

    Exactly one `start`; nothing before it; nothing after the planned end or the
    cancellation; one cancellation at most; suspend only while active, resume only while
    suspended; quantities ≥ 1; overrides ≥ 0; no two events of one kind on one day.
    """
    problems: list[TimelineProblem] = []
    starts = [e for e in events if e.kind is EventKind.START]
    if len(starts) != 1:
        anchor = starts[1] if starts else (events[0] if events else None)
        if anchor is not None:
            problems.append(
                TimelineProblem(TimelineCode.NO_START, anchor, "needs exactly one start event")
            )
        return problems
    start = starts[0]
    seen: set[tuple[date, EventKind, str | None]] = set()
    suspended = False
    cancelled_on: date | None = None
    end = start.end_date
    for event in ordered(events):
        key = (event.effective_date, event.kind, event.component_code)
        status_key = (event.effective_date, EventKind.SUSPEND, None)
        if key in seen or (
            event.kind in (EventKind.SUSPEND, EventKind.RESUME) and status_key in seen
        ):
            problems.append(
                TimelineProblem(
                    TimelineCode.DUPLICATE,
                    event,
                    f"there already is a {event.kind} (or a suspension/resumption) "
                    f"effective {event.effective_date}",
                )
            )
            continue
        seen.add(key)
        if event.kind in (EventKind.SUSPEND, EventKind.RESUME):
            seen.add(status_key)
        if event.effective_date < start.effective_date:
            problems.append(
                TimelineProblem(
                    TimelineCode.BEFORE_START,
                    event,
                    f"effective date is before the start {start.effective_date}",
                )
            )
            continue
        if cancelled_on is not None:
            problems.append(
                TimelineProblem(
                    TimelineCode.ALREADY_CANCELLED
                    if event.kind is EventKind.CANCEL
                    else TimelineCode.AFTER_END,
                    event,
                    f"the subscription is cancelled effective {cancelled_on}",
                )
            )
            continue
        if end is not None and event.effective_date > end:
            problems.append(
                TimelineProblem(
                    TimelineCode.AFTER_END, event, f"effective date is after the end date {end}"
                )
            )
            continue
        problem = _check_value(event, suspended)
        if problem is not None:
            problems.append(problem)
            continue
        if event.kind is EventKind.SUSPEND:
            suspended = True
        elif event.kind is EventKind.RESUME:
            suspended = False
        elif event.kind is EventKind.CANCEL:
            cancelled_on = event.effective_date
    return problems


def _check_value(event: TimelineEvent, suspended: bool) -> TimelineProblem | None:
    kind = event.kind
    if kind in (EventKind.START, EventKind.PLAN_CHANGE) and not event.price_plan_id:
        return TimelineProblem(TimelineCode.INVALID_VALUE, event, "needs a price plan")
    if kind in (EventKind.START, EventKind.QUANTITY_CHANGE) and (
        event.quantity is None or event.quantity < 1
    ):
        return TimelineProblem(TimelineCode.INVALID_VALUE, event, "quantity must be at least 1")
    if kind is EventKind.START and event.end_date and event.end_date < event.effective_date:
        return TimelineProblem(
            TimelineCode.INVALID_VALUE, event, "end date is before the start date"
        )
    if kind is EventKind.PRICE_OVERRIDE:
        if not event.component_code:
            return TimelineProblem(TimelineCode.INVALID_VALUE, event, "needs a component code")
        if event.amount is not None and event.amount < 0:
            return TimelineProblem(TimelineCode.INVALID_VALUE, event, "amount must be ≥ 0")
    if kind is EventKind.SUSPEND and suspended:
        return TimelineProblem(TimelineCode.NOT_ACTIVE, event, "already suspended on that date")
    if kind is EventKind.RESUME and not suspended:
        return TimelineProblem(TimelineCode.NOT_SUSPENDED, event, "not suspended on that date")
    return None


class InvalidTimeline(ValueError):
    def __init__(self, problems: Sequence[TimelineProblem]) -> None:
        super().__init__(
            "; ".join(f"{p.event.kind} {p.event.effective_date}: {p.reason}" for p in problems)
        )
        self.problems = list(problems)


def _apply(state: State, event: TimelineEvent) -> State:
    kind = event.kind
    if kind is EventKind.PLAN_CHANGE:
        assert event.price_plan_id is not None  # noqa: S101 - validated
        return State(event.price_plan_id, state.quantity, state.status, ())
    if kind is EventKind.QUANTITY_CHANGE:
        assert event.quantity is not None  # noqa: S101 - validated
        return State(state.price_plan_id, event.quantity, state.status, state.overrides)
    if kind is EventKind.PRICE_OVERRIDE:
        assert event.component_code is not None  # noqa: S101 - validated
        overrides = dict(state.overrides)
        if event.amount is None:
            overrides.pop(event.component_code, None)
        else:
            overrides[event.component_code] = event.amount
        return State(
            state.price_plan_id, state.quantity, state.status, tuple(sorted(overrides.items()))
        )
    if kind is EventKind.SUSPEND:
        return State(state.price_plan_id, state.quantity, Status.SUSPENDED, state.overrides)
    if kind is EventKind.RESUME:
        return State(state.price_plan_id, state.quantity, Status.ACTIVE, state.overrides)
    return state


def build_timeline(events: Iterable[TimelineEvent], *, check: bool = True) -> Timeline:
    """The timeline of one subscription from all its events (any order).

    With `check` (the default) invalid events raise `InvalidTimeline`; the closing batch
    may pass `check=False` for events the service already validated when it stored them.
    """
    event_list = ordered(events)
    if check:
        problems = validate_events(event_list)
        if problems:
            raise InvalidTimeline(problems)
    start = event_list[0]
    if start.kind is not EventKind.START:
        raise InvalidTimeline([TimelineProblem(TimelineCode.NO_START, start, "no start event")])
    assert start.price_plan_id is not None  # noqa: S101 - validated
    assert start.quantity is not None  # noqa: S101 - validated
    end = start.end_date
    breaks: list[date] = [start.effective_date]
    states: list[State] = [State(start.price_plan_id, start.quantity, Status.ACTIVE)]
    for event in event_list[1:]:
        if event.kind is EventKind.CANCEL:
            end = event.effective_date if end is None else min(end, event.effective_date)
            break
        new_state = _apply(states[-1], event)
        if new_state == states[-1]:
            continue
        if breaks[-1] == event.effective_date:
            states[-1] = new_state  # several changes on one day: one break
            if len(states) > 1 and states[-2] == new_state:
                states.pop()
                breaks.pop()
        else:
            breaks.append(event.effective_date)
            states.append(new_state)
    return Timeline(start.effective_date, end, tuple(breaks), tuple(states))
