"""Issue 6 §6: issued invoices are documents of record, through the API.

Finalising freezes what the invoice shows of its parties; corporate customers are
addressed 御中; the issuer's address, phone and bank account print; usage lines carry the
usage item's name and the quantity in its unit.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select

from kakin.billing.models import CreditNote, Receivable
from kakin.customers.models import Customer
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.billing import run_closing
from tests.factories.catalog import code, create_service, create_tariff, create_usage_item

ISSUER_SETTINGS: dict[str, Any] = {
    "issuer_name": "株式会社カキン通信",
    "registration_number": "T1180301018771",
    "issuer_address": "東京都千代田区丸の内1-1-1",
    "issuer_phone": "03-1234-5678",
    "bank_account": {
        "bank_name": "カキン銀行",
        "branch_name": "本店営業部",
        "account_type": "ordinary",
        "number": "1234567",
        "holder_kana": "ｶ)ｶｷﾝﾂｳｼﾝ",
    },
}
CHANGED_SETTINGS: dict[str, Any] = {
    "issuer_name": "新社名株式会社",
    "registration_number": "T7010001000000",
    "issuer_address": "大阪府大阪市北区梅田9-9-9",
    "issuer_phone": "06-9999-0000",
    "bank_account": None,
    "language": "en",
}


def _text(pdf: bytes) -> str:
    return "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


def _billed_contract(api: Api, customer: dict[str, Any], **contract: Any) -> dict[str, Any]:
    """A contract of `customer` billed for October 2026: a monthly fee and call usage
    (30 s call units, 12,345 s on each of three days: 1,235 units at ¥0.05). Returns its
    draft receivable."""
    item = create_usage_item(api, name="国内通話", unit="30", unit_name="通話単位")
    tariff = create_tariff(api)
    plan = api.created(
        "/v1/price-plans",
        {
            "code": code("CALL"),
            "name": "通話プラン",
            "service_id": create_service(api)["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "3000"}],
            "usage_charges": [{"usage_item": item["id"], "tariff_id": tariff["id"]}],
        },
    )
    contract_row = api.created(
        "/v1/contracts",
        {
            "customer_id": customer["id"],
            "closing_day": "eom",
            "start_date": "2026-10-01",
            "payment_method_kind": "bank_transfer",
        }
        | contract,
    )
    subscription = api.created(
        "/v1/subscriptions",
        {
            "contract_id": contract_row["id"],
            "price_plan_id": plan["id"],
            "start_date": "2026-10-01",
        },
    )
    batch = api.post(
        "/v1/usage-records/batch",
        json={
            "records": [
                {
                    "record_id": code("call"),
                    "subscription_id": subscription["id"],
                    "usage_item": item["code"],
                    "quantity": "12345",
                    "used_at": f"2026-10-{10 + n}T12:00:00+09:00",
                }
                for n in range(3)
            ]
        },
    )
    assert batch.status_code in (200, 201), batch.text
    run_closing(api, "2026-11-01")
    items = api.get("/v1/receivables", params={"contract_id": contract_row["id"]}).json()["items"]
    assert len(items) == 1, items
    receivable: dict[str, Any] = items[0]
    return receivable


def _invoice(api: Api, receivable: dict[str, Any]) -> bytes:
    response = api.get(f"/v1/receivables/{receivable['id']}/invoice.pdf")
    assert response.status_code == 200, response.text
    content: bytes = response.content
    return content


def _finalize(api: Api, receivable: dict[str, Any]) -> None:
    response = api.post(f"/v1/receivables/{receivable['id']}/finalize")
    assert response.status_code == 200, response.text


def _individual(api: Api) -> dict[str, Any]:
    return api.created(
        "/v1/customers",
        {"name": "記録 太郎", "postal_code": "1000001", "address": "東京都千代田区千代田1-1"},
    )


# ----------------------------------------------------------------------- frozen at issue


def test_an_issued_invoice_shows_what_it_showed_when_issued(api: Api) -> None:
    """Re-downloading after the tenant's settings and the customer change gives the same
    PDF (today the new issuer name appeared)."""
    assert api.patch("/v1/tenant", json=ISSUER_SETTINGS).status_code == 200
    customer = _individual(api)
    receivable = _billed_contract(api, customer)
    _finalize(api, receivable)
    issued = _invoice(api, receivable)

    assert api.patch("/v1/tenant", json=CHANGED_SETTINGS).status_code == 200
    changed = api.patch(
        f"/v1/customers/{customer['id']}",
        json={"name": "改名 花子", "address": "北海道札幌市1-1"},
    )
    assert changed.status_code == 200, changed.text

    again = _invoice(api, receivable)
    assert again == issued
    text = _text(again)
    assert "株式会社カキン通信" in text
    assert "東京都千代田区丸の内1-1-1" in text
    assert "TEL03-1234-5678" in text
    assert "登録番号:T1180301018771" in text
    assert "記録太郎様" in text
    assert "〒100-0001東京都千代田区千代田1-1" in text
    for later in ("新社名", "大阪府", "06-9999-0000", "改名", "北海道", "T7010001000000"):
        assert later not in text, later


def test_a_draft_shows_the_parties_as_they_stand(api: Api) -> None:
    assert api.patch("/v1/tenant", json=ISSUER_SETTINGS).status_code == 200
    customer = _individual(api)
    receivable = _billed_contract(api, customer)
    assert "株式会社カキン通信" in _text(_invoice(api, receivable))

    api.patch("/v1/tenant", json={"issuer_name": "新社名株式会社"})
    api.patch(f"/v1/customers/{customer['id']}", json={"name": "改名 花子"})

    text = _text(_invoice(api, receivable))
    assert "請求書(下書き)" in text
    assert "新社名株式会社" in text
    assert "改名花子様" in text


def test_an_issued_credit_note_shows_what_it_showed_when_issued(api: Api) -> None:
    assert api.patch("/v1/tenant", json=ISSUER_SETTINGS).status_code == 200
    customer = _individual(api)
    receivable = _billed_contract(api, customer)
    _finalize(api, receivable)
    note = api.post(
        f"/v1/receivables/{receivable['id']}/credit-notes",
        json={"reason": "返金", "lines": [{"description": "月額基本料の返金", "amount": "1000"}]},
    )
    assert note.status_code == 201, note.text
    path = f"/v1/credit-notes/{note.json()['id']}/credit-note.pdf"
    issued = api.get(path).content

    api.patch("/v1/tenant", json=CHANGED_SETTINGS)
    api.patch(f"/v1/customers/{customer['id']}", json={"name": "改名 花子"})

    again = api.get(path).content
    assert again == issued
    assert "株式会社カキン通信" in _text(again)
    assert "記録太郎様" in _text(again)


def test_the_frozen_addressee_is_stored_encrypted(api: Api, runtime: Runtime) -> None:
    """Seed 000: personal data is never plain text in the database, snapshots included."""
    assert api.patch("/v1/tenant", json=ISSUER_SETTINGS).status_code == 200
    customer = _individual(api)
    receivable = _billed_contract(api, customer)
    _finalize(api, receivable)
    note = api.post(
        f"/v1/receivables/{receivable['id']}/credit-notes",
        json={"reason": "返金", "lines": [{"description": "返金", "amount": "100"}]},
    )
    assert note.status_code == 201, note.text

    with tenant_session(runtime.sessions, api.tenant_id) as session:
        rows = [
            session.scalars(select(Receivable).where(Receivable.id == receivable["id"])).one(),
            session.scalars(select(CreditNote).where(CreditNote.id == note.json()["id"])).one(),
        ]
        for row in rows:
            assert row.document_issuer is not None
            assert row.document_issuer["issuer"]["name"] == "株式会社カキン通信"
            assert row.document_recipient_enc is not None
            stored = row.document_recipient_enc + json.dumps(row.document_issuer).encode()
            for personal in ("記録 太郎", "東京都千代田区千代田1-1", "1000001"):
                assert personal.encode() not in stored, personal
                assert json.dumps(personal).encode() not in stored, personal


# ---------------------------------------------------------------------- corporate customers


def test_a_corporate_customer_is_addressed_onchu_with_its_department(
    api: Api, runtime: Runtime
) -> None:
    customer = api.created(
        "/v1/customers",
        {
            "kind": "corporate",
            "company_name": "株式会社ミライ",
            "department": "経理部",
            "name": "山田 太郎",
            "address": "東京都港区1-1",
        },
    )
    assert customer["kind"] == "corporate"
    assert customer["company_name"] == "株式会社ミライ"
    assert customer["department"] == "経理部"

    text = _text(_invoice(api, _billed_contract(api, customer)))

    assert "株式会社ミライ経理部御中" in text
    assert "ご担当:山田太郎様" in text
    assert "ミライ様" not in text
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        row = session.scalars(select(Customer).where(Customer.id == customer["id"])).one()
        assert row.kind == "corporate"
        assert row.company_name_enc is not None
        assert "株式会社ミライ".encode() not in row.company_name_enc
        assert row.department_enc is not None
        assert "経理部".encode() not in row.department_enc


def test_an_individual_is_addressed_sama_by_default(api: Api) -> None:
    customer = _individual(api)
    assert customer["kind"] == "individual"

    text = _text(_invoice(api, _billed_contract(api, customer)))

    assert "記録太郎様" in text
    assert "御中" not in text


def test_a_corporate_customer_needs_its_company_name(api: Api) -> None:
    refused = api.post("/v1/customers", json={"kind": "corporate", "name": "山田 太郎"})
    assert refused.status_code == 422, refused.text
    assert "company_name" in refused.text

    customer = _individual(api)
    changed = api.patch(f"/v1/customers/{customer['id']}", json={"kind": "corporate"})
    assert changed.status_code == 422, changed.text
    assert changed.json()["errors"][0]["pointer"] == "/body/company_name"
    assert api.get(f"/v1/customers/{customer['id']}").json()["kind"] == "individual"

    changed = api.patch(
        f"/v1/customers/{customer['id']}", json={"kind": "corporate", "company_name": "記録商事"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["kind"] == "corporate"
    cleared = api.patch(f"/v1/customers/{customer['id']}", json={"company_name": None})
    assert cleared.status_code == 422, cleared.text
    assert api.patch(f"/v1/customers/{customer['id']}", json={"kind": None}).status_code == 422


# ---------------------------------------------------------------------------- the details


def test_usage_lines_carry_the_usage_items_name_and_the_quantity_in_its_unit(api: Api) -> None:
    receivable = _billed_contract(api, _individual(api))

    detail = api.get(f"/v1/receivables/{receivable['id']}").json()
    usage = [line for line in detail["lines"] if line["kind"] == "usage"]
    assert [line["description"] for line in usage] == ["国内通話"]
    text = _text(_invoice(api, receivable))
    # 3 x 12,345 s = 37,035 s in 30 s units: 1,235 call units (RATING.md §4, rounded up).
    assert re.search(r"国内通話2026/10/01〜10/311,235通話単位¥0.0510%¥6\d", text), text
    assert "usage" not in text


def test_the_transfer_request_comes_only_with_the_account_to_pay_into(api: Api) -> None:
    customer = _individual(api)
    without = _text(_invoice(api, _billed_contract(api, customer)))
    assert "お支払方法銀行振込" in without
    assert "お振込み" not in without
    assert "振込先" not in without

    assert api.patch("/v1/tenant", json=ISSUER_SETTINGS).status_code == 200
    tenant = api.get("/v1/tenant").json()
    assert tenant["bank_account"]["holder_kana"] == "カ）カキンツウシン"  # folded to full width
    with_account = _text(_invoice(api, _billed_contract(api, customer)))
    assert "振込先カキン銀行本店営業部普通1234567口座名義カ）カキンツウシン" in with_account
    assert "お支払期限までに上記の振込先へお振込みください。" in with_account


def test_bank_account_and_issuer_settings_are_checked(api: Api) -> None:
    account = ISSUER_SETTINGS["bank_account"]
    for bad in (
        {"bank_account": account | {"number": "12345"}},
        {"bank_account": account | {"number": "١٢٣٤٥٦٧"}},
        {"bank_account": account | {"holder_kana": "Kakin <script>"}},
        {"bank_account": account | {"account_type": "gold"}},
        {"issuer_phone": "call me"},
        {"issuer_address": ""},
    ):
        response = api.patch("/v1/tenant", json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert api.get("/v1/tenant").json()["bank_account"] is None
