"""The one period guard (RATING.md §8): billing closes a contract's periods through the
last day of each receivable it issues; contracts refuses changes on or before it."""

from __future__ import annotations

import datetime as dt

import pytest

from kakin.contracts.errors import PeriodClosed
from kakin.contracts.service import close_period, ensure_period_open, get_contract
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.contracts import new_contract


def test_a_period_closes_through_its_last_day_and_an_earlier_one_never_reopens_it(
    api: Api, runtime: Runtime
) -> None:
    contract_id = new_contract(api)["id"]
    etag = api.get(f"/v1/contracts/{contract_id}").headers["ETag"]
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        contract = get_contract(session, contract_id)
        ensure_period_open(session, contract, dt.date(2026, 10, 1))  # nothing issued yet
        close_period(session, contract_id, dt.date(2026, 11, 30))
        close_period(session, contract_id, dt.date(2026, 10, 31))  # issued late: no change
        with pytest.raises(PeriodClosed):
            ensure_period_open(session, contract, dt.date(2026, 11, 30))
        ensure_period_open(session, contract, dt.date(2026, 12, 1))
    # billing's fact is no change of the contract a client could have read
    assert api.get(f"/v1/contracts/{contract_id}").headers["ETag"] == etag
