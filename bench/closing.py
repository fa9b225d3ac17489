"""Closing benchmark (size 1 of SCALE.md): usage ingestion and the monthly closing at the
seed's limits, against the database floor measured in the same run.

Generates one tenant with 100,000 contracts (10 % with a second subscription: 110,000
subscriptions over all seven tariff shapes, 20 % of contracts with a discount, some
subscriptions starting or cancelling mid-period) and 1,000,000 usage records for billing
month 2026-10 (end-of-month closing, closing date 2026-11-01). The masters go through the
API; contracts, subscriptions, their events and discounts are inserted in bulk (COPY on
PostgreSQL) exactly as the API stores them. Then it measures:

- usage ingestion through `POST /v1/usage-records/batch` (a sample, concurrency 3, the
  server on loopback) and through `kakin usage import` (the rest), in records/s;
- `kakin usage rollup` (seconds);
- the closing, end to end (`start_run`, `work_on_run` in `--workers` processes already
  running, `finish_run`), until every receivable and line is written;
- the database floor: one `GROUP BY` of the month's usage plus a bulk insert (COPY) of as
  many lines as the closing wrote into a scratch table shaped like `receivable_lines`.

Prints one JSON object. `closing_per_contract_ms` (with `floor_per_contract_ms`) is the
closing's time per contract: issue 7 asks for no slowdown as contracts grow, i.e. the
figures of a run at 10,000 contracts and one at 100,000 within 20 % of each other.

    python bench/closing.py                                # the issue's figures
    python bench/closing.py --contracts 10000 --usage 100000   # the same at a tenth
    python bench/closing.py --contracts 2000 --usage 20000 # the CI smoke run
    python bench/closing.py --sqlite                       # the same on SQLite
    python bench/closing.py --workers 3 --chunk-size 2000  # the closing's tunables
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import datetime as dt
import gc
import json
import multiprocessing as mp
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api import drop_database, fresh_database, serving

KAKIN = str(Path(sys.executable).with_name("kakin"))
BATCH = 10_000
API_CONCURRENCY = 3
API_SAMPLE = 200_000
PERIOD_START = dt.date(2026, 10, 1)
PERIOD_END = dt.date(2026, 10, 31)
CLOSING_DATE = dt.date(2026, 11, 1)
FAR_START = dt.date(2025, 4, 1)

TARIFFS: dict[str, dict[str, Any]] = {
    "flat": {"shape": "flat", "fixed_fee": "980"},
    "per_unit": {"shape": "per_unit", "unit_price": "0.05"},
    "base_plus_usage": {
        "shape": "base_plus_usage",
        "fixed_fee": "1000",
        "unit_price": "0.02",
        "included": "50000",
    },
    "capped": {"shape": "capped", "unit_price": "0.05", "upper": "5000"},
    "step": {
        "shape": "step",
        "bands": [
            {"up_to": "10000", "amount": "2980"},
            {"up_to": "30000", "amount": "3980"},
            {"up_to": "50000", "amount": "4980"},
            {"up_to": None, "amount": "5980"},
        ],
    },
    "double_flat": {
        "shape": "double_flat",
        "lower": "1029",
        "unit_price": "0.084",
        "upper": "4410",
    },
    "graduated": {
        "shape": "graduated",
        "bands": [
            {"up_to": "10000", "unit_price": "0.1", "flat_fee": "200"},
            {"up_to": "50000", "unit_price": "0.05", "flat_fee": "0"},
            {"up_to": None, "unit_price": "0.02", "flat_fee": "0"},
        ],
    },
}
"""The seven shapes of RATING.md §4, sized for ~10 MB of 128-byte packets a month."""


# --- masters through the API -----------------------------------------------------------


def create_masters(base_url: str, headers: dict[str, str]) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:

        def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.post(path, json=body)
            assert response.status_code == 201, (path, response.text)
            return response.json()  # type: ignore[no-any-return]

        service = created("/v1/services", {"code": "NET", "name": "光インターネット"})
        item = created(
            "/v1/usage-items",
            {"code": "PKT", "name": "パケット", "unit": "128", "unit_name": "packet"},
        )
        plans: list[str] = []
        for n, (shape, definition) in enumerate(TARIFFS.items()):
            tariff = created(
                "/v1/tariffs",
                {"code": f"TRF-{shape}", "name": f"料金表 {shape}", "effective_from": "2025-01-01"}
                | definition,
            )
            body: dict[str, Any] = {
                "code": f"PLAN-{shape}",
                "name": f"プラン {shape}",
                "service_id": service["id"],
                "effective_from": "2025-01-01",
                "recurring_fees": [
                    {"code": "base", "name": "月額基本料", "amount": str(1000 + 300 * n)}
                ],
                "usage_charges": [
                    {
                        "code": "packets",
                        "name": "パケット通信料",
                        "usage_item": item["id"],
                        "tariff_id": tariff["id"],
                    }
                ],
            }
            if n % 2 == 0:
                body["one_time_fees"] = [
                    {"code": "setup", "name": "契約事務手数料", "amount": "3300"}
                ]
            if n % 3 == 0:
                body["minimum_term"] = {
                    "months": 24,
                    "auto_renew": True,
                    "early_termination": {"rule": "fixed", "amount": "10450"},
                }
            plans.append(created("/v1/price-plans", body)["id"])
        rate = created(
            "/v1/discount-tables",
            {"code": "DSC-RATE", "name": "セット割", "kind": "fixed_rate", "rate": "10"},
        )
        amount = created(
            "/v1/discount-tables",
            {"code": "DSC-AMT", "name": "長期割", "kind": "fixed_amount", "amount": "500"},
        )
    return {
        "plans": plans,
        "item_code": item["code"],
        "rate_table": rate["id"],
        "amount_table": amount["id"],
    }


# --- contracts, subscriptions, events, discounts in bulk --------------------------------


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def generate_contracts(
    tenant_id: str, masters: dict[str, Any], contracts: int, seed: int = 7
) -> tuple[dict[str, list[dict[str, Any]]], list[tuple[str, dt.date, dt.date]]]:
    """Rows of contracts, subscriptions, subscription_events and discounts as the API
    stores them (`contracts.service.create_contract`, `subscriptions.create_subscription`
    with its `start` event, `add_event` for a cancellation, `discounts.create_discount`),
    and each subscription's (id, first, last) active day in the billing period."""
    from kakin.kit.ids import new_id  # noqa: PLC0415

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    actor = "bench"
    rows: dict[str, list[dict[str, Any]]] = {
        "contracts": [],
        "subscriptions": [],
        "subscription_events": [],
        "discounts": [],
    }
    lives: list[tuple[str, dt.date, dt.date]] = []
    plans: list[str] = masters["plans"]
    for n in range(contracts):
        contract_id = new_id("con")
        starts_mid = rng.random() < 0.05
        start = (
            _day(rng, PERIOD_START, PERIOD_END)
            if starts_mid
            else _day(rng, FAR_START, dt.date(2026, 9, 1))
        )
        rows["contracts"].append(
            {
                "tenant_id": tenant_id,
                "id": contract_id,
                "customer_id": None,
                "external_customer_id": f"ext-{n:07d}",
                "closing_day": "eom",
                "payment_terms_months": 1,
                "payment_terms_day": "eom",
                "payment_method_kind": "direct_debit" if n % 2 else None,
                "payment_method_ref": None,
                "currency": "JPY",
                "billing_address_enc": None,
                "invoice_delivery": "email",
                "start_date": start,
                "end_date": None,
                "status": "active",
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "free": {},
            }
        )
        subs_here = 2 if n % 10 == 0 else 1
        sub_ids: list[str] = []
        for k in range(subs_here):
            sub_id = new_id("sub")
            sub_ids.append(sub_id)
            plan = plans[(n + k) % len(plans)]
            sub_start = start if k == 0 else max(start, _day(rng, FAR_START, PERIOD_END))
            cancel: dt.date | None = None
            if rng.random() < 0.03 and sub_start <= PERIOD_END:
                cancel = _day(rng, max(sub_start, PERIOD_START), PERIOD_END)
            quantity = 1 if rng.random() < 0.9 else 2
            rows["subscriptions"].append(
                {
                    "tenant_id": tenant_id,
                    "id": sub_id,
                    "contract_id": contract_id,
                    "price_plan_id": plan,
                    "quantity": quantity,
                    "start_date": sub_start,
                    "end_date": cancel,
                    "status": "cancelled" if cancel else "active",
                    "external_ref": f"LINE-{n:07d}-{k}",
                    "created_at": now,
                    "updated_at": now,
                    "version": 2 if cancel else 1,
                }
            )
            rows["subscription_events"].append(
                {
                    "tenant_id": tenant_id,
                    "subscription_id": sub_id,
                    "seq": 1,
                    "kind": "start",
                    "effective_date": sub_start,
                    "data": {"price_plan_id": plan, "quantity": quantity, "end_date": None},
                    "created_at": now,
                    "actor": actor,
                }
            )
            if cancel:
                rows["subscription_events"].append(
                    {
                        "tenant_id": tenant_id,
                        "subscription_id": sub_id,
                        "seq": 2,
                        "kind": "cancel",
                        "effective_date": cancel,
                        "data": {},
                        "created_at": now,
                        "actor": actor,
                    }
                )
            lives.append((sub_id, max(sub_start, PERIOD_START), cancel or PERIOD_END))
        if rng.random() < 0.2:
            on_subscription = rng.random() < 0.5
            rows["discounts"].append(
                {
                    "tenant_id": tenant_id,
                    "id": new_id("dis"),
                    "contract_id": contract_id,
                    "subscription_id": sub_ids[0] if on_subscription else None,
                    "discount_table_id": masters["amount_table"]
                    if on_subscription
                    else masters["rate_table"],
                    "scope": "all",
                    "start_date": start,
                    "end_date": None,
                    "priority": 0,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
    return rows, lives


def bulk_insert(db_url: str, tables: dict[str, list[dict[str, Any]]]) -> None:
    """COPY on PostgreSQL; one executemany per table through SQLAlchemy on SQLite."""
    if db_url.startswith("postgresql"):
        with psycopg.connect(db_url) as conn, conn.cursor() as cur:
            for table, rows in tables.items():
                if not rows:
                    continue
                columns = list(rows[0])
                names = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(
                            [json.dumps(v) if isinstance(v, dict) else v for v in row.values()]
                        )
        return
    from sqlalchemy import create_engine, insert  # noqa: PLC0415

    import kakin.models  # noqa: F401, PLC0415 - every table on the metadata
    from kakin.kit.db import Base  # noqa: PLC0415

    engine = create_engine(db_url)
    with engine.begin() as conn:
        for table, rows in tables.items():
            if rows:
                fixed = [
                    {
                        k: v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) else v
                        for k, v in r.items()
                    }
                    for r in rows
                ]
                conn.execute(insert(Base.metadata.tables[table]), fixed)
    engine.dispose()


# --- usage -----------------------------------------------------------------------------


def generate_usage(
    lives: Sequence[tuple[str, dt.date, dt.date]], count: int, item_code: str, seed: int = 11
) -> list[dict[str, str]]:
    """`count` records on the active days of the subscriptions, in the tenant's zone."""
    rng = random.Random(seed)
    records: list[dict[str, str]] = []
    for n in range(count):
        sub_id, first, last = lives[rng.randrange(len(lives))]
        day = _day(rng, first, last)
        records.append(
            {
                "record_id": f"r{n:08d}",
                "subscription_id": sub_id,
                "usage_item": item_code,
                "quantity": str(rng.randrange(1_000, 2_000_000)),
                "used_at": f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
                f"{rng.randrange(60):02d}+09:00",
            }
        )
    return records


def write_csv(path: Path, records: Iterable[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["record_id", "subscription_id", "usage_item", "quantity", "used_at"])
        for r in records:
            writer.writerow(
                [r["record_id"], r["subscription_id"], r["usage_item"], r["quantity"], r["used_at"]]
            )


async def ingest_api(base_url: str, headers: dict[str, str], bodies: list[bytes]) -> float:
    """Post the pre-encoded batches with `API_CONCURRENCY` in flight; seconds."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        send = headers | {"Content-Type": "application/json"}

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await http.post("/v1/usage-records/batch", content=body, headers=send)
                assert response.status_code in (200, 201), response.text[:2000]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(API_CONCURRENCY)))
        return time.perf_counter() - started


# --- the closing -------------------------------------------------------------------------


def _closing_worker(db_url: str, tenant_id: str, inbox: Any, outbox: Any) -> None:
    """A worker process: ready (imports done, engine made), then works on the run it is
    given, like a `kakin worker` already running."""
    from kakin.billing.closing import work_on_run  # noqa: PLC0415
    from kakin.kit.db import make_engine, make_session_factory  # noqa: PLC0415

    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    with engine.connect():
        pass
    gc.collect()
    gc.freeze()  # as `kakin worker` and `kakin close` do after start-up
    outbox.put("ready")
    run_id = inbox.get()
    started, cpu = time.perf_counter(), time.process_time()
    processed = work_on_run(sessions, tenant_id, run_id)
    outbox.put((processed, time.perf_counter() - started, time.process_time() - cpu))
    engine.dispose()


def run_closing(
    db_url: str, tenant_id: str, workers: int, chunk_size: int | None = None
) -> dict[str, Any]:
    from sqlalchemy import func, select  # noqa: PLC0415

    from kakin.billing import closing  # noqa: PLC0415
    from kakin.billing.models import Receivable, ReceivableLine  # noqa: PLC0415
    from kakin.kit.db import make_engine, make_session_factory, tenant_session  # noqa: PLC0415

    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    procs: list[Any] = []
    queues: list[tuple[Any, Any]] = []
    if workers > 1:
        context = mp.get_context("spawn")
        for _ in range(workers):
            inbox, outbox = context.Queue(), context.Queue()
            proc = context.Process(
                target=_closing_worker, args=(db_url, tenant_id, inbox, outbox), daemon=True
            )
            proc.start()
            procs.append(proc)
            queues.append((inbox, outbox))
        for _, outbox in queues:
            assert outbox.get(timeout=120) == "ready"
    if chunk_size is not None:
        closing.CHUNK_SIZE = chunk_size  # start_run splits the run; the workers only claim
    started, cpu = time.perf_counter(), time.process_time()
    with tenant_session(sessions, tenant_id) as session:
        run_id = closing.start_run(session, CLOSING_DATE).id
    worker_cpu = 0.0
    if procs:
        for inbox, _ in queues:
            inbox.put(run_id)
        for _, outbox in queues:
            worker_cpu += outbox.get(timeout=3600)[2]
        for proc in procs:
            proc.join(timeout=60)
    else:
        closing.work_on_run(sessions, tenant_id, run_id)
    with tenant_session(sessions, tenant_id) as session:
        run = closing.finish_run(session, run_id)
        status, failed, errors = run.status, run.contracts_failed, run.errors[:5]
        done, lines_written = run.contracts_done, run.lines_written
    elapsed = time.perf_counter() - started
    python_cpu = worker_cpu + time.process_time() - cpu
    with tenant_session(sessions, tenant_id) as session:
        receivables = session.scalar(select(func.count()).select_from(Receivable))
        lines = session.scalar(select(func.count()).select_from(ReceivableLine))
    engine.dispose()
    return {
        "closing_s": elapsed,
        "closing_python_cpu_s": python_cpu,
        "chunk_size": closing.CHUNK_SIZE,
        "status": status,
        "contracts_done": done,
        "contracts_failed": failed,
        "errors_sample": errors,
        "lines_written": lines_written,
        "receivables": int(receivables or 0),
        "receivable_lines": int(lines or 0),
    }


# --- the floor ---------------------------------------------------------------------------


def measure_floor(db_url: str, tenant_id: str) -> dict[str, float]:
    """One aggregation of the month's usage plus a bulk insert of the lines the closing
    wrote (the same rows, into a scratch table shaped like `receivable_lines`)."""
    aggregate = (
        "SELECT subscription_id, usage_item_id, sum(quantity) FROM usage_records"
        " WHERE tenant_id = {p} AND used_on >= {p} AND used_on <= {p}"
        " GROUP BY subscription_id, usage_item_id"
    )
    if db_url.startswith("postgresql"):
        with psycopg.connect(db_url) as conn:
            lines = conn.execute(
                "SELECT * FROM receivable_lines WHERE tenant_id = %s", (tenant_id,)
            ).fetchall()
            conn.execute("DROP TABLE IF EXISTS bench_floor_lines")
            conn.execute("CREATE TABLE bench_floor_lines (LIKE receivable_lines INCLUDING ALL)")
            conn.commit()
            started = time.perf_counter()
            groups = conn.execute(
                aggregate.format(p="%s"), (tenant_id, PERIOD_START, PERIOD_END)
            ).fetchall()
            aggregated = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY bench_floor_lines FROM STDIN") as copy:
                for row in lines:
                    copy.write_row(row)
            conn.commit()
            finished = time.perf_counter()
            conn.execute("DROP TABLE bench_floor_lines")
            conn.commit()
    else:
        import sqlite3  # noqa: PLC0415

        conn3 = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        lines = conn3.execute(
            "SELECT * FROM receivable_lines WHERE tenant_id = ?", (tenant_id,)
        ).fetchall()
        conn3.execute("DROP TABLE IF EXISTS bench_floor_lines")
        conn3.execute("CREATE TABLE bench_floor_lines AS SELECT * FROM receivable_lines WHERE 0")
        conn3.commit()
        started = time.perf_counter()
        groups = conn3.execute(
            aggregate.format(p="?"),
            (tenant_id, PERIOD_START.isoformat(), PERIOD_END.isoformat()),
        ).fetchall()
        aggregated = time.perf_counter()
        if lines:
            marks = ", ".join("?" * len(lines[0]))
            insert = f"INSERT INTO bench_floor_lines VALUES ({marks})"  # noqa: S608 - fixed
            conn3.executemany(insert, lines)
        conn3.commit()
        finished = time.perf_counter()
        conn3.execute("DROP TABLE bench_floor_lines")
        conn3.close()
    return {
        "floor_s": finished - started,
        "floor_aggregate_s": aggregated - started,
        "floor_insert_s": finished - aggregated,
        "floor_groups": float(len(groups)),
    }


def measure_copy_floor(db_url: str, tenant_id: str, first_record_id: str) -> float:
    """Records/s of a plain COPY of the file's rows as stored (record ids from
    `first_record_id` on), already rendered as COPY text, into a scratch table shaped like
    `usage_records` (same columns and indexes): what the database alone takes to store them.
    On SQLite one executemany of the same rows."""
    select = (
        "SELECT * FROM usage_records WHERE tenant_id = {p} AND record_id >= {p} ORDER BY record_id"
    )
    if db_url.startswith("postgresql"):
        with psycopg.connect(db_url) as conn:
            text = bytearray()
            with conn.cursor() as cur:
                query = f"COPY ({select.format(p='%s')}) TO STDOUT"
                with cur.copy(query, (tenant_id, first_record_id)) as out:
                    for block in out:
                        text += block
            rows = text.count(b"\n")
            conn.execute("DROP TABLE IF EXISTS bench_floor_usage")
            conn.execute("CREATE TABLE bench_floor_usage (LIKE usage_records INCLUDING ALL)")
            conn.commit()
            view = memoryview(text)
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY bench_floor_usage FROM STDIN") as copy:
                for start in range(0, len(view), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
            conn.commit()
            elapsed = time.perf_counter() - started
            conn.execute("DROP TABLE bench_floor_usage")
            conn.commit()
        return rows / elapsed
    import sqlite3  # noqa: PLC0415

    conn3 = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    found = conn3.execute(select.format(p="?"), (tenant_id, first_record_id)).fetchall()
    (ddl,) = conn3.execute("SELECT sql FROM sqlite_master WHERE name = 'usage_records'").fetchone()
    conn3.execute("DROP TABLE IF EXISTS bench_floor_usage")
    conn3.execute(ddl.replace("usage_records", "bench_floor_usage", 1))
    for (index,) in conn3.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_records'"
        " AND sql IS NOT NULL"
    ).fetchall():
        conn3.execute(
            index.replace("ix_usage", "ix_floor_usage").replace(
                "usage_records", "bench_floor_usage"
            )
        )
    conn3.commit()
    started = time.perf_counter()
    if found:
        marks = ", ".join("?" * len(found[0]))
        conn3.executemany(f"INSERT INTO bench_floor_usage VALUES ({marks})", found)  # noqa: S608
    conn3.commit()
    elapsed = time.perf_counter() - started
    conn3.execute("DROP TABLE bench_floor_usage")
    conn3.close()
    return len(found) / elapsed


# --- the run -----------------------------------------------------------------------------


def analyze(db_url: str) -> None:
    if db_url.startswith("postgresql"):
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        return
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn3:
        conn3.execute("ANALYZE")


def import_and_roll_up(
    csv_path: Path, tenant_id: str, env: dict[str, str]
) -> tuple[float, float | None, float]:
    """`kakin usage import` of the file (wall seconds, and the seconds it reports itself),
    then `kakin usage rollup` (wall seconds)."""
    started = time.perf_counter()
    imported = subprocess.run(
        [KAKIN, "usage", "import", str(csv_path), "-t", tenant_id],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    file_s = time.perf_counter() - started
    inner = re.search(r"in ([\d.]+) s", imported.stdout)
    inner_s = float(inner.group(1)) if inner else None

    started = time.perf_counter()
    subprocess.run(
        [KAKIN, "usage", "rollup", "-t", tenant_id],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    rollup_s = time.perf_counter() - started

    return file_s, inner_s, rollup_s


def run(args: argparse.Namespace, db_url: str, env: dict[str, str], work: Path) -> dict[str, Any]:
    timings: dict[str, float] = {}
    created = subprocess.run(
        [KAKIN, "tenant", "create", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    creds = json.loads(created.stdout.strip().splitlines()[-1])
    tenant_id = creds["tenant_id"]
    # 110,000 subscriptions + discounts are past the default limit_contract_items
    set_limit = "UPDATE tenants SET limit_contract_items = {p} WHERE tenant_id = {p}"
    limit = args.contracts * 2
    if args.sqlite:
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn3:
            conn3.execute(set_limit.format(p="?"), (limit, tenant_id))
    else:
        with psycopg.connect(db_url) as conn:
            conn.execute(set_limit.format(p="%s"), (limit, tenant_id))

    with serving(env, args.server_workers) as base_url:
        token = httpx.post(
            base_url + "/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        masters = create_masters(base_url, headers)

        started = time.perf_counter()
        tables, lives = generate_contracts(tenant_id, masters, args.contracts)
        bulk_insert(db_url, tables)
        timings["generate_contracts_s"] = time.perf_counter() - started

        started = time.perf_counter()
        records = generate_usage(lives, args.usage, masters["item_code"])
        sample = min(args.api_sample, args.usage // 5)
        api_records, file_records = records[:sample], records[sample:]
        bodies = [
            json.dumps({"records": api_records[i : i + BATCH]}).encode()
            for i in range(0, len(api_records), BATCH)
        ]
        csv_path = work / "usage.csv"
        write_csv(csv_path, file_records)
        timings["generate_usage_s"] = time.perf_counter() - started
        del records

        api_s = asyncio.run(ingest_api(base_url, headers, bodies))

    file_s, inner_s, rollup_s = import_and_roll_up(csv_path, tenant_id, env)
    copy_floor = measure_copy_floor(db_url, tenant_id, file_records[0]["record_id"])
    ingestion = {
        "database": "sqlite" if args.sqlite else "postgresql",
        "contracts": args.contracts,
        "subscriptions": len(tables["subscriptions"]),
        "discounts": len(tables["discounts"]),
        "usage_records": args.usage,
        "api_records": len(api_records),
        "file_records": len(file_records),
        "ingest_api_records_per_s": round(len(api_records) / api_s, 1) if api_records else None,
        "ingest_file_records_per_s": round(len(file_records) / file_s, 1),
        "ingest_file_in_process_records_per_s": (
            round(len(file_records) / inner_s, 1) if inner_s else None
        ),
        "copy_floor_records_per_s": round(copy_floor, 1),
        "ingest_file_over_copy_floor": round(len(file_records) / file_s / copy_floor, 3),
        "rollup_s": round(rollup_s, 2),
    }
    if args.ingest_only:
        return ingestion | {"setup": {k: round(v, 2) for k, v in timings.items()}}

    # Autovacuum may be off or not yet have run (it is off on the benchmark machine): the
    # bulk-loaded tables would have no statistics and the planner would guess badly.
    started = time.perf_counter()
    analyze(db_url)
    timings["analyze_s"] = time.perf_counter() - started

    workers = args.workers if args.workers is not None else (1 if args.sqlite else 2)
    closing = run_closing(db_url, tenant_id, workers, args.chunk_size)
    floor = measure_floor(db_url, tenant_id)
    # "No slowdown as contracts grow": the time per contract of runs at two sizes (e.g.
    # --contracts 10000 and the default 100,000) should stay within 20 % of each other.
    per_contract_ms = 1000 * closing["closing_s"] / max(args.contracts, 1)
    floor_per_contract_ms = 1000 * floor["floor_s"] / max(args.contracts, 1)
    return ingestion | {
        "closing_workers": workers,
        "closing_chunk_size": closing["chunk_size"],
        "closing_s": round(closing["closing_s"], 2),
        "closing_contracts_per_s": round(args.contracts / closing["closing_s"], 1),
        "closing_per_contract_ms": round(per_contract_ms, 4),
        "closing_python_cpu_s": round(closing["closing_python_cpu_s"], 2),
        # The Python CPU per contract: less swayed than wall time by other load on the machine.
        "closing_python_cpu_per_contract_ms": round(
            1000 * closing["closing_python_cpu_s"] / max(args.contracts, 1), 4
        ),
        "closing_status": closing["status"],
        "contracts_failed": closing["contracts_failed"],
        "errors_sample": closing["errors_sample"],
        "receivables": closing["receivables"],
        "receivable_lines": closing["receivable_lines"],
        "floor_s": round(floor["floor_s"], 2),
        "floor_aggregate_s": round(floor["floor_aggregate_s"], 2),
        "floor_insert_s": round(floor["floor_insert_s"], 2),
        "floor_per_contract_ms": round(floor_per_contract_ms, 4),
        "closing_over_floor": round(closing["closing_s"] / max(floor["floor_s"], 1e-6), 2),
        "server_workers": args.server_workers,
        "tenant_id": tenant_id,
        "setup": {k: round(v, 2) for k, v in timings.items()},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--usage", type=int, default=1_000_000, help="usage records in the month")
    parser.add_argument(
        "--api-sample", type=int, default=API_SAMPLE, help="records sent through the API"
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--workers", type=int, default=None, help="closing processes (default 2; 1 on SQLite)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="contracts per closing chunk (CHUNK_SIZE)"
    )
    parser.add_argument("--server-workers", type=int, default=None, help="uvicorn workers")
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database (for profiling)"
    )
    parser.add_argument(
        "--ingest-only", action="store_true", help="measure the usage ingestion, not the closing"
    )
    args = parser.parse_args()
    if args.server_workers is None:
        args.server_workers = 1 if args.sqlite else 2

    with tempfile.TemporaryDirectory() as var_dir:
        work = Path(var_dir)
        env = os.environ | {
            "KAKIN_VAR_DIR": var_dir,
            "KAKIN_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        if args.sqlite:
            db_url = f"sqlite:///{work / 'bench.db'}"
            env["KAKIN_DATABASE_URL"] = db_url
            result = run(args, db_url, env, work)
        else:
            db_name = f"kakin_bench_{secrets.token_hex(3)}"
            db_url = fresh_database(db_name)
            env["KAKIN_DATABASE_URL"] = db_url
            try:
                result = run(args, db_url, env, work)
            finally:
                if not args.keep:
                    drop_database(db_name)
            if args.keep:
                result["kept_database_url"] = db_url
    print(json.dumps(result))


if __name__ == "__main__":
    main()
