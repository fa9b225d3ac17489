"""Corrections on the next receivable from what earlier ones billed, through the closing:
the prorated credit for a cancellation inside a period billed in advance (RATING.md §3) and
usage that arrived for an already-issued period (§8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from kakin.billing.models import Receivable
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from kakin.usage.models import UsageRecord
from tests.billing.test_closing import _setup
from tests.factories.api import Api, advance_clock_to
from tests.factories.billing import run_closing
from tests.factories.catalog import code, create_service


def _receivable(api: Api, contract_id: str, month: str) -> dict[str, Any]:
    items = api.get("/v1/receivables", params={"contract_id": contract_id}).json()["items"]
    found = [r for r in items if r["billing_month"] == month]
    assert len(found) == 1, items
    detail: dict[str, Any] = api.get(f"/v1/receivables/{found[0]['id']}").json()
    return detail


def _finalize(api: Api, receivable: dict[str, Any]) -> None:
    response = api.post(f"/v1/receivables/{receivable['id']}/finalize")
    assert response.status_code == 200, response.text


def _advance_setup(api: Api) -> dict[str, str]:
    """An eom contract with a 3,000 yen monthly fee billed in advance, from 2026-10-01."""
    service = create_service(api)
    plan = api.created(
        "/v1/price-plans",
        {
            "code": code("ADV"),
            "name": "前払いプラン",
            "service_id": service["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [
                {"code": "base", "name": "月額基本料", "amount": "3000", "timing": "advance"}
            ],
        },
    )
    customer = api.created("/v1/customers", {"name": "前払 花子"})
    contract = api.created(
        "/v1/contracts",
        {"customer_id": customer["id"], "closing_day": "eom", "start_date": "2026-10-01"},
    )
    subscription = api.created(
        "/v1/subscriptions",
        {"contract_id": contract["id"], "price_plan_id": plan["id"], "start_date": "2026-10-01"},
    )
    return {"contract": contract["id"], "subscription": subscription["id"]}


def _lines(receivable: dict[str, Any], note: str) -> list[dict[str, Any]]:
    return [line for line in receivable["lines"] if line["note"] == note]


def test_a_cancellation_inside_a_period_billed_in_advance_is_credited_once_on_the_next_receivable(
    sandbox_api: Api,
) -> None:
    """RATING.md §3: "then a mid-period cancellation or downgrade gives a prorated credit
    line on the next receivable"."""
    api = sandbox_api  # it closes January 2027 too: the clock moves forward
    ids = _advance_setup(api)
    run_closing(api, "2026-11-01")
    october = _receivable(api, ids["contract"], "2026-10")
    advance = _lines(october, "in_advance")
    assert sorted((line["period_start"], line["amount"]) for line in advance) == [
        ("2026-10-01", "3000"),
        ("2026-11-01", "3000"),
    ]
    _finalize(api, october)
    cancelled = api.post(
        f"/v1/subscriptions/{ids['subscription']}/cancellations",
        json={"effective_date": "2026-11-15"},
    )
    assert cancelled.status_code == 201, cancelled.text

    run = run_closing(api, "2026-12-01")
    assert run["status"] == "completed", run
    november = _receivable(api, ids["contract"], "2026-11")
    settlements = _lines(november, "advance_settlement")
    assert [(s["amount"], s["period_start"], s["period_end"]) for s in settlements] == [
        ("-1500", "2026-11-01", "2026-11-30")  # 3,000 × 15 / 30 − 3,000
    ]
    assert november["subtotal"] == "-1500"
    assert _lines(november, "in_advance") == []
    assert _lines(november, "late_usage") == []

    run_closing(api, "2026-12-01")
    again = _receivable(api, ids["contract"], "2026-11")
    assert again["lines"] == november["lines"]

    _finalize(api, november)
    advance_clock_to(api, "2027-01-01")
    run_closing(api, "2027-01-01")
    december = _receivable(api, ids["contract"], "2026-12")
    assert _lines(december, "advance_settlement") == []
    assert december["subtotal"] == "0"


def test_a_period_billed_in_advance_without_changes_gets_no_settlement(api: Api) -> None:
    ids = _advance_setup(api)
    run_closing(api, "2026-11-01")
    _finalize(api, _receivable(api, ids["contract"], "2026-10"))
    run_closing(api, "2026-12-01")
    november = _receivable(api, ids["contract"], "2026-11")
    assert _lines(november, "advance_settlement") == []
    assert [line["period_start"] for line in _lines(november, "in_advance")] == ["2026-12-01"]


