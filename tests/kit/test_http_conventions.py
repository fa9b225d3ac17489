"""API conventions that hold for every route: problems, idempotency keys, unknown routes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories.api import Api


def test_unknown_route_is_a_404_problem(api: Api) -> None:
    response = api.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_wrong_method_is_a_405_problem(api: Api) -> None:
    response = api.put("/v1/tenant", json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_health_and_openapi_are_served(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/v1/customers" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_idempotency_key_replays_the_first_response(api: Api) -> None:
    body = {"name": "冪等 花子"}
    first = api.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    again = api.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listed = api.get("/v1/customers").json()["items"]
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_idempotency_key_with_another_body_is_422(api: Api) -> None:
    api.post("/v1/customers", json={"name": "一"}, headers={"Idempotency-Key": "k-2"})
    other = api.post("/v1/customers", json={"name": "二"}, headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["pointer"] == "/headers/Idempotency-Key"
    assert len(api.get("/v1/customers").json()["items"]) == 1


def test_idempotency_keys_are_per_tenant(api: Api, other_api: Api) -> None:
    mine = api.post("/v1/customers", json={"name": "甲"}, headers={"Idempotency-Key": "same"})
    theirs = other_api.post(
        "/v1/customers", json={"name": "乙"}, headers={"Idempotency-Key": "same"}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_bad_cursor_is_a_422_naming_the_cursor(api: Api) -> None:
    response = api.get("/v1/customers", params={"cursor": "!!!"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/query/cursor"
