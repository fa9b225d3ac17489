"""`Idempotency-Key` one request after another (issue 6 §2): a replay passes the checks of
the original, a request that committed nothing frees its key, a dead reservation expires.
The concurrent half is tests/test_concurrency.py, against a real server."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from fastapi.testclient import TestClient

import kakin.kit.idempotency
from kakin.kit.db import tenant_session, utcnow
from kakin.runtime import Runtime
from kakin.tenancy import service as tenancy
from kakin.tenancy.models import IdempotencyRecord
from tests.factories.api import Api

KEY = {"Idempotency-Key": "once"}
BODY = {"name": "冪等 花子"}


def _customers(api: Api) -> list[str]:
    return [c["id"] for c in api.get("/v1/customers").json()["items"]]


def _token(client: TestClient, runtime: Runtime, api: Api, scopes: list[str]) -> Api:
    """Another client of the same tenant, holding only `scopes`."""
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        credentials = tenancy.create_client(session, name="narrow", scopes=scopes)
    response = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 200, response.text
    return Api(client, api.tenant_id, credentials, response.json()["access_token"])


def test_a_replay_needs_the_scope_of_the_route(
    api: Api, client: TestClient, runtime: Runtime
) -> None:
    assert api.post("/v1/customers", json=BODY, headers=KEY).status_code == 201
    narrow = _token(client, runtime, api, ["rating"])
    replay = narrow.post("/v1/customers", json=BODY, headers=KEY)
    assert replay.status_code == 403, replay.text
    assert "idempotent-replayed" not in replay.headers


def test_a_replay_needs_the_function_switched_on(api: Api) -> None:
    assert api.post("/v1/customers", json=BODY, headers=KEY).status_code == 201
    switched = api.patch("/v1/tenant", json={"functions": ["contracts", "rating"]})
    assert switched.status_code == 200, switched.text
    replay = api.post("/v1/customers", json=BODY, headers=KEY)
    assert replay.status_code == 403, replay.text


def test_a_replay_with_a_revoked_token_is_401(api: Api, runtime: Runtime) -> None:
    assert api.post("/v1/customers", json=BODY, headers=KEY).status_code == 201
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        owner = tenancy.token_owner(session, api.token)
        assert owner is not None
        tenancy.revoke_token(session, api.token, owner)
    replay = api.post("/v1/customers", json=BODY, headers=KEY)
    assert replay.status_code == 401, replay.text


def test_a_request_that_failed_frees_its_key_for_the_corrected_retry(api: Api) -> None:
    refused = api.post("/v1/customers", json={"name": ""}, headers=KEY)
    assert refused.status_code == 422
    corrected = api.post("/v1/customers", json=BODY, headers=KEY)
    assert corrected.status_code == 201, corrected.text
    assert "idempotent-replayed" not in corrected.headers
    again = api.post("/v1/customers", json=BODY, headers=KEY)
    assert again.headers["idempotent-replayed"] == "true"
    assert _customers(api) == [corrected.json()["id"]]


def _reserve(runtime: Runtime, api: Api, state: str, age: dt.timedelta) -> None:
    """A reservation left by a request of another process (the hash of BODY's POST)."""
    raw = api.client.build_request("POST", "/v1/customers", json=BODY).content
    fingerprint = hashlib.sha256(b"POST /v1/customers\n" + raw).hexdigest()
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        session.add(
            IdempotencyRecord(
                key="once",
                request_hash=fingerprint,
                state=state,
                owner="a-dead-process",
                reserved_at=utcnow() - age,
            )
        )


def test_a_reservation_whose_process_died_expires(api: Api, runtime: Runtime) -> None:
    _reserve(runtime, api, "running", kakin.kit.idempotency.RESERVATION_TTL * 2)
    response = api.post("/v1/customers", json=BODY, headers=KEY)
    assert response.status_code == 201, response.text
    assert len(_customers(api)) == 1


def test_a_key_still_running_is_409_after_a_bounded_wait(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kakin.kit.idempotency, "WAIT_SECONDS", 0.3)
    _reserve(runtime, api, "running", dt.timedelta(seconds=1))
    response = api.post("/v1/customers", json=BODY, headers=KEY)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/idempotency-key-in-use"
    assert _customers(api) == []


def test_a_committed_request_is_never_run_again(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its effects committed but its response was not kept (the process died in between):
    even long after, the key answers 409 rather than running the request a second time."""
    monkeypatch.setattr(kakin.kit.idempotency, "WAIT_SECONDS", 0.3)
    _reserve(runtime, api, "committed", kakin.kit.idempotency.RESERVATION_TTL * 2)
    response = api.post("/v1/customers", json=BODY, headers=KEY)
    assert response.status_code == 409, response.text
    assert _customers(api) == []


def test_a_key_sent_to_another_route_is_422(api: Api) -> None:
    assert api.post("/v1/customers", json=BODY, headers=KEY).status_code == 201
    other = api.post("/v1/groups", json=BODY, headers=KEY)
    assert other.status_code == 422
    assert other.json()["errors"][0]["pointer"] == "/headers/Idempotency-Key"


def test_a_key_of_control_characters_is_422(api: Api) -> None:
    response = api.post("/v1/customers", json=BODY, headers={"Idempotency-Key": "a\tb"})
    assert response.status_code == 422
    assert _customers(api) == []
