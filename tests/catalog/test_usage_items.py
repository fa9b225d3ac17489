"""Usage items: the unit of rating (RATING.md §4 `q = ceil(raw / unit)`)."""

from __future__ import annotations

import pytest

from tests.factories import catalog
from tests.factories.api import Api


def test_a_usage_item_has_a_unit_and_rates_over_the_period_total_by_default(api: Api) -> None:
    created = catalog.create_usage_item(api, unit="128", unit_name="packet")
    assert created["id"].startswith("uit_")
    assert (created["unit"], created["unit_name"], created["rating"]) == (
        "128",
        "packet",
        "per_total",
    )


def test_a_call_item_rates_per_record_in_30_second_units(api: Api) -> None:
    created = catalog.create_usage_item(api, unit="30", unit_name="30秒", rating="per_record")
    assert (created["unit"], created["rating"]) == ("30", "per_record")


def test_a_fractional_unit_is_kept_exactly(api: Api) -> None:
    created = catalog.create_usage_item(api, unit="0.5", unit_name="kWh")
    assert api.get(f"/v1/usage-items/{created['id']}").json()["unit"] == "0.5"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unit", "0"),
        ("unit", "-128"),
        ("unit", "0.0000001"),
        ("rating", "per_day"),
        ("unit_name", ""),
    ],
)
def test_an_invalid_usage_item_is_422_naming_the_field(api: Api, field: str, value: str) -> None:
    response = api.post("/v1/usage-items", json=catalog.usage_item_body(**{field: value}))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == f"/body/{field}"


def test_the_unit_and_rating_cannot_change(api: Api) -> None:
    created = catalog.create_usage_item(api)
    for field, value in (("unit", "256"), ("rating", "per_record")):
        response = api.patch(f"/v1/usage-items/{created['id']}", json={field: value})
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == f"/body/{field}"
    renamed = api.patch(f"/v1/usage-items/{created['id']}", json={"unit_name": "パケット"})
    assert renamed.json()["unit_name"] == "パケット"
    assert renamed.json()["unit"] == "128"
