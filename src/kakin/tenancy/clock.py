"""The tenant's today, and the test clock of sandbox tenants.

Everything that asks "what is today for this tenant?" — the scheduler's due closings, the
closing-date check, issue dates, current usage, contract states — asks `tenant_today`.
It is the date in the tenant's time zone; a sandbox tenant's clock may have been moved
forward (like Kill Bill's test clock): it then runs that many days ahead and keeps
running. A clock never moves back: what was closed stays closed.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from kakin.kit.errors import InvalidRequest
from kakin.tenancy.errors import ClockMoved, NotASandbox
from kakin.tenancy.models import Tenant

MAX_CLOCK_AHEAD_DAYS = 3660
"""How far (about ten years) a sandbox's clock may run ahead of the real date."""


def local_date(time_zone: str, offset_days: int = 0) -> dt.date:
    """The date in `time_zone` now, `offset_days` ahead."""
    today = dt.datetime.now(zoneinfo.ZoneInfo(time_zone)).date()
    return today + dt.timedelta(days=offset_days)


def tenant_today(tenant: Tenant) -> dt.date:
    """Today for `tenant`: its time zone's date, plus its test clock's offset (sandbox)."""
    return local_date(tenant.time_zone, tenant.clock_offset_days or 0)


def move_clock(session: Session, tenant: Tenant, to: dt.date) -> bool:
    """Move a sandbox tenant's clock forward so that its today is `to` (False: it is).

    The days the clock skips are remembered (`clock_catch_up_from`) so the scheduler runs
    their closings in order. The update is conditional on the offset read, so two
    concurrent moves cannot both apply: the loser gets a 409 and may retry.
    """
    if not tenant.sandbox:
        raise NotASandbox(
            "only a sandbox tenant's clock can be moved (kakin tenant create --sandbox)"
        )
    today = tenant_today(tenant)
    if to < today:
        raise InvalidRequest(
            [
                (
                    "/body/date",
                    f"{to} is before the tenant's today {today}: the clock moves forward only",
                )
            ]
        )
    offset = tenant.clock_offset_days + (to - today).days
    if offset > MAX_CLOCK_AHEAD_DAYS:
        raise InvalidRequest(
            [
                (
                    "/body/date",
                    f"{to} is more than {MAX_CLOCK_AHEAD_DAYS} days ahead of the real date",
                )
            ]
        )
    if to == today:
        return False
    moved = session.execute(
        update(Tenant)
        .where(
            Tenant.tenant_id == tenant.tenant_id,
            Tenant.clock_offset_days == tenant.clock_offset_days,
        )
        .values(
            clock_offset_days=offset,
            clock_catch_up_from=func.coalesce(Tenant.clock_catch_up_from, today),
        )
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise ClockMoved("the clock was moved by another request; read it and try again")
    session.refresh(tenant)
    return True


def caught_up(session: Session, tenant_id: str, catch_up_from: dt.date, offset_days: int) -> None:
    """The scheduler ran every closing since `catch_up_from`: forget the mark, unless the
    clock moved again meanwhile (then the mark still covers the newly skipped days)."""
    session.execute(
        update(Tenant)
        .where(
            Tenant.tenant_id == tenant_id,
            Tenant.clock_catch_up_from == catch_up_from,
            Tenant.clock_offset_days == offset_days,
        )
        .values(clock_catch_up_from=None)
        .execution_options(synchronize_session=False)
    )


def refuse_after_today(tenant: Tenant, day: dt.date, field: str) -> None:
    """A closing (or anything else that must not run ahead of time) for a date after the
    tenant's today is refused, naming the date; a sandbox moves its clock first."""
    today = tenant_today(tenant)
    if day > today:
        hint = " (move the sandbox clock first: POST /v1/tenant/clock)" if tenant.sandbox else ""
        raise InvalidRequest(
            [(field, f"{day} is after the tenant's today {today}{hint}")],
            detail=f"{day} is after the tenant's today {today}{hint}",
        )
