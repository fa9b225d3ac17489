"""A price plan's revision in the closing: it applies from its date to every subscription on
the plan, whatever changed in the subscription before (RATING.md §3, §4)."""

from __future__ import annotations

from typing import Any

from tests.factories.api import Api
from tests.factories.billing import run_closing
from tests.factories.catalog import code, create_service


def test_a_revision_after_a_quantity_change_applies_from_its_date(api: Api) -> None:
    """RATING.md §4 "a revision applies from its date", §3 "A quantity change likewise":
    October on an eom closing, 3,100 a month per unit, two units from the 10th, 6,200 a
    month per unit from the revision of the 16th — three lines, each its own days."""
    plan = api.created(
        "/v1/price-plans",
        {
            "code": code("REV"),
            "name": "改定プラン",
            "service_id": create_service(api)["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "3100"}],
        },
    )
    url = f"/v1/price-plans/{plan['id']}"
    revised = api.post(
        f"{url}/versions",
        json={
            "effective_from": "2026-10-16",
            "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "6200"}],
        },
        headers={"If-Match": api.get(url).headers["ETag"]},
    )
    assert revised.status_code == 201, revised.text
    customer = api.created("/v1/customers", {"name": "改定 花子"})
    contract = api.created(
        "/v1/contracts",
        {"customer_id": customer["id"], "closing_day": "eom", "start_date": "2026-10-01"},
    )
    sub = api.created(
        "/v1/subscriptions",
        {"contract_id": contract["id"], "price_plan_id": plan["id"], "start_date": "2026-10-01"},
    )
    changed = api.post(
        f"/v1/subscriptions/{sub['id']}/quantity-changes",
        json={"quantity": 2, "effective_date": "2026-10-10"},
    )
    assert changed.status_code == 201, changed.text

    run_closing(api, "2026-11-01")

    (listed,) = api.get("/v1/receivables", params={"contract_id": contract["id"]}).json()["items"]
    lines: list[dict[str, Any]] = api.get(f"/v1/receivables/{listed['id']}").json()["lines"]
    recurring = [
        (line["period_start"], line["period_end"], line["quantity"], line["amount"])
        for line in lines
        if line["kind"] == "recurring"
    ]
    assert recurring == [
        ("2026-10-01", "2026-10-09", "1", "900"),  # 3,100 × 9/31
        ("2026-10-10", "2026-10-15", "2", "1200"),  # 3,100 × 2 × 6/31
        ("2026-10-16", "2026-10-31", "2", "6400"),  # 6,200 × 2 × 16/31
    ]
