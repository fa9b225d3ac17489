"""Contracts (基本契約): CRUD, search, external customers, ending, isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from kakin.contracts.models import Contract
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from tests.factories.api import Api, new_tenant_api
from tests.factories.contracts import new_contract, new_price_plan, new_subscription

ADDRESS = {
    "name": "山田 太郎",
    "postal_code": "100-0001",
    "address": "東京都千代田区",
    "phone": "0312345678",
}


def test_contract_for_a_customer_is_created_with_tenant_defaults_and_read_back(api: Api) -> None:
    customer = api.created("/v1/customers", {"name": "山田 太郎"})
    response = api.post(
        "/v1/contracts",
        json={
            "customer_id": customer["id"],
            "start_date": "2026-10-01",
            "billing_address": ADDRESS,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("con_")
    assert response.headers["Location"] == f"/v1/contracts/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert body["customer_id"] == customer["id"]
    assert body["external_customer_id"] is None
    assert (body["closing_day"], body["currency"], body["status"]) == ("eom", "JPY", "active")
    assert (body["payment_terms_months"], body["payment_terms_day"]) == (1, "eom")
    assert body["billing_address"] == ADDRESS
    read = api.get(f"/v1/contracts/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body


def test_billing_address_is_stored_encrypted(api: Api, runtime: Runtime) -> None:
    contract = new_contract(api, billing_address=ADDRESS)
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        row = session.scalar(select(Contract).where(Contract.id == contract["id"]))
        assert row is not None
        assert row.billing_address_enc is not None
        assert "東京都".encode() not in row.billing_address_enc
        assert b"100-0001" not in row.billing_address_enc


def test_contract_takes_its_own_closing_day_terms_and_payment_method(api: Api) -> None:
    body = new_contract(
        api,
        closing_day="20",
        payment_terms_months=1,
        payment_terms_day=20,
        payment_method_kind="direct_debit",
        payment_method_ref="pm_123",
        currency="USD",
        invoice_delivery="post",
        free_1="agency-7",
        free={"channel": "web"},
    )
    assert body["closing_day"] == "20"
    assert body["payment_terms_day"] == 20
    assert body["payment_method_kind"] == "direct_debit"
    assert body["currency"] == "USD"
    assert (body["free_1"], body["free"]) == ("agency-7", {"channel": "web"})


def test_contract_needs_exactly_one_customer_reference(api: Api) -> None:
    neither = api.post("/v1/contracts", json={"start_date": "2026-10-01"})
    both = api.post(
        "/v1/contracts",
        json={"customer_id": "cus_x", "external_customer_id": "E1", "start_date": "2026-10-01"},
    )
    assert neither.status_code == both.status_code == 422


def test_unknown_customer_is_refused_with_a_pointer(api: Api) -> None:
    response = api.post(
        "/v1/contracts", json={"customer_id": "cus_nope", "start_date": "2026-10-01"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/customer_id"


def test_invalid_fields_are_refused(api: Api) -> None:
    for bad in (
        {"closing_day": "21"},
        {"payment_terms_months": 4},
        {"payment_terms_day": 32},
        {"payment_method_kind": "cash"},
        {"currency": "XXX"},
        {"end_date": "2026-09-30"},
    ):
        response = api.post(
            "/v1/contracts", json={"external_customer_id": "E", "start_date": "2026-10-01"} | bad
        )
        assert response.status_code == 422, bad


def test_tenant_without_customer_management_uses_external_ids_only(
    client: TestClient, runtime: Runtime
) -> None:
    api = new_tenant_api(client, runtime, functions=["contracts", "rating"])
    assert api.get("/v1/customers").status_code == 403
    refused = api.post("/v1/contracts", json={"customer_id": "cus_x", "start_date": "2026-10-01"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/body/customer_id"
    assert "external_customer_id" in refused.json()["errors"][0]["reason"]
    contract = new_contract(api, external_customer_id="CRM-0001")
    assert contract["external_customer_id"] == "CRM-0001"


def test_contracts_are_searched_by_customer_status_closing_day_and_free_fields(api: Api) -> None:
    a = new_contract(api, external_customer_id="A", closing_day="20", free_2="gold")
    b = new_contract(api, external_customer_id="B", free_2="golden")
    c = new_contract(api, external_customer_id="C", end_date="2020-01-31", start_date="2019-01-01")

    def ids(query: str) -> list[str]:
        response = api.get(f"/v1/contracts?{query}")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("external_customer_id=A") == [a["id"]]
    assert ids("closing_day=20") == [a["id"]]
    assert ids("free_2=gold") == [a["id"]]
    assert ids("free_2_prefix=gold") == [a["id"], b["id"]]
    assert ids("status=ended") == [c["id"]]
    assert ids("status=active") == [a["id"], b["id"]]


def test_contract_list_is_paginated_by_cursor(api: Api) -> None:
    created = [new_contract(api)["id"] for _ in range(3)]
    first = api.get("/v1/contracts?limit=2").json()
    second = api.get(f"/v1/contracts?limit=2&cursor={first['next_cursor']}").json()
    assert [i["id"] for i in first["items"] + second["items"]] == created
    assert second["next_cursor"] is None


def test_contract_change_needs_the_current_etag(api: Api) -> None:
    contract = new_contract(api)
    path = f"/v1/contracts/{contract['id']}"
    stale = api.patch(path, json={"invoice_delivery": "post"}, headers={"If-Match": '"9"'})
    assert stale.status_code == 412
    changed = api.patch(
        path,
        json={"invoice_delivery": "post", "billing_address": ADDRESS},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"'
    assert changed.json()["billing_address"] == ADDRESS
    assert api.get(path).json()["invoice_delivery"] == "post"
    assert api.patch(path, json={"closing_day": None}).status_code == 422


def test_ending_a_contract_needs_its_subscriptions_to_end_by_then(
    api: Api, runtime: Runtime
) -> None:
    contract = new_contract(api)
    plan = new_price_plan(runtime, api)
    sub = new_subscription(api, contract["id"], plan)
    path = f"/v1/contracts/{contract['id']}"
    refused = api.patch(path, json={"end_date": "2026-12-31"})
    assert refused.status_code == 409
    assert refused.json()["subscription_id"] == sub["id"]
    cancel = api.post(
        f"/v1/subscriptions/{sub['id']}/cancellations", json={"effective_date": "2026-12-20"}
    )
    assert cancel.status_code == 201
    ended = api.patch(path, json={"end_date": "2026-12-31"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == "2026-12-31"
    assert api.patch(path, json={"start_date": "2026-10-15"}).status_code == 409


def test_contract_without_subscriptions_can_be_cancelled_and_then_takes_none(
    api: Api, runtime: Runtime
) -> None:
    contract = new_contract(api)
    path = f"/v1/contracts/{contract['id']}"
    assert api.delete(path).status_code == 204
    assert api.get(path).json()["status"] == "cancelled"
    plan = new_price_plan(runtime, api)
    response = api.post(
        "/v1/subscriptions",
        json={"contract_id": contract["id"], "price_plan_id": plan, "start_date": "2026-10-01"},
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/contract-not-active"


def test_contract_with_subscriptions_cannot_be_cancelled(api: Api, runtime: Runtime) -> None:
    contract = new_contract(api)
    new_subscription(api, contract["id"], new_price_plan(runtime, api))
    assert api.delete(f"/v1/contracts/{contract['id']}").status_code == 409


def test_other_tenants_contracts_are_not_found(api: Api, other_api: Api) -> None:
    contract = new_contract(api)
    path = f"/v1/contracts/{contract['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, json={"invoice_delivery": "none"}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get("/v1/contracts").json()["items"] == []
    customer = api.created("/v1/customers", {"name": "x"})
    response = other_api.post(
        "/v1/contracts", json={"customer_id": customer["id"], "start_date": "2026-10-01"}
    )
    assert response.status_code == 422
