"""Exactly once, never a 500: a real `kakin serve` on PostgreSQL driven by concurrent clients.

Issue 6 §2. The server is a subprocess with a database of its own (created as conftest.py
creates the suite's), so the requests race through uvicorn, the thread pool and the
connection pool as they do in production. The data the races need (a subscription, a usage
item) is written by a `Runtime` on the same database and master key; everything under test
goes through HTTP. PostgreSQL only: without it the module is skipped with the reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kakin.kit.db import tenant_session, unscoped_session
from kakin.onboarding import open_tenant
from kakin.runtime import Runtime
from kakin.settings import Settings
from kakin.tenancy import service as tenancy
from tests.conftest import _drop_postgres_database, _fresh_postgres_database, _postgres_available
from tests.factories.usage import Sub, new_subscription, new_usage_item, record

CLIENTS = 20
STARTUP_SECONDS = 60


@dataclass
class Server:
    url: str
    runtime: Runtime


@dataclass
class Tenant:
    server: Server
    tenant_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.headers | kwargs.pop("headers", {})
        return httpx.request(method, self.server.url + path, headers=headers, timeout=60, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    problem = _postgres_available()
    if problem is not None:
        pytest.skip(f"needs PostgreSQL for a real server ({problem})")
    url = _fresh_postgres_database()
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    var = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = os.environ | {
        "KAKIN_DATABASE_URL": url,
        "KAKIN_MASTER_KEY": key,
        "KAKIN_VAR_DIR": str(var / "var"),
        "KAKIN_SCHEDULER_INTERVAL_SECONDS": "0",
    }
    log = (var / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kakin.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    runtime: Runtime | None = None
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, (var / "serve.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "kakin serve did not answer /healthz"
            time.sleep(0.2)
        settings = Settings(database_url=url, var_dir=Path(var / "var"), master_key=key)
        runtime = Runtime.from_settings(settings)
        yield Server(base, runtime)
    finally:
        if runtime is not None:
            runtime.close()
        process.terminate()
        process.wait(timeout=30)
        log.close()
        _drop_postgres_database(url)
        # The server's own log, for a failing run: every 500 is logged with its traceback.
        print((var / "serve.log").read_text())  # noqa: T201


@pytest.fixture
def tenant(server: Server) -> Tenant:
    runtime = server.runtime
    with unscoped_session(runtime.sessions) as session:
        tenant_id = open_tenant(session, "concurrency", runtime.keyring.new_wrapped_key()).tenant_id
    with tenant_session(runtime.sessions, tenant_id) as session:
        credentials = tenancy.create_client(session, name="race")
    response = httpx.post(
        server.url + "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 200, response.text
    return Tenant(server, tenant_id, response.json()["access_token"])


def race(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run every call at once (one thread each, released together by a barrier)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def test_one_idempotency_key_creates_one_adjustment(tenant: Tenant) -> None:
    contract = tenant.call(
        "POST", "/v1/contracts", json={"external_customer_id": "ext-1", "start_date": "2026-10-01"}
    )
    assert contract.status_code == 201, contract.text
    path = f"/v1/contracts/{contract.json()['id']}/adjustments"
    body = {"amount": "-500", "reason": "goodwill"}
    headers = {"Idempotency-Key": "adjust-once"}
    responses = race([lambda: tenant.call("POST", path, json=body, headers=headers)] * CLIENTS)
    counts = statuses(responses)
    assert set(counts) <= {201, 409}, counts
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    replayed = [r for r in created if r.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == len(created) - 1
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.headers["content-type"] == "application/problem+json"
        assert conflict.json()["type"] == "/problems/idempotency-key-in-use"
    listed = tenant.call("GET", path).json()["items"]
    assert len(listed) == 1


@pytest.fixture
def usage(tenant: Tenant) -> tuple[Sub, str]:
    sub = new_subscription(tenant.server.runtime, tenant.tenant_id, start="2026-01-01")
    _, item = new_usage_item(tenant.server.runtime, tenant.tenant_id)
    # The month's partition exists before the race: creating one locks the whole table,
    # which would line the racers up one after the other.
    warm = record(sub, item, record_id="warm-up", used_at="2026-11-01T12:00:00+09:00")
    assert tenant.call("POST", "/v1/usage-records", json=warm).status_code == 201
    return sub, item


def test_one_record_id_on_eight_days_is_stored_once(tenant: Tenant, usage: tuple[Sub, str]) -> None:
    sub, item = usage
    days = [dt.date(2026, 11, day) for day in range(2, 10)]
    bodies = [
        record(sub, item, record_id="cdr-8", used_at=f"{day.isoformat()}T12:00:00+09:00")
        for day in days
    ]
    responses = race(
        [lambda b=body: tenant.call("POST", "/v1/usage-records", json=b) for body in bodies]
    )
    counts = statuses(responses)
    assert counts[201] == 1, counts
    assert set(counts) <= {201, 409}, counts
    listed = tenant.call("GET", "/v1/usage-records", params={"limit": 100}).json()["items"]
    assert sorted(r["record_id"] for r in listed) == ["cdr-8", "warm-up"]


def test_ten_batches_of_the_same_ids_store_each_id_once(
    tenant: Tenant, usage: tuple[Sub, str]
) -> None:
    sub, item = usage

    def batch(day: int) -> list[dict[str, Any]]:
        used_at = f"2026-11-{day:02d}T12:00:00+09:00"
        return [record(sub, item, record_id=f"b-{n:03d}", used_at=used_at) for n in range(200)]

    # Two days: a batch of the other day conflicts (409), one of the same day repeats (200,
    # every record a duplicate); either way each id is stored once.
    batches = [batch(2 + k % 2) for k in range(10)]
    responses = race(
        [
            lambda b=b: tenant.call("POST", "/v1/usage-records/batch", json={"records": b})
            for b in batches
        ]
    )
    counts = statuses(responses)
    assert set(counts) <= {200, 409}, counts
    accepted = sum(r.json()["accepted"] for r in responses if r.status_code == 200)
    assert accepted == 200
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = tenant.call("GET", "/v1/usage-records", params=params).json()
        ids += [r["record_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(ids) == sorted([r["record_id"] for r in batches[0]] + ["warm-up"])


@pytest.mark.parametrize(
    ("create", "path", "change"),
    [
        (("/v1/customers", {"name": "競合 太郎"}), "/v1/customers/{id}", {"name": "競合 次郎"}),
        (("/v1/groups", {"name": "group"}), "/v1/groups/{id}", {"name": "renamed"}),
        (("/v1/services", {"code": "S1", "name": "line"}), "/v1/services/{id}", {"name": "x"}),
        (None, "/v1/tenant", {"issuer_name": "株式会社 競合"}),
    ],
    ids=["customer", "group", "service", "tenant"],
)
def test_concurrent_patches_give_one_200_and_no_500(
    tenant: Tenant, create: tuple[str, dict[str, Any]] | None, path: str, change: dict[str, Any]
) -> None:
    if create is not None:
        created = tenant.call("POST", create[0], json=create[1])
        assert created.status_code == 201, created.text
        path = path.format(id=created.json()["id"])
    current = tenant.call("GET", path)
    assert current.status_code == 200, current.text
    headers = {"If-Match": current.headers["ETag"]}
    responses = race(
        [
            lambda n=n: tenant.call("PATCH", path, json=_numbered(change, n), headers=headers)
            for n in range(CLIENTS)
        ]
    )
    counts = statuses(responses)
    assert counts[200] == 1, counts
    assert set(counts) <= {200, 409, 412}, counts
    for refused in (r for r in responses if r.status_code != 200):
        assert refused.headers["content-type"] == "application/problem+json"


def _numbered(change: dict[str, Any], n: int) -> dict[str, Any]:
    return {name: f"{value} {n}" for name, value in change.items()}
