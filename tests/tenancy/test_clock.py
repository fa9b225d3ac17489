"""The tenant's today: closings after it are refused; a sandbox's clock moves forward and
the scheduler, closings and issue dates follow it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kakin.billing.scheduler import run_due_work
from kakin.kit.db import unscoped_session
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from tests.billing.test_closing import _setup
from tests.factories.api import Api
from tests.factories.billing import run_closing


def _today(api: Api) -> dt.date:
    clock = api.get("/v1/tenant/clock")
    assert clock.status_code == 200, clock.text
    return dt.date.fromisoformat(clock.json()["date"])


def _move(api: Api, day: dt.date) -> Any:
    return api.post("/v1/tenant/clock", json={"date": day.isoformat()})


def _first_of_month_after(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def test_a_closing_after_the_tenants_today_is_refused_naming_the_date(api: Api) -> None:
    """Issue 6 §5: INV-000003 was issued for billing month 2031-01 before this."""
    today = _today(api)
    for future in (today + dt.timedelta(days=1), dt.date(2031, 2, 1)):
        refused = api.post("/v1/closing-runs", json={"closing_date": future.isoformat()})
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert future.isoformat() in problem["detail"]
        assert problem["errors"][0]["pointer"] == "/body/closing_date"
    assert api.get("/v1/closing-runs").json()["items"] == []
    assert run_closing(api, today.isoformat())["status"] == "completed"


def test_the_clock_of_a_tenant_that_is_no_sandbox_does_not_move(api: Api) -> None:
    clock = api.get("/v1/tenant/clock").json()
    assert clock["sandbox"] is False
    assert clock["offset_days"] == 0
    assert api.get("/v1/tenant").json()["sandbox"] is False
    moved = _move(api, _today(api) + dt.timedelta(days=30))
    assert moved.status_code == 409, moved.text
    assert moved.json()["type"] == "/problems/not-a-sandbox"
    assert api.get("/v1/tenant/clock").json() == clock


def test_a_sandbox_clock_moves_forward_only_and_closings_may_follow_it(
    sandbox_api: Api,
) -> None:
    api = sandbox_api
    assert api.get("/v1/tenant").json()["sandbox"] is True
    today = _today(api)
    back = _move(api, today - dt.timedelta(days=1))
    assert back.status_code == 422, back.text
    assert back.json()["errors"][0]["pointer"] == "/body/date"
    assert _move(api, today + dt.timedelta(days=100_000)).status_code == 422
    ahead = today + dt.timedelta(days=40)
    moved = _move(api, ahead)
    assert moved.status_code == 200, moved.text
    assert moved.json()["date"] == ahead.isoformat()
    assert moved.json()["offset_days"] == 40
    assert _today(api) == ahead
    assert _move(api, ahead).status_code == 200  # standing still is moving by 0 days
    assert _move(api, ahead - dt.timedelta(days=1)).status_code == 422
    later = api.post(
        "/v1/closing-runs", json={"closing_date": (ahead + dt.timedelta(days=1)).isoformat()}
    )
    assert later.status_code == 422
    assert run_closing(api, ahead.isoformat())["status"] == "completed"
    events = api.get("/v1/audit-events", params={"resource_type": "tenant_clock"}).json()
    assert [e["after"]["date"] for e in events["items"]] == [ahead.isoformat()]


def test_the_scheduler_closes_the_months_a_sandbox_clock_skipped(
    sandbox_api: Api, runtime: Runtime
) -> None:
    """Moving the clock three months ahead, then one scheduler pass: every due period of
    the months passed is closed, in order, and receivables are issued on the clock's day."""
    api = sandbox_api
    ids = _setup(api)  # an end-of-month contract billed from October 2026
    start = _today(api)
    target = _first_of_month_after(start, 3) + dt.timedelta(days=1)
    assert _move(api, target).status_code == 200

    assert run_due_work(runtime, api.tenant_id) > 0
    receivables = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()
    months = {r["billing_month"] for r in receivables["items"]}
    # the months whose end-of-month closing (the 1st after) lies between start and target
    expected = {
        f"{(m - dt.timedelta(days=1)):%Y-%m}"
        for m in (_first_of_month_after(start, n) for n in range(1, 4))
    }
    assert expected <= months, months
    with unscoped_session(runtime.sessions) as session:
        tenant = session.get_one(Tenant, api.tenant_id)
        assert tenant.clock_catch_up_from is None  # caught up
    assert run_due_work(runtime, api.tenant_id) == 0  # nothing left to close

    last = max(receivables["items"], key=lambda r: r["billing_month"])
    finalized = api.post(f"/v1/receivables/{last['id']}/finalize")
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["issued_on"] == target.isoformat()


def test_the_scheduler_skips_a_tenant_whose_rating_is_off(
    sandbox_api: Api, runtime: Runtime
) -> None:
    api = sandbox_api
    _setup(api)
    assert _move(api, _first_of_month_after(_today(api), 2)).status_code == 200
    off = api.patch("/v1/tenant", json={"functions": ["customers", "contracts"]})
    assert off.status_code == 200, off.text
    assert run_due_work(runtime, api.tenant_id) == 0
    api.patch("/v1/tenant", json={"functions": ["customers", "contracts", "rating"]})
    assert api.get("/v1/closing-runs").json()["items"] == []
