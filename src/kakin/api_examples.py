"""Example request bodies of the main operations, shown by /docs and /redoc.

They follow docs/getting-started.md: masters are named by their codes (accepted wherever
an id is), so the examples chain without copying ids; a test validates each against
its operation's request schema.
"""

from __future__ import annotations

from typing import Any

CUSTOMER_ID = "cus_01JQ7ZC8W7XK3M2N4P5R6S7T8V"
CONTRACT_ID = "ctr_01JQ7ZD2A4B6C8D0E2F4G6H8J0"

REQUEST_EXAMPLES: dict[str, Any] = {
    "updateTenant": {
        "time_zone": "Asia/Tokyo",
        "default_closing_day": "eom",
        "issuer_name": "株式会社サンプル通信",
        "registration_number": "T9234567890123",
    },
    "createCustomer": {
        "name": "山田 太郎",
        "name_kana": "ヤマダ タロウ",
        "postal_code": "100-0001",
        "address": "東京都千代田区千代田1-1",
        "email": "taro@example.com",
    },
    "createService": {"code": "hikari", "name": "光インターネット"},
    "createUsageItem": {"code": "packet", "name": "パケット", "unit": "128", "unit_name": "packet"},
    "createTariff": {
        "code": "packet-rate",
        "name": "パケット定額 (二段階)",
        "effective_from": "2026-01-01",
        "shape": "double_flat",
        "lower": "1029",
        "unit_price": "0.084",
        "upper": "4410",
    },
    "createDiscountTable": {"code": "student", "name": "学割", "kind": "fixed_rate", "rate": "10"},
    "createPricePlan": {
        "code": "hikari-1g",
        "name": "光ホーム 1G",
        "service_id": "hikari",
        "effective_from": "2026-01-01",
        "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "4800"}],
        "one_time_fees": [{"code": "setup", "name": "契約事務手数料", "amount": "3300"}],
        "usage_charges": [{"usage_item": "packet", "tariff_id": "packet-rate"}],
    },
    "createContract": {
        "customer_id": CUSTOMER_ID,
        "closing_day": "eom",
        "start_date": "2026-04-01",
    },
    "createSubscription": {
        "contract_id": CONTRACT_ID,
        "price_plan_id": "hikari-1g",
        "start_date": "2026-04-10",
        "external_ref": "line-0001",
    },
    "createUsageRecord": {
        "record_id": "cdr-20260415-0001",
        "subscription_external_ref": "line-0001",
        "usage_item": "packet",
        "quantity": "1048576",
        "used_at": "2026-04-15T10:30:00+09:00",
    },
    "startClosingRun": {"closing_date": "2026-05-01"},
    "finalizeBillingMonth": {"billing_month": "2026-04"},
}
