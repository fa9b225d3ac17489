"""Discounts (割引契約): a discount table on a contract or a subscription, for a date range."""

from __future__ import annotations

from typing import Any

from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.contracts import (
    new_contract,
    new_discount_table,
    new_price_plan,
    new_subscription,
)


def _setup(api: Api, runtime: Runtime) -> tuple[str, str, str]:
    contract = new_contract(api)
    sub = new_subscription(api, contract["id"], new_price_plan(runtime, api))
    return contract["id"], sub["id"], new_discount_table(runtime, api, scope="recurring")


def _body(contract_id: str, table: str, **fields: Any) -> dict[str, Any]:
    return {
        "contract_id": contract_id,
        "discount_table_id": table,
        "start_date": "2026-10-01",
    } | fields


def test_contract_and_subscription_discounts_are_created_listed_and_read(
    api: Api, runtime: Runtime
) -> None:
    contract_id, sub_id, table = _setup(api, runtime)
    response = api.post("/v1/discounts", json=_body(contract_id, table, priority=2))
    assert response.status_code == 201, response.text
    on_contract = response.json()
    assert on_contract["id"].startswith("dis_")
    assert response.headers["Location"] == f"/v1/discounts/{on_contract['id']}"
    assert on_contract["subscription_id"] is None
    assert on_contract["scope"] == "recurring"  # the table's default scope
    assert on_contract["priority"] == 2
    on_sub = api.created(
        "/v1/discounts",
        _body(contract_id, table, subscription_id=sub_id, scope="usage", end_date="2027-03-31"),
    )
    assert (on_sub["subscription_id"], on_sub["scope"]) == (sub_id, "usage")
    listed = api.get(f"/v1/discounts?contract_id={contract_id}").json()["items"]
    assert [d["id"] for d in listed] == [on_contract["id"], on_sub["id"]]
    by_sub = api.get(f"/v1/discounts?subscription_id={sub_id}").json()["items"]
    assert [d["id"] for d in by_sub] == [on_sub["id"]]
    read = api.get(f"/v1/discounts/{on_sub['id']}")
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert read.json() == on_sub


def test_discount_references_are_checked(api: Api, runtime: Runtime) -> None:
    contract_id, sub_id, table = _setup(api, runtime)
    other_contract = new_contract(api)["id"]
    usd_table = new_discount_table(runtime, api, currency="USD")
    for fields, where in (
        ({"discount_table_id": "dt_nope"}, "/body/discount_table_id"),
        ({"discount_table_id": usd_table}, "/body/discount_table_id"),
        ({"subscription_id": "sub_nope"}, "/body/subscription_id"),
        ({"contract_id": other_contract, "subscription_id": sub_id}, "/body/subscription_id"),
        ({"contract_id": "con_nope"}, "/body/contract_id"),
    ):
        response = api.post("/v1/discounts", json=_body(contract_id, table) | fields)
        assert response.status_code == 422, fields
        assert response.json()["errors"][0]["pointer"] == where
    bad_range = api.post("/v1/discounts", json=_body(contract_id, table, end_date="2026-09-01"))
    assert bad_range.status_code == 422
    assert api.post("/v1/discounts", json=_body(contract_id, table, scope="x")).status_code == 422


def test_discount_change_and_deletion_honour_if_match(api: Api, runtime: Runtime) -> None:
    contract_id, _, table = _setup(api, runtime)
    discount = api.created("/v1/discounts", _body(contract_id, table))
    path = f"/v1/discounts/{discount['id']}"
    assert api.patch(path, json={"priority": 5}, headers={"If-Match": '"3"'}).status_code == 412
    changed = api.patch(
        path, json={"priority": 5, "end_date": "2026-12-31"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["priority"], changed.json()["end_date"]) == (5, "2026-12-31")
    assert changed.headers["ETag"] == '"2"'
    assert api.patch(path, json={"end_date": "2026-09-01"}).status_code == 422
    assert api.patch(path, json={"scope": None}).status_code == 422
    assert api.delete(path, headers={"If-Match": '"1"'}).status_code == 412
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 204
    assert api.get(path).status_code == 404


def test_other_tenants_discounts_are_not_found(api: Api, other_api: Api, runtime: Runtime) -> None:
    contract_id, _, table = _setup(api, runtime)
    discount = api.created("/v1/discounts", _body(contract_id, table))
    path = f"/v1/discounts/{discount['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, json={"priority": 1}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get(f"/v1/discounts?contract_id={contract_id}").json()["items"] == []
    assert other_api.post("/v1/discounts", json=_body(contract_id, table)).status_code == 422
