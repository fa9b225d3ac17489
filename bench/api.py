"""API benchmark (issue 2): bulk registration, get by id and search, against a database floor.

Starts `kakin serve` on loopback with PostgreSQL, bulk-registers customers with encryption,
then measures under concurrency 8 `GET /v1/customers/{id}` and a search by `free_1`, and the
same number of bare primary-key SELECTs through the same driver (psycopg) as the floor.
Prints one JSON object.

    python bench/api.py                       # 100,000 customers (the issue's figures)
    python bench/api.py --customers 2000 --requests 200   # the CI smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
KAKIN = str(Path(sys.executable).with_name("kakin"))
ADMIN_URL = os.environ.get(
    "KAKIN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CONCURRENCY = 8
BATCH = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(name: str) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_until_up(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("kakin serve did not come up")
        time.sleep(0.2)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def customer(i: int) -> dict[str, Any]:
    return {
        "name": f"山田 太郎{i}",
        "name_kana": "ヤマダ タロウ",
        "gender": "male",
        "birth_date": "1980-04-01",
        "postal_code": "100-0001",
        "address": f"東京都千代田区千代田1-{i}",
        "phone": f"090{i:08d}",
        "email": f"user{i}@example.jp",
        "nationality": "JP",
        "free_1": f"shop-{i // 10}",
        "free": {"rank": i % 5},
    }


async def timed_requests(n: int, call: Any, concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            start = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def run(
    args: argparse.Namespace, base_url: str, db_url: str, creds: dict[str, str]
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        token_response = await http.post(
            "/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        token_response.raise_for_status()
        headers = {"Authorization": f"Bearer {token_response.json()['access_token']}"}

        ids: list[str] = []
        batches = [
            [customer(i) for i in range(start, min(start + BATCH, args.customers))]
            for start in range(0, args.customers, BATCH)
        ]
        started = time.perf_counter()
        semaphore = asyncio.Semaphore(2)

        async def register(batch: list[dict[str, Any]]) -> None:
            async with semaphore:
                response = await http.post(
                    "/v1/customers/bulk", json={"customers": batch}, headers=headers
                )
                response.raise_for_status()
                ids.extend(item["id"] for item in response.json()["items"])

        await asyncio.gather(*(register(b) for b in batches))
        register_s = time.perf_counter() - started

        # The state a running server is in: autovacuum has analysed the new rows.
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("ANALYZE")

        rng = random.Random(7)
        sample = [rng.choice(ids) for _ in range(args.requests)]

        async def get_one(i: int) -> None:
            response = await http.get(f"/v1/customers/{sample[i]}", headers=headers)
            assert response.status_code == 200, response.text

        async def search_one(i: int) -> None:
            shop = f"shop-{rng.randrange(max(1, args.customers // 10))}"
            response = await http.get("/v1/customers", params={"free_1": shop}, headers=headers)
            assert response.status_code == 200, response.text

        c = args.concurrency
        await timed_requests(min(200, args.requests), get_one, c)  # warm-up
        get_ms = await timed_requests(args.requests, get_one, c)
        search_ms = await timed_requests(args.requests, search_one, c)

    connections = [
        await psycopg.AsyncConnection.connect(db_url, autocommit=True)
        for _ in range(args.concurrency)
    ]
    pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for conn in connections:
        pool.put_nowait(conn)

    async def floor_one(i: int) -> None:
        conn = await pool.get()
        try:
            cur = await conn.execute(
                "SELECT * FROM customers WHERE tenant_id = %s AND id = %s",
                (creds["tenant_id"], sample[i]),
            )
            assert await cur.fetchone() is not None
        finally:
            pool.put_nowait(conn)

    floor_ms = await timed_requests(args.requests, floor_one, args.concurrency)
    for conn in connections:
        await conn.close()

    return {
        "database": "postgresql",
        "customers": args.customers,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "server_workers": args.workers,
        "customers_per_s": round(args.customers / register_s, 1),
        "get_p50_ms": round(statistics.median(get_ms), 2),
        "get_p99_ms": round(percentile(get_ms, 99), 2),
        "search_p50_ms": round(statistics.median(search_ms), 2),
        "search_p99_ms": round(percentile(search_ms, 99), 2),
        "floor_get_p50_ms": round(statistics.median(floor_ms), 3),
        "floor_get_p99_ms": round(percentile(floor_ms, 99), 3),
        "get_p99_over_floor": round(
            percentile(get_ms, 99) / max(percentile(floor_ms, 99), 1e-6), 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="requests in flight")
    args = parser.parse_args()

    db_name = f"kakin_bench_{secrets.token_hex(3)}"
    db_url = fresh_database(db_name)
    port = free_port()
    with tempfile.TemporaryDirectory() as var_dir:
        env = os.environ | {
            "KAKIN_DATABASE_URL": db_url,
            "KAKIN_VAR_DIR": var_dir,
            "KAKIN_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        created = subprocess.run(
            [KAKIN, "tenant", "create", "bench", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        creds = json.loads(created.stdout.strip().splitlines()[-1])
        server = subprocess.Popen(
            [KAKIN, "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_up(base_url, server)
            result = asyncio.run(run(args, base_url, db_url, creds))
        finally:
            server.terminate()
            server.wait(timeout=30)
            drop_database(db_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
