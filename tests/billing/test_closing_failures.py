"""A closing that meets a contract it cannot rate or write fails that contract alone, with
its reason on the run, and bills all the others (issue 6 §3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text, update

from kakin.catalog.models import PricePlanVersion
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from tests.billing.test_closing import _setup
from tests.factories.api import Api
from tests.factories.billing import run_closing


def _receivables(api: Api, contract_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(
        "/v1/receivables", params={"contract_id": contract_id}
    ).json()["items"]
    return items


def _poison_fee(api: Api, runtime: Runtime, subscription_id: str, amount: str) -> None:
    """Store a fee amount the API would refuse (10^20 yen: rated exactly, but more than a
    receivable can hold; or no number at all)."""
    plan_id = api.get(f"/v1/subscriptions/{subscription_id}").json()["price_plan_id"]
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        version = session.query(PricePlanVersion).filter_by(price_plan_id=plan_id).one()
        components = dict(version.components)
        components["recurring_fees"] = [
            fee | {"amount": amount} for fee in components["recurring_fees"]
        ]
        session.execute(
            update(PricePlanVersion)
            .where(PricePlanVersion.id == version.id)
            .values(components=components)
        )


@contextmanager
def _refused_write(runtime: Runtime, contract_id: str) -> Iterator[None]:
    """The database refuses the receivable of one contract (a real error of the database,
    raised by a trigger), as a full disk or a broken constraint would."""
    postgresql = runtime.engine.dialect.name == "postgresql"
    with runtime.engine.begin() as connection:
        if postgresql:
            connection.execute(
                text(
                    "CREATE OR REPLACE FUNCTION test_refuse_receivable() RETURNS trigger"
                    " AS $$ BEGIN RAISE EXCEPTION 'refused by the database'; END $$"
                    " LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER test_refuse_receivable BEFORE INSERT ON receivables"
                    f" FOR EACH ROW WHEN (NEW.contract_id = '{contract_id}')"
                    " EXECUTE FUNCTION test_refuse_receivable()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER test_refuse_receivable BEFORE INSERT ON receivables"
                    f" WHEN NEW.contract_id = '{contract_id}'"
                    " BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
                )
            )
    try:
        yield
    finally:
        with runtime.engine.begin() as connection:
            if postgresql:
                connection.execute(text("DROP TRIGGER test_refuse_receivable ON receivables"))
            else:
                connection.execute(text("DROP TRIGGER test_refuse_receivable"))


def test_one_contract_that_cannot_be_rated_or_written_fails_alone(
    api: Api, runtime: Runtime
) -> None:
    healthy = [_setup(api, record_prefix=f"ok{n}") for n in range(3)]
    huge = _setup(api, record_prefix="huge")
    refused = _setup(api, record_prefix="refused")
    garbled = _setup(api, record_prefix="garbled")
    _poison_fee(api, runtime, huge["subscription"], "100000000000000000000")
    _poison_fee(api, runtime, garbled["subscription"], "three thousand")

    with _refused_write(runtime, refused["contract"]):
        run = run_closing(api, "2026-11-01")

    assert run["status"] == "completed_with_errors", run
    assert run["contracts_failed"] == 3
    reasons = {e["contract_id"]: e["reason"] for e in run["errors"]}
    assert set(reasons) == {huge["contract"], refused["contract"], garbled["contract"]}
    # refused when its plan is read back (kakin.kit.bounds), or when its amount is written
    assert "out of range" in reasons[huge["contract"]] or "10^12" in reasons[huge["contract"]]
    assert "recurring_fees" in reasons[garbled["contract"]]
    assert "refused by the database" in reasons[refused["contract"]]
    for ids in healthy:
        (receivable,) = _receivables(api, ids["contract"])
        assert receivable["billing_month"] == "2026-10"
    assert _receivables(api, huge["contract"]) == []
    assert _receivables(api, refused["contract"]) == []

    # once the cause is gone, a rerun bills the contract it could not write
    assert run_closing(api, "2026-11-01")["contracts_failed"] == 2
    assert len(_receivables(api, refused["contract"])) == 1
