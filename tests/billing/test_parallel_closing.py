"""SCALE.md: one closing run shared by several worker processes gives exactly the result
of a single-process run (PostgreSQL: chunks are claimed with FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import delete, select

from kakin.billing import closing
from kakin.billing.models import ClosingChunk, ClosingRun, Receivable, ReceivableLine
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from tests.billing.test_closing import _setup
from tests.factories.api import Api

WORKER = """
import sys
from kakin.billing.closing import work_on_run
from kakin.kit.db import make_engine, make_session_factory
sessions = make_session_factory(make_engine(sys.argv[1]))
print(work_on_run(sessions, sys.argv[2], sys.argv[3], holder=sys.argv[4]))
"""


def _result(runtime: Runtime, tenant_id: str) -> list[Any]:
    with tenant_session(runtime.sessions, tenant_id) as session:
        receivables = session.execute(
            select(
                Receivable.contract_id, Receivable.subtotal, Receivable.tax_total, Receivable.total
            ).order_by(Receivable.contract_id)
        ).all()
        lines = session.execute(
            select(
                ReceivableLine.contract_id,
                ReceivableLine.line_no,
                ReceivableLine.kind,
                ReceivableLine.amount,
            ).order_by(ReceivableLine.contract_id, ReceivableLine.line_no)
        ).all()
    return [tuple(r) for r in receivables] + [tuple(line) for line in lines]


def _forget_closings(runtime: Runtime, tenant_id: str) -> None:
    with tenant_session(runtime.sessions, tenant_id) as session:
        session.execute(delete(ReceivableLine))
        session.execute(delete(Receivable))
        session.execute(delete(ClosingChunk))
        session.execute(delete(ClosingRun))


def test_two_worker_processes_give_the_single_process_result(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("several processes share a run on PostgreSQL (SQLite has one writer)")
    monkeypatch.setattr(closing, "CHUNK_SIZE", 2)
    for n in range(6):
        _setup(api, record_prefix=f"u{n}")
    closing_date = __import__("datetime").date(2026, 11, 1)
    closing.close(runtime.sessions, api.tenant_id, closing_date)
    single = _result(runtime, api.tenant_id)
    assert len([r for r in single if len(r) == 4 and isinstance(r[1], int)]) >= 6

    _forget_closings(runtime, api.tenant_id)
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        run = closing.start_run(session, closing_date)
        run_id = run.id
        assert run.chunks_total >= 3
    url = runtime.settings.resolved_database_url()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, api.tenant_id, run_id, f"worker-{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    processed = [int(w.communicate(timeout=120)[0].strip()) for w in workers]
    assert sum(processed) >= 3
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        assert closing.finish_run(session, run_id).status == "completed"
    assert _result(runtime, api.tenant_id) == single
