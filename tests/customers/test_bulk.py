"""Bulk registration (all or nothing, ≤ 1,000) and the tenant's customer limit."""

from __future__ import annotations

from typing import Any

from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from tests.factories.api import Api
from tests.factories.customers import create_customer, customer_body


def _count(api: Api, **params: str) -> int:
    params = {"limit": "500", **params}
    return len(api.get("/v1/customers", params=params).json()["items"])


def _set_limit(runtime: Runtime, api: Api, limit: int) -> None:
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        tenant = session.get(Tenant, api.tenant_id)
        assert tenant is not None
        tenant.limit_customers = limit


def test_bulk_registers_every_customer_in_order(api: Api) -> None:
    bodies = [customer_body(free_1="bulk-ok", free_2=str(i)) for i in range(3)]
    response = api.post("/v1/customers/bulk", json={"customers": bodies})
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [item["free_2"] for item in items] == ["0", "1", "2"]
    assert [item["email"] for item in items] == [b["email"] for b in bodies]
    for item in items:
        read = api.get(f"/v1/customers/{item['id']}")
        assert read.json() == item
        assert read.headers["ETag"] == '"1"'
    found = api.get("/v1/customers", params={"email": bodies[1]["email"]}).json()["items"]
    assert [c["id"] for c in found] == [items[1]["id"]]


def test_one_bad_record_fails_the_batch_and_names_every_bad_item(api: Api) -> None:
    bodies: list[dict[str, Any]] = [customer_body(free_1="bulk-bad") for _ in range(4)]
    bodies[1]["email"] = "broken"
    bodies[3]["postal_code"] = "1234"
    bodies[3]["gender"] = "?"
    response = api.post("/v1/customers/bulk", json={"customers": bodies})
    assert response.status_code == 422
    pointers = sorted(e["pointer"] for e in response.json()["errors"])
    assert pointers == [
        "/body/customers/1/email",
        "/body/customers/3/gender",
        "/body/customers/3/postal_code",
    ]
    assert "broken" not in response.text
    assert _count(api, free_1="bulk-bad") == 0


def test_bulk_takes_at_most_1000_customers(api: Api) -> None:
    too_many = {"customers": [{"name": f"n{i}"} for i in range(1001)]}
    response = api.post("/v1/customers/bulk", json=too_many)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/customers"
    empty = api.post("/v1/customers/bulk", json={"customers": []})
    assert empty.status_code == 422


def test_bulk_of_1000_customers_is_accepted(api: Api) -> None:
    batch = {"customers": [customer_body(free_1="bulk-max") for _ in range(1000)]}
    response = api.post("/v1/customers/bulk", json=batch)
    assert response.status_code == 201, response.text
    assert len(response.json()["items"]) == 1000
    page = api.get("/v1/customers", params={"free_1": "bulk-max", "limit": "500"}).json()
    assert page["next_cursor"] is not None


def test_limit_refuses_the_request_that_would_pass_it_and_writes_nothing(
    api: Api, runtime: Runtime
) -> None:
    _set_limit(runtime, api, 2)
    create_customer(api, free_1="limited")
    batch = {"customers": [customer_body(free_1="limited") for _ in range(2)]}
    response = api.post("/v1/customers/bulk", json=batch)
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/tenant-limit-reached"
    assert problem["limit"] == "limit_customers"
    assert problem["value"] == 2
    assert _count(api, free_1="limited") == 1
    create_customer(api, free_1="limited")
    single = api.post("/v1/customers", json=customer_body(free_1="limited"))
    assert single.status_code == 409
    assert single.json()["limit"] == "limit_customers"
    assert _count(api, free_1="limited") == 2


def test_deleted_customers_free_their_place_under_the_limit(api: Api, runtime: Runtime) -> None:
    _set_limit(runtime, api, 1)
    first = create_customer(api)
    assert api.post("/v1/customers", json=customer_body()).status_code == 409
    assert api.delete(f"/v1/customers/{first['id']}").status_code == 204
    assert api.post("/v1/customers", json=customer_body()).status_code == 201
