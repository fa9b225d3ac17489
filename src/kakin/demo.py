"""`kakin demo`: a demo tenant with masters, customers, contracts, usage and a closing.

Everything goes through the public API in-process (httpx over ASGI), so the demo data is
validated exactly like a provider's own and doubles as an example of using the API.
Running it again reuses the demo tenant and just issues a fresh API client for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from typing import Any

import httpx

from kakin.app import create_app
from kakin.billing import closing
from kakin.kit.db import tenant_session, unscoped_session
from kakin.onboarding import open_tenant
from kakin.runtime import Runtime
from kakin.tenancy import service as tenancy
from kakin.tenancy.schemas import ClientCredentials

DEMO_TENANT = "kakin demo"
DEMO_CUSTOMERS = 24
_SURNAMES = [
    ("山田", "ヤマダ"),
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
]
_GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("美咲", "ミサキ")]


class DemoApi:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body)
        if response.status_code not in (200, 201, 202):
            raise RuntimeError(f"demo: POST {path} failed: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result


async def _populate(api: DemoApi) -> None:
    await api.client.patch(
        "/v1/tenant",
        json={"issuer_name": "株式会社カキン通信", "registration_number": "T1180301018771"},
    )
    internet = await api.post("/v1/services", {"code": "internet", "name": "光インターネット"})
    mobile = await api.post("/v1/services", {"code": "mobile", "name": "モバイル"})
    packets = await api.post(
        "/v1/usage-items",
        {"code": "packet", "name": "パケット", "unit": "128", "unit_name": "パケット"},
    )
    calls = await api.post(
        "/v1/usage-items",
        {"code": "call", "name": "通話", "unit": "30", "unit_name": "30秒", "rating": "per_record"},
    )
    double_flat = await api.post(
        "/v1/tariffs",
        {
            "code": "packet-double-flat",
            "name": "パケット二段階定額",
            "effective_from": "2026-01-01",
            "shape": "double_flat",
            "lower": "1029",
            "unit_price": "0.084",
            "upper": "4410",
        },
    )
    per_call = await api.post(
        "/v1/tariffs",
        {
            "code": "call-per-unit",
            "name": "通話料",
            "effective_from": "2026-01-01",
            "shape": "per_unit",
            "unit_price": "22",
        },
    )
    home = await api.post(
        "/v1/price-plans",
        {
            "code": "hikari-home",
            "name": "光ホーム 1G",
            "service_id": internet["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "base", "name": "光ホーム 月額基本料", "amount": "4800"}],
            "one_time_fees": [{"code": "setup", "name": "契約事務手数料", "amount": "3300"}],
            "minimum_term": {
                "months": 24,
                "early_termination": {
                    "rule": "fixed",
                    "amount": "10000",
                    "tax_category": "out_of_scope",
                },
            },
        },
    )
    sim = await api.post(
        "/v1/price-plans",
        {
            "code": "mobile-flex",
            "name": "モバイル フレックス",
            "service_id": mobile["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "sim", "name": "SIM 基本料", "amount": "980"}],
            "usage_charges": [
                {"usage_item": packets["id"], "tariff_id": double_flat["id"]},
                {"usage_item": calls["id"], "tariff_id": per_call["id"]},
            ],
        },
    )
    bundle = await api.post(
        "/v1/discount-tables",
        {
            "code": "set-discount",
            "name": "セット割",
            "kind": "fixed_amount",
            "amount": "500",
            "conditions": {"required_services": [internet["id"], mobile["id"]]},
        },
    )
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    records: list[dict[str, Any]] = []
    for n in range(DEMO_CUSTOMERS):
        surname, surname_kana = _SURNAMES[n % len(_SURNAMES)]
        given, given_kana = _GIVEN[n % len(_GIVEN)]
        customer = await api.post(
            "/v1/customers",
            {
                "name": f"{surname} {given}",
                "name_kana": f"{surname_kana} {given_kana}",
                "email": f"demo{n}@example.jp",
                "phone": f"090-0000-{n:04d}",
                "postal_code": "100-0001",
                "address": f"東京都千代田区千代田1-{n + 1}",
                "free_1": f"member-{n:05d}",
            },
        )
        contract = await api.post(
            "/v1/contracts",
            {
                "customer_id": customer["id"],
                "closing_day": "eom" if n % 3 else "20",
                "start_date": "2026-08-01",
                "payment_method_kind": "direct_debit" if n % 2 else "credit_card",
            },
        )
        start = dt.date(2026, 8, 1) + dt.timedelta(days=rng.randrange(0, 75))
        line = await api.post(
            "/v1/subscriptions",
            {
                "contract_id": contract["id"],
                "price_plan_id": sim["id"],
                "start_date": start.isoformat(),
            },
        )
        if n % 2 == 0:
            await api.post(
                "/v1/subscriptions",
                {
                    "contract_id": contract["id"],
                    "price_plan_id": home["id"],
                    "start_date": "2026-08-01",
                },
            )
            await api.post(
                "/v1/discounts",
                {
                    "contract_id": contract["id"],
                    "discount_table_id": bundle["id"],
                    "start_date": "2026-08-01",
                },
            )
        for day in range(max(start.day, 1), 29, 3):
            used = dt.datetime(2026, 10, day, 12, tzinfo=dt.timezone(dt.timedelta(hours=9)))
            if used.date() < start:
                continue
            records.append(
                {
                    "record_id": f"demo-{n}-p{day}",
                    "subscription_id": line["id"],
                    "usage_item": "packet",
                    "quantity": str(rng.randrange(100_000, 3_000_000)),
                    "used_at": used.isoformat(),
                }
            )
            records.append(
                {
                    "record_id": f"demo-{n}-c{day}",
                    "subscription_id": line["id"],
                    "usage_item": "call",
                    "quantity": str(rng.randrange(5, 600)),
                    "used_at": used.isoformat(),
                }
            )
    await api.post("/v1/usage-records/batch", {"records": records})


def seed_demo(runtime: Runtime) -> ClientCredentials:
    """Create (once) the demo tenant with its data and return fresh API credentials."""
    with unscoped_session(runtime.sessions) as session:
        existing = [t for t in tenancy.list_tenants(session) if t.name == DEMO_TENANT]
        tenant_id = (
            existing[0].tenant_id
            if existing
            else open_tenant(session, DEMO_TENANT, runtime.keyring.new_wrapped_key()).tenant_id
        )
    with tenant_session(runtime.sessions, tenant_id) as session:
        credentials = tenancy.create_client(session, name="demo")
    if existing:
        return credentials

    async def populate() -> None:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            token = await client.post(
                "/v1/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(credentials.client_id, credentials.client_secret),
            )
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            await _populate(DemoApi(client))

    asyncio.run(populate())
    for closing_date in (dt.date(2026, 10, 21), dt.date(2026, 11, 1)):
        closing.close(runtime.sessions, tenant_id, closing_date)
    return credentials
