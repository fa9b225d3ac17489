"""Tariffs (料金表): the seven shapes of RATING.md §4, their validation and their versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from kakin.catalog.models import TariffVersion
from kakin.catalog.rating_inputs import rating_tariff
from kakin.catalog.tariffs import tariff_version_on
from kakin.kit.db import tenant_session
from kakin.rating.tariffs import tariff_amount
from kakin.runtime import Runtime
from tests.factories import catalog
from tests.factories.api import Api


@pytest.mark.parametrize("shape", list(catalog.SHAPES))
def test_every_shape_registers_and_reads_back_as_sent(api: Api, shape: str) -> None:
    definition = catalog.SHAPES[shape]
    created = catalog.create_tariff(api, definition)
    assert created["id"].startswith("trf_")
    [version] = created["versions"]
    assert version["effective_from"] == "2026-01-01"
    for name, value in definition.items():
        if name == "bands":
            for sent, got in zip(value, version["bands"], strict=True):
                assert {k: v for k, v in got.items() if v is not None} == {
                    k: v for k, v in sent.items() if v is not None
                }
        else:
            assert version[name] == value
    assert api.get(f"/v1/tariffs/{created['id']}").json() == created


EXAMPLES: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    # RATING.md §4 "Examples that must hold".
    (
        catalog.GRADUATED,
        [("0", "2"), ("1", "12"), ("10", "102"), ("11", "110"), ("12", "115"), ("21", "163")],
    ),
    (
        catalog.VOLUME,
        [
            ("0", "10"),
            ("1", "12"),
            ("100", "210"),
            ("100.5", "100.5"),
            ("101", "101"),
            ("200", "200"),
            ("300", "200"),
        ],
    ),
    (
        {
            "shape": "step",
            "bands": [
                {"up_to": "1", "amount": "2980"},
                {"up_to": "3", "amount": "3980"},
                {"up_to": "5", "amount": "4980"},
                {"up_to": "7", "amount": "5980"},
                {"up_to": None, "amount": "5980"},
            ],
        },
        [("2.5", "3980"), ("0", "2980")],
    ),
    (catalog.DOUBLE_FLAT, [("10000", "1029"), ("20000", "1680"), ("100000", "4410")]),
]


@pytest.mark.parametrize(("definition", "cases"), EXAMPLES)
def test_the_rating_md_examples_register_and_rate_as_the_rules_say(
    api: Api, runtime: Runtime, definition: dict[str, Any], cases: list[tuple[str, str]]
) -> None:
    created = catalog.create_tariff(api, definition)
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        version = tariff_version_on(session, created["id"], dt.date(2026, 11, 1))
        assert version is not None
        tariff = rating_tariff(version)
    for q, amount in cases:
        assert tariff_amount(tariff, Decimal(q)) == Decimal(amount), q


def test_integers_are_accepted_and_answered_as_strings(api: Api) -> None:
    created = catalog.create_tariff(
        api, {"shape": "double_flat", "lower": 1029, "unit_price": "0.084", "upper": 4410}
    )
    version = created["versions"][0]
    assert (version["lower"], version["unit_price"], version["upper"]) == (
        "1029",
        "0.084",
        "4410",
    )


def test_a_json_fraction_is_refused(api: Api) -> None:
    # kit.bounds: a JSON number with a fraction passes through binary floating point
    response = api.post(
        "/v1/tariffs",
        json=catalog.tariff_body({"shape": "per_unit", "unit_price": 0.084}),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/unit_price"


def test_a_graduated_tariff_records_its_mode(api: Api) -> None:
    body = dict(catalog.GRADUATED)
    assert "mode" not in body
    assert catalog.create_tariff(api, body)["versions"][0]["mode"] == "graduated"


def test_unit_prices_carry_up_to_six_decimal_places(api: Api) -> None:
    catalog.create_tariff(api, {"shape": "per_unit", "unit_price": "0.000001"})
    response = api.post(
        "/v1/tariffs", json=catalog.tariff_body({"shape": "per_unit", "unit_price": "0.0000001"})
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/unit_price"


@pytest.mark.parametrize(
    ("definition", "pointers"),
    [
        ({"shape": "flat"}, ["/body/fixed_fee"]),
        ({"shape": "flat", "fixed_fee": "1", "unit_price": "1"}, ["/body/unit_price"]),
        ({"shape": "per_unit", "unit_price": "-1"}, ["/body/unit_price"]),
        ({"shape": "capped", "unit_price": "1"}, ["/body/upper"]),
        ({"shape": "double_flat", "lower": "10", "unit_price": "1", "upper": "5"}, ["/body/upper"]),
        ({"shape": "step", "bands": []}, ["/body/bands"]),
        ({"shape": "step", "mode": "volume", "bands": [{"amount": "1"}]}, ["/body/mode"]),
        (
            {
                "shape": "step",
                "bands": [{"up_to": "5", "amount": "1"}, {"up_to": "3", "amount": "2"}],
            },
            ["/body/bands/1/up_to"],
        ),
        (
            {
                "shape": "step",
                "bands": [
                    {"up_to": "5", "amount": "1"},
                    {"up_to": "5", "amount": "2"},
                    {"up_to": None, "amount": "3"},
                ],
            },
            ["/body/bands/1/up_to"],
        ),
        (
            {"shape": "step", "bands": [{"up_to": None, "unit_price": "1"}]},
            [
                "/body/bands/0/amount",
                "/body/bands/0/unit_price",
            ],
        ),
        (
            {"shape": "graduated", "bands": [{"up_to": None, "unit_price": "1", "x": 1}]},
            ["/body/bands/0/x"],
        ),
        ({"shape": "per_unit", "unit_price": "1", "F": "1"}, ["/body/F"]),
        ({"shape": "cubic", "unit_price": "1"}, ["/body/shape"]),
        ({"shape": "per_unit", "unit_price": "abc"}, ["/body/unit_price"]),
    ],
)
def test_invalid_definitions_are_422_naming_the_fields(
    api: Api, definition: dict[str, Any], pointers: list[str]
) -> None:
    response = api.post("/v1/tariffs", json=catalog.tariff_body(definition))
    assert response.status_code == 422, response.text
    assert sorted(e["pointer"] for e in response.json()["errors"]) == sorted(pointers)
    assert api.get("/v1/tariffs").json()["items"] == []


def test_a_revision_applies_from_its_date_and_leaves_the_old_version_alone(
    api: Api, runtime: Runtime
) -> None:
    created = catalog.create_tariff(api, {"shape": "per_unit", "unit_price": "0.05"})
    etag = api.get(f"/v1/tariffs/{created['id']}").headers["ETag"]
    response = api.post(
        f"/v1/tariffs/{created['id']}/versions",
        json={
            "effective_from": "2026-11-15",
            "shape": "capped",
            "unit_price": "0.04",
            "upper": "3000",
        },
        headers={"If-Match": etag},
    )
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] != etag
    old, new = response.json()["versions"]
    assert old == created["versions"][0]
    assert (new["effective_from"], new["shape"], new["upper"]) == ("2026-11-15", "capped", "3000")

    with tenant_session(runtime.sessions, api.tenant_id) as session:

        def shape_on(day: dt.date) -> str | None:
            version: TariffVersion | None = tariff_version_on(session, created["id"], day)
            return version.shape if version else None

        assert shape_on(dt.date(2025, 12, 31)) is None
        assert shape_on(dt.date(2026, 1, 1)) == "per_unit"
        assert shape_on(dt.date(2026, 11, 14)) == "per_unit"
        assert shape_on(dt.date(2026, 11, 15)) == "capped"
        assert shape_on(dt.date(2030, 1, 1)) == "capped"


def test_a_revision_before_the_first_version_is_allowed(api: Api) -> None:
    created = catalog.create_tariff(api)
    response = api.post(
        f"/v1/tariffs/{created['id']}/versions",
        json={"effective_from": "2025-06-01", "shape": "flat", "fixed_fee": "100"},
    )
    assert response.status_code == 201
    assert [v["effective_from"] for v in response.json()["versions"]] == [
        "2025-06-01",
        "2026-01-01",
    ]


def test_a_second_version_from_the_same_date_is_409(api: Api) -> None:
    created = catalog.create_tariff(api)
    response = api.post(
        f"/v1/tariffs/{created['id']}/versions",
        json={"effective_from": "2026-01-01", "shape": "flat", "fixed_fee": "100"},
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/version-date-taken"
    assert api.get(f"/v1/tariffs/{created['id']}").json() == created


def test_an_invalid_revision_is_422_and_adds_nothing(api: Api) -> None:
    created = catalog.create_tariff(api)
    response = api.post(
        f"/v1/tariffs/{created['id']}/versions",
        json={"effective_from": "2026-02-01", "shape": "flat"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/fixed_fee"
    assert len(api.get(f"/v1/tariffs/{created['id']}").json()["versions"]) == 1


def test_a_revision_with_a_stale_if_match_is_412(api: Api) -> None:
    created = catalog.create_tariff(api)
    url = f"/v1/tariffs/{created['id']}"
    etag = api.get(url).headers["ETag"]
    api.patch(url, json={"name": "renamed"})
    response = api.post(
        f"{url}/versions",
        json={"effective_from": "2026-02-01", "shape": "flat", "fixed_fee": "1"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 412


def test_another_tenants_tariff_takes_no_revision(api: Api, other_api: Api) -> None:
    theirs = catalog.create_tariff(other_api)
    response = api.post(
        f"/v1/tariffs/{theirs['id']}/versions",
        json={"effective_from": "2026-02-01", "shape": "flat", "fixed_fee": "1"},
    )
    assert response.status_code == 404
    assert len(other_api.get(f"/v1/tariffs/{theirs['id']}").json()["versions"]) == 1


def test_the_list_carries_every_version(api: Api) -> None:
    first = catalog.create_tariff(api)
    second = catalog.create_tariff(api, catalog.STEP)
    api.post(
        f"/v1/tariffs/{first['id']}/versions",
        json={"effective_from": "2027-01-01", "shape": "flat", "fixed_fee": "1"},
    )
    items = api.get("/v1/tariffs").json()["items"]
    assert [len(t["versions"]) for t in items] == [2, 1]
    assert items[1]["versions"] == second["versions"]
