"""Builders for closing tests, through the API: running a closing, and the contract the
billing tests share."""

from __future__ import annotations

import time
from typing import Any

from tests.factories.api import Api


def run_closing(api: Api, closing_date: str) -> dict[str, Any]:
    """Start a closing run through the API and wait (30 s at most) until it has finished;
    returns the run as the API shows it."""
    started = api.post("/v1/closing-runs", json={"closing_date": closing_date})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + 30
    while True:
        run: dict[str, Any] = api.get(f"/v1/closing-runs/{run_id}").json()
        if run["status"] not in ("pending", "running"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def subscribe_with_usage(
    api: Api, plan_id: str, item_code: str, *, customer_name: str, record_prefix: str
) -> dict[str, str]:
    """An eom-closing contract from 2026-10-01 with one subscription to `plan_id` from
    2026-10-22, and 128,000 bytes of `item_code` on each of Oct 22, 23 and 24 (JST)."""
    customer = api.created("/v1/customers", {"name": customer_name})
    contract = api.created(
        "/v1/contracts",
        {"customer_id": customer["id"], "closing_day": "eom", "start_date": "2026-10-01"},
    )
    subscription = api.created(
        "/v1/subscriptions",
        {"contract_id": contract["id"], "price_plan_id": plan_id, "start_date": "2026-10-22"},
    )
    records: list[dict[str, Any]] = [
        {
            "record_id": f"{record_prefix}-{n}",
            "subscription_id": subscription["id"],
            "usage_item": item_code,
            "quantity": "128000",
            "used_at": f"2026-10-{22 + n}T12:00:00+09:00",
        }
        for n in range(3)
    ]
    batch = api.post("/v1/usage-records/batch", json={"records": records})
    assert batch.status_code in (200, 201), batch.text
    return {"contract": contract["id"], "subscription": subscription["id"]}
