"""Builders for usage tests: the subscriptions and usage items usage records point at.

Inserted directly (the minimum rows the usage domain reads), so these tests do not depend
on the contracts and catalog routes; records themselves go through the API or the CLI.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kakin.catalog.models import PricePlan, Service, UsageItem
from kakin.contracts.models import Contract, Subscription
from kakin.kit.db import tenant_session
from kakin.kit.ids import new_id
from kakin.runtime import Runtime
from tests.factories.api import Api

_serial = itertools.count(1)


@dataclass(frozen=True)
class Sub:
    id: str
    contract_id: str
    external_ref: str | None


def new_subscription(
    runtime: Runtime,
    tenant_id: str,
    *,
    start: str = "2026-10-01",
    end: str | None = None,
    external_ref: str | None = None,
    contract_id: str | None = None,
) -> Sub:
    """A subscription (of a fresh contract unless `contract_id`) living `start`…`end`."""
    with tenant_session(runtime.sessions, tenant_id) as session:
        if contract_id is None:
            contract = Contract(
                id=new_id("con"),
                external_customer_id=new_id("ext"),
                closing_day="eom",
                currency="JPY",
                start_date=dt.date.fromisoformat(start),
            )
            session.add(contract)
            session.flush()
            contract_id = contract.id
        service = Service(id=new_id("svc"), code=new_id("S"), name="line")
        session.add(service)
        session.flush()
        plan = PricePlan(
            id=new_id("pp"), code=new_id("P"), name="plan", service_id=service.id, currency="JPY"
        )
        session.add(plan)
        session.flush()
        sub = Subscription(
            id=new_id("sub"),
            contract_id=contract_id,
            price_plan_id=plan.id,
            quantity=1,
            start_date=dt.date.fromisoformat(start),
            end_date=dt.date.fromisoformat(end) if end else None,
            external_ref=external_ref,
        )
        session.add(sub)
        return Sub(sub.id, contract_id, external_ref)


def new_usage_item(
    runtime: Runtime, tenant_id: str, *, code: str | None = None, rating: str = "per_total"
) -> tuple[str, str]:
    """(id, code) of a usage item: 1 unit = 1 raw unit."""
    code = code or f"ITEM-{next(_serial)}"
    with tenant_session(runtime.sessions, tenant_id) as session:
        item = UsageItem(
            id=new_id("uit"),
            code=code,
            name=code,
            unit=Decimal(1),
            unit_name="unit",
            rating=rating,
        )
        session.add(item)
        return item.id, code


def record(
    sub: Sub | None,
    item_code: str,
    quantity: str = "1",
    used_at: str = "2026-11-10T12:00:00+09:00",
    record_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A usage record body addressed by subscription id."""
    body: dict[str, Any] = {
        "record_id": record_id or f"rec-{next(_serial)}",
        "usage_item": item_code,
        "quantity": quantity,
        "used_at": used_at,
    }
    if sub is not None:
        body["subscription_id"] = sub.id
    return body | overrides


def register_records(api: Api, records: list[dict[str, Any]]) -> None:
    """Register `records` in one batch, insisting it is accepted."""
    response = api.post("/v1/usage-records/batch", json={"records": records})
    assert response.status_code == 200, response.text
