"""A subscription's life from its dated events (RATING.md §3): the events' `Timeline`
(what contracts validates and answers `state_on` with) and the rating input the closing
builds from it (`subscription_input`, read by `SubscriptionTimeline`)."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kakin.rating.events import (
    EventKind,
    InvalidTimeline,
    Status,
    Timeline,
    TimelineCode,
    TimelineEvent,
    build_timeline,
    validate_events,
)
from kakin.rating.model import PlanAssignment, PricePlan, TariffVersion, UsageCharge
from kakin.rating.periods import Period
from kakin.rating.tariffs import Band, Tariff, TariffShape
from kakin.rating.timeline import SubscriptionTimeline, subscription_input

D = date.fromisoformat
NOVEMBER = Period(D("2026-11-01"), D("2026-11-30"))


def start(
    day: str, plan: str = "plan_a", quantity: int = 1, end: str | None = None
) -> TimelineEvent:
    return TimelineEvent(
        EventKind.START,
        D(day),
        0,
        price_plan_id=plan,
        quantity=quantity,
        end_date=D(end) if end else None,
    )


def ev(kind: EventKind, day: str, seq: int = 1, **data: object) -> TimelineEvent:
    return TimelineEvent(kind, D(day), seq, **data)  # type: ignore[arg-type]


def one_version_each(timeline: Timeline) -> dict[str, list[PlanAssignment]]:
    """One version of every plan of the life, valid from long before it."""
    return {p: [PlanAssignment(D("2000-01-01"), PricePlan(p))] for p in timeline.plan_ids}


def rated(timeline: Timeline) -> SubscriptionTimeline:
    """The life as the rating core reads it: what the closing builds from the events."""
    return SubscriptionTimeline(
        subscription_input("s1", "svc", timeline, one_version_each(timeline))
    )


def plan_runs(life: SubscriptionTimeline, window: Period) -> list[tuple[date, date, str]]:
    def plan_id(day: date) -> str | None:
        plan = life.plan_on(day)
        return plan.plan_id if plan else None

    return [(s.period.start, s.period.end, s.key) for s in life.segments(window, plan_id)]


def test_plan_change_keeps_the_old_plan_through_the_day_before() -> None:
    # RATING.md §3: "A plan change effective on date E: the old plan is active through
    # E−1, the new plan from E."
    timeline = build_timeline(
        [start("2026-10-01"), ev(EventKind.PLAN_CHANGE, "2026-11-10", price_plan_id="plan_b")]
    )
    assert timeline.state_on(D("2026-11-09")).price_plan_id == "plan_a"  # type: ignore[union-attr]
    assert timeline.state_on(D("2026-11-10")).price_plan_id == "plan_b"  # type: ignore[union-attr]
    assert plan_runs(rated(timeline), NOVEMBER) == [
        (D("2026-11-01"), D("2026-11-09"), "plan_a"),
        (D("2026-11-10"), D("2026-11-30"), "plan_b"),
    ]


def test_cancellation_date_is_the_last_active_day() -> None:
    timeline = build_timeline([start("2026-10-01"), ev(EventKind.CANCEL, "2026-11-15")])
    assert timeline.state_on(D("2026-11-15")) is not None
    assert timeline.state_on(D("2026-11-16")) is None
    assert timeline.end == D("2026-11-15")
    assert rated(timeline).life_in(NOVEMBER) == Period(D("2026-11-01"), D("2026-11-15"))


def test_suspended_days_run_from_the_suspension_to_the_day_before_the_resumption() -> None:
    timeline = build_timeline(
        [
            start("2026-10-01", quantity=2),
            ev(EventKind.SUSPEND, "2026-11-05", 1),
            ev(EventKind.RESUME, "2026-11-20", 2),
        ]
    )
    assert [s.status for s in timeline.states] == [
        Status.ACTIVE,
        Status.SUSPENDED,
        Status.ACTIVE,
    ]
    life = rated(timeline)
    assert life.suspended_days(NOVEMBER) == 15
    assert life.active_days(NOVEMBER) == (
        Period(D("2026-11-01"), D("2026-11-04")),
        Period(D("2026-11-20"), D("2026-11-30")),
    )
    assert all(life.quantity_on(day) == 2 for day in NOVEMBER.dates())


def test_price_override_is_dated_and_a_plan_change_clears_it() -> None:
    timeline = build_timeline(
        [
            start("2026-10-01"),
            ev(
                EventKind.PRICE_OVERRIDE,
                "2026-10-10",
                1,
                component_code="base",
                amount=Decimal("980"),
            ),
            ev(EventKind.PLAN_CHANGE, "2026-11-01", 2, price_plan_id="plan_b"),
            ev(
                EventKind.PRICE_OVERRIDE,
                "2026-11-01",
                3,
                component_code="base",
                amount=Decimal("1500"),
            ),
        ]
    )
    assert timeline.state_on(D("2026-10-09")).overrides == ()  # type: ignore[union-attr]
    assert timeline.state_on(D("2026-10-10")).override_map == {"base": Decimal("980")}  # type: ignore[union-attr]
    november = timeline.state_on(D("2026-11-01"))
    assert november is not None
    assert (november.price_plan_id, november.override_map) == ("plan_b", {"base": Decimal("1500")})
    life = rated(timeline)
    assert life.override_on("base", D("2026-10-09")) is None
    assert life.override_on("base", D("2026-10-31")).amount == Decimal("980")  # type: ignore[union-attr]
    assert life.override_on("base", D("2026-11-01")).amount == Decimal("1500")  # type: ignore[union-attr]


def test_nothing_outside_the_life() -> None:
    timeline = build_timeline([start("2026-10-01", end="2026-10-31")])
    life = rated(timeline)
    assert life.life_in(NOVEMBER) is None
    assert life.life_in(Period(D("2026-09-01"), D("2026-09-30"))) is None
    assert timeline.state_on(D("2026-09-30")) is None


def test_a_plan_revision_applies_from_its_date_whatever_changed_before() -> None:
    """RATING.md §4 "a revision applies from its date": a quantity change (or a
    suspension, an override) earlier in the plan's run does not keep the old version."""
    timeline = build_timeline(
        [start("2026-10-01"), ev(EventKind.QUANTITY_CHANGE, "2026-10-15", quantity=2)]
    )
    versions = [
        PlanAssignment(D("2026-01-01"), PricePlan("plan_a")),
        PlanAssignment(D("2026-11-01"), PricePlan("plan_a-v2")),
    ]
    life = SubscriptionTimeline(subscription_input("s1", "svc", timeline, {"plan_a": versions}))
    assert life.plan_on(D("2026-10-31")).plan_id == "plan_a"  # type: ignore[union-attr]
    assert life.plan_on(D("2026-11-01")).plan_id == "plan_a-v2"  # type: ignore[union-attr]


