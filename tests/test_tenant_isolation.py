"""Tenants are walls: as tenant B, call every route of the API with tenant A's ids.

Every answer is a 404 (or 403, or a 422 for a body B could never send validly), it
carries none of A's data, and afterwards A's data is exactly as it was. The routes are
taken from the OpenAPI document, so a new route is walked without anyone remembering to.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.billing.test_closing import _setup
from tests.factories.api import Api
from tests.factories.billing import run_closing

SKIPPED_PARAMS = {"code"}
"""Tax categories are addressed by their code, which every tenant has (its own row)."""

BODIES: dict[str, dict[str, Any]] = {
    "plan-changes": {"price_plan_id": "{price_plan_id}", "effective_date": "2026-12-01"},
    "quantity-changes": {"quantity": 2, "effective_date": "2026-12-01"},
    "suspensions": {"effective_date": "2026-12-01"},
    "resumptions": {"effective_date": "2026-12-02"},
    "cancellations": {"effective_date": "2026-12-31"},
    "price-overrides": {"component_code": "base", "amount": "1", "effective_date": "2026-12-01"},
    "versions": {"effective_from": "2027-01-01", "shape": "flat", "fixed_fee": "1"},
    "adjustments": {"amount": "-1", "tax_category": "standard", "reason": "x"},
    "credit-notes": {"reason": "x", "lines": [{"description": "x", "amount": "1"}]},
    "customers": {},
}


def _world(api: Api) -> dict[str, str]:
    """One of everything in tenant A; returns path parameter name → A's id."""
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    receivable = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ][0]
    api.post(f"/v1/receivables/{receivable['id']}/finalize")
    note = api.created(
        f"/v1/receivables/{receivable['id']}/credit-notes",
        {"reason": "返金", "lines": [{"description": "返金", "amount": "100"}]},
    )
    contract = api.get(f"/v1/contracts/{ids['contract']}").json()
    subscription = api.get(f"/v1/subscriptions/{ids['subscription']}").json()
    group = api.created("/v1/groups", {"name": "A社グループ"})
    api.put(f"/v1/groups/{group['id']}/customers/{contract['customer_id']}")
    table = api.created(
        "/v1/discount-tables", {"code": "ISO", "name": "割引", "kind": "fixed_rate", "rate": "5"}
    )
    discount = api.created(
        "/v1/discounts",
        {
            "contract_id": contract["id"],
            "discount_table_id": table["id"],
            "start_date": "2026-12-01",
        },
    )
    plan_id = subscription["price_plan_id"]
    plan = api.get(f"/v1/price-plans/{plan_id}").json()
    usage_charge = plan["versions"][0]["usage_charges"][0]
    run = api.get("/v1/closing-runs").json()["items"][0]
    return {
        "customer_id": contract["customer_id"],
        "group_id": group["id"],
        "service_id": plan["service_id"],
        "usage_item_id": usage_charge["usage_item"],
        "tariff_id": usage_charge["tariff_id"],
        "discount_table_id": table["id"],
        "price_plan_id": plan_id,
        "contract_id": contract["id"],
        "subscription_id": subscription["id"],
        "discount_id": discount["id"],
        "record_id": "u-0",
        "run_id": run["id"],
        "receivable_id": receivable["id"],
        "credit_note_id": note["id"],
    }


def _snapshot(api: Api, world: dict[str, str]) -> dict[str, Any]:
    paths = [
        f"/v1/customers/{world['customer_id']}",
        f"/v1/groups/{world['group_id']}/customers",
        f"/v1/contracts/{world['contract_id']}",
        f"/v1/subscriptions/{world['subscription_id']}",
        f"/v1/discounts/{world['discount_id']}",
        f"/v1/price-plans/{world['price_plan_id']}",
        f"/v1/tariffs/{world['tariff_id']}",
        f"/v1/receivables/{world['receivable_id']}",
        f"/v1/credit-notes/{world['credit_note_id']}",
        f"/v1/usage-records/{world['record_id']}",
        f"/v1/contracts/{world['contract_id']}/adjustments",
        "/v1/tenant",
    ]
    return {path: api.get(path).json() for path in paths}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if path.startswith("/v1/")
    ]


def test_no_route_lets_one_tenant_read_or_change_anothers_data(
    client: TestClient, api: Api, other_api: Api
) -> None:
    world = _world(api)
    before = _snapshot(api, world)
    secrets = set(world.values()) - {"u-0"} | {"締め 太郎", "A社グループ"}
    walked = 0
    for method, path in _routes(client):
        params = re.findall(r"{(\w+)}", path)
        if any(p in SKIPPED_PARAMS for p in params):
            continue
        url = path
        for name in params:
            url = url.replace(f"{{{name}}}", world[name])
        body = json.loads(
            json.dumps(BODIES.get(path.rsplit("/", 1)[-1], {})).replace(
                "{price_plan_id}", world["price_plan_id"]
            )
        )
        kwargs: dict[str, Any] = {"json": body} if method in ("POST", "PATCH", "PUT") else {}
        if method == "GET" and not params:
            kwargs["params"] = {
                k: v for k, v in world.items() if k in ("contract_id", "customer_id")
            }
        response = other_api.client.request(method, url, headers=other_api.headers, **kwargs)
        walked += 1
        text = response.text
        leaked = {s for s in secrets if s in text and s not in url}
        assert not leaked, f"{method} {url} leaked {leaked}"
        if params:
            assert response.status_code in (403, 404, 422), (
                f"{method} {url} answered {response.status_code}: {text[:300]}"
            )
    assert walked > 50
    assert _snapshot(api, world) == before


@pytest.mark.parametrize("functions", [["contracts", "rating"]])
def test_a_tenant_without_a_function_gets_403_there(
    client: TestClient, runtime: Any, functions: list[str]
) -> None:
    from tests.factories.api import new_tenant_api  # noqa: PLC0415

    limited = new_tenant_api(client, runtime, functions=functions)
    assert limited.get("/v1/customers").status_code == 403
    assert limited.get("/v1/groups").status_code == 403
    assert limited.get("/v1/contracts").status_code == 200
