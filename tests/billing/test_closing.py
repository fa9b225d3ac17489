"""The closing batch end to end through the API: receivables and lines that explain every
yen, a rerun that changes nothing, issued receivables never rewritten (RATING.md §2, §8)."""

from __future__ import annotations

import io
from decimal import Decimal

from pypdf import PdfReader

from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from tests.factories.api import Api
from tests.factories.billing import run_closing, subscribe_with_usage
from tests.factories.catalog import code, create_service, create_tariff, create_usage_item


def _setup(api: Api, record_prefix: str = "u") -> dict[str, str]:
    """An eom-closing contract whose internet subscription starts mid-October, with
    packet usage on a per-unit tariff (0.05 yen per 128-byte packet)."""
    service = create_service(api)
    item = create_usage_item(api)
    tariff = create_tariff(api)
    plan = api.created(
        "/v1/price-plans",
        {
            "code": code("HOME"),
            "name": "光ホーム",
            "service_id": service["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "3100"}],
            "one_time_fees": [{"code": "setup", "name": "契約事務手数料", "amount": "3300"}],
            "usage_charges": [{"usage_item": item["id"], "tariff_id": tariff["id"]}],
        },
    )
    return subscribe_with_usage(
        api, plan["id"], item["code"], customer_name="締め 太郎", record_prefix=record_prefix
    )


def test_closing_rates_a_partial_month_with_usage_and_one_time_fee(api: Api) -> None:
    ids = _setup(api)
    run = run_closing(api, "2026-11-01")
    assert run["status"] == "completed", run
    assert run["contracts_total"] == run["contracts_done"] == 1
    page = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()
    assert len(page["items"]) == 1
    receivable = api.get(f"/v1/receivables/{page['items'][0]['id']}").json()
    assert receivable["billing_month"] == "2026-10"
    assert receivable["period_start"] == "2026-10-01"
    assert receivable["period_end"] == "2026-10-31"
    assert receivable["status"] == "draft"
    amounts = {line["kind"]: line["amount"] for line in receivable["lines"]}
    # RATING.md §3: 3,100 × 10 active days (22nd–31st) / 31 = 1,000
    assert amounts["recurring"] == "1000"
    # RATING.md §3: one-time fees are billed on the first closing after they are incurred
    assert amounts["one_time"] == "3300"
    # RATING.md §4: 384,000 bytes / 128 = 3,000 packets × 0.05 = 150
    assert amounts["usage"] == "150"
    # RATING.md §8: the lines add up to the receivable's pre-tax total, exactly
    assert sum(Decimal(line["amount"]) for line in receivable["lines"]) == Decimal(
        receivable["subtotal"]
    )
    # one money convention: a decimal string in the major unit
    assert receivable["subtotal"] == "4450"
    # RATING.md §7: tax once per rate: floor(4,450 × 10 %) = 445
    assert receivable["tax_total"] == "445"
    assert receivable["total"] == "4895"


def test_running_the_closing_again_changes_nothing(api: Api) -> None:
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    first = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()["items"]
    again = run_closing(api, "2026-11-01")
    assert again["status"] == "completed"
    second = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()["items"]
    assert second == first


def test_a_draft_is_recomputed_when_its_inputs_change_but_an_open_one_is_not(api: Api) -> None:
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    receivable = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ][0]
    adjustment = api.post(
        f"/v1/contracts/{ids['contract']}/adjustments",
        json={"amount": "-500", "tax_category": "standard", "reason": "お詫び"},
    )
    assert adjustment.status_code == 201, adjustment.text
    run_closing(api, "2026-11-01")
    redrawn = api.get(f"/v1/receivables/{receivable['id']}").json()
    assert Decimal(redrawn["subtotal"]) == Decimal(receivable["subtotal"]) - 500
    assert any(line["kind"] == "adjustment" for line in redrawn["lines"])

    finalized = api.post(f"/v1/receivables/{receivable['id']}/finalize")
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["status"] == "open"
    assert finalized.json()["invoice_number"] == 1
    api.post(
        f"/v1/contracts/{ids['contract']}/adjustments",
        json={"amount": "1000", "tax_category": "standard", "reason": "late fix"},
    )
    run_closing(api, "2026-11-01")
    after = api.get(f"/v1/receivables/{receivable['id']}").json()
    assert after["subtotal"] == redrawn["subtotal"]
    assert after["status"] == "open"


def test_other_tenants_see_no_receivables(api: Api, other_api: Api) -> None:
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    receivable = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ][0]
    assert other_api.get(f"/v1/receivables/{receivable['id']}").status_code == 404
    assert other_api.get("/v1/receivables").json()["items"] == []
    assert other_api.post(f"/v1/receivables/{receivable['id']}/finalize").status_code == 404


