"""The daily rollup and the closing's loader (SCALE.md: "Closings read per-day totals").

Usage is visible to rating at once: `load_usage` gives the same entries whether or not the
rollup ran, and after records arrive or are deleted behind the rollup's back.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from kakin.kit.db import tenant_session
from kakin.rating.usage import UsageEntry
from kakin.runtime import Runtime
from kakin.usage.models import UsageDailyTotal, UsagePendingDay
from kakin.usage.repository import load_usage, load_usage_of_contracts
from kakin.usage.rollup import pending_days, rollup_days, run_rollup
from tests.factories.api import Api
from tests.factories.usage import (
    Sub,
    new_subscription,
    new_usage_item,
    record,
    register_records,
)

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def _at(day: int, hour: int = 12) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00+09:00"


def _totals(runtime: Runtime, tenant_id: str) -> list[tuple[str, str, dt.date, Decimal, int]]:
    with tenant_session(runtime.sessions, tenant_id) as session:
        rows = session.execute(
            select(
                UsageDailyTotal.subscription_id,
                UsageDailyTotal.usage_item_id,
                UsageDailyTotal.used_on,
                UsageDailyTotal.raw_total,
                UsageDailyTotal.record_count,
            ).order_by(UsageDailyTotal.subscription_id, UsageDailyTotal.used_on)
        )
        return [(s, i, d, Decimal(t).normalize(), c) for s, i, d, t, c in rows]


def _load(runtime: Runtime, api: Api, subs: list[Sub]) -> dict[str, list[UsageEntry]]:
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        return load_usage(session, [s.id for s in subs], NOV_1, NOV_30)


def test_rollup_totals_equal_the_raw_sums_and_a_second_run_changes_nothing(
    api: Api, runtime: Runtime
) -> None:
    sub = new_subscription(runtime, api.tenant_id)
    item_id, item = new_usage_item(runtime, api.tenant_id)
    register_records(
        api,
        [
            record(sub, item, "1.25", _at(3)),
            record(sub, item, "2.5", _at(3, 23)),
            record(sub, item, "0.000001", _at(4)),
            record(sub, item, "100", "2026-11-04T15:30:00Z"),  # Tokyo: Nov 5
        ],
    )
    first = run_rollup(runtime, tenant_id=api.tenant_id)
    assert first.days == 3
    expected = [
        (sub.id, item_id, dt.date(2026, 11, 3), Decimal("3.75"), 2),
        (sub.id, item_id, dt.date(2026, 11, 4), Decimal("0.000001"), 1),
        (sub.id, item_id, dt.date(2026, 11, 5), Decimal("100"), 1),
    ]
    assert _totals(runtime, api.tenant_id) == expected
    assert run_rollup(runtime, tenant_id=api.tenant_id).days == 0  # nothing pending
    wholesale = run_rollup(runtime, tenant_id=api.tenant_id, days=[dt.date(2026, 11, 3)])
    assert wholesale.days == 1
    assert _totals(runtime, api.tenant_id) == expected


def test_load_usage_is_the_same_whether_or_not_the_rollup_ran(api: Api, runtime: Runtime) -> None:
    one = new_subscription(runtime, api.tenant_id)
    two = new_subscription(runtime, api.tenant_id)
    idle = new_subscription(runtime, api.tenant_id)
    item_id, item = new_usage_item(runtime, api.tenant_id)
    register_records(
        api,
        [
            record(one, item, "1.5", _at(1)),
            record(one, item, "2", _at(1, 18)),
            record(one, item, "3", _at(2)),
            record(two, item, "10", _at(30)),
            record(two, item, "7", "2026-11-30T15:00:00Z"),  # Tokyo: Dec 1, another period
        ],
    )
    expected = {
        one.id: [
            UsageEntry(one.id, item_id, dt.date(2026, 11, 1), Decimal("3.5")),
            UsageEntry(one.id, item_id, dt.date(2026, 11, 2), Decimal("3")),
        ],
        two.id: [UsageEntry(two.id, item_id, dt.date(2026, 11, 30), Decimal("10"))],
    }
    subs = [one, two, idle]
    assert _load(runtime, api, subs) == expected
    run_rollup(runtime, tenant_id=api.tenant_id)
    assert _load(runtime, api, subs) == expected

    # usage arriving after the rollup is seen at once, added to the rolled-up day
    register_records(api, [record(one, item, "0.5", _at(2), record_id="late")])
    expected[one.id][1] = UsageEntry(one.id, item_id, dt.date(2026, 11, 2), Decimal("3.5"))
    assert _load(runtime, api, subs) == expected
    # and a deletion too
    assert api.delete("/v1/usage-records/late").status_code == 204
    expected[one.id][1] = UsageEntry(one.id, item_id, dt.date(2026, 11, 2), Decimal("3"))
    assert _load(runtime, api, subs) == expected
    run_rollup(runtime, tenant_id=api.tenant_id)
    assert _load(runtime, api, subs) == expected
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        by_contract = load_usage_of_contracts(session, [one.contract_id], NOV_1, NOV_30)
    assert by_contract == {one.id: expected[one.id]}


def test_per_record_items_are_loaded_record_by_record_in_time_order(
    api: Api, runtime: Runtime
) -> None:
    # RATING.md §4: "An item may instead rate per record (each call rounded up to its
    # units and priced on its own, then summed)."
    sub = new_subscription(runtime, api.tenant_id)
    calls_id, calls = new_usage_item(runtime, api.tenant_id, rating="per_record")
    data_id, data = new_usage_item(runtime, api.tenant_id)
    register_records(
        api,
        [
            record(sub, calls, "61", _at(5, 20)),
            record(sub, calls, "29", _at(5, 9)),
            record(sub, data, "5", _at(5)),
            record(sub, data, "6", _at(5, 13)),
        ],
    )
    calls_entries = [
        UsageEntry(sub.id, calls_id, dt.date(2026, 11, 5), Decimal("29")),
        UsageEntry(sub.id, calls_id, dt.date(2026, 11, 5), Decimal("61")),
    ]
    data_entries = [UsageEntry(sub.id, data_id, dt.date(2026, 11, 5), Decimal("11"))]
    expected = sorted(calls_entries + data_entries, key=lambda e: e.usage_item_id)
    assert _load(runtime, api, [sub]) == {sub.id: expected}
    run_rollup(runtime, tenant_id=api.tenant_id)
    assert _load(runtime, api, [sub]) == {sub.id: expected}


def test_a_day_changed_while_its_rollup_ran_stays_pending(api: Api, runtime: Runtime) -> None:
    sub = new_subscription(runtime, api.tenant_id)
    _, item = new_usage_item(runtime, api.tenant_id)
    register_records(api, [record(sub, item, "1", _at(7))])
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        marks = pending_days(session)  # the rollup reads the marks …
    register_records(api, [record(sub, item, "2", _at(7, 15))])  # … a registration bumps one …
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        rollup_days(session, sorted(marks), marks)  # … so its mark survives the rollup
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        still = session.scalars(select(UsagePendingDay.used_on)).all()
    assert still == [dt.date(2026, 11, 7)]
    assert _load(runtime, api, [sub])[sub.id][0].raw == Decimal(3)
    run_rollup(runtime, tenant_id=api.tenant_id)
    assert _totals(runtime, api.tenant_id)[0][3:] == (Decimal(3), 2)