def test_a_plan_change_ends_the_old_plans_versions() -> None:
    """RATING.md §3: the old plan through E−1 — a later revision of it does not return."""
    timeline = build_timeline(
        [start("2026-10-01"), ev(EventKind.PLAN_CHANGE, "2026-11-10", price_plan_id="plan_b")]
    )
    plans = {
        "plan_a": [
            PlanAssignment(D("2026-01-01"), PricePlan("a1")),
            PlanAssignment(D("2026-11-20"), PricePlan("a2")),
        ],
        "plan_b": [
            PlanAssignment(D("2026-01-01"), PricePlan("b1")),
            PlanAssignment(D("2026-11-15"), PricePlan("b2")),
        ],
    }
    life = SubscriptionTimeline(subscription_input("s1", "svc", timeline, plans))
    assert plan_runs(life, NOVEMBER) == [
        (D("2026-11-01"), D("2026-11-09"), "a1"),
        (D("2026-11-10"), D("2026-11-14"), "b1"),
        (D("2026-11-15"), D("2026-11-30"), "b2"),
    ]


@pytest.mark.parametrize(
    ("events", "code"),
    [
        ([ev(EventKind.SUSPEND, "2026-09-30")], TimelineCode.BEFORE_START),
        ([ev(EventKind.RESUME, "2026-10-05")], TimelineCode.NOT_SUSPENDED),
        (
            [ev(EventKind.SUSPEND, "2026-10-05", 1), ev(EventKind.SUSPEND, "2026-10-07", 2)],
            TimelineCode.NOT_ACTIVE,
        ),
        (
            [
                ev(EventKind.CANCEL, "2026-10-05", 1),
                ev(EventKind.QUANTITY_CHANGE, "2026-10-06", 2, quantity=3),
            ],
            TimelineCode.AFTER_END,
        ),
        (
            [ev(EventKind.CANCEL, "2026-10-05", 1), ev(EventKind.CANCEL, "2026-10-09", 2)],
            TimelineCode.ALREADY_CANCELLED,
        ),
        ([ev(EventKind.QUANTITY_CHANGE, "2026-10-05", 1, quantity=0)], TimelineCode.INVALID_VALUE),
        (
            [
                ev(EventKind.PLAN_CHANGE, "2026-10-05", 1, price_plan_id="b"),
                ev(EventKind.PLAN_CHANGE, "2026-10-05", 2, price_plan_id="c"),
            ],
            TimelineCode.DUPLICATE,
        ),
        (
            [ev(EventKind.SUSPEND, "2026-10-05", 1), ev(EventKind.RESUME, "2026-10-05", 2)],
            TimelineCode.DUPLICATE,
        ),
    ],
)
def test_impossible_event_sequences_are_refused(
    events: list[TimelineEvent], code: TimelineCode
) -> None:
    all_events = [start("2026-10-01"), *events]
    assert [p.code for p in validate_events(all_events)] == [code]
    with pytest.raises(InvalidTimeline):
        build_timeline(all_events)


