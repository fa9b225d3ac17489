"""Builders for contract tests: catalog masters inserted directly, contracts through the API.

The catalog's HTTP routes were still being written when these tests were; the masters
here are the minimum rows the contracts domain reads (a service, a price plan with one
version naming its component codes, a discount table).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kakin.catalog.models import DiscountTable, PricePlan, PricePlanVersion, Service
from kakin.kit.db import tenant_session
from kakin.kit.ids import new_id
from kakin.runtime import Runtime
from tests.factories.api import Api


def new_price_plan(
    runtime: Runtime,
    api: Api,
    *,
    currency: str = "JPY",
    codes: tuple[str, ...] = ("base",),
    status: str = "active",
    effective_from: dt.date = dt.date(2000, 1, 1),
) -> str:
    """A price plan (of a fresh service) with one version whose recurring fees are `codes`."""
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        service = Service(id=new_id("svc"), code=new_id("S"), name="internet")
        session.add(service)
        session.flush()
        plan = PricePlan(
            id=new_id("pp"),
            code=new_id("P"),
            name="plan",
            service_id=service.id,
            currency=currency,
            status=status,
        )
        session.add(plan)
        session.flush()
        fees = [
            {"code": code, "name": code, "amount": "1000", "tax_category": "standard"}
            for code in codes
        ]
        session.add(
            PricePlanVersion(
                id=new_id("ppv"),
                price_plan_id=plan.id,
                effective_from=effective_from,
                components={"proration": "daily", "recurring_fees": fees},
            )
        )
        return plan.id


def new_discount_table(
    runtime: Runtime, api: Api, *, scope: str = "all", currency: str | None = None
) -> str:
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        table = DiscountTable(
            id=new_id("dt"),
            code=new_id("D"),
            name="discount",
            kind="fixed_amount" if currency else "fixed_rate",
            rate=None if currency else 10,
            amount=100 if currency else None,
            currency=currency,
            scope=scope,
        )
        session.add(table)
        return table.id


def new_contract(api: Api, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"external_customer_id": new_id("ext"), "start_date": "2026-10-01"}
    if "customer_id" in fields:
        body.pop("external_customer_id")
    return api.created("/v1/contracts", body | fields)


def new_subscription(
    api: Api, contract_id: str, price_plan_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"contract_id": contract_id, "price_plan_id": price_plan_id, "start_date": "2026-10-01"}
    return api.created("/v1/subscriptions", body | fields)
