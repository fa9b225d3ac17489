"""Subscriptions (サービス契約): dated events, their refusals, the state on any day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update

from kakin.billing.loader import load_contract_batch
from kakin.contracts.models import Subscription, SubscriptionEvent
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from tests.factories.api import Api
from tests.factories.contracts import (
    new_contract,
    new_discount_table,
    new_price_plan,
    new_subscription,
)


def _setup(api: Api, runtime: Runtime, **sub: Any) -> tuple[str, str, dict[str, Any]]:
    contract = new_contract(api)
    plan = new_price_plan(runtime, api, codes=("base", "option"))
    return contract["id"], plan, new_subscription(api, contract["id"], plan, **sub)


def _event(api: Api, sub_id: str, path: str, **body: Any) -> Any:
    return api.post(f"/v1/subscriptions/{sub_id}/{path}", json=body)


def _state(api: Api, sub_id: str, on: str) -> dict[str, Any]:
    response = api.get(f"/v1/subscriptions/{sub_id}/state?on={on}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_subscription_is_created_with_its_start_event(api: Api, runtime: Runtime) -> None:
    contract_id, plan, sub = _setup(api, runtime, quantity=3, external_ref="line-001")
    assert sub["id"].startswith("sub_")
    assert (sub["contract_id"], sub["price_plan_id"], sub["quantity"]) == (contract_id, plan, 3)
    assert sub["status"] == "active"
    assert [e["kind"] for e in sub["events"]] == ["start"]
    assert sub["events"][0]["data"] == {"price_plan_id": plan, "quantity": 3, "end_date": None}
    found = api.get("/v1/subscriptions?external_ref=line-001").json()["items"]
    assert [s["id"] for s in found] == [sub["id"]]
    assert (
        api.get(f"/v1/subscriptions?contract_id={contract_id}").json()["items"][0]["id"]
        == sub["id"]
    )


def test_subscription_is_refused_outside_its_contract_or_on_unknown_plans(
    api: Api, runtime: Runtime
) -> None:
    contract = new_contract(api, end_date="2027-03-31")
    plan = new_price_plan(runtime, api)
    base = {"contract_id": contract["id"], "price_plan_id": plan, "start_date": "2026-10-01"}
    for bad, where in (
        ({"start_date": "2026-09-30"}, "/body/start_date"),
        ({"end_date": "2027-04-01"}, "/body/end_date"),
        ({"price_plan_id": "pp_nope"}, "/body/price_plan_id"),
        ({"price_plan_id": new_price_plan(runtime, api, currency="USD")}, "/body/price_plan_id"),
        ({"price_plan_id": new_price_plan(runtime, api, status="retired")}, "/body/price_plan_id"),
        ({"contract_id": "con_nope"}, "/body/contract_id"),
    ):
        response = api.post("/v1/subscriptions", json=base | bad)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["pointer"] == where
    assert api.post("/v1/subscriptions", json=base | {"quantity": 0}).status_code == 422
    # without an end of its own, the subscription ends with its contract
    sub = new_subscription(api, contract["id"], plan)
    assert sub["end_date"] == "2027-03-31"


def test_external_ref_is_unique_in_the_tenant(api: Api, runtime: Runtime) -> None:
    contract_id, plan, _ = _setup(api, runtime, external_ref="dup")
    response = api.post(
        "/v1/subscriptions",
        json={
            "contract_id": contract_id,
            "price_plan_id": plan,
            "start_date": "2026-10-01",
            "external_ref": "dup",
        },
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/external-ref-taken"


def test_plan_change_takes_effect_on_its_date(api: Api, runtime: Runtime) -> None:
    _, plan_a, sub = _setup(api, runtime)
    plan_b = new_price_plan(runtime, api)
    response = _event(
        api, sub["id"], "plan-changes", price_plan_id=plan_b, effective_date="2026-11-10"
    )
    assert response.status_code == 201, response.text
    assert response.json()["price_plan_id"] == plan_b
    assert [e["kind"] for e in response.json()["events"]] == ["start", "plan_change"]
    # RATING.md §3: the old plan is active through E−1, the new plan from E
    assert _state(api, sub["id"], "2026-11-09")["price_plan_id"] == plan_a
    assert _state(api, sub["id"], "2026-11-10")["price_plan_id"] == plan_b


def test_quantity_change_suspension_resumption_and_cancellation(api: Api, runtime: Runtime) -> None:
    _, _, sub = _setup(api, runtime)
    sid = sub["id"]
    assert (
        _event(api, sid, "quantity-changes", quantity=5, effective_date="2026-10-15").status_code
        == 201
    )
    assert _event(api, sid, "suspensions", effective_date="2026-11-01").status_code == 201
    assert api.get(f"/v1/subscriptions/{sid}").json()["status"] == "suspended"
    assert _event(api, sid, "resumptions", effective_date="2026-11-20").status_code == 201
    cancelled = _event(api, sid, "cancellations", effective_date="2026-12-31")
    assert cancelled.status_code == 201
    assert (cancelled.json()["status"], cancelled.json()["end_date"]) == ("cancelled", "2026-12-31")
    assert _state(api, sid, "2026-10-14") | {"on": None} == {
        "on": None,
        "status": "active",
        "price_plan_id": sub["price_plan_id"],
        "quantity": 1,
        "overrides": {},
    }
    assert _state(api, sid, "2026-10-15")["quantity"] == 5
    assert _state(api, sid, "2026-11-01")["status"] == "suspended"
    assert _state(api, sid, "2026-11-19")["status"] == "suspended"
    assert _state(api, sid, "2026-11-20")["status"] == "active"
    # the cancellation date is the last active day
    assert _state(api, sid, "2026-12-31")["status"] == "active"
    assert _state(api, sid, "2027-01-01")["status"] == "ended"
    assert _state(api, sid, "2026-09-30")["status"] == "pending"


def test_price_override_is_dated_and_decimal(api: Api, runtime: Runtime) -> None:
    _, _, sub = _setup(api, runtime)
    response = _event(
        api,
        sub["id"],
        "price-overrides",
        component_code="base",
        amount="980.5",
        effective_date="2026-11-01",
    )
    assert response.status_code == 201, response.text
    assert _state(api, sub["id"], "2026-10-31")["overrides"] == {}
    assert _state(api, sub["id"], "2026-11-01")["overrides"] == {"base": "980.5"}
    unknown = _event(
        api,
        sub["id"],
        "price-overrides",
        component_code="nope",
        amount="1",
        effective_date="2026-11-02",
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/body/component_code"
    negative = _event(
        api,
        sub["id"],
        "price-overrides",
        component_code="base",
        amount="-1",
        effective_date="2026-11-02",
    )
    assert negative.status_code == 422


def test_impossible_events_are_refused_and_change_nothing(api: Api, runtime: Runtime) -> None:
    _, _, sub = _setup(api, runtime)
    sid = sub["id"]

    def refused(path: str, status: int, slug: str | None = None, **body: Any) -> None:
        response = _event(api, sid, path, **body)
        assert response.status_code == status, (path, body, response.text)
        if slug:
            assert response.json()["type"] == f"/problems/{slug}"

    refused("suspensions", 422, effective_date="2026-09-30")  # before the start
    refused("resumptions", 409, "subscription-not-suspended", effective_date="2026-10-10")
    assert _event(api, sid, "suspensions", effective_date="2026-10-10").status_code == 201
    refused("suspensions", 409, "subscription-not-active", effective_date="2026-10-20")
    # a past-dated suspension before the existing one would make that one impossible
    refused("suspensions", 409, "subscription-not-active", effective_date="2026-10-05")
    refused("quantity-changes", 422, quantity=0, effective_date="2026-10-20")
    refused("plan-changes", 422, price_plan_id="pp_nope", effective_date="2026-10-20")
    assert _event(api, sid, "cancellations", effective_date="2026-12-31").status_code == 201
    refused("cancellations", 409, "subscription-already-cancelled", effective_date="2026-12-15")
    refused("resumptions", 409, "event-after-end", effective_date="2027-01-01")
    refused("cancellations", 409, "duplicate-event", effective_date="2026-12-31")
    events = api.get(f"/v1/subscriptions/{sid}").json()["events"]
    assert [e["kind"] for e in events] == ["start", "suspend", "cancel"]


def test_events_honour_if_match(api: Api, runtime: Runtime) -> None:
    _, _, sub = _setup(api, runtime)
    stale = api.post(
        f"/v1/subscriptions/{sub['id']}/suspensions",
        json={"effective_date": "2026-11-01"},
        headers={"If-Match": '"7"'},
    )
    assert stale.status_code == 412
    fresh = api.post(
        f"/v1/subscriptions/{sub['id']}/suspensions",
        json={"effective_date": "2026-11-01"},
        headers={"If-Match": '"1"'},
    )
    assert fresh.status_code == 201
    assert fresh.headers["ETag"] == '"2"'
    patch = api.patch(
        f"/v1/subscriptions/{sub['id']}", json={"external_ref": "x"}, headers={"If-Match": '"1"'}
    )
    assert patch.status_code == 412


def test_limit_on_subscriptions_and_discounts_writes_nothing(api: Api, runtime: Runtime) -> None:
    contract_id, plan, _ = _setup(api, runtime)
    table = new_discount_table(runtime, api)
    assert (
        api.post(
            "/v1/discounts",
            json={
                "contract_id": contract_id,
                "discount_table_id": table,
                "start_date": "2026-10-01",
            },
        ).status_code
        == 201
    )
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        session.execute(update(Tenant).values(limit_contract_items=2))
    response = api.post(
        "/v1/subscriptions",
        json={"contract_id": contract_id, "price_plan_id": plan, "start_date": "2026-10-01"},
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/tenant-limit-reached"
    discount = api.post(
        "/v1/discounts",
        json={"contract_id": contract_id, "discount_table_id": table, "start_date": "2026-10-01"},
    )
    assert discount.status_code == 409
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        assert len(session.scalars(select(Subscription)).all()) == 1
        assert len(session.scalars(select(SubscriptionEvent)).all()) == 1
    assert len(api.get("/v1/discounts").json()["items"]) == 1


def test_other_tenants_subscriptions_are_not_found(
    api: Api, other_api: Api, runtime: Runtime
) -> None:
    contract_id, plan, sub = _setup(api, runtime)
    base = f"/v1/subscriptions/{sub['id']}"
    assert other_api.get(base).status_code == 404
    assert other_api.get(f"{base}/state?on=2026-10-01").status_code == 404
    assert other_api.patch(base, json={"external_ref": "x"}).status_code == 404
    for path, body in (
        ("plan-changes", {"price_plan_id": plan, "effective_date": "2026-11-01"}),
        ("quantity-changes", {"quantity": 2, "effective_date": "2026-11-01"}),
        ("suspensions", {"effective_date": "2026-11-01"}),
        ("resumptions", {"effective_date": "2026-11-01"}),
        ("cancellations", {"effective_date": "2026-11-01"}),
        (
            "price-overrides",
            {"component_code": "base", "amount": "1", "effective_date": "2026-11-01"},
        ),
    ):
        assert other_api.post(f"{base}/{path}", json=body).status_code == 404, path
    assert other_api.get("/v1/subscriptions").json()["items"] == []
    response = other_api.post(
        "/v1/subscriptions",
        json={"contract_id": contract_id, "price_plan_id": plan, "start_date": "2026-10-01"},
    )
    assert response.status_code == 422


def test_the_closing_rates_the_lives_the_events_give(api: Api, runtime: Runtime) -> None:
    """The stored events of several subscriptions become the rating input in one batch."""
    contract_a, plan_a, first = _setup(api, runtime)
    contract_b, _, second = _setup(api, runtime)
    plan_b = new_price_plan(runtime, api)
    _event(api, first["id"], "plan-changes", price_plan_id=plan_b, effective_date="2026-10-21")
    _event(api, second["id"], "cancellations", effective_date="2026-10-10")
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        batch = load_contract_batch(session, date(2026, 11, 1), [contract_a, contract_b])
    (first_input,) = batch.inputs[contract_a].subscriptions
    assert [(a.valid_from.day, a.plan.plan_id) for a in first_input.plans] == [
        (1, plan_a),
        (21, plan_b),
    ]
    (second_input,) = batch.inputs[contract_b].subscriptions
    assert (second_input.start_date, second_input.end_date) == (
        date(2026, 10, 1),
        date(2026, 10, 10),
    )
