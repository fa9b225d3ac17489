"""A negotiated price (相対価格) on a usage charge: applied by the closing, dated like a plan
change, and seen the same by the current usage; refused when the charge's tariff has no
single amount it could replace (RATING.md §3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.factories.api import Api
from tests.factories.billing import run_closing, subscribe_with_usage
from tests.factories.catalog import STEP, code, create_service, create_tariff, create_usage_item


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def _setup(api: Api, tariff: dict[str, Any] | None = None) -> dict[str, str]:
    """An eom contract from 2026-10-01, a subscription from 2026-10-22 whose plan charges
    packets (usage charge `packets`, 0.05 yen a packet unless `tariff`), and 1,000 packets
    on each of Oct 22, 23 and 24."""
    service = create_service(api)
    item = create_usage_item(api)
    tariff_row = create_tariff(api, tariff)
    plan = api.created(
        "/v1/price-plans",
        {
            "code": code("NEGO"),
            "name": "相対プラン",
            "service_id": service["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "3100"}],
            "usage_charges": [
                {
                    "code": "packets",
                    "name": "パケット通信料",
                    "usage_item": item["id"],
                    "tariff_id": tariff_row["id"],
                }
            ],
        },
    )
    ids = subscribe_with_usage(
        api, plan["id"], item["code"], customer_name="相対 一郎", record_prefix="nego"
    )
    return {
        "contract": ids["contract"],
        "subscription": ids["subscription"],
        "tariff": tariff_row["id"],
        "plan": plan["id"],
    }


def _override(api: Api, subscription: str, amount: str, on: str) -> Any:
    return api.post(
        f"/v1/subscriptions/{subscription}/price-overrides",
        json={"component_code": "packets", "amount": amount, "effective_date": on},
    )


def _usage_lines(api: Api, contract_id: str) -> list[dict[str, Any]]:
    (receivable,) = api.get("/v1/receivables", params={"contract_id": contract_id}).json()["items"]
    lines = api.get(f"/v1/receivables/{receivable['id']}").json()["lines"]
    return [line for line in lines if line["kind"] == "usage"]


def test_a_negotiated_unit_price_on_a_usage_charge_is_applied_from_its_date(api: Api) -> None:
    """RATING.md §3: "A subscription may override any amount of its plan (相対価格 …); an
    override is dated like a plan change." 0.05 a packet on Oct 22–23 (2,000 → 100), the
    negotiated 0.02 from Oct 24 (1,000 → 20)."""
    ids = _setup(api)
    assert _override(api, ids["subscription"], "0.02", "2026-10-24").status_code == 201

    current = api.get(
        f"/v1/subscriptions/{ids['subscription']}/current-usage", params={"on": "2026-10-31"}
    )
    assert current.status_code == 200, current.text
    (so_far,) = current.json()["usage"]
    simulation = api.post(
        "/v1/simulations",
        json={
            "contract_id": ids["contract"],
            "billing_month": "2026-10",
            "replace": [{"subscription_id": ids["subscription"], "price_plan_id": ids["plan"]}],
        },
    )
    assert simulation.status_code == 200, simulation.text

    assert run_closing(api, "2026-11-01")["status"] == "completed"
    lines = _usage_lines(api, ids["contract"])
    assert [
        (line["period_start"], money(line["unit_price"]), money(line["amount"])) for line in lines
    ] == [
        ("2026-10-22", Decimal("0.05"), Decimal(100)),
        ("2026-10-24", Decimal("0.02"), Decimal(20)),
    ]
    # the running charge of the period says what the closing billed
    assert money(so_far["amount"]) == Decimal(120)
    # and the simulation's month as it stands is the closing's receivable; on the same plan
    # without the negotiated price (it does not carry over) 30 more: 3,000 × 0.05 = 150
    (receivable,) = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ]
    figures = simulation.json()
    assert money(figures["current"]["subtotal"]) == money(receivable["subtotal"])
    assert money(figures["simulated"]["subtotal"]) - money(receivable["subtotal"]) == 30


def test_a_negotiated_price_on_a_flat_usage_charge_replaces_its_fee(api: Api) -> None:
    ids = _setup(api, {"shape": "flat", "fixed_fee": "3000"})
    assert _override(api, ids["subscription"], "1500", "2026-10-22").status_code == 201
    run_closing(api, "2026-11-01")
    # prorated over the subscription's 10 days of October's 31, like the plan's fee
    assert [money(line["amount"]) for line in _usage_lines(api, ids["contract"])] == [
        Decimal(483)  # floor(1,500 × 10 / 31)
    ]


def test_a_negotiated_price_on_a_usage_charge_without_one_amount_is_refused(api: Api) -> None:
    """A `step` tariff has an amount per band: no single negotiated amount replaces them."""
    ids = _setup(api, STEP)
    refused = _override(api, ids["subscription"], "1000", "2026-10-24")
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["pointer"] == "/body/component_code"
    assert "step" in error["reason"]
    state = api.get(f"/v1/subscriptions/{ids['subscription']}/state", params={"on": "2026-10-25"})
    assert state.json()["overrides"] == {}  # nothing was stored


def test_a_tariff_revised_to_several_amounts_under_a_negotiated_price_fails_its_contract(
    api: Api,
) -> None:
    """A later revision of the tariff to a shape the negotiated price cannot replace: the
    closing says so for that contract instead of billing the list price silently."""
    ids = _setup(api)
    assert _override(api, ids["subscription"], "0.02", "2026-10-22").status_code == 201
    revised = api.post(
        f"/v1/tariffs/{ids['tariff']}/versions", json=STEP | {"effective_from": "2026-10-24"}
    )
    assert revised.status_code == 201, revised.text
    run = run_closing(api, "2026-11-01")
    assert run["status"] == "completed_with_errors", run
    (error,) = run["errors"]
    assert error["contract_id"] == ids["contract"]
    assert "negotiated price" in error["reason"]
    assert "step" in error["reason"]