def test_changes_dated_inside_an_issued_period_are_refused(api: Api) -> None:
    """Issue 2 §6: past dates allowed only while the period is not closed."""
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    receivable = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ][0]
    # while the receivable is a draft, a past-dated change is still allowed
    allowed = api.post(
        f"/v1/subscriptions/{ids['subscription']}/quantity-changes",
        json={"quantity": 2, "effective_date": "2026-10-30"},
    )
    assert allowed.status_code == 201, allowed.text
    etag = api.get(f"/v1/contracts/{ids['contract']}").headers["ETag"]
    api.post(f"/v1/receivables/{receivable['id']}/finalize")
    # closing the period changes nothing a client of the contract sees
    assert api.get(f"/v1/contracts/{ids['contract']}").headers["ETag"] == etag
    refused = api.post(
        f"/v1/subscriptions/{ids['subscription']}/suspensions",
        json={"effective_date": "2026-10-31"},
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/period-closed")
    # one fact, one problem: usage of a closed period cannot be deleted either
    deleted = api.delete("/v1/usage-records/u-0")
    assert deleted.status_code == 409
    assert deleted.json()["type"] == refused.json()["type"]
    later = api.post(
        f"/v1/subscriptions/{ids['subscription']}/suspensions",
        json={"effective_date": "2026-11-05"},
    )
    assert later.status_code == 201, later.text


def test_a_finalised_receivable_renders_a_qualified_invoice_pdf(api: Api) -> None:
    """Issue 3 §5: the PDF carries the legally required items of a qualified invoice."""
    api.patch(
        "/v1/tenant",
        json={"issuer_name": "株式会社カキン通信", "registration_number": "T1180301018771"},
    )
    ids = _setup(api)
    run_closing(api, "2026-11-01")
    receivable = api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()[
        "items"
    ][0]
    api.post(f"/v1/receivables/{receivable['id']}/finalize")
    response = api.get(f"/v1/receivables/{receivable['id']}/invoice.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = "".join(
        "".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(response.content)).pages
    )
    for item in (
        "適格請求書",
        "株式会社カキン通信",
        "T1180301018771",
        "締め太郎",
        "¥4,895",
        "¥445",
    ):
        assert item in text, item

    note = api.post(
        f"/v1/receivables/{receivable['id']}/credit-notes",
        json={"reason": "返金", "lines": [{"description": "月額基本料の返金", "amount": "1000"}]},
    )
    assert note.status_code == 201, note.text
    assert note.json()["total"] == "1100"
    pdf = api.get(f"/v1/credit-notes/{note.json()['id']}/credit-note.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


def test_a_closing_that_would_pass_the_receivable_line_limit_writes_nothing(
    api: Api, runtime: Runtime
) -> None:
    """Seed 000 制限事項: receivable lines count against the tenant's limit."""
    ids = _setup(api)
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        session.get_one(Tenant, api.tenant_id).limit_receivable_lines = 2
    run = run_closing(api, "2026-11-01")
    assert run["status"] == "completed_with_errors"
    assert run["contracts_failed"] == 1
    assert "tenant-limit-reached" in run["errors"][0]["reason"]
    assert api.get("/v1/receivables", params={"contract_id": ids["contract"]}).json()["items"] == []
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        session.get_one(Tenant, api.tenant_id).limit_receivable_lines = 3
    assert run_closing(api, "2026-11-01")["status"] == "completed"


def test_two_plans_sharing_a_fee_code_print_each_plans_own_label(api: Api) -> None:
    """Labels are data (issue 7): a line prints its own fee's name, even when two plans
    closed in one chunk name their fees with the same code `base`; the line says what its
    source id names."""
    service = create_service(api)
    labels = {"月額基本料（ホーム）": "3100", "月額基本料（マンション）": "2200"}
    contracts: dict[str, str] = {}
    for n, (label, amount) in enumerate(labels.items()):
        plan = api.created(
            "/v1/price-plans",
            {
                "code": code("PLAN"),
                "name": f"plan {n}",
                "service_id": service["id"],
                "effective_from": "2026-01-01",
                "recurring_fees": [{"code": "base", "name": label, "amount": amount}],
            },
        )
        contract = api.created(
            "/v1/contracts", {"external_customer_id": f"ext-{n}", "start_date": "2026-10-01"}
        )
        api.created(
            "/v1/subscriptions",
            {
                "contract_id": contract["id"],
                "price_plan_id": plan["id"],
                "start_date": "2026-10-01",
            },
        )
        contracts[label] = contract["id"]
    run = run_closing(api, "2026-11-01")
    assert run["status"] == "completed", run
    assert run["chunks_total"] == 1
    for label, contract_id in contracts.items():
        page = api.get("/v1/receivables", params={"contract_id": contract_id}).json()
        receivable = api.get(f"/v1/receivables/{page['items'][0]['id']}").json()
        [line] = receivable["lines"]
        assert line["description"] == label
        assert (line["source_kind"], line["source_id"]) == ("recurring_fee", "base")
        assert line["amount"] == labels[label]
