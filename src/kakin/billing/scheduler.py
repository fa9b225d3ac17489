"""The scheduler: the morning usage rollup and the due closings, for every tenant.

`kakin serve` runs it in a background thread (size 0: one process does everything) and
`kakin worker` runs it without the API (SCALE.md size 1+). Several schedulers may run at
once: the closing lock and the rollup's idempotency make a second one harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zoneinfo

from sqlalchemy import select

from kakin.billing import closing
from kakin.billing.errors import ClosingInProgress
from kakin.billing.models import ClosingRun
from kakin.kit.db import tenant_session, unscoped_session
from kakin.runtime import Runtime
from kakin.tenancy.models import Tenant
from kakin.usage.rollup import run_rollup

log = logging.getLogger("kakin.scheduler")

CATCH_UP_DAYS = 7
"""How far back the scheduler looks for closing dates that never completed (a server
that was down over a closing date catches up when it comes back)."""


def _local_today(time_zone: str) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(time_zone)).date()


def due_closing_dates(runtime: Runtime, tenant_id: str, today: dt.date) -> list[dt.date]:
    """Closing dates of the last `CATCH_UP_DAYS` days without a completed run."""
    candidates = [today - dt.timedelta(days=n) for n in range(CATCH_UP_DAYS - 1, -1, -1)]
    with tenant_session(runtime.sessions, tenant_id) as session:
        done = set(
            session.scalars(
                select(ClosingRun.closing_date).where(
                    ClosingRun.closing_date.in_(candidates),
                    ClosingRun.status.in_(("completed", "completed_with_errors")),
                )
            )
        )
    return [d for d in candidates if d not in done and closing.months_closed_on(d)]


def run_due_work(runtime: Runtime) -> int:
    """One pass: roll up usage, then run every due closing. Returns closings run."""
    run_rollup(runtime)
    with unscoped_session(runtime.sessions) as session:
        tenants = list(
            session.execute(select(Tenant.tenant_id, Tenant.time_zone, Tenant.functions)).tuples()
        )
    ran = 0
    for tenant_id, time_zone, functions in tenants:
        if "rating" not in functions:
            continue
        for closing_date in due_closing_dates(runtime, tenant_id, _local_today(time_zone)):
            try:
                closing.close(runtime.sessions, tenant_id, closing_date)
                ran += 1
            except ClosingInProgress:
                log.info("closing of %s for %s is running elsewhere", closing_date, tenant_id)
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
