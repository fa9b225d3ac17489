"""Customer search: blind-indexed exact matches, free fields, time ranges, pagination."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.factories.api import Api
from tests.factories.customers import create_customer


def _ids(api: Api, **params: str) -> list[str]:
    response = api.get("/v1/customers", params=params)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def _ids_by_body(api: Api, **conditions: str) -> list[str]:
    response = api.post("/v1/customers/search", json=conditions)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


@pytest.mark.parametrize(
    ("field", "stored", "query"),
    [
        ("name", "鈴木 一郎", "鈴木一郎"),
        ("name", "John Smith", "john  smith"),
        ("name", "ｽｽﾞｷ商店", "スズキ商店"),
        ("name_kana", "スズキ イチロウ", "すずき　いちろう"),
        ("name_kana", "スズキ イチロウ", "ｽｽﾞｷｲﾁﾛｳ"),
        ("name_kana", "すずき いちろう", "スズキ イチロウ"),
        ("phone", "090-1111-2222", "09011112222"),
        ("phone", "090-1111-2222", "+81 90 1111 2222"),
        ("email", "Ichiro.Suzuki@Example.jp", "ichiro.suzuki@example.JP"),
    ],
)
def test_blind_indexed_fields_match_exactly_after_normalising(
    api: Api, field: str, stored: str, query: str
) -> None:
    target = create_customer(api, **{field: stored})
    create_customer(api)
    assert _ids(api, **{field: query}) == [target["id"]]
    assert _ids_by_body(api, **{field: query}) == [target["id"]]


def test_blind_index_is_exact_not_partial(api: Api) -> None:
    create_customer(api, email="hanako@example.com", name="高橋 花子")
    assert _ids(api, email="hanako@example") == []
    assert _ids(api, name="高橋") == []


def test_conditions_combine_with_and(api: Api) -> None:
    a = create_customer(api, name="伊藤 健", free_5="tokyo")
    create_customer(api, name="伊藤 健", free_5="osaka")
    assert _ids(api, name="伊藤 健", free_5="tokyo") == [a["id"]]


def test_free_fields_match_exactly_or_by_prefix(api: Api) -> None:
    a = create_customer(api, free_1="plan-A-001")
    b = create_customer(api, free_1="plan-A-002")
    create_customer(api, free_1="plan-B-001")
    create_customer(api, free_1="plan_A-003")  # `_` is not a wildcard
    assert _ids(api, free_1="plan-A-001") == [a["id"]]
    assert _ids(api, free_1_prefix="plan-A-") == [a["id"], b["id"]]
    assert _ids_by_body(api, free_1_prefix="plan-A-") == [a["id"], b["id"]]


def test_created_and_updated_ranges(api: Api) -> None:
    first = create_customer(api, free_6="range")
    time.sleep(0.02)
    middle = dt.datetime.now(dt.UTC)
    time.sleep(0.02)
    second = create_customer(api, free_6="range")
    assert _ids(api, free_6="range", created_to=middle.isoformat()) == [first["id"]]
    assert _ids(api, free_6="range", created_from=middle.isoformat()) == [second["id"]]
    time.sleep(0.02)
    before_update = dt.datetime.now(dt.UTC)
    api.patch(f"/v1/customers/{first['id']}", json={"free_7": "touched"})
    assert _ids(api, free_6="range", updated_from=before_update.isoformat()) == [first["id"]]
    assert _ids(api, free_6="range", updated_to=before_update.isoformat()) == [second["id"]]


def test_search_pages_with_a_cursor(api: Api) -> None:
    made = [create_customer(api, free_8="paged")["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"free_8": "paged", "limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/customers", params=params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_unknown_search_parameter_is_422(api: Api) -> None:
    response = api.post("/v1/customers/search", json={"address": "東京"})
    assert response.status_code == 422
