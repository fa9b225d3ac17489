"""One-time charges (一時金, RATING.md §3) and top-ups (追加購入, §4) registered on a
subscription and billed by the closing: once, on the first closing after their date."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.billing.test_closing import _setup
from tests.factories.api import Api
from tests.factories.billing import run_closing

DEVICE = {
    "code": "device",
    "name": "端末代金",
    "amount": "9800",
    "tax_category": "standard",
    "incurred_on": "2026-10-25",
}


def _receivable(api: Api, contract_id: str, month: str) -> dict[str, Any]:
    items = api.get("/v1/receivables", params={"contract_id": contract_id}).json()["items"]
    (found,) = [r for r in items if r["billing_month"] == month]
    result: dict[str, Any] = api.get(f"/v1/receivables/{found['id']}").json()
    return result


def test_a_one_time_charge_is_billed_once_on_the_first_closing_after_it_is_incurred(
    api: Api,
) -> None:
    ids = _setup(api)
    charge = api.created(f"/v1/subscriptions/{ids['subscription']}/one-time-charges", DEVICE)
    assert charge["amount"] == "9800"
    assert charge["quantity"] == "1"
    assert charge["receivable_id"] is None

    assert run_closing(api, "2026-11-01")["status"] == "completed"
    october = _receivable(api, ids["contract"], "2026-10")
    device = [line for line in october["lines"] if line["description"] == "端末代金"]
    # RATING.md §3: one-time fees are billed on the first closing after they are incurred
    assert [(line["kind"], line["amount"]) for line in device] == [("one_time", "9800")]
    # 1,000 recurring + 3,300 contract fee + 150 usage + 9,800 device
    assert october["subtotal"] == "14250"
    listed = api.get(f"/v1/subscriptions/{ids['subscription']}/one-time-charges").json()
    assert [c["receivable_id"] for c in listed["items"]] == [october["id"]]

    assert run_closing(api, "2026-12-01")["status"] == "completed"
    november = _receivable(api, ids["contract"], "2026-11")
    assert not [line for line in november["lines"] if line["kind"] == "one_time"]
    assert _receivable(api, ids["contract"], "2026-10") == october


def test_a_one_time_charge_incurred_after_the_period_waits_for_the_next_closing(
    api: Api,
) -> None:
    ids = _setup(api)
    api.created(
        f"/v1/subscriptions/{ids['subscription']}/one-time-charges",
        DEVICE | {"incurred_on": "2026-11-03", "quantity": "2", "amount": "1500"},
    )
    run_closing(api, "2026-11-01")
    october = _receivable(api, ids["contract"], "2026-10")
    assert not [line for line in october["lines"] if line["description"] == "端末代金"]
    run_closing(api, "2026-12-01")
    november = _receivable(api, ids["contract"], "2026-11")
    device = [line for line in november["lines"] if line["description"] == "端末代金"]
    # the amount is per unit of quantity
    assert [line["amount"] for line in device] == ["3000"]


def test_a_top_up_raises_the_allowance_and_is_billed_as_a_one_time_fee(api: Api) -> None:
    ids = _setup(api)
    item_code = _usage_item_code(api)
    top_up = api.created(
        f"/v1/subscriptions/{ids['subscription']}/top-ups",
        {
            "usage_item": item_code,
            "quantity": "1000",
            "price": "500",
            "tax_category": "standard",
            "bought_on": "2026-10-25",
        },
    )
    assert top_up["quantity"] == "1000"
    run_closing(api, "2026-11-01")
    october = _receivable(api, ids["contract"], "2026-10")
    amounts = {(line["kind"], line["note"]): line["amount"] for line in october["lines"]}
    # RATING.md §4: top-ups "raise that period's allowance": (3,000 − 1,000) × 0.05 = 100
    assert [line["amount"] for line in october["lines"] if line["kind"] == "usage"] == ["100"]
    # … "and are billed as one-time fees"
    assert amounts[("one_time", "top_up")] == "500"
    assert Decimal(october["subtotal"]) == 1000 + 3300 + 100 + 500
    listed = api.get(f"/v1/subscriptions/{ids['subscription']}/top-ups").json()["items"]
    assert [t["receivable_id"] for t in listed] == [october["id"]]

    run_closing(api, "2026-12-01")
    november = _receivable(api, ids["contract"], "2026-11")
    assert not [line for line in november["lines"] if line["kind"] == "one_time"]


def test_running_the_closing_again_bills_charges_and_top_ups_only_once(api: Api) -> None:
    ids = _setup(api)
    api.created(f"/v1/subscriptions/{ids['subscription']}/one-time-charges", DEVICE)
    api.created(
        f"/v1/subscriptions/{ids['subscription']}/top-ups",
        {
            "usage_item": _usage_item_code(api),
            "quantity": "10",
            "price": "300",
            "bought_on": "2026-10-23",
        },
    )
    run_closing(api, "2026-11-01")
    first = _receivable(api, ids["contract"], "2026-10")
    again = run_closing(api, "2026-11-01")
    assert again["status"] == "completed"
    assert again["receivables_written"] == 0
    assert _receivable(api, ids["contract"], "2026-10") == first

    # a charge added while October is still a draft joins it on the next run, once
    api.created(
        f"/v1/subscriptions/{ids['subscription']}/one-time-charges",
        DEVICE | {"code": "work", "name": "工事費", "amount": "2000"},
    )
    run_closing(api, "2026-11-01")
    run_closing(api, "2026-11-01")
    redrawn = _receivable(api, ids["contract"], "2026-10")
    assert Decimal(redrawn["subtotal"]) == Decimal(first["subtotal"]) + 2000
    descriptions = [line["description"] for line in redrawn["lines"]]
    assert descriptions.count("端末代金") == descriptions.count("工事費") == 1


def test_bad_charges_and_top_ups_are_refused_with_pointers(api: Api) -> None:
    ids = _setup(api)
    path = f"/v1/subscriptions/{ids['subscription']}"

    def pointers(response: Any) -> list[str]:
        assert response.status_code == 422, response.text
        return [e["pointer"] for e in response.json()["errors"]]

    assert "/body/amount" in pointers(
        api.post(f"{path}/one-time-charges", json=DEVICE | {"amount": "-1"})
    )
    assert "/body/quantity" in pointers(
        api.post(f"{path}/one-time-charges", json=DEVICE | {"quantity": "0"})
    )
    # RATING.md §4: a date outside the subscription's life (it starts on 2026-10-22)
    assert pointers(
        api.post(f"{path}/one-time-charges", json=DEVICE | {"incurred_on": "2026-10-21"})
    ) == ["/body/incurred_on"]
    top_up = {
        "usage_item": _usage_item_code(api),
        "quantity": "10",
        "price": "300",
        "bought_on": "2026-10-23",
    }
    assert pointers(api.post(f"{path}/top-ups", json=top_up | {"usage_item": "NOPE"})) == [
        "/body/usage_item"
    ]
    assert "/body/price" in pointers(api.post(f"{path}/top-ups", json=top_up | {"price": "-5"}))
    assert pointers(api.post(f"{path}/top-ups", json=top_up | {"bought_on": "2026-01-01"})) == [
        "/body/bought_on"
    ]
    assert api.get(f"{path}/one-time-charges").json()["items"] == []
    assert api.get(f"{path}/top-ups").json()["items"] == []


def test_a_charge_dated_inside_an_issued_period_is_refused(api: Api) -> None:
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    october = _receivable(api, ids["contract"], "2026-10")
    assert api.post(f"/v1/receivables/{october['id']}/finalize").status_code == 200
    path = f"/v1/subscriptions/{ids['subscription']}"
    refused = api.post(f"{path}/one-time-charges", json=DEVICE)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("period-closed")
    top_up = {
        "usage_item": _usage_item_code(api),
        "quantity": "10",
        "price": "300",
        "bought_on": "2026-10-31",
    }
    assert api.post(f"{path}/top-ups", json=top_up).status_code == 409
    later = api.post(f"{path}/one-time-charges", json=DEVICE | {"incurred_on": "2026-11-02"})
    assert later.status_code == 201, later.text


def test_other_tenants_subscriptions_are_not_found(api: Api, other_api: Api) -> None:
    ids = _setup(api)
    path = f"/v1/subscriptions/{ids['subscription']}"
    api.created(f"{path}/one-time-charges", DEVICE)
    assert other_api.post(f"{path}/one-time-charges", json=DEVICE).status_code == 404
    assert other_api.get(f"{path}/one-time-charges").status_code == 404
    top_up = {"usage_item": "X", "quantity": "10", "price": "300", "bought_on": "2026-10-23"}
    assert other_api.post(f"{path}/top-ups", json=top_up).status_code == 404
    assert other_api.get(f"{path}/top-ups").status_code == 404
    assert api.post("/v1/subscriptions/sub_nope/one-time-charges", json=DEVICE).status_code == 404


def _usage_item_code(api: Api) -> str:
    """The code of the usage item `_setup` created (the tenant has only that one)."""
    items = api.get("/v1/usage-items").json()["items"]
    assert len(items) == 1
    code: str = items[0]["code"]
    return code
