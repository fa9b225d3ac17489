"""Credit notes never take back more than the receivable they credit, and are listable;
an adjustment names one of its contract's subscriptions (issue 6 §1)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from kakin.billing.errors import CreditExceedsReceivable
from kakin.billing.schemas import CreditNoteIn
from kakin.billing.service import get_receivable, issue_credit_note
from kakin.catalog.service import tax_rates
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from kakin.tenancy.service import get_tenant
from tests.billing.test_closing import _setup
from tests.factories.api import Api
from tests.factories.billing import run_closing


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def _issued(api: Api, prefix: str = "u") -> tuple[dict[str, str], dict[str, Any]]:
    """An open receivable of 4,450 + 445 tax = 4,895 (see test_closing)."""
    ids = _setup(api, record_prefix=prefix)
    run_closing(api, "2026-11-01")
    (receivable,) = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ]
    finalized = api.post(f"/v1/receivables/{receivable['id']}/finalize")
    assert finalized.status_code == 200, finalized.text
    assert money(finalized.json()["total"]) == Decimal(4895)
    return ids, finalized.json()


def _credit(api: Api, receivable_id: str, amount: str) -> Any:
    return api.post(
        f"/v1/receivables/{receivable_id}/credit-notes",
        json={"reason": "返金", "lines": [{"description": "返金", "amount": amount}]},
    )


def test_credit_notes_never_exceed_the_receivable_and_show_on_it(api: Api) -> None:
    ids, receivable = _issued(api)
    assert money(receivable["credited"]) == 0
    assert money(receivable["balance"]) == Decimal(4895)

    first = _credit(api, receivable["id"], "3000")  # 3,000 + 300 tax
    assert first.status_code == 201, first.text
    refused = _credit(api, receivable["id"], "1500")  # 1,650 > 1,595 left
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/credit-exceeds-receivable")
    assert "1595" in problem["detail"]
    last = _credit(api, receivable["id"], "1450")  # 1,450 + 145 = 1,595: exactly the rest
    assert last.status_code == 201, last.text
    assert _credit(api, receivable["id"], "1").status_code == 409

    shown = api.get(f"/v1/receivables/{receivable['id']}").json()
    assert money(shown["credited"]) == Decimal(4895)
    assert money(shown["balance"]) == 0
    (listed,) = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()["items"]
    assert (money(listed["credited"]), money(listed["balance"])) == (Decimal(4895), Decimal(0))


def test_credit_notes_are_listed_with_filters_and_a_cursor(api: Api, other_api: Api) -> None:
    ids, receivable = _issued(api)
    _, another = _issued(api, "another")
    notes = [_credit(api, receivable["id"], "100").json() for _ in range(3)]
    elsewhere = _credit(api, another["id"], "100").json()

    of_receivable = api.get(f"/v1/receivables/{receivable['id']}/credit-notes").json()
    assert [n["id"] for n in of_receivable["items"]] == sorted(n["id"] for n in notes)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"contract_id": ids["contract"], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/credit-notes", params=params).json()
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(n["id"] for n in notes)

    everything = api.get("/v1/credit-notes").json()["items"]
    assert {n["id"] for n in everything} == {n["id"] for n in notes} | {elsewhere["id"]}
    by_receivable = api.get("/v1/credit-notes", params={"receivable_id": another["id"]})
    assert [n["id"] for n in by_receivable.json()["items"]] == [elsewhere["id"]]
    customer = receivable["customer_id"]
    by_customer = api.get("/v1/credit-notes", params={"customer_id": customer}).json()
    assert len(by_customer["items"]) == 3
    issued_on = notes[0]["issued_on"]
    dated = api.get("/v1/credit-notes", params={"issued_from": issued_on, "issued_to": issued_on})
    assert len(dated.json()["items"]) == 4
    assert api.get("/v1/credit-notes", params={"issued_to": "2000-01-01"}).json()["items"] == []
    # tenants are walls
    assert other_api.get("/v1/credit-notes").json()["items"] == []
    assert other_api.get(f"/v1/receivables/{receivable['id']}/credit-notes").status_code == 404


def test_concurrent_credit_notes_never_exceed_the_receivable(
    api: Api, runtime: Runtime, database_url: str
) -> None:
    """The receivable's row is locked while a credit note is checked against it: of ten
    concurrent notes of 1,100 on a total of 4,895, exactly four are issued."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer)")
    _, receivable = _issued(api)
    body = CreditNoteIn.model_validate(
        {"reason": "返金", "lines": [{"description": "返金", "amount": "1000"}]}
    )
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def credit() -> None:
        start.wait()
        try:
            with tenant_session(runtime.sessions, api.tenant_id) as session:
                issue_credit_note(
                    session,
                    runtime.keyring.cipher(api.tenant_id),
                    get_tenant(session),
                    get_receivable(session, receivable["id"], for_update=True),
                    body,
                    tax_rates(session),
                )
            outcomes.append("issued")
        except CreditExceedsReceivable:
            outcomes.append("refused")

    threads = [threading.Thread(target=credit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["issued"] * 4 + ["refused"] * 6
    shown = api.get(f"/v1/receivables/{receivable['id']}").json()
    assert money(shown["credited"]) == Decimal(4400)
    notes = api.get(f"/v1/receivables/{receivable['id']}/credit-notes").json()["items"]
    assert len(notes) == 4


def test_an_adjustment_names_one_of_the_contracts_subscriptions(api: Api) -> None:
    ids = _setup(api)
    other = _setup(api, record_prefix="other")
    path = f"/v1/contracts/{ids['contract']}/adjustments"
    body = {"amount": "-500", "reason": "お詫び"}

    refused = api.post(path, json=body | {"subscription_id": other["subscription"]})
    assert refused.status_code == 422, refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/body/subscription_id"]
    unknown = api.post(path, json=body | {"subscription_id": "sub_nope"})
    assert unknown.status_code == 422, unknown.text
    assert api.get(path).json()["items"] == []

    own = api.post(path, json=body | {"subscription_id": ids["subscription"]})
    assert own.status_code == 201, own.text
    assert api.post(path, json=body).status_code == 201  # the whole contract


def test_the_audit_trail_shows_adjustments_and_credit_notes_as_the_api_does(api: Api) -> None:
    """Money in the trail is the API's: a decimal string in the currency's major unit,
    not the stored minor units."""
    ids, receivable = _issued(api)
    adjustment = api.created(
        f"/v1/contracts/{ids['contract']}/adjustments", {"amount": "-500", "reason": "お詫び"}
    )
    note = _credit(api, receivable["id"], "3000")
    assert note.status_code == 201, note.text

    def after(resource_id: str) -> dict[str, Any]:
        events = api.get("/v1/audit-events", params={"resource_id": resource_id}).json()
        (event,) = events["items"]
        result: dict[str, Any] = event["after"]
        return result

    assert after(adjustment["id"])["amount"] == adjustment["amount"] == "-500"
    assert after(note.json()["id"])["total"] == note.json()["total"] == "3300"
