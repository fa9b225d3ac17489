"""Seed 004 (退会): a customer with contracts in use cannot be deleted."""

from __future__ import annotations

import datetime as dt

from tests.factories.api import Api
from tests.factories.contracts import new_contract
from tests.factories.customers import create_customer


def _contract(api: Api, customer_id: str, start: dt.date, end: dt.date | None = None) -> str:
    fields = {"end_date": end.isoformat()} if end else {}
    return new_contract(api, customer_id=customer_id, start_date=start.isoformat(), **fields)["id"]


def test_customer_with_active_contracts_cannot_be_deleted(api: Api) -> None:
    customer = create_customer(api)
    first = _contract(api, customer["id"], dt.date(2026, 1, 1))
    future = _contract(api, customer["id"], dt.date.today() + dt.timedelta(30))
    response = api.delete(f"/v1/customers/{customer['id']}")
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/customer-has-active-contracts"
    assert problem["contract_ids"] == sorted([first, future])
    assert api.get(f"/v1/customers/{customer['id']}").json()["status"] == "active"


def test_cancelled_and_ended_contracts_do_not_block_deletion(api: Api) -> None:
    customer = create_customer(api)
    cancelled = _contract(api, customer["id"], dt.date(2026, 1, 1))
    assert api.delete(f"/v1/contracts/{cancelled}").status_code == 204
    today = dt.date.today()
    _contract(api, customer["id"], today - dt.timedelta(days=60), today - dt.timedelta(days=30))
    assert api.delete(f"/v1/customers/{customer['id']}").status_code == 204


def test_another_customers_contract_does_not_block_deletion(api: Api) -> None:
    customer, other = create_customer(api), create_customer(api)
    _contract(api, other["id"], dt.date(2026, 1, 1))
    assert api.delete(f"/v1/customers/{customer['id']}").status_code == 204
