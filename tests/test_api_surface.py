"""The API surface a newcomer meets (issue 6 §7): strict query strings, offline /docs,
closing days as numbers or strings, masters named by code wherever an id is taken."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.api import Api
from tests.factories.catalog import (
    create_discount_table,
    create_service,
    create_tariff,
    create_usage_item,
    price_plan_body,
)
from tests.factories.contracts import new_contract


def test_every_get_operation_refuses_an_unknown_query_parameter(
    client: TestClient, api: Api
) -> None:
    document = client.get("/openapi.json").json()
    checked = 0
    for path, item in document["paths"].items():
        if "get" not in item:
            continue
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = api.get(url, params={"no_such_parameter": "1"})
        assert response.status_code == 422, f"GET {path}: {response.status_code}"
        assert response.headers["content-type"] == "application/problem+json"
        pointers = [e["pointer"] for e in response.json()["errors"]]
        assert pointers == ["/query/no_such_parameter"], path
        checked += 1
    assert checked > 30


def test_a_misspelt_filter_is_a_422_not_every_row(api: Api) -> None:
    response = api.get("/v1/receivables", params={"contractid": "typo"})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["pointer"] == "/query/contractid"
    assert "contract_id" in error["reason"]
    # the declared parameters still pass, those of a filter model too
    assert api.get("/v1/receivables", params={"contract_id": "x", "limit": 5}).status_code == 200
    assert api.get("/v1/services", params={"code_prefix": "A", "free_1": "x"}).status_code == 200


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html
    assert "https://" not in html
    parser = _Assets()
    parser.feed(html)
    scripts = [u for u in parser.urls if u.endswith(".js")]
    assert scripts
    for url in parser.urls:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    assert "/openapi.json" in html


def test_docs_authorize_button_uses_client_credentials(client: TestClient) -> None:
    assert client.get("/docs/oauth2-redirect").status_code == 200
    html = client.get("/docs").text
    assert "oauth2RedirectUrl" in html
    assert "persistAuthorization" in html


@pytest.mark.parametrize("given", [20, "20", "eom", 5, "5"])
def test_closing_day_is_a_number_or_a_string_everywhere(api: Api, given: Any) -> None:
    expected = str(given)
    tenant = api.patch("/v1/tenant", json={"default_closing_day": given})
    assert tenant.status_code == 200, tenant.text
    assert tenant.json()["default_closing_day"] == expected
    contract = new_contract(api, closing_day=given)
    assert contract["closing_day"] == expected
    changed = api.patch(f"/v1/contracts/{contract['id']}", json={"closing_day": given})
    assert changed.status_code == 200, changed.text
    listed = api.get("/v1/contracts", params={"closing_day": expected}).json()["items"]
    assert contract["id"] in [c["id"] for c in listed]


@pytest.mark.parametrize("given", [0, 21, "31", "EOM ", 20.5, True, "twenty"])
def test_other_closing_days_are_refused_naming_the_field(api: Api, given: Any) -> None:
    response = api.patch("/v1/tenant", json={"default_closing_day": given})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/default_closing_day"


def test_masters_are_named_by_code_wherever_an_id_is_taken(api: Api) -> None:
    service = create_service(api)
    item = create_usage_item(api)
    tariff = create_tariff(api)
    plan = api.created(
        "/v1/price-plans", price_plan_body(service["code"], tariff["code"], item["code"])
    )
    assert plan["service_id"] == service["id"]
    by_code = api.get(f"/v1/price-plans/{plan['code']}")
    assert by_code.status_code == 200
    assert by_code.json()["id"] == plan["id"]
    assert api.get(f"/v1/services/{service['code']}").json()["id"] == service["id"]
    contract = new_contract(api)
    subscription = api.post(
        "/v1/subscriptions",
        json={
            "contract_id": contract["id"],
            "price_plan_id": plan["code"],
            "start_date": contract["start_date"],
        },
    )
    assert subscription.status_code == 201, subscription.text
    sub = subscription.json()
    assert sub["price_plan_id"] == plan["id"]
    listed = api.get("/v1/subscriptions", params={"price_plan_id": plan["code"]}).json()
    assert [s["id"] for s in listed["items"]] == [sub["id"]]
    other = api.created(
        "/v1/price-plans", price_plan_body(service["code"], tariff["code"], item["code"])
    )
    change = api.post(
        f"/v1/subscriptions/{sub['id']}/plan-changes",
        json={"effective_date": "2026-11-01", "price_plan_id": other["code"]},
    )
    assert change.status_code == 201, change.text
    assert change.json()["events"][-1]["data"]["price_plan_id"] == other["id"]
    table = create_discount_table(api)
    discount = api.post(
        "/v1/discounts",
        json={
            "contract_id": contract["id"],
            "discount_table_id": table["code"],
            "start_date": contract["start_date"],
        },
    )
    assert discount.status_code == 201, discount.text
    assert discount.json()["discount_table_id"] == table["id"]
    # and the other way round: a usage item is named by its id as well as its code
    usage = api.post(
        "/v1/usage-records",
        json={
            "record_id": "r-1",
            "subscription_id": sub["id"],
            "usage_item": item["id"],
            "quantity": "1280",
            "used_at": "2026-10-15T12:00:00+09:00",
        },
    )
    assert usage.status_code == 201, usage.text
    assert usage.json()["usage_item"] == item["code"]
    by_id = api.get("/v1/usage-records", params={"usage_item": item["id"]}).json()["items"]
    assert [r["record_id"] for r in by_id] == ["r-1"]
