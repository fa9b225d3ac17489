"""Price plans (料金プランマスタ): components, references, revisions — RATING.md §3, §4, §6."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kakin.catalog.price_plans import plan_components, plan_version_on
from kakin.kit.db import tenant_session
from kakin.rating.model import BillingTiming
from kakin.runtime import Runtime
from tests.factories import catalog
from tests.factories.api import Api


@pytest.fixture
def masters(api: Api) -> dict[str, Any]:
    return {
        "service": catalog.create_service(api),
        "item": catalog.create_usage_item(api, code="PKT"),
        "tariff": catalog.create_tariff(api, catalog.DOUBLE_FLAT, code="DOUBLE"),
    }


def plan_body(masters: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = catalog.price_plan_body(
        masters["service"]["id"], masters["tariff"]["id"], masters["item"]["id"]
    )
    return body | overrides


def test_a_plan_is_registered_with_its_components_and_defaults(
    api: Api, masters: dict[str, Any]
) -> None:
    response = api.post(
        "/v1/price-plans",
        json=plan_body(
            masters,
            recurring_fees=[
                {"code": "base", "name": "月額基本料", "amount": "4800"},
                {
                    "code": "annual",
                    "name": "年額保守料",
                    "amount": "12000",
                    "timing": "advance",
                    "interval_months": 12,
                    "interval_alignment": "calendar",
                    "tax_category": "reduced",
                },
            ],
            suspension_fee={"code": "hold", "name": "休止中料金", "amount": "500"},
            one_time_fees=[
                {"code": "setup", "name": "契約事務手数料", "amount": "3300"},
                {"code": "router", "name": "ルーター", "amount": "9800", "per_quantity": True},
            ],
            usage_charges=[
                {
                    "usage_item": "PKT",
                    "tariff_id": "DOUBLE",
                    "allowance": "1000",
                    "name": "パケット",
                }
            ],
            proration="full",
        ),
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["id"].startswith("ppl_")
    assert response.headers["Location"] == f"/v1/price-plans/{plan['id']}"
    assert (plan["service_id"], plan["currency"]) == (masters["service"]["id"], "JPY")
    [version] = plan["versions"]
    assert version["proration"] == "full"
    base, annual = version["recurring_fees"]
    assert base == {
        "code": "base",
        "name": "月額基本料",
        "amount": "4800",
        "tax_category": "standard",
        "timing": "arrears",
        "interval_months": 1,
        "interval_alignment": "subscription",
        "per_quantity": True,
    }
    assert (annual["timing"], annual["interval_months"], annual["tax_category"]) == (
        "advance",
        12,
        "reduced",
    )
    assert version["suspension_fee"]["amount"] == "500"
    assert [f["per_quantity"] for f in version["one_time_fees"]] == [False, True]
    # references named by code are answered as ids; the charge's code is the item's
    assert version["usage_charges"] == [
        {
            "code": "PKT",
            "name": "パケット",
            "usage_item": masters["item"]["id"],
            "tariff_id": masters["tariff"]["id"],
            "allowance": "1000",
            "tax_category": "standard",
        }
    ]
    assert version["minimum_term"] == {
        "months": 24,
        "auto_renew": True,
        "renewal_window_months": 1,
        "early_termination": {
            "rule": "fixed",
            "amount": "10450",
            "cap": None,
            "tax_category": "out_of_scope",
        },
    }
    assert api.get(f"/v1/price-plans/{plan['id']}").json() == plan


def test_plans_are_listed_by_service(api: Api, masters: dict[str, Any]) -> None:
    mine = api.created("/v1/price-plans", plan_body(masters))
    other = catalog.create_price_plan(api)
    listed = api.get("/v1/price-plans", params={"service_id": masters["service"]["id"]}).json()
    assert [p["id"] for p in listed["items"]] == [mine["id"]]
    everything = api.get("/v1/price-plans").json()["items"]
    assert {p["id"] for p in everything} == {mine["id"], other["id"]}
    assert all(len(p["versions"]) == 1 for p in everything)


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"service_id": "svc_NOPE"}, "/body/service_id"),
        ({"currency": "XXX"}, "/body/currency"),
        (
            {"recurring_fees": [{"code": "a", "name": "a", "amount": "-1"}]},
            "/body/recurring_fees/0/amount",
        ),
        (
            {"recurring_fees": [{"code": "a", "name": "a", "amount": "1.5"}]},
            "/body/recurring_fees/0/amount",
        ),
        ({"recurring_fees": [{"code": "a", "name": "a"}]}, "/body/recurring_fees/0/amount"),
        (
            {"recurring_fees": [{"code": "a", "name": "a", "amount": "1", "interval_months": 4}]},
            "/body/recurring_fees/0/interval_months",
        ),
        (
            {"recurring_fees": [{"code": "a", "name": "a", "amount": "1", "timing": "later"}]},
            "/body/recurring_fees/0/timing",
        ),
        (
            {
                "recurring_fees": [
                    {"code": "a", "name": "a", "amount": "1", "tax_category": "luxury"}
                ]
            },
            "/body/recurring_fees/0/tax_category",
        ),
        (
            {"recurring_fees": [{"code": "a", "name": "a", "amount": "1", "tariff": "x"}]},
            "/body/recurring_fees/0/tariff",
        ),
        (
            {"one_time_fees": [{"code": "base", "name": "dup", "amount": "1"}]},
            "/body/one_time_fees/0/code",
        ),
        ({"proration": "hourly"}, "/body/proration"),
        (
            {"usage_charges": [{"usage_item": "NOPE", "tariff_id": "DOUBLE"}]},
            "/body/usage_charges/0/usage_item",
        ),
        (
            {"usage_charges": [{"usage_item": "PKT", "tariff_id": "NOPE"}]},
            "/body/usage_charges/0/tariff_id",
        ),
        ({"usage_charges": [{"usage_item": "PKT"}]}, "/body/usage_charges/0/tariff_id"),
        (
            {
                "usage_charges": [
                    {"usage_item": "PKT", "tariff_id": "DOUBLE"},
                    {"usage_item": "PKT", "tariff_id": "DOUBLE", "code": "PKT2"},
                ]
            },
            "/body/usage_charges/1/usage_item",
        ),
        (
            {"usage_charges": [{"usage_item": "PKT", "tariff_id": "DOUBLE", "allowance": "-1"}]},
            "/body/usage_charges/0/allowance",
        ),
        ({"minimum_term": {"months": 0}}, "/body/minimum_term/months"),
        (
            {"minimum_term": {"months": 24, "early_termination": {"rule": "fixed"}}},
            "/body/minimum_term/early_termination/amount",
        ),
        (
            {
                "minimum_term": {
                    "months": 24,
                    "early_termination": {"rule": "one_month_fee", "amount": "1000"},
                }
            },
            "/body/minimum_term/early_termination/amount",
        ),
        (
            {
                "recurring_fees": [],
                "minimum_term": {
                    "months": 24,
                    "early_termination": {"rule": "remaining_months_fees"},
                },
            },
            "/body/minimum_term/early_termination/rule",
        ),
        (
            {
                "minimum_term": {
                    "months": 24,
                    "early_termination": {"rule": "one_month_fee", "cap": "-5"},
                }
            },
            "/body/minimum_term/early_termination/cap",
        ),
        ({"effective_from": "2026-02-30"}, "/body/effective_from"),
    ],
)
def test_invalid_plans_are_422_naming_the_field(
    api: Api, masters: dict[str, Any], changes: dict[str, Any], pointer: str
) -> None:
    response = api.post("/v1/price-plans", json=plan_body(masters, **changes))
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]], response.json()
    assert api.get("/v1/price-plans").json()["items"] == []


def test_another_tenants_masters_cannot_be_referenced(
    api: Api, other_api: Api, masters: dict[str, Any]
) -> None:
    theirs = {
        "service": catalog.create_service(other_api),
        "item": catalog.create_usage_item(other_api),
        "tariff": catalog.create_tariff(other_api),
    }
    response = api.post("/v1/price-plans", json=plan_body(theirs))
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {
        "/body/service_id",
        "/body/usage_charges/0/usage_item",
        "/body/usage_charges/0/tariff_id",
    }


def test_retired_masters_take_no_new_use(api: Api, masters: dict[str, Any]) -> None:
    api.delete(f"/v1/tariffs/{masters['tariff']['id']}")
    api.delete(f"/v1/services/{masters['service']['id']}")
    response = api.post("/v1/price-plans", json=plan_body(masters))
    assert response.status_code == 422
    reasons = {e["pointer"]: e["reason"] for e in response.json()["errors"]}
    assert reasons["/body/service_id"] == "the service is retired"
    assert reasons["/body/usage_charges/0/tariff_id"] == "the tariff is retired"


def test_amounts_follow_the_plan_currency(api: Api, masters: dict[str, Any]) -> None:
    fees = [{"code": "base", "name": "Monthly", "amount": "9.99"}]
    usd = api.post("/v1/price-plans", json=plan_body(masters, currency="USD", recurring_fees=fees))
    assert usd.status_code == 201, usd.text
    jpy = api.post("/v1/price-plans", json=plan_body(masters, recurring_fees=fees))
    assert jpy.status_code == 422
    assert jpy.json()["errors"][0]["pointer"] == "/body/recurring_fees/0/amount"


def test_a_revision_applies_from_its_date_and_never_changes_the_old_version(
    api: Api, runtime: Runtime, masters: dict[str, Any]
) -> None:
    plan = api.created("/v1/price-plans", plan_body(masters))
    url = f"/v1/price-plans/{plan['id']}"
    etag = api.get(url).headers["ETag"]
    revision = {
        "effective_from": "2026-12-01",
        "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "5200"}],
    }
    response = api.post(f"{url}/versions", json=revision, headers={"If-Match": etag})
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] != etag
    old, new = response.json()["versions"]
    assert old == plan["versions"][0]
    assert new["recurring_fees"][0]["amount"] == "5200"
    assert new["minimum_term"] is None

    with tenant_session(runtime.sessions, api.tenant_id) as session:

        def base_fee_on(day: dt.date) -> str | None:
            version = plan_version_on(session, plan["id"], day)
            return (
                None if version is None else str(plan_components(version).recurring_fees[0].amount)
            )

        assert base_fee_on(dt.date(2025, 12, 31)) is None
        assert base_fee_on(dt.date(2026, 1, 1)) == "4800"
        assert base_fee_on(dt.date(2026, 11, 30)) == "4800"
        assert base_fee_on(dt.date(2026, 12, 1)) == "5200"
        version = plan_version_on(session, plan["id"], dt.date(2026, 12, 1))
        assert version is not None
        assert plan_components(version).recurring_fees[0].timing is BillingTiming.ARREARS


def test_a_read_version_can_be_posted_again_as_a_revision(
    api: Api, masters: dict[str, Any]
) -> None:
    plan = api.created("/v1/price-plans", plan_body(masters))
    version = {k: v for k, v in plan["versions"][0].items() if k not in ("id", "created_at")} | {
        "effective_from": "2027-04-01"
    }
    response = api.post(f"/v1/price-plans/{plan['id']}/versions", json=version)
    assert response.status_code == 201, response.text
    first, second = response.json()["versions"]
    assert {k: v for k, v in first.items() if k not in ("id", "created_at", "effective_from")} == {
        k: v for k, v in second.items() if k not in ("id", "created_at", "effective_from")
    }


def test_a_second_version_from_the_same_date_is_409(api: Api, masters: dict[str, Any]) -> None:
    plan = api.created("/v1/price-plans", plan_body(masters))
    response = api.post(
        f"/v1/price-plans/{plan['id']}/versions", json={"effective_from": "2026-01-01"}
    )
    assert response.status_code == 409
    assert api.get(f"/v1/price-plans/{plan['id']}").json() == plan


def test_an_invalid_revision_is_422_and_adds_nothing(api: Api, masters: dict[str, Any]) -> None:
    plan = api.created("/v1/price-plans", plan_body(masters))
    response = api.post(
        f"/v1/price-plans/{plan['id']}/versions",
        json={
            "effective_from": "2026-06-01",
            "usage_charges": [{"usage_item": "NOPE", "tariff_id": "DOUBLE"}],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/usage_charges/0/usage_item"
    assert len(api.get(f"/v1/price-plans/{plan['id']}").json()["versions"]) == 1


def test_the_currency_and_service_are_fixed_after_creation(
    api: Api, masters: dict[str, Any]
) -> None:
    plan = api.created("/v1/price-plans", plan_body(masters))
    for field, value in (("currency", "USD"), ("service_id", "svc_X")):
        response = api.patch(f"/v1/price-plans/{plan['id']}", json={field: value})
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == f"/body/{field}"


def test_another_tenants_plan_takes_no_revision(api: Api, other_api: Api) -> None:
    theirs = catalog.create_price_plan(other_api)
    response = api.post(
        f"/v1/price-plans/{theirs['id']}/versions", json={"effective_from": "2027-01-01"}
    )
    assert response.status_code == 404
