"""Discount tables (割引表) with campaign, bundle and loyalty conditions — RATING.md §5."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kakin.catalog.models import DiscountTable
from kakin.catalog.rating_inputs import rating_discount_table, rating_loyalty_steps
from kakin.kit.db import tenant_session
from kakin.rating.discounts import DiscountKind
from kakin.runtime import Runtime
from tests.factories import catalog
from tests.factories.api import Api


def test_a_fixed_rate_table_is_registered_with_its_scope(api: Api) -> None:
    created = catalog.create_discount_table(api, rate="50", scope="recurring")
    assert created["id"].startswith("dtb_")
    assert (created["kind"], created["rate"], created["scope"]) == ("fixed_rate", "50", "recurring")
    assert created["amount"] is None
    assert created["currency"] is None


def test_a_fixed_amount_table_takes_the_tenants_currency(api: Api) -> None:
    created = catalog.create_discount_table(api, kind="fixed_amount", rate=None, amount="500")
    assert (created["amount"], created["currency"], created["scope"]) == ("500", "JPY", "all")


def test_campaign_bundle_and_loyalty_conditions_are_kept(api: Api, runtime: Runtime) -> None:
    internet = catalog.create_service(api)
    power = catalog.create_service(api)
    created = catalog.create_discount_table(
        api,
        conditions={
            "window": {"anchor": "plan_change", "months": 2},
            "required_services": [internet["code"], power["id"]],
            "loyalty_steps": [
                {"years": 2, "value": "5"},
                {"years": 5, "value": "10"},
                {"years": 10, "value": "15"},
                {"years": 15, "value": "20"},
            ],
        },
        rate=None,
    )
    conditions = created["conditions"]
    assert conditions["window"] == {"anchor": "plan_change", "months": 2, "offset_months": 0}
    assert conditions["required_services"] == [internet["id"], power["id"]]
    assert [s["value"] for s in conditions["loyalty_steps"]] == ["5", "10", "15", "20"]
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        row = session.get_one(DiscountTable, (api.tenant_id, created["id"]))
        table = rating_discount_table(row)
        assert (table.kind, table.value) == (DiscountKind.FIXED_RATE, Decimal(0))
        assert [s.years for s in rating_loyalty_steps(row)] == [2, 5, 10, 15]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"kind": "fixed_rate", "rate": "100.01"}, "/body/rate"),
        ({"kind": "fixed_rate", "rate": "-1"}, "/body/rate"),
        ({"kind": "fixed_rate"}, "/body/rate"),
        ({"kind": "fixed_rate", "rate": "10", "amount": "100"}, "/body/amount"),
        ({"kind": "fixed_amount"}, "/body/amount"),
        ({"kind": "fixed_amount", "amount": "-1"}, "/body/amount"),
        ({"kind": "fixed_amount", "amount": "100.5"}, "/body/amount"),
        ({"kind": "fixed_amount", "amount": "100", "rate": "1"}, "/body/rate"),
        ({"kind": "fixed_rate", "rate": "1", "scope": "tax"}, "/body/scope"),
        ({"kind": "percent", "rate": "1"}, "/body/kind"),
        (
            {"kind": "fixed_rate", "rate": "1", "conditions": {"window": {"months": 0}}},
            "/body/conditions/window/months",
        ),
        (
            {"kind": "fixed_rate", "rate": "1", "conditions": {"required_services": ["NONE"]}},
            "/body/conditions/required_services/0",
        ),
        (
            {
                "kind": "fixed_rate",
                "conditions": {
                    "loyalty_steps": [{"years": 5, "value": "5"}, {"years": 2, "value": "10"}]
                },
            },
            "/body/conditions/loyalty_steps/1/years",
        ),
        (
            {"kind": "fixed_rate", "conditions": {"loyalty_steps": [{"years": 5, "value": "101"}]}},
            "/body/conditions/loyalty_steps/0/value",
        ),
        (
            {"kind": "fixed_rate", "rate": "1", "conditions": {"bundle": True}},
            "/body/conditions/bundle",
        ),
    ],
)
def test_invalid_discount_tables_are_422_naming_the_field(
    api: Api, body: dict[str, Any], pointer: str
) -> None:
    response = api.post("/v1/discount-tables", json={"code": "D", "name": "割引"} | body)
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert api.get("/v1/discount-tables").json()["items"] == []


def test_a_usd_amount_may_have_cents(api: Api) -> None:
    created = catalog.create_discount_table(
        api, kind="fixed_amount", rate=None, amount="4.99", currency="USD"
    )
    assert (created["amount"], created["currency"]) == ("4.99", "USD")


def test_the_discount_itself_cannot_be_changed(api: Api) -> None:
    created = catalog.create_discount_table(api)
    response = api.patch(f"/v1/discount-tables/{created['id']}", json={"rate": "20"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/rate"
