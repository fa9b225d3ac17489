"""What every master does: CRUD, search, codes unique per tenant, retire, tenant walls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kakin.runtime import Runtime
from tests.factories import catalog
from tests.factories.api import Api, new_tenant_api

Builder = Callable[[Api], dict[str, Any]]

MASTERS: dict[str, Builder] = {
    "/v1/services": catalog.create_service,
    "/v1/usage-items": catalog.create_usage_item,
    "/v1/tariffs": catalog.create_tariff,
    "/v1/discount-tables": catalog.create_discount_table,
    "/v1/price-plans": catalog.create_price_plan,
}

each_master = pytest.mark.parametrize(("path", "build"), list(MASTERS.items()), ids=list(MASTERS))


def test_a_service_is_created_read_changed_and_listed(api: Api) -> None:
    response = api.post(
        "/v1/services",
        json={"code": "NET", "name": "光回線", "description": "1 Gbps", "free_1": "fiber"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("svc_")
    assert created["status"] == "active"
    assert response.headers["Location"] == f"/v1/services/{created['id']}"
    etag = response.headers["ETag"]

    got = api.get(f"/v1/services/{created['id']}")
    assert got.json() == created
    assert got.headers["ETag"] == etag

    changed = api.patch(
        f"/v1/services/{created['id']}",
        json={"name": "光回線 10G", "free": {"speed": "10G"}},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "光回線 10G"
    assert changed.json()["free"] == {"speed": "10G"}
    assert changed.json()["description"] == "1 Gbps"
    assert changed.headers["ETag"] != etag

    listed = api.get("/v1/services").json()
    assert [s["id"] for s in listed["items"]] == [created["id"]]


@each_master
def test_a_duplicate_code_is_409(api: Api, path: str, build: Builder) -> None:
    first = build(api)
    second = build(api)
    response = api.patch(f"{path}/{second['id']}", json={"code": first["code"]})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/duplicate-code"
    assert api.get(f"{path}/{second['id']}").json()["code"] == second["code"]


def test_a_duplicate_code_on_create_is_409_and_writes_nothing(api: Api) -> None:
    catalog.create_service(api, code="TV")
    response = api.post("/v1/services", json={"code": "TV", "name": "もう一つ"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert len(api.get("/v1/services").json()["items"]) == 1


def test_the_same_code_is_free_in_another_tenant(api: Api, other_api: Api) -> None:
    catalog.create_service(api, code="SAME")
    catalog.create_service(other_api, code="SAME")


@each_master
def test_another_tenants_master_is_404_everywhere(
    api: Api, other_api: Api, path: str, build: Builder
) -> None:
    theirs = build(other_api)
    url = f"{path}/{theirs['id']}"
    assert api.get(url).status_code == 404
    assert api.patch(url, json={"name": "x"}).status_code == 404
    assert api.delete(url).status_code == 404
    assert api.get(path).json()["items"] == []
    assert other_api.get(url).json()["name"] == theirs["name"]


@each_master
def test_delete_retires_the_master_which_stays_readable(
    api: Api, path: str, build: Builder
) -> None:
    created = build(api)
    url = f"{path}/{created['id']}"
    assert api.delete(url).status_code == 204
    assert api.get(url).json()["status"] == "retired"
    assert api.get(path, params={"status": "active"}).json()["items"] == []
    assert [m["id"] for m in api.get(path, params={"status": "retired"}).json()["items"]] == [
        created["id"]
    ]
    back = api.patch(url, json={"status": "active"})
    assert back.json()["status"] == "active"


@each_master
def test_a_stale_if_match_is_412_and_changes_nothing(api: Api, path: str, build: Builder) -> None:
    created = build(api)
    url = f"{path}/{created['id']}"
    etag = api.get(url).headers["ETag"]
    assert (
        api.patch(url, json={"name": "新しい名前"}, headers={"If-Match": etag}).status_code == 200
    )
    stale = api.patch(url, json={"name": "古い"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert api.delete(url, headers={"If-Match": etag}).status_code == 412
    assert api.get(url).json()["name"] == "新しい名前"
    assert api.get(url).json()["status"] == "active"


def test_masters_are_searched_by_code_name_status_and_free_fields(api: Api) -> None:
    internet = catalog.create_service(api, code="NET-1", name="Fiber Internet", free_2="east")
    catalog.create_service(api, code="TV-1", name="ケーブルテレビ", free_2="west")
    phone = catalog.create_service(api, code="NET-PHONE", name="IP電話", free_2="eastern")

    def ids(**params: str) -> list[str]:
        response = api.get("/v1/services", params=params)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["items"]]

    assert ids(code="NET-1") == [internet["id"]]
    assert ids(code_prefix="NET") == [internet["id"], phone["id"]]
    assert ids(name="internet") == [internet["id"]]
    assert ids(name="テレビ") != []
    assert ids(free_2="east") == [internet["id"]]
    assert ids(free_2_prefix="east") == [internet["id"], phone["id"]]
    assert ids(code_prefix="NET", name="電話") == [phone["id"]]
    assert ids(code="NET_1") == []  # `_` is no wildcard


def test_lists_page_with_a_cursor(api: Api) -> None:
    made = [catalog.create_usage_item(api)["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/usage-items", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_a_change_cannot_clear_a_required_field(api: Api) -> None:
    created = catalog.create_service(api)
    response = api.patch(f"/v1/services/{created['id']}", json={"name": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/name"


def test_codes_with_spaces_are_refused(api: Api) -> None:
    response = api.post("/v1/services", json={"code": "A B", "name": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/code"


def test_masters_need_the_contracts_scope(client: TestClient, runtime: Runtime) -> None:
    limited = new_tenant_api(client, runtime, scopes=["customers"])
    assert limited.get("/v1/services").status_code == 403
    assert limited.post("/v1/tariffs", json={}).status_code == 403


def test_changes_are_audited(api: Api) -> None:
    created = catalog.create_service(api)
    api.patch(f"/v1/services/{created['id']}", json={"name": "changed"})
    api.delete(f"/v1/services/{created['id']}")
    response = api.get("/v1/audit-events", params={"resource_id": created["id"]})
    actions = [event["action"] for event in response.json()["items"]]
    assert sorted(actions) == ["create", "delete", "update"]