def test_usage_registered_for_an_issued_period_goes_once_onto_the_next_receivable(
    sandbox_api: Api,
) -> None:
    """RATING.md §8: "Usage that arrives for an already-rated period goes onto the next
    receivable as a usage line marked with its original period"."""
    api = sandbox_api  # it closes January 2027 too: the clock moves forward
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    october = _receivable(api, ids["contract"], "2026-10")
    _finalize(api, october)
    usage_lines = [line for line in october["lines"] if line["kind"] == "usage"]
    item = api.get(f"/v1/usage-records?subscription_id={ids['subscription']}").json()["items"][0]

    late = api.post(
        "/v1/usage-records/batch",
        json={
            "records": [
                {
                    "record_id": "late-1",
                    "subscription_id": ids["subscription"],
                    "usage_item": item["usage_item"],
                    "quantity": "128000",
                    "used_at": "2026-10-30T12:00:00+09:00",
                }
            ]
        },
    )
    assert late.status_code in (200, 201), late.text

    run = run_closing(api, "2026-12-01")
    assert run["status"] == "completed", run
    november = _receivable(api, ids["contract"], "2026-11")
    lates = _lines(november, "late_usage")
    assert len(lates) == 1, november["lines"]
    assert lates[0]["kind"] == "usage"
    assert lates[0]["original_billing_month"] == "2026-10"
    assert lates[0]["period_start"] == "2026-10-01"
    assert lates[0]["period_end"] == "2026-10-31"
    assert {"quantity", "amount"} <= set(lates[0])
    assert Decimal(lates[0]["amount"]) > 0
    assert sum(Decimal(line["amount"]) for line in usage_lines) > 0
    # the other usage of October was billed already: only the late record's part is added
    assert Decimal(lates[0]["amount"]) == sum(Decimal(line["amount"]) for line in usage_lines) // 3

    run_closing(api, "2026-12-01")
    again = _receivable(api, ids["contract"], "2026-11")
    assert len(_lines(again, "late_usage")) == 1
    assert again["lines"] == november["lines"]

    _finalize(api, again)
    advance_clock_to(api, "2027-01-01")
    run_closing(api, "2027-01-01")
    december = _receivable(api, ids["contract"], "2026-12")
    assert _lines(december, "late_usage") == []


def test_usage_already_rated_gives_no_late_usage_line(api: Api) -> None:
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    _finalize(api, _receivable(api, ids["contract"], "2026-10"))
    run_closing(api, "2026-12-01")
    assert _lines(_receivable(api, ids["contract"], "2026-11"), "late_usage") == []


def _record(api: Api, ids: dict[str, str], record_id: str, packets: int, used_at: str) -> None:
    item = api.get("/v1/usage-items").json()["items"][0]["code"]
    response = api.post(
        "/v1/usage-records/batch",
        json={
            "records": [
                {
                    "record_id": record_id,
                    "subscription_id": ids["subscription"],
                    "usage_item": item,
                    "quantity": str(packets * 128),  # 1 packet = 128 bytes
                    "used_at": used_at,
                }
            ]
        },
    )
    assert response.status_code in (200, 201), response.text


def _top_up(api: Api, ids: dict[str, str], quantity: str, bought_on: str) -> None:
    item = api.get("/v1/usage-items").json()["items"][0]["code"]
    api.created(
        f"/v1/subscriptions/{ids['subscription']}/top-ups",
        {"usage_item": item, "quantity": quantity, "price": "500", "bought_on": bought_on},
    )


def _amounts(lines: list[dict[str, Any]]) -> list[Decimal]:
    return [Decimal(str(line["amount"])) for line in lines]


def test_re_rating_a_period_for_late_usage_keeps_its_top_ups(api: Api) -> None:
    """RATING.md §8: "the original period's usage charge is rated again with every record
    known now (its top-ups and allowance included) … and the line is that amount minus what
    was billed for it". October: 8,000 packets at 0.05, 4,000 of them topped up → 200.
    120 late packets → (8,120 − 4,000) × 0.05 = 206, so 6 is owed (not 206)."""
    ids = _setup(api)  # 3,000 packets in October
    _record(api, ids, "more", 5000, "2026-10-26T12:00:00+09:00")
    _top_up(api, ids, "4000", "2026-10-23")
    run_closing(api, "2026-11-01")
    october = _receivable(api, ids["contract"], "2026-10")
    assert _amounts([ln for ln in october["lines"] if ln["kind"] == "usage"]) == [Decimal(200)]
    _finalize(api, october)

    _record(api, ids, "late", 120, "2026-10-30T12:00:00+09:00")
    run_closing(api, "2026-12-01")
    november = _receivable(api, ids["contract"], "2026-11")
    assert _amounts(_lines(november, "late_usage")) == [Decimal(6)]