def test_event_after_the_planned_end_is_refused() -> None:
    problems = validate_events(
        [start("2026-10-01", end="2026-10-31"), ev(EventKind.SUSPEND, "2026-11-01")]
    )
    assert [p.code for p in problems] == [TimelineCode.AFTER_END]


# --- properties ----------------------------------------------------------------------

BASE = date(2026, 1, 1)
day_offsets = st.integers(min_value=0, max_value=120)


@st.composite
def lives(draw: st.DrawFn) -> list[TimelineEvent]:
    """A valid life: a start, then changes on distinct (day, kind) keys, maybe a cancel."""
    start_offset = draw(st.integers(min_value=0, max_value=40))
    first = BASE + timedelta(days=start_offset)
    planned_end = draw(
        st.none() | st.integers(min_value=0, max_value=150).map(lambda n: first + timedelta(days=n))
    )
    events = [
        TimelineEvent(
            EventKind.START, first, 0, price_plan_id="p0", quantity=1, end_date=planned_end
        )
    ]
    horizon = (planned_end - first).days if planned_end else 150
    used: set[tuple[date, str]] = set()
    suspended_days = sorted(draw(st.sets(st.integers(0, horizon), max_size=6)))
    for n, offset in enumerate(suspended_days):  # alternate suspend / resume on distinct days
        kind = EventKind.SUSPEND if n % 2 == 0 else EventKind.RESUME
        events.append(TimelineEvent(kind, first + timedelta(days=offset)))
    for kind in (EventKind.PLAN_CHANGE, EventKind.QUANTITY_CHANGE, EventKind.PRICE_OVERRIDE):
        for offset in draw(st.sets(st.integers(0, horizon), max_size=4)):
            day = first + timedelta(days=offset)
            if (day, kind) in used:
                continue
            used.add((day, kind))
            events.append(
                TimelineEvent(
                    kind,
                    day,
                    price_plan_id=f"p{offset % 3}",
                    quantity=1 + offset % 4,
                    component_code="base",
                    amount=draw(st.none() | st.decimals(0, 10_000, places=2)),
                )
            )
    last = max(e.effective_date for e in events)
    if draw(st.booleans()):
        events.append(TimelineEvent(EventKind.CANCEL, last))
    return events


def _numbered(events: list[TimelineEvent], order: list[int]) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            e.kind,
            e.effective_date,
            order[i],
            e.price_plan_id,
            e.quantity,
            e.end_date,
            e.component_code,
            e.amount,
        )
        for i, e in enumerate(events)
    ]


periods = st.tuples(st.integers(-10, 200), st.integers(0, 120)).map(
    lambda t: (BASE + timedelta(days=t[0]), BASE + timedelta(days=t[0] + t[1]))
)


