"""Looking ahead and aside: the open period's running charge of a subscription and charge
simulation (料金シミュレーション), both rated by the closing's own core and storing nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from kakin.audit.models import AuditEvent
from kakin.billing.models import Receivable, ReceivableLine
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.billing import run_closing, subscribe_with_usage
from tests.factories.catalog import (
    DOUBLE_FLAT,
    GRADUATED,
    create_service,
    create_tariff,
    create_usage_item,
)


def _plan(
    api: Api, service: str, item: str, tariff: str, base: str, allowance: str = "0"
) -> dict[str, Any]:
    return api.created(
        "/v1/price-plans",
        {
            "code": f"HOME-{base}-{allowance}-{tariff[-6:]}",
            "name": f"光ホーム {base}",
            "service_id": service,
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": base}],
            "one_time_fees": [{"code": "setup", "name": "契約事務手数料", "amount": "3300"}],
            "usage_charges": [{"usage_item": item, "tariff_id": tariff, "allowance": allowance}],
        },
    )


def _setup(api: Api, allowance: str = "0") -> dict[str, Any]:
    """test_closing's contract: eom closing, an internet subscription from 2026-10-22 on a
    3,100 yen plan, 128,000 bytes (1,000 packets at 0.05 yen) on each of Oct 22, 23, 24."""
    service = create_service(api)
    item = create_usage_item(api)
    tariff = create_tariff(api)
    plan = _plan(api, service["id"], item["id"], tariff["id"], "3100", allowance)
    ids = subscribe_with_usage(
        api, plan["id"], item["code"], customer_name="予測 花子", record_prefix="u"
    )
    return {
        "contract": ids["contract"],
        "subscription": ids["subscription"],
        "service": service["id"],
        "item": item,
        "tariff": tariff["id"],
        "plan": plan["id"],
    }


def _current(api: Api, subscription: str, on: str | None = None) -> dict[str, Any]:
    params = {"on": on} if on else {}
    response = api.get(f"/v1/subscriptions/{subscription}/current-usage", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _simulate(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/v1/simulations", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _stored(runtime: Runtime, tenant_id: str) -> tuple[int, int, int]:
    """(receivables, receivable lines, audit events) of the tenant."""
    with tenant_session(runtime.sessions, tenant_id) as session:
        return (
            session.scalar(select(func.count(Receivable.id))) or 0,
            session.scalar(select(func.count(ReceivableLine.line_no))) or 0,
            session.scalar(select(func.count(AuditEvent.id))) or 0,
        )


# --- current usage -------------------------------------------------------------------------


def test_current_usage_matches_the_usage_line_of_the_closing_of_the_same_period(
    api: Api,
) -> None:
    ids = _setup(api)
    current = _current(api, ids["subscription"], "2026-10-31")
    assert current["billing_month"] == "2026-10"
    assert (current["period_start"], current["period_end"]) == ("2026-10-01", "2026-10-31")
    assert current["closing_date"] == "2026-11-01"
    [usage] = current["usage"]
    assert usage["usage_item_id"] == ids["item"]["id"]
    assert usage["raw_quantity"] == "384000"
    assert usage["rated_quantity"] == "3000"  # RATING.md §4: ceil(384,000 / 128)
    assert usage["amount"] == "150"

    run_closing(api, "2026-11-01")
    receivable_id = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ][0]["id"]
    receivable = api.get(f"/v1/receivables/{receivable_id}").json()
    [line] = [line for line in receivable["lines"] if line["kind"] == "usage"]
    assert line["amount"] == usage["amount"]
    assert Decimal(line["quantity"]) == Decimal(usage["rated_quantity"])
    # One subscription, no contract-level lines: its running total is the receivable's.
    assert (current["subtotal"], current["tax_total"], current["total"]) == (
        receivable["subtotal"],
        receivable["tax_total"],
        receivable["total"],
    )
    assert [(x["kind"], x["amount"], x["description"]) for x in current["lines"]] == [
        (x["kind"], x["amount"], x["description"]) for x in receivable["lines"]
    ]


def test_current_usage_counts_only_the_usage_recorded_up_to_the_day_asked(api: Api) -> None:
    ids = _setup(api)
    first_day = _current(api, ids["subscription"], "2026-10-22")
    [usage] = first_day["usage"]
    assert (usage["raw_quantity"], usage["rated_quantity"], usage["amount"]) == (
        "128000",
        "1000",
        "50",
    )
    amounts = {line["kind"]: line["amount"] for line in first_day["lines"]}
    # The period's fees as the closing will charge them: 3,100 × 10/31 and the contract fee.
    assert amounts == {"recurring": "1000", "one_time": "3300", "usage": "50"}
    assert first_day["subtotal"] == "4350"
    assert first_day["tax_total"] == "435"
    assert first_day["total"] == "4785"


def test_remaining_allowance_decreases_with_usage(api: Api) -> None:
    ids = _setup(api, allowance="2500")
    remaining = []
    for day in ("2026-10-21", "2026-10-22", "2026-10-23", "2026-10-24"):
        [usage] = _current(api, ids["subscription"], day)["usage"]
        remaining.append(usage["remaining_allowance"])
        if day == "2026-10-23":
            assert usage["amount"] == "0"  # 2,000 packets, all inside the allowance
    # Before the subscription starts nothing applies; then 2,500 − 1,000 a day, never < 0.
    assert remaining == [None, "1500", "500", "0"]
    [usage] = _current(api, ids["subscription"], "2026-10-24")["usage"]
    assert usage["allowance"] == "2500"
    assert usage["amount"] == "25"  # RATING.md §4: (3,000 − 2,500) packets × 0.05


def test_current_usage_is_for_today_in_the_tenants_time_zone_by_default(api: Api) -> None:
    ids = _setup(api)
    current = _current(api, ids["subscription"])
    assert current["on"] == dt.datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()


def test_current_usage_of_another_tenants_subscription_is_not_found(
    api: Api, other_api: Api
) -> None:
    ids = _setup(api)
    path = f"/v1/subscriptions/{ids['subscription']}/current-usage"
    assert other_api.get(path).status_code == 404
    assert api.get("/v1/subscriptions/sub_unknown/current-usage").status_code == 404


# --- simulation ----------------------------------------------------------------------------


def test_simulating_a_cheaper_plan_gives_a_lower_total_and_the_difference(
    api: Api, runtime: Runtime
) -> None:
    ids = _setup(api)
    cheaper = _plan(api, ids["service"], ids["item"]["id"], ids["tariff"], "2000")
    before = _stored(runtime, api.tenant_id)
    result = _simulate(
        api,
        {
            "contract_id": ids["contract"],
            "billing_month": "2026-10",
            "replace": [{"subscription_id": ids["subscription"], "price_plan_id": cheaper["id"]}],
        },
    )
    assert result["kind"] == "replace"
    current, simulated = result["current"], result["simulated"]
    # As it stands: test_closing's receivable (1,000 + 3,300 + 150, tax 445).
    assert (current["subtotal"], current["tax_total"], current["total"]) == (
        "4450",
        "445",
        "4895",
    )
    # RATING.md §3: 2,000 × 10/31 = 645.16… → 645; then 3,300 + 150; tax floor(409.5).
    assert (simulated["subtotal"], simulated["tax_total"], simulated["total"]) == (
        "4095",
        "409",
        "4504",
    )
    assert Decimal(simulated["total"]) < Decimal(current["total"])
    assert result["difference"] == {"subtotal": "-355", "tax_total": "-36", "total": "-391"}
    recurring = next(line for line in simulated["lines"] if line["kind"] == "recurring")
    assert recurring["description"] == "月額基本料"
    assert recurring["amount"] == "645"
    # 料金シミュレーション stores nothing: no receivable, no line, no audit event.
    assert _stored(runtime, api.tenant_id) == before


def test_a_simulation_of_a_closed_month_leaves_its_receivable_as_it_is(
    api: Api, runtime: Runtime
) -> None:
    ids = _setup(api)
    cheaper = _plan(api, ids["service"], ids["item"]["id"], ids["tariff"], "2000")
    run_closing(api, "2026-11-01")
    receivables = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()
    before = _stored(runtime, api.tenant_id)
    result = _simulate(
        api,
        {
            "contract_id": ids["contract"],
            "billing_month": "2026-10",
            "replace": [{"subscription_id": ids["subscription"], "price_plan_id": cheaper["code"]}],
        },
    )
    assert result["current"]["total"] == receivables["items"][0]["total"]
    assert _stored(runtime, api.tenant_id) == before
    after = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()
    assert after == receivables


def test_a_hypothetical_plan_with_the_double_flat_example_gives_the_examples_amounts(
    api: Api, runtime: Runtime
) -> None:
    """RATING.md §4 `double_flat`, L = 1,029, p = 0.084, U = 4,410: 10,000 packets → 1,029;
    20,000 → 1,680; 100,000 → 4,410."""
    item = create_usage_item(api, unit="1")
    tariff = create_tariff(api, DOUBLE_FLAT)
    before = _stored(runtime, api.tenant_id)
    for packets, amount in (("10000", 1029), ("20000", 1680), ("100000", 4410)):
        result = _simulate(
            api,
            {
                "billing_month": "2026-11",
                "hypothetical": {
                    "closing_day": "20",
                    "plan": {
                        "usage_charges": [{"usage_item": item["code"], "tariff_id": tariff["id"]}]
                    },
                    "usage": [{"usage_item": item["code"], "quantity": packets}],
                },
            },
        )
        assert result["kind"] == "hypothetical"
        assert result["current"] is None
        simulated = result["simulated"]
        # RATING.md §2: 20th closing, 2026-11 covers Oct 21 … Nov 20.
        assert (simulated["period_start"], simulated["period_end"]) == ("2026-10-21", "2026-11-20")
        [line] = simulated["lines"]
        assert (line["kind"], line["quantity"], line["amount"]) == ("usage", packets, str(amount))
        assert simulated["subtotal"] == str(amount)
        assert simulated["tax_total"] == str(amount // 10)
        assert simulated["total"] == str(amount + amount // 10)
    assert _stored(runtime, api.tenant_id) == before


def test_a_hypothetical_stored_plan_for_a_full_period_charges_the_whole_fee(api: Api) -> None:
    """RATING.md §4 `graduated` example q = 21 → 163, beside a plan's full monthly fee."""
    service = create_service(api)
    item = create_usage_item(api, unit="1")
    tariff = create_tariff(api, GRADUATED)
    plan = _plan(api, service["id"], item["id"], tariff["id"], "3100")
    result = _simulate(
        api,
        {
            "billing_month": "2026-11",
            "hypothetical": {
                "price_plan_id": plan["code"],
                "quantity": 2,
                "usage": [{"usage_item": item["id"], "quantity": "21"}],
            },
        },
    )
    amounts = {line["kind"]: line["amount"] for line in result["simulated"]["lines"]}
    assert amounts == {"recurring": "6200", "usage": "163", "one_time": "3300"}


