"""API benchmark (issue 2): bulk registration, get by id and search, against a database floor.

Starts `kakin serve` on loopback with PostgreSQL, bulk-registers customers with encryption,
then measures under concurrency 8 `GET /v1/customers/{id}` and a search by `free_1` with wrk
(outside the server's Python and outside this script's), and as the floor the same number
of bare SELECTs of the same rows by the same key with pgbench, at the same concurrency.
Prints one JSON object. Needs `wrk` and `pgbench` (Debian: wrk, postgresql-client).

    python bench/api.py                       # 100,000 customers (the issue's figures)
    python bench/api.py --customers 2000 --requests 200   # the CI smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
KAKIN = str(Path(sys.executable).with_name("kakin"))
ADMIN_URL = os.environ.get(
    "KAKIN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CONCURRENCY = 8
BATCH = 1000
WRK = shutil.which("wrk") or "wrk"
PGBENCH = shutil.which("pgbench") or "pgbench"
WRK_THREADS = 2
"""Load-generator threads (wrk's and pgbench's): the machine has two cores."""
WRK_MAX_SECONDS = 600
"""wrk runs for a duration; api.lua stops each thread after its share of requests first."""
PGBENCH_MAX_SCRIPTS = 128
SAFE_ID = re.compile(r"[A-Za-z0-9_]+")


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


@contextlib.contextmanager
def serving(env: dict[str, str], workers: int) -> Iterator[str]:
    """`kakin serve` with `workers` processes on a free loopback port, for the block; yields
    its base URL once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [KAKIN, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(base_url, server)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)


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


async def register_all(
    http: httpx.AsyncClient, headers: dict[str, str], count: int
) -> tuple[list[str], float]:
    """Bulk-register `count` customers, two requests in flight; their ids and the seconds."""
    ids: list[str] = []
    batches = [
        [customer(i) for i in range(start, min(start + BATCH, count))]
        for start in range(0, count, BATCH)
    ]
    semaphore = asyncio.Semaphore(2)

    async def register(batch: list[dict[str, Any]]) -> None:
        async with semaphore:
            response = await http.post(
                "/v1/customers/bulk", json={"customers": batch}, headers=headers
            )
            response.raise_for_status()
            ids.extend(item["id"] for item in response.json()["items"])

    started = time.perf_counter()
    await asyncio.gather(*(register(b) for b in batches))
    return ids, time.perf_counter() - started