def test_a_closing_without_late_usage_emits_no_late_line_even_for_a_topped_up_period(
    sandbox_api: Api,
) -> None:
    """RATING.md §8: only usage "that arrives for an already-rated period" gives a late
    line: records registered just before the closing that rated them are no late usage,
    on the next closing or on a rerun of it."""
    api = sandbox_api  # it closes months after today: the clock moves forward
    ids = _setup(api)
    _top_up(api, ids, "1000", "2026-10-23")
    _close_on(api, "2026-11-01")
    _finalize(api, _receivable(api, ids["contract"], "2026-10"))
    _close_on(api, "2026-12-01")
    assert _lines(_receivable(api, ids["contract"], "2026-11"), "late_usage") == []
    _close_on(api, "2026-12-01")
    november = _receivable(api, ids["contract"], "2026-11")
    assert _lines(november, "late_usage") == []
    _finalize(api, november)
    _close_on(api, "2027-01-01")
    assert _lines(_receivable(api, ids["contract"], "2026-12"), "late_usage") == []


def test_late_usage_of_any_age_goes_onto_the_next_receivable(sandbox_api: Api) -> None:
    """RATING.md §8: "Usage that arrives for an already-rated period, however late, goes
    onto the next receivable as a usage line marked with its original period". October is
    five closings back when 1,000 more of its packets arrive: 1,000 × 0.05 = 50."""
    api = sandbox_api  # it closes months after today: the clock moves forward
    ids = _setup(api)
    closing_dates = ["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01", "2027-03-01"]
    for closing_date in closing_dates:
        _close_on(api, closing_date)
        month = f"{int(closing_date[:4]) - (closing_date[5:7] == '01')}-"
        month += f"{(int(closing_date[5:7]) - 2) % 12 + 1:02d}"
        _finalize(api, _receivable(api, ids["contract"], month))
    _record(api, ids, "very-late", 1000, "2026-10-31T23:59:00+09:00")
    run = _close_on(api, "2027-04-01")
    assert run["status"] == "completed", run
    march = _receivable(api, ids["contract"], "2027-03")
    lates = _lines(march, "late_usage")
    assert [(ln["original_billing_month"], Decimal(str(ln["amount"]))) for ln in lates] == [
        ("2026-10", Decimal(50))
    ]
    _finalize(api, march)
    _close_on(api, "2027-05-01")
    assert _lines(_receivable(api, ids["contract"], "2027-04"), "late_usage") == []


def _age(runtime: Runtime, tenant_id: str, receivable_id: str, late_record: str) -> None:
    """Move the clock back: October's records came four hours ago, October was rated three
    hours ago, `late_record` came two hours ago (all well before November's closing, beyond
    any margin)."""
    with tenant_session(runtime.sessions, tenant_id) as session:
        receivable = session.scalars(select(Receivable).where(Receivable.id == receivable_id)).one()
        receivable.created_at -= dt.timedelta(hours=3)
        for record in session.scalars(select(UsageRecord)).all():
            hours = 2 if record.record_id == late_record else 4
            session.execute(
                update(UsageRecord)
                .where(UsageRecord.record_id == record.record_id)
                .values(created_at=record.created_at - dt.timedelta(hours=hours))
            )


def test_usage_of_a_period_issued_after_a_later_closing_is_still_billed_late(
    sandbox_api: Api, runtime: Runtime
) -> None:
    """October is still a draft when November closes, got 1,000 more packets before that
    and is issued without a rerun: the records it never rated (1,000 × 0.05 = 50) go onto
    the next receivable all the same (RATING.md §8)."""
    api = sandbox_api  # it closes months after today: the clock moves forward
    ids = _setup(api)
    _close_on(api, "2026-11-01")
    _record(api, ids, "unrated", 1000, "2026-10-30T12:00:00+09:00")
    october = _receivable(api, ids["contract"], "2026-10")
    _age(runtime, api.tenant_id, october["id"], "unrated")
    _close_on(api, "2026-12-01")
    _finalize(api, october)
    november = _receivable(api, ids["contract"], "2026-11")
    assert _lines(november, "late_usage") == []
    _finalize(api, november)
    _close_on(api, "2027-01-01")
    december = _receivable(api, ids["contract"], "2026-12")
    lates = _lines(december, "late_usage")
    assert [(ln["original_billing_month"], Decimal(str(ln["amount"]))) for ln in lates] == [
        ("2026-10", Decimal(50))
    ]


def _close_on(api: Api, day: str) -> dict[str, Any]:
    """A closing on `day` of a sandbox tenant, its clock moved there first."""
    advance_clock_to(api, day)
    return run_closing(api, day)
