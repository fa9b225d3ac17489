"""Usage records through the API: registration one by one and in batches, duplicates,
validation, search, deletion and tenant isolation (issue 3; RATING.md §2, §4)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from kakin.usage.service import register_one
from tests.factories.api import Api, new_tenant_api
from tests.factories.usage import Sub, new_subscription, new_usage_item, record

BATCH = "/v1/usage-records/batch"


@dataclass
class World:
    api: Api
    sub: Sub
    item: str


@pytest.fixture
def world(api: Api, runtime: Runtime) -> World:
    sub = new_subscription(runtime, api.tenant_id, start="2026-10-01", external_ref="LINE-1")
    _, item = new_usage_item(runtime, api.tenant_id)
    return World(api, sub, item)


def test_a_record_is_registered_and_read_back(world: World) -> None:
    body = record(world.sub, world.item, quantity="12.5", record_id="cdr-1")
    response = world.api.post("/v1/usage-records", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/v1/usage-records/cdr-1"
    assert response.headers["ETag"]
    created = response.json()
    assert created["duplicate"] is False
    assert created["quantity"] == "12.5"
    assert created["used_on"] == "2026-11-10"
    assert created["usage_item"] == world.item
    got = world.api.get("/v1/usage-records/cdr-1")
    assert got.status_code == 200
    assert got.json() == {k: v for k, v in created.items() if k != "duplicate"}


def test_a_record_belongs_to_its_tenant_local_day_across_midnight_in_tokyo(world: World) -> None:
    # RATING.md §2: "A usage record belongs to the period that contains its local date."
    late = record(world.sub, world.item, used_at="2026-10-31T15:30:00Z")
    early = record(world.sub, world.item, used_at="2026-10-31T14:59:59Z")
    assert world.api.created("/v1/usage-records", late)["used_on"] == "2026-11-01"
    assert world.api.created("/v1/usage-records", early)["used_on"] == "2026-10-31"


def test_a_repeat_with_the_same_content_is_accepted_once_and_reported(world: World) -> None:
    body = record(world.sub, world.item, quantity="1.50", record_id="same")
    assert world.api.post("/v1/usage-records", json=body).status_code == 201
    again = world.api.post(
        "/v1/usage-records",
        json=body | {"quantity": "1.5", "used_at": "2026-11-10T03:00:00Z"},  # same value, instant
    )
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    batch = world.api.post(BATCH, json={"records": [record(world.sub, world.item), body]})
    assert batch.status_code == 200, batch.text
    assert batch.json() == {
        "accepted": 1,
        "duplicates": 1,
        "records": [{"index": 1, "record_id": "same", "status": "duplicate"}],
    }
    listed = world.api.get("/v1/usage-records", params={"subscription_id": world.sub.id})
    assert [r["record_id"] for r in listed.json()["items"]].count("same") == 1


def test_a_repeat_with_other_content_is_a_409_and_nothing_is_stored(world: World) -> None:
    world.api.created("/v1/usage-records", record(world.sub, world.item, record_id="r-1"))
    fresh = record(world.sub, world.item, record_id="r-2")
    changed = record(world.sub, world.item, quantity="2", record_id="r-1")
    response = world.api.post(BATCH, json={"records": [fresh, changed]})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"pointer": "/body/records/1/record_id", "reason": "already registered with other content"}
    ]
    assert world.api.get("/v1/usage-records/r-2").status_code == 404
    single = world.api.post("/v1/usage-records", json=changed)
    assert single.status_code == 409


def test_repeats_inside_one_batch_count_once_or_conflict(world: World) -> None:
    body = record(world.sub, world.item, record_id="twice")
    ok = world.api.post(BATCH, json={"records": [body, body]})
    assert ok.json()["accepted"] == 1
    assert ok.json()["records"] == [{"index": 1, "record_id": "twice", "status": "duplicate"}]
    other = record(world.sub, world.item, record_id="thrice")
    clash = world.api.post(BATCH, json={"records": [other, other | {"quantity": "9"}]})
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["pointer"] == "/body/records/1/record_id"


def test_a_batch_with_bad_records_stores_nothing_and_lists_each_one(world: World) -> None:
    good = record(world.sub, world.item, record_id="good")
    records = [
        good,
        record(world.sub, world.item, quantity="-1"),
        record(world.sub, "NO-SUCH-ITEM"),
        record(None, world.item, subscription_id="sub_unknown"),
        record(world.sub, world.item, used_at="2026-11-10T12:00:00"),
        record(world.sub, world.item, quantity="0.1234567"),
        record(None, world.item),
        {"record_id": "x", "surprise": 1},
    ]
    response = world.api.post(BATCH, json={"records": records})
    assert response.status_code == 422
    errors = {(e["pointer"], e["reason"]) for e in response.json()["errors"]}
    pointers = {p for p, _ in errors}
    assert ("/body/records/1/quantity", "must not be negative") in errors
    assert ("/body/records/2/usage_item", "no such usage item") in errors
    assert ("/body/records/3/subscription_id", "no such subscription") in errors
    assert "/body/records/4/used_at" in pointers
    assert ("/body/records/5/quantity", "at most 6 decimal places") in errors
    assert "/body/records/6/subscription_id" in pointers
    assert {"/body/records/7/surprise", "/body/records/7/quantity"} <= pointers
    assert not any(p.startswith("/body/records/0/") for p in pointers)
    assert world.api.get("/v1/usage-records/good").status_code == 404


def test_a_timestamp_without_offset_and_a_json_fraction_are_refused(world: World) -> None:
    naive = world.api.post(
        "/v1/usage-records", json=record(world.sub, world.item, used_at="2026-11-10T12:00:00")
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["pointer"] == "/body/used_at"
    as_float = world.api.post(
        "/v1/usage-records", json=record(world.sub, world.item) | {"quantity": 1.5}
    )
    assert as_float.status_code == 422
    assert as_float.json()["errors"][0]["pointer"] == "/body/quantity"
    as_int = world.api.post(
        "/v1/usage-records", json=record(world.sub, world.item) | {"quantity": 7}
    )
    assert as_int.status_code == 201
    assert as_int.json()["quantity"] == "7"


def test_usage_outside_the_subscriptions_life_is_refused(api: Api, runtime: Runtime) -> None:
    # RATING.md §4: "A usage record must fall on a day inside its subscription's life
    # (start to end); any other is refused when it is registered."
    sub = new_subscription(runtime, api.tenant_id, start="2026-11-01", end="2026-11-30")
    _, item = new_usage_item(runtime, api.tenant_id)
    before = record(sub, item, used_at="2026-10-31T14:59:59Z")  # 10-31 23:59:59 in Tokyo
    first = record(sub, item, used_at="2026-10-31T15:00:00Z")  # 11-01 00:00 in Tokyo
    last = record(sub, item, used_at="2026-11-30T23:59:59+09:00")
    after = record(sub, item, used_at="2026-11-30T15:00:00Z")  # 12-01 in Tokyo
    response = api.post(BATCH, json={"records": [before, first, last, after]})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["pointer"] for e in errors] == ["/body/records/0/used_at", "/body/records/3/used_at"]
    assert "outside the subscription's life" in errors[0]["reason"]
    assert api.post(BATCH, json={"records": [first, last]}).json()["accepted"] == 2


def test_a_record_can_name_its_subscription_by_external_reference(world: World) -> None:
    body = record(None, world.item, subscription_external_ref="LINE-1")
    created = world.api.created("/v1/usage-records", body)
    assert created["subscription_id"] == world.sub.id
    # the same content addressed by id is the same record
    again = body | {"subscription_external_ref": None, "subscription_id": world.sub.id}
    assert world.api.post("/v1/usage-records", json=again).json()["duplicate"] is True
    unknown = world.api.post(
        "/v1/usage-records", json=record(None, world.item, subscription_external_ref="NOPE")
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/body/subscription_external_ref"
    both = world.api.post(
        "/v1/usage-records", json=body | {"subscription_id": world.sub.id, "record_id": "b"}
    )
    assert both.status_code == 422


def test_search_filters_by_subscription_item_and_days_and_pages(
    world: World, runtime: Runtime
) -> None:
    other_sub = new_subscription(runtime, world.api.tenant_id, external_ref="LINE-2")
    _, other_item = new_usage_item(runtime, world.api.tenant_id)
    records = [
        record(
            world.sub, world.item, used_at=f"2026-11-{day:02d}T10:00:00+09:00", record_id=f"a{day}"
        )
        for day in range(1, 11)
    ]
    records.append(record(other_sub, world.item, record_id="b1"))
    records.append(record(world.sub, other_item, record_id="c1"))
    assert world.api.post(BATCH, json={"records": records}).json()["accepted"] == 12

    def ids(**params: object) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            page = world.api.get(
                "/v1/usage-records",
                params={**params, "limit": 3} | ({"cursor": cursor} if cursor else {}),
            ).json()
            found += [r["record_id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    everything = ids()
    assert sorted(everything) == sorted(r["record_id"] for r in records)
    assert ids(subscription_id=world.sub.id, usage_item=world.item) == [
        f"a{d}" for d in range(1, 11)
    ]
    assert ids(subscription_external_ref="LINE-2") == ["b1"]
    assert ids(usage_item=other_item) == ["c1"]
    assert ids(subscription_id=world.sub.id, used_from="2026-11-03", used_to="2026-11-05") == [
        "a3",
        "a4",
        "a5",
    ]
    bad = world.api.get("/v1/usage-records", params={"cursor": "!!!"})
    assert bad.status_code == 422


def test_a_record_is_deleted_and_then_gone(world: World) -> None:
    world.api.created("/v1/usage-records", record(world.sub, world.item, record_id="gone"))
    stale = world.api.delete("/v1/usage-records/gone", headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert world.api.delete("/v1/usage-records/gone").status_code == 204
    assert world.api.get("/v1/usage-records/gone").status_code == 404
    assert world.api.delete("/v1/usage-records/gone").status_code == 404
    # once deleted, the record id can be used again
    assert (
        world.api.post(
            "/v1/usage-records", json=record(world.sub, world.item, quantity="3", record_id="gone")
        ).status_code
        == 201
    )


def test_another_tenants_records_and_subscriptions_are_invisible(
    world: World, other_api: Api
) -> None:
    world.api.created("/v1/usage-records", record(world.sub, world.item, record_id="mine"))
    assert other_api.get("/v1/usage-records/mine").status_code == 404
    assert other_api.delete("/v1/usage-records/mine").status_code == 404
    assert other_api.get("/v1/usage-records").json()["items"] == []
    assert (
        other_api.get("/v1/usage-records", params={"subscription_external_ref": "LINE-1"}).json()[
            "items"
        ]
        == []
    )
    theirs = other_api.post("/v1/usage-records", json=record(world.sub, world.item))
    assert theirs.status_code == 422
    pointers = {e["pointer"] for e in theirs.json()["errors"]}
    assert pointers == {"/body/subscription_id", "/body/usage_item"}
    # the same record id is free in another tenant
    assert world.api.get("/v1/usage-records/mine").status_code == 200


def test_a_batch_must_hold_one_to_ten_thousand_records(world: World) -> None:
    assert world.api.post(BATCH, json={"records": []}).status_code == 422
    assert world.api.post(BATCH, json=[]).status_code == 422
    too_many = {"records": [record(world.sub, world.item)] * 10_001}
    response = world.api.post(BATCH, json=too_many)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/records"


def test_usage_records_need_the_rating_scope(client: TestClient, runtime: Runtime) -> None:
    limited = new_tenant_api(client, runtime, scopes=["customers"])
    assert limited.get("/v1/usage-records").status_code == 403


def test_the_openapi_document_describes_the_request_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    batch = spec["paths"]["/v1/usage-records/batch"]["post"]["requestBody"]
    schema = batch["content"]["application/json"]["schema"]
    assert schema["properties"]["records"]["maxItems"] == 10_000
    assert "used_at" in schema["properties"]["records"]["items"]["properties"]


def test_a_record_id_is_unique_across_months(world: World) -> None:
    # The primary key holds the month (partitioning); uniqueness in the tenant is the key
    # of usage_record_ids, whatever the month.
    world.api.created("/v1/usage-records", record(world.sub, world.item, record_id="m-1"))
    december = record(world.sub, world.item, used_at="2026-12-05T10:00:00+09:00", record_id="m-1")
    response = world.api.post(BATCH, json={"records": [december]})
    assert response.status_code == 409
    assert world.api.get("/v1/usage-records/m-1").json()["used_on"] == "2026-11-10"


def test_an_id_being_registered_by_another_transaction_is_stored_once(
    world: World, runtime: Runtime
) -> None:
    """Issue 6 §2: the same record_id on another day, sent while a first registration of it
    is still uncommitted, waits for it and is then refused (409): one row, billed once."""
    # The month's partition exists first: creating it would lock the whole table meanwhile.
    world.api.created("/v1/usage-records", record(world.sub, world.item, record_id="warm"))
    first = record(world.sub, world.item, record_id="race-1")
    other_day = record(
        world.sub, world.item, record_id="race-1", used_at="2026-11-20T10:00:00+09:00"
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        with tenant_session(runtime.sessions, world.api.tenant_id) as session:
            tenant = session.query(Tenant).one()
            register_one(session, tenant, first, lambda _i, name: f"/body/{name}")
            started = threading.Event()

            def post() -> Any:
                started.set()
                return world.api.post("/v1/usage-records", json=other_day)

            pending = pool.submit(post)
            started.wait()
            time.sleep(0.5)  # the POST now waits for this transaction's claim of race-1
        response = pending.result(timeout=60)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    listed = world.api.get("/v1/usage-records", params={"subscription_id": world.sub.id})
    assert sorted((r["record_id"], r["used_on"]) for r in listed.json()["items"]) == [
        ("race-1", "2026-11-10"),
        ("warm", "2026-11-10"),
    ]


def test_a_deleted_id_may_be_registered_again_on_another_day(world: World) -> None:
    world.api.created("/v1/usage-records", record(world.sub, world.item, record_id="again"))
    assert world.api.delete("/v1/usage-records/again").status_code == 204
    december = record(world.sub, world.item, used_at="2026-12-05T10:00:00+09:00", record_id="again")
    assert world.api.post("/v1/usage-records", json=december).status_code == 201
    assert world.api.get("/v1/usage-records/again").json()["used_on"] == "2026-12-05"


def test_records_land_in_their_month_partition_on_postgresql(
    world: World, runtime: Runtime
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("partitions are a PostgreSQL feature")
    records = [
        record(world.sub, world.item, used_at="2027-03-31T15:00:00Z"),  # Tokyo: April 1
        record(world.sub, world.item, used_at="2027-03-15T10:00:00+09:00"),
    ]
    assert world.api.post(BATCH, json={"records": records}).json()["accepted"] == 2
    with runtime.engine.connect() as conn:
        counts = {
            name: conn.exec_driver_sql(
                f"SELECT count(*) FROM usage_partitions.{name} WHERE tenant_id = %s",  # noqa: S608
                (world.api.tenant_id,),
            ).scalar()
            for name in ("usage_records_2027_03", "usage_records_2027_04", "usage_records_default")
        }
    assert counts == {
        "usage_records_2027_03": 1,
        "usage_records_2027_04": 1,
        "usage_records_default": 0,
    }


def test_a_month_whose_rows_already_sit_in_default_still_takes_records(
    world: World, runtime: Runtime
) -> None:
    # PostgreSQL refuses a month's partition while DEFAULT holds rows of that month; the
    # records then go to DEFAULT too, and nothing fails.
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("partitions are a PostgreSQL feature")
    first = record(world.sub, world.item, used_at="2031-01-10T10:00:00+09:00", record_id="y-1")
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO usage_partitions.usage_records_default VALUES"
            " (%s, 'y-0', '2031-01-09', %s, 'x', 1, '2031-01-09 01:00', 'h', '2031-01-09 01:00')",
            (world.api.tenant_id, world.sub.id),
        )
    assert world.api.post("/v1/usage-records", json=first).status_code == 201
    with runtime.engine.connect() as conn:
        in_default = conn.exec_driver_sql(
            "SELECT record_id FROM usage_partitions.usage_records_default"
            " WHERE tenant_id = %s ORDER BY record_id",
            (world.api.tenant_id,),
        ).scalars()
        assert list(in_default) == ["y-0", "y-1"]
