"""The scheduler: the morning usage rollup and the due closings, for every tenant.

`kakin serve` runs it in a background thread (size 0: one process does everything) and
`kakin worker` runs it without the API (SCALE.md size 1+). Several schedulers may run at
once: the closing lock and the rollup's idempotency make a second one harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import select

from kakin.billing import closing
from kakin.billing.errors import ClosingInProgress
from kakin.billing.models import ClosingRun
from kakin.kit.db import tenant_session, unscoped_session
from kakin.rating.periods import closing_on
from kakin.runtime import Runtime
from kakin.tenancy.clock import caught_up, tenant_today
from kakin.tenancy.models import Tenant
from kakin.usage.rollup import run_rollup

log = logging.getLogger("kakin.scheduler")

CATCH_UP_DAYS = 7
"""How far back the scheduler looks for closing dates that never completed (a server
that was down over a closing date catches up when it comes back)."""


@dataclass(frozen=True)
class _TenantClock:
    tenant_id: str
    today: dt.date
    catch_up_from: dt.date | None
    offset_days: int


def due_closing_dates(
    runtime: Runtime, tenant_id: str, today: dt.date, since: dt.date | None = None
) -> list[dt.date]:
    """Closing dates without a completed run, oldest first: those of the last
    `CATCH_UP_DAYS` days, and every one from `since` on (a sandbox clock moved forward)."""
    start = today - dt.timedelta(days=CATCH_UP_DAYS - 1)
    if since is not None:
        start = min(start, since)
    candidates = [start + dt.timedelta(days=n) for n in range((today - start).days + 1)]
    candidates = [d for d in candidates if closing_on(d) is not None]
    with tenant_session(runtime.sessions, tenant_id) as session:
        done = set(
            session.scalars(
                select(ClosingRun.closing_date).where(
                    ClosingRun.closing_date.in_(candidates),
                    ClosingRun.status.in_(("completed", "completed_with_errors")),
                )
            )
        )
    return [d for d in candidates if d not in done]


def _rating_tenants(runtime: Runtime, tenant_id: str | None) -> list[_TenantClock]:
    """The tenants whose rating function is on (a tenant without it is never closed)."""
    statement = select(Tenant).order_by(Tenant.tenant_id)
    if tenant_id is not None:
        statement = statement.where(Tenant.tenant_id == tenant_id)
    with unscoped_session(runtime.sessions) as session:
        return [
            _TenantClock(t.tenant_id, tenant_today(t), t.clock_catch_up_from, t.clock_offset_days)
            for t in session.scalars(statement)
            if "rating" in t.functions
        ]


def run_due_work(runtime: Runtime, tenant_id: str | None = None) -> int:
    """One pass, for every tenant (or `tenant_id`'s only): roll up usage, then run every
    due closing, each tenant's on its own today. Returns the closings run."""
    run_rollup(runtime, tenant_id=tenant_id)
    ran = 0
    for tenant in _rating_tenants(runtime, tenant_id):
        all_done = True
        dates = due_closing_dates(runtime, tenant.tenant_id, tenant.today, tenant.catch_up_from)
        for closing_date in dates:
            try:
                closing.close(runtime.sessions, tenant.tenant_id, closing_date)
                ran += 1
            except ClosingInProgress:
                all_done = False
                log.info(
                    "closing of %s for %s is running elsewhere", closing_date, tenant.tenant_id
                )
        if tenant.catch_up_from is not None and all_done:
            with tenant_session(runtime.sessions, tenant.tenant_id) as session:
                caught_up(session, tenant.tenant_id, tenant.catch_up_from, tenant.offset_days)
    return ran


class Scheduler:
    """Runs `run_due_work` every `interval` seconds in a daemon thread until stopped."""

    def __init__(self, runtime: Runtime, interval: float = 300.0) -> None:
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="kakin-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def run(self) -> None:
        """Loop in the calling thread until `stop` (what `kakin worker` does)."""
        while not self._stop.is_set():
            try:
                run_due_work(self.runtime)
            except Exception:  # keep the scheduler alive; the failure is logged and retried
                log.exception("scheduled work failed")
            self._stop.wait(self.interval)
