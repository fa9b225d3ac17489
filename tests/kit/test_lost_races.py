"""A change that loses a race for its row is a 412 (with If-Match) or a 409, never a 500 —
one mechanism at the request edge for every resource (issue 6 §2; kit.concurrency).

Each test holds a transaction that changes the row (uncommitted), sends the PATCH meanwhile
with the ETag both read, then commits: the PATCH was waiting for the row and finds it
changed. On SQLite the same race ends in SQLITE_BUSY_SNAPSHOT. The same races between
real concurrent clients are tests/test_concurrency.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from kakin.catalog.models import DiscountTable, PricePlan, Service, TaxCategory, UsageItem
from kakin.contracts.models import Contract
from kakin.customers.models import Customer, Group
from kakin.kit.db import tenant_session, utcnow
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from tests.factories.api import Api
from tests.factories.catalog import code
from tests.factories.contracts import new_discount_table, new_price_plan
from tests.factories.usage import new_usage_item

HOLD_SECONDS = 0.5
"""How long the held transaction keeps its change open while the PATCH runs."""


Race = tuple[str, type[Any], dict[str, Any], dict[str, Any]]
"""(the resource's path, its model, the filter finding its row, a change to PATCH)."""


def _customer(api: Api, _runtime: Runtime) -> Race:
    row = api.created("/v1/customers", {"name": "競合 太郎"})
    return f"/v1/customers/{row['id']}", Customer, {"id": row["id"]}, {"name": "競合 次郎"}


def _group(api: Api, _runtime: Runtime) -> Race:
    row = api.created("/v1/groups", {"name": "group"})
    return f"/v1/groups/{row['id']}", Group, {"id": row["id"]}, {"name": "renamed"}


def _service(api: Api, _runtime: Runtime) -> Race:
    row = api.created("/v1/services", {"code": code("S"), "name": "line"})
    return f"/v1/services/{row['id']}", Service, {"id": row["id"]}, {"name": "renamed"}


def _usage_item(api: Api, runtime: Runtime) -> Race:
    item_id, _ = new_usage_item(runtime, api.tenant_id)
    return f"/v1/usage-items/{item_id}", UsageItem, {"id": item_id}, {"name": "renamed"}


def _discount_table(api: Api, runtime: Runtime) -> Race:
    table_id = new_discount_table(runtime, api)
    return f"/v1/discount-tables/{table_id}", DiscountTable, {"id": table_id}, {"name": "x"}


def _price_plan(api: Api, runtime: Runtime) -> Race:
    plan_id = new_price_plan(runtime, api)
    return f"/v1/price-plans/{plan_id}", PricePlan, {"id": plan_id}, {"name": "renamed"}


def _tax_category(_api: Api, _runtime: Runtime) -> Race:
    return "/v1/tax-categories/standard", TaxCategory, {"code": "standard"}, {"name": "標準"}


def _contract(api: Api, _runtime: Runtime) -> Race:
    body = {"external_customer_id": "ext-1", "start_date": "2026-10-01"}
    row = api.created("/v1/contracts", body)
    return f"/v1/contracts/{row['id']}", Contract, {"id": row["id"]}, {"invoice_delivery": "post"}


def _tenant(_api: Api, _runtime: Runtime) -> Race:
    return "/v1/tenant", Tenant, {}, {"issuer_name": "株式会社 競合"}


RACES = [
    _customer,
    _group,
    _service,
    _usage_item,
    _discount_table,
    _price_plan,
    _tax_category,
    _contract,
    _tenant,
]


@pytest.mark.parametrize("make", RACES)
@pytest.mark.parametrize("if_match", [True, False], ids=["if-match", "no-if-match"])
def test_a_patch_that_loses_the_race_for_its_row_is_412_or_409(
    api: Api,
    runtime: Runtime,
    make: Callable[[Api, Runtime], Race],
    if_match: bool,
) -> None:
    path, model, where, change = make(api, runtime)
    etag = api.get(path).headers["ETag"]
    headers = {"If-Match": etag} if if_match else {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[Any]
        with tenant_session(runtime.sessions, api.tenant_id) as session:
            row = session.query(model).filter_by(**where).one()
            row.updated_at = utcnow()
            session.flush()  # the row is ours (PostgreSQL: locked) until this block commits
            started = threading.Event()

            def patch() -> Any:
                started.set()
                return api.patch(path, json=change, headers=headers)

            pending = pool.submit(patch)
            started.wait()
            time.sleep(HOLD_SECONDS)
        response = pending.result(timeout=60)
    assert response.status_code == (412 if if_match else 409), response.text
    assert response.headers["content-type"] == "application/problem+json"
    # The race is lost, not the resource: a PATCH with the new ETag passes.
    fresh = api.get(path).headers["ETag"]
    assert fresh != etag
    retried = api.patch(path, json=change, headers={"If-Match": fresh})
    assert retried.status_code == 200, retried.text


CODE_RACES = [_service, _usage_item, _discount_table, _price_plan]


@pytest.mark.parametrize("make", CODE_RACES)
def test_a_rename_to_a_code_another_transaction_is_taking_is_409(
    api: Api, runtime: Runtime, make: Callable[[Api, Runtime], Race]
) -> None:
    """Two masters renamed to one code at once: the code check of the later one cannot see
    the earlier one's uncommitted row, so the unique key decides — 409, never a 500."""
    _, model, first, _ = make(api, runtime)
    path, _, _, _ = make(api, runtime)
    taken = code("TAKEN")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[Any]
        with tenant_session(runtime.sessions, api.tenant_id) as session:
            session.query(model).filter_by(**first).one().code = taken
            session.flush()  # the code is ours (PostgreSQL: its key is locked) until commit
            started = threading.Event()

            def patch() -> Any:
                started.set()
                return api.patch(path, json={"code": taken})

            pending = pool.submit(patch)
            started.wait()
            time.sleep(HOLD_SECONDS)
        response = pending.result(timeout=60)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert api.get(path).json()["code"] != taken
