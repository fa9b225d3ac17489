"""Seed 004 (退会): a customer with contracts in use cannot be deleted."""

from __future__ import annotations

import datetime as dt

from kakin.contracts.models import Contract
from kakin.kit.db import tenant_session
from kakin.kit.ids import new_id
from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.customers import create_customer


def _add_contract(
    runtime: Runtime,
    api: Api,
    customer_id: str,
    status: str = "active",
    start: dt.date = dt.date(2026, 1, 1),
    end: dt.date | None = None,
) -> str:
    contract_id = new_id("con")
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        session.add(
            Contract(
                id=contract_id,
                customer_id=customer_id,
                closing_day="eom",
                currency="JPY",
                start_date=start,
                end_date=end,
                status=status,
            )
        )
    return contract_id


def test_customer_with_active_contracts_cannot_be_deleted(api: Api, runtime: Runtime) -> None:
    customer = create_customer(api)
    first = _add_contract(runtime, api, customer["id"])
    future = _add_contract(runtime, api, customer["id"], start=dt.date.today() + dt.timedelta(30))
    response = api.delete(f"/v1/customers/{customer['id']}")
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/customer-has-active-contracts"
    assert problem["contract_ids"] == sorted([first, future])
    assert api.get(f"/v1/customers/{customer['id']}").json()["status"] == "active"


def test_cancelled_and_ended_contracts_do_not_block_deletion(api: Api, runtime: Runtime) -> None:
    customer = create_customer(api)
    _add_contract(runtime, api, customer["id"], status="cancelled")
    today = dt.date.today()
    _add_contract(
        runtime,
        api,
        customer["id"],
        start=today - dt.timedelta(days=60),
        end=today - dt.timedelta(days=30),
    )
    assert api.delete(f"/v1/customers/{customer['id']}").status_code == 204


def test_another_customers_contract_does_not_block_deletion(api: Api, runtime: Runtime) -> None:
    customer, other = create_customer(api), create_customer(api)
    _add_contract(runtime, api, other["id"])
    assert api.delete(f"/v1/customers/{customer['id']}").status_code == 204
