"""Groups: register, change, delete, search; add and remove customers; list members."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.customers import create_customer, create_group


@contextmanager
def _count_statements(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def _record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", _record)


def test_group_is_registered_read_changed_and_deleted(api: Api) -> None:
    response = api.post("/v1/groups", json={"name": "株式会社テスト", "free_1": "corp"})
    assert response.status_code == 201
    group = response.json()
    assert group["id"].startswith("grp_")
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/groups/{group['id']}"
    path = f"/v1/groups/{group['id']}"
    assert api.get(path).json() == group
    changed = api.patch(path, json={"name": "テスト株式会社"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.json()["name"] == "テスト株式会社"
    assert changed.json()["free_1"] == "corp"
    assert changed.headers["ETag"] == '"2"'
    assert api.patch(path, json={"name": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    assert api.delete(path, headers={"If-Match": '"1"'}).status_code == 412
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


def test_group_name_is_required_and_cannot_be_cleared(api: Api) -> None:
    assert api.post("/v1/groups", json={"name": ""}).status_code == 422
    group = create_group(api)
    response = api.patch(f"/v1/groups/{group['id']}", json={"name": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/name"


def test_groups_are_searched_by_name_and_free_fields(api: Api) -> None:
    a = create_group(api, "関東営業所", free_2="east")
    b = create_group(api, "関東本社", free_2="east")
    create_group(api, "関西営業所", free_2="west")

    def ids(**params: str) -> list[str]:
        response = api.get("/v1/groups", params=params)
        assert response.status_code == 200, response.text
        return [g["id"] for g in response.json()["items"]]

    assert ids(name="関東営業所") == [a["id"]]
    assert ids(name_prefix="関東") == [a["id"], b["id"]]
    assert ids(free_2="east", limit="1") == [a["id"]]
    assert ids(free_2_prefix="we", name_prefix="関東") == []


def test_members_are_added_idempotently_listed_decrypted_and_removed(api: Api) -> None:
    group = create_group(api)
    first = create_customer(api)
    second = create_customer(api)
    base = f"/v1/groups/{group['id']}/customers"
    added = api.put(f"{base}/{first['id']}")
    assert added.status_code == 201
    assert added.json()["customer_id"] == first["id"]
    assert api.put(f"{base}/{first['id']}").status_code == 200
    assert api.put(f"{base}/{second['id']}").status_code == 201
    members = api.get(base).json()["items"]
    assert members == [first, second]
    groups = api.get(f"/v1/customers/{first['id']}/groups").json()["items"]
    assert [g["id"] for g in groups] == [group["id"]]
    assert api.delete(f"{base}/{first['id']}").status_code == 204
    assert [c["id"] for c in api.get(base).json()["items"]] == [second["id"]]
    missing = api.delete(f"{base}/{first['id']}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/group-member-not-found"


def test_deleted_customers_leave_the_member_list_and_cannot_join(api: Api) -> None:
    group = create_group(api)
    customer = create_customer(api)
    base = f"/v1/groups/{group['id']}/customers"
    api.put(f"{base}/{customer['id']}")
    assert api.delete(f"/v1/customers/{customer['id']}").status_code == 204
    assert api.get(base).json()["items"] == []
    other = create_customer(api)
    api.delete(f"/v1/customers/{other['id']}")
    refused = api.put(f"{base}/{other['id']}")
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/customer-deleted"


def test_deleting_a_group_keeps_its_customers(api: Api) -> None:
    group = create_group(api)
    customer = create_customer(api)
    api.put(f"/v1/groups/{group['id']}/customers/{customer['id']}")
    assert api.delete(f"/v1/groups/{group['id']}").status_code == 204
    assert api.get(f"/v1/customers/{customer['id']}").json()["status"] == "active"
    assert api.get(f"/v1/customers/{customer['id']}/groups").json()["items"] == []


def test_listing_members_takes_the_same_queries_for_any_page_size(
    api: Api, runtime: Runtime
) -> None:
    small, large = create_group(api, "small"), create_group(api, "large")
    for group, size in ((small, 1), (large, 12)):
        for _ in range(size):
            customer = create_customer(api)
            api.put(f"/v1/groups/{group['id']}/customers/{customer['id']}")
    counts = []
    for group in (small, large):
        with _count_statements(runtime) as statements:
            page = api.get(f"/v1/groups/{group['id']}/customers").json()
        assert page["items"]
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_another_tenant_sees_no_group_and_cannot_use_foreign_customers(
    api: Api, other_api: Api
) -> None:
    group = create_group(api, "isolated-group")
    customer = create_customer(api)
    path = f"/v1/groups/{group['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, json={"name": "stolen"}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get(f"{path}/customers").status_code == 404
    assert other_api.put(f"{path}/customers/{customer['id']}").status_code == 404
    assert other_api.get("/v1/groups", params={"name": "isolated-group"}).json()["items"] == []
    own_group = create_group(other_api)
    foreign = other_api.put(f"/v1/groups/{own_group['id']}/customers/{customer['id']}")
    assert foreign.status_code == 404
    assert foreign.json()["type"] == "/problems/customer-not-found"
    assert other_api.get(f"/v1/customers/{customer['id']}/groups").status_code == 404
    assert api.get(path).json()["name"] == "isolated-group"