@settings(max_examples=300)
@given(lives(), periods)
def test_the_rating_input_holds_the_state_of_every_day_of_the_life(
    events: list[TimelineEvent], period: tuple[date, date]
) -> None:
    """What the closing rates (`subscription_input` read by `SubscriptionTimeline`) holds,
    on every day, the plan, quantity, status and overrides the events give that day; its
    segments are contiguous and cover exactly the life in the period."""
    timeline = build_timeline(_numbered(events, list(range(len(events)))))
    life = rated(timeline)
    window = Period(*period)
    days_in_life = [day for day in window.dates() if timeline.state_on(day) is not None]
    for day in window.dates():
        state = timeline.state_on(day)
        assert life.life.contains(day) == (state is not None)
        if state is None:
            continue
        plan = life.plan_on(day)
        assert plan is not None
        assert plan.plan_id == state.price_plan_id
        assert life.quantity_on(day) == state.quantity
        suspended = life.suspended_days(Period(day, day)) == 1
        assert suspended == (state.status is Status.SUSPENDED)
        override = life.override_on("base", day)
        assert (override.amount if override else None) == state.override_map.get("base")

    def state_of(day: date) -> tuple[object, ...] | None:
        plan = life.plan_on(day)
        override = life.override_on("base", day)
        return (
            plan.plan_id if plan else None,
            life.quantity_on(day),
            override.amount if override else None,
        )

    segments = life.segments(window, state_of)
    covered = [day for s in segments for day in s.period.dates()]
    assert covered == days_in_life  # contiguous, non-overlapping, in order, exact
    for before, after in itertools.pairwise(segments):
        assert after.period.start == before.period.end + timedelta(days=1)
        assert before.key != after.key


@settings(max_examples=200)
@given(lives(), st.randoms(use_true_random=False))
def test_insertion_order_of_events_does_not_change_the_result(
    events: list[TimelineEvent], rnd: random.Random
) -> None:
    order = list(range(len(events)))
    shuffled = order[:]
    rnd.shuffle(shuffled)
    first = build_timeline(_numbered(events, order))
    second = build_timeline(_numbered(events, shuffled))
    assert first == second


def test_a_negotiated_usage_price_replaces_each_tariff_versions_amount_on_its_days() -> None:
    """RATING.md §3: an override of a usage charge replaces its tariff's one amount, dated
    like a plan change: one negotiated tariff per tariff version in force."""
    per_unit = Tariff(TariffShape.PER_UNIT, unit_price=Decimal(10))
    revised = Tariff(TariffShape.FLAT, fixed_fee=Decimal(500))
    charge = UsageCharge(
        "calls",
        "calls",
        (
            TariffVersion("t1", D("2000-01-01"), per_unit),
            TariffVersion("t2", D("2026-11-16"), revised),
        ),
    )
    timeline = build_timeline(
        [
            start("2026-10-01"),
            ev(EventKind.PRICE_OVERRIDE, "2026-11-05", component_code="calls", amount=Decimal(7)),
        ]
    )
    plans = {
        "plan_a": [PlanAssignment(D("2000-01-01"), PricePlan("plan_a", usage_charges=(charge,)))]
    }
    overrides = subscription_input("s1", "svc", timeline, plans).overrides
    assert [(o.valid_from, o.valid_to, o.tariff) for o in overrides] == [
        (D("2026-11-05"), None, None),
        (D("2026-11-05"), D("2026-11-15"), Tariff(TariffShape.PER_UNIT, unit_price=Decimal(7))),
        (D("2026-11-16"), None, Tariff(TariffShape.FLAT, fixed_fee=Decimal(7))),
    ]


def test_a_negotiated_usage_price_needs_a_tariff_with_one_amount() -> None:
    steps = Tariff(TariffShape.STEP, bands=(Band(None, amount=Decimal(100)),))
    charge = UsageCharge("calls", "calls", (TariffVersion("t", D("2000-01-01"), steps),))
    timeline = build_timeline(
        [
            start("2026-10-01"),
            ev(EventKind.PRICE_OVERRIDE, "2026-11-05", component_code="calls", amount=Decimal(7)),
        ]
    )
    plans = {
        "plan_a": [PlanAssignment(D("2000-01-01"), PricePlan("plan_a", usage_charges=(charge,)))]
    }
    with pytest.raises(ValueError, match="cannot replace the amounts of the step tariff"):
        subscription_input("s1", "svc", timeline, plans)
