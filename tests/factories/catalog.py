"""Builders of masters (services, usage items, tariffs, discount tables, price plans),
through the API. Every builder gives a fresh code, so calls never collide."""

from __future__ import annotations

import itertools
from typing import Any

from tests.factories.api import Api

_serial = itertools.count(1)


def code(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}"


def service_body(**overrides: Any) -> dict[str, Any]:
    return {"code": code("SVC"), "name": "光インターネット"} | overrides


def create_service(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.created("/v1/services", service_body(**overrides))


def usage_item_body(**overrides: Any) -> dict[str, Any]:
    """1 packet = 128 bytes (RATING.md §4)."""
    body = {"code": code("PKT"), "name": "パケット", "unit": "128", "unit_name": "packet"}
    return body | overrides


def create_usage_item(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.created("/v1/usage-items", usage_item_body(**overrides))


FLAT: dict[str, Any] = {"shape": "flat", "fixed_fee": "3000"}
PER_UNIT: dict[str, Any] = {"shape": "per_unit", "unit_price": "0.05"}
BASE_PLUS_USAGE: dict[str, Any] = {
    "shape": "base_plus_usage",
    "fixed_fee": "1000",
    "unit_price": "10",
    "included": "100",
}
CAPPED: dict[str, Any] = {"shape": "capped", "unit_price": "0.05", "upper": "5000"}
STEP: dict[str, Any] = {
    "shape": "step",
    "bands": [
        {"up_to": "1", "amount": "2980"},
        {"up_to": "3", "amount": "3980"},
        {"up_to": "5", "amount": "4980"},
        {"up_to": None, "amount": "5980"},
    ],
}
DOUBLE_FLAT: dict[str, Any] = {
    "shape": "double_flat",
    "lower": "1029",
    "unit_price": "0.084",
    "upper": "4410",
}
GRADUATED: dict[str, Any] = {
    "shape": "graduated",
    "bands": [
        {"up_to": "10", "unit_price": "10", "flat_fee": "2"},
        {"up_to": "20", "unit_price": "5", "flat_fee": "3"},
        {"up_to": None, "unit_price": "5", "flat_fee": "3"},
    ],
}
VOLUME: dict[str, Any] = {
    "shape": "graduated",
    "mode": "volume",
    "bands": [
        {"up_to": "100", "unit_price": "2", "flat_fee": "10"},
        {"up_to": "200", "unit_price": "1", "flat_fee": "0"},
        {"up_to": None, "unit_price": "0.5", "flat_fee": "50"},
    ],
}
SHAPES: dict[str, dict[str, Any]] = {
    "flat": FLAT,
    "per_unit": PER_UNIT,
    "base_plus_usage": BASE_PLUS_USAGE,
    "capped": CAPPED,
    "step": STEP,
    "double_flat": DOUBLE_FLAT,
    "graduated": GRADUATED,
    "graduated_volume": VOLUME,
}
"""One valid definition of each of the seven shapes (RATING.md §4, with its examples)."""


def tariff_body(
    definition: dict[str, Any] | None = None, effective_from: str = "2026-01-01", **overrides: Any
) -> dict[str, Any]:
    base = {"code": code("TRF"), "name": "パケット料金", "effective_from": effective_from}
    return base | (definition or PER_UNIT) | overrides


def create_tariff(
    api: Api, definition: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    return api.created("/v1/tariffs", tariff_body(definition, **overrides))


def create_discount_table(api: Api, **overrides: Any) -> dict[str, Any]:
    body = {"code": code("DSC"), "name": "学割", "kind": "fixed_rate", "rate": "10"}
    return api.created("/v1/discount-tables", body | overrides)


def price_plan_body(
    service_id: str, tariff_id: str | None = None, usage_item: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A plan with a monthly fee, a contract fee, a packet charge (when a tariff and usage
    item are given) and a 24-month minimum term."""
    body: dict[str, Any] = {
        "code": code("PLAN"),
        "name": "光ホーム 1G",
        "service_id": service_id,
        "effective_from": "2026-01-01",
        "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "4800"}],
        "one_time_fees": [{"code": "setup", "name": "契約事務手数料", "amount": "3300"}],
        "minimum_term": {
            "months": 24,
            "auto_renew": True,
            "early_termination": {"rule": "fixed", "amount": "10450"},
        },
    }
    if tariff_id and usage_item:
        body["usage_charges"] = [{"usage_item": usage_item, "tariff_id": tariff_id}]
    return body | overrides


def create_price_plan(api: Api, **overrides: Any) -> dict[str, Any]:
    """A price plan with its own service, usage item and tariff."""
    service = create_service(api)
    item = create_usage_item(api)
    tariff = create_tariff(api)
    return api.created(
        "/v1/price-plans", price_plan_body(service["id"], tariff["id"], item["id"], **overrides)
    )
