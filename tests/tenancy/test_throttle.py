"""Repeated failed client authentications are slowed down (token and revoke endpoints).

The count lives on the client's row, so every worker process sees the same failures.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from kakin.app import create_app
from kakin.runtime import Runtime
from kakin.tenancy.throttle import FIRST_LOCK, FREE_FAILURES, MAX_LOCK, lock_for
from tests.factories.api import Api


def _token(client: TestClient, api: Api, secret: str) -> Any:
    return client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api.credentials.client_id, secret),
    )


def test_the_back_off_doubles_from_one_second_up_to_a_ceiling() -> None:
    assert [lock_for(n) for n in range(1, FREE_FAILURES + 1)] == [None] * FREE_FAILURES
    assert lock_for(FREE_FAILURES + 1) == FIRST_LOCK
    assert lock_for(FREE_FAILURES + 2) == 2 * FIRST_LOCK
    assert lock_for(FREE_FAILURES + 4) == 8 * FIRST_LOCK
    assert lock_for(FREE_FAILURES + 1000) == MAX_LOCK


def test_repeated_failures_lock_the_client_out_until_the_window_passes(
    client: TestClient, api: Api
) -> None:
    right = api.credentials.client_secret
    for _ in range(FREE_FAILURES + 1):
        assert _token(client, api, "wrong").status_code == 401
    # Locked now: even the right secret waits, and the answer says how long.
    locked = _token(client, api, right)
    assert locked.status_code == 429, locked.text
    assert locked.headers["Retry-After"] == "1"
    assert locked.json()["error"] == "slow_down"
    assert locked.headers["Cache-Control"] == "no-store"
    assert _token(client, api, "wrong").status_code == 429  # not even checked
    # Revocation authenticates the client too: no way around the lock there.
    revoke = client.post(
        "/v1/oauth/revoke", data={"token": api.token}, auth=(api.credentials.client_id, right)
    )
    assert revoke.status_code == 429
    time.sleep(FIRST_LOCK.total_seconds() + 0.1)
    assert _token(client, api, right).status_code == 200
    # A success resets the count: the next failure is an ordinary 401.
    assert _token(client, api, "wrong").status_code == 401
    assert _token(client, api, right).status_code == 200


def test_a_locked_client_does_not_lock_its_neighbours(
    client: TestClient, api: Api, other_api: Api
) -> None:
    for _ in range(FREE_FAILURES + 1):
        _token(client, api, "wrong")
    assert _token(client, api, api.credentials.client_secret).status_code == 429
    assert _token(client, other_api, other_api.credentials.client_secret).status_code == 200


def test_failures_count_alike_on_every_worker_process(
    client: TestClient, runtime: Runtime, api: Api
) -> None:
    """SCALE.md: several processes serve one database; a guesser spreading its attempts
    over them meets one count (here a second app with its own engine and pool)."""
    second_runtime = Runtime.from_settings(runtime.settings)
    try:
        with TestClient(create_app(second_runtime), raise_server_exceptions=False) as second:
            for n in range(FREE_FAILURES + 1):
                assert _token(second if n % 2 else client, api, "wrong").status_code == 401
            assert _token(second, api, api.credentials.client_secret).status_code == 429
            assert _token(client, api, api.credentials.client_secret).status_code == 429
    finally:
        second_runtime.close()
