"""Builders of customers and groups, through the API."""

from __future__ import annotations

import itertools
from typing import Any

from tests.factories.api import Api

_serial = itertools.count(1)


def customer_body(**overrides: Any) -> dict[str, Any]:
    """A complete, valid customer body; every personal value is unique to this call."""
    n = next(_serial)
    body: dict[str, Any] = {
        "name": f"山田 太郎{n}",
        "name_kana": "ヤマダ タロウ",
        "nationality": "JP",
        "gender": "male",
        "birth_date": "1980-04-01",
        "postal_code": "100-0001",
        "address": f"東京都千代田区千代田{n}-1",
        "phone": f"03-{n:04d}-5678",
        "email": f"taro{n}@example.com",
    }
    body.update(overrides)
    return body


def create_customer(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.created("/v1/customers", customer_body(**overrides))


def create_group(api: Api, name: str = "株式会社サンプル", **fields: Any) -> dict[str, Any]:
    return api.created("/v1/groups", {"name": name, **fields})