async def access_token(http: httpx.AsyncClient, creds: dict[str, str]) -> str:
    response = await http.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def wrk(
    base_url: str, token: str, paths: list[str], requests: int, concurrency: int, work: Path
) -> dict[str, float]:
    """`requests` GETs of `paths` by wrk, `concurrency` connections; latency in ms."""
    paths_file = work / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    threads = min(WRK_THREADS, concurrency)
    per_thread = max(1, requests // threads)
    with subprocess.Popen(
        [
            WRK,
            f"--threads={threads}",
            f"--connections={concurrency}",
            f"--duration={WRK_MAX_SECONDS}s",
            "--timeout=30s",
            f"--script={ROOT / 'bench' / 'api.lua'}",
            base_url,
            "--",
            token,
            str(paths_file),
            str(per_thread),
            str(threads),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        said: list[str] = []
        for message in process.stderr:  # api.lua: each thread says when it has its answers
            said.append(message)
            if said.count("WRK_THREAD_DONE\n") == threads:
                process.send_signal(signal.SIGINT)  # wakes wrk's main thread to report
                break
        out = process.stdout.read()
        if process.wait() != 0 or "WRK_JSON " not in out:
            raise SystemExit(f"wrk failed: {''.join(said)}{process.stderr.read()}")
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    if result["failed"] or result["socket_errors"]:
        raise SystemExit(f"wrk: requests failed: {result}")
    return {
        "requests": result["requests"],
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "per_s": result["requests"] / (result["duration_us"] / 1e6),
    }


def pgbench_floor(
    db_url: str, tenant_id: str, ids: list[str], requests: int, concurrency: int, work: Path
) -> dict[str, float]:
    """The floor: pgbench selecting the same rows by the same key, `concurrency` clients.

    pgbench variables cannot hold strings it did not read itself, so each id is its own
    one-statement script (pgbench picks one at random per transaction, up to 128 ids);
    prepared statements, as psycopg prepares a query the server runs repeatedly.
    """
    url = urlsplit(db_url)
    scripts = []
    for n, customer_id in enumerate(dict.fromkeys(ids).keys()):
        if n == PGBENCH_MAX_SCRIPTS:
            break
        if not (SAFE_ID.fullmatch(tenant_id) and SAFE_ID.fullmatch(customer_id)):
            raise SystemExit(f"unexpected id {customer_id!r}")
        script = work / f"floor_{n}.sql"
        script.write_text(
            "SELECT * FROM customers"  # noqa: S608 - both ids match SAFE_ID
            f" WHERE tenant_id = '{tenant_id}' AND id = '{customer_id}';\n"
        )
        scripts += ["-f", f"{script}@1"]
    logs = work / "floor_log"
    command = [
        PGBENCH,
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={concurrency}",
        f"--jobs={min(WRK_THREADS, concurrency)}",
        f"--host={url.hostname or '127.0.0.1'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or 'postgres'}",
        *scripts,
    ]
    subprocess.run(  # warm-up: connections' first statements, catalogue caches
        [*command, "--transactions=20", url.path.lstrip("/")], check=True, capture_output=True
    )
    subprocess.run(
        [
            *command,
            f"--transactions={max(1, requests // concurrency)}",
            "--log",
            f"--log-prefix={logs}",
            url.path.lstrip("/"),
        ],
        check=True,
        capture_output=True,
    )
    # per-transaction log lines: client_id transaction_no latency_us script_no epoch epoch_us
    latencies = [
        int(line.split()[2]) / 1000
        for log in work.glob("floor_log.*")
        for line in log.read_text().splitlines()
    ]
    return {
        "requests": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
    }


def run(
    args: argparse.Namespace, base_url: str, db_url: str, creds: dict[str, str], work: Path
) -> dict[str, Any]:
    async def prepare() -> tuple[str, list[str], float]:
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
            token = await access_token(http, creds)
            ids, seconds = await register_all(
                http, {"Authorization": f"Bearer {token}"}, args.customers
            )
        return token, ids, seconds

    token, ids, register_s = asyncio.run(prepare())
    # The state a running server is in: autovacuum has analysed the new rows.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE")

    rng = random.Random(7)
    c = args.concurrency
    get_paths = [f"/v1/customers/{rng.choice(ids)}" for _ in range(args.requests)]
    shops = max(1, args.customers // 10)
    search_paths = [
        f"/v1/customers?free_1=shop-{rng.randrange(shops)}" for _ in range(args.requests)
    ]
    wrk(base_url, token, get_paths, min(200, args.requests), c, work)  # warm-up
    get = wrk(base_url, token, get_paths, args.requests, c, work)
    search = wrk(base_url, token, search_paths, args.requests, c, work)
    floor = pgbench_floor(
        db_url, creds["tenant_id"], [p.rsplit("/", 1)[1] for p in get_paths], args.requests, c, work
    )

    return {
        "database": "postgresql",
        "load_generator": "wrk",
        "floor_client": "pgbench",
        "customers": args.customers,
        "requests": args.requests,
        "concurrency": c,
        "server_workers": args.workers,
        "customers_per_s": round(args.customers / register_s, 1),
        "get_p50_ms": round(get["p50_ms"], 2),
        "get_p99_ms": round(get["p99_ms"], 2),
        "get_per_s": round(get["per_s"], 1),
        "search_p50_ms": round(search["p50_ms"], 2),
        "search_p99_ms": round(search["p99_ms"], 2),
        "search_per_s": round(search["per_s"], 1),
        "floor_get_p50_ms": round(floor["p50_ms"], 3),
        "floor_get_p99_ms": round(floor["p99_ms"], 3),
        "get_p99_over_floor": round(get["p99_ms"] / max(floor["p99_ms"], 1e-6), 1),
        "search_p99_over_floor": round(search["p99_ms"] / max(floor["p99_ms"], 1e-6), 1),
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
    with tempfile.TemporaryDirectory() as var_dir:
        env = os.environ | {
            "KAKIN_DATABASE_URL": db_url,
            "KAKIN_VAR_DIR": var_dir,
            "KAKIN_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        try:
            created = subprocess.run(
                [KAKIN, "tenant", "create", "bench", "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            creds = json.loads(created.stdout.strip().splitlines()[-1])
            with serving(env, args.workers) as base_url:
                result = run(args, base_url, db_url, creds, Path(var_dir))
        finally:
            drop_database(db_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