def _problem_pointers(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["pointer"] for error in response.json()["errors"]]


def test_bad_simulation_input_is_a_422_naming_the_field(api: Api) -> None:
    ids = _setup(api)
    item = ids["item"]["code"]
    plan = {"usage_charges": [{"usage_item": item, "tariff_id": ids["tariff"]}]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"contract_id": ids["contract"], "replace": []}, "/body/billing_month"),
        ({"billing_month": "2026-13", "contract_id": ids["contract"]}, "/body/billing_month"),
        ({"billing_month": "2026-10", "contract_id": ids["contract"]}, "/body/replace"),
        ({"billing_month": "2026-10"}, "/body/contract_id"),
        (
            {
                "billing_month": "2026-10",
                "contract_id": ids["contract"],
                "replace": [{"subscription_id": ids["subscription"], "price_plan_id": ids["plan"]}],
                "hypothetical": {"plan": plan},
            },
            "/body/hypothetical",
        ),
        (
            {
                "billing_month": "2026-10",
                "hypothetical": {
                    "plan": {"usage_charges": [{"usage_item": item, "tariff_id": "TRF-none"}]}
                },
            },
            "/body/hypothetical/plan/usage_charges/0/tariff_id",
        ),
        (
            {
                "billing_month": "2026-10",
                "hypothetical": {"plan": plan, "usage": [{"usage_item": item, "quantity": "-1"}]},
            },
            "/body/hypothetical/usage/0/quantity",
        ),
        (
            {
                "billing_month": "2026-10",
                "hypothetical": {
                    "plan": plan,
                    "usage": [{"usage_item": "PKT-none", "quantity": "1"}],
                },
            },
            "/body/hypothetical/usage/0/usage_item",
        ),
        (
            {
                "billing_month": "2026-10",
                "hypothetical": {"plan": plan, "start_date": "2026-11-01"},
            },
            "/body/hypothetical/start_date",
        ),
        ({"billing_month": "2026-10", "hypothetical": {}}, "/body/hypothetical/plan"),
        (
            {"billing_month": "2026-10", "hypothetical": {"plan": plan, "closing_day": "7"}},
            "/body/hypothetical/closing_day",
        ),
    ]
    for body, expected in cases:
        assert expected in _problem_pointers(api.post("/v1/simulations", json=body)), body

    other = api.created(
        "/v1/contracts",
        {
            "customer_id": api.created("/v1/customers", {"name": "別 契約"})["id"],
            "closing_day": "eom",
            "start_date": "2026-10-01",
        },
    )
    foreign = api.created(
        "/v1/subscriptions",
        {"contract_id": other["id"], "price_plan_id": ids["plan"], "start_date": "2026-10-01"},
    )
    body = {
        "billing_month": "2026-10",
        "contract_id": ids["contract"],
        "replace": [{"subscription_id": foreign["id"], "price_plan_id": ids["plan"]}],
    }
    assert _problem_pointers(api.post("/v1/simulations", json=body)) == [
        "/body/replace/0/subscription_id"
    ]


def test_simulations_with_another_tenants_ids_are_not_found(api: Api, other_api: Api) -> None:
    ids = _setup(api)
    mine = _setup(other_api)
    replace = {"subscription_id": ids["subscription"], "price_plan_id": ids["plan"]}
    body = {"billing_month": "2026-10", "contract_id": ids["contract"], "replace": [replace]}
    assert other_api.post("/v1/simulations", json=body).status_code == 404
    theirs_plan = {
        "billing_month": "2026-10",
        "contract_id": mine["contract"],
        "replace": [{"subscription_id": mine["subscription"], "price_plan_id": ids["plan"]}],
    }
    assert other_api.post("/v1/simulations", json=theirs_plan).status_code == 404
    theirs_sub = {
        "billing_month": "2026-10",
        "contract_id": mine["contract"],
        "replace": [{"subscription_id": ids["subscription"], "price_plan_id": mine["plan"]}],
    }
    assert other_api.post("/v1/simulations", json=theirs_sub).status_code == 404
    hypothetical = {"billing_month": "2026-10", "hypothetical": {"price_plan_id": ids["plan"]}}
    assert other_api.post("/v1/simulations", json=hypothetical).status_code == 404
