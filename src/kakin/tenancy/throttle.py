"""Client authentication with a back-off on repeated failures (token and revoke endpoints).

Each attempt is counted on the client's row *before* its secret is checked, in a
transaction of its own, and a success resets the count. So concurrent guesses on several
worker processes are counted alike (SCALE.md: every process shares the database), and a
locked client costs no argon2 verification. After `FREE_FAILURES` failures in a row the
client is locked for 1 s, then 2 s, 4 s … up to `MAX_LOCK`; once the lock has passed, the
right secret works again.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kakin.kit.db import tenant_session, utcnow
from kakin.tenancy.models import ApiClient
from kakin.tenancy.service import InvalidClient, authenticate_client, tenant_of_credential

FREE_FAILURES = 5
"""Failed authentications in a row before the client is slowed down."""

FIRST_LOCK = dt.timedelta(seconds=1)
MAX_LOCK = dt.timedelta(minutes=15)


class ClientLocked(Exception):
    """Too many failed authentications: retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def lock_for(attempts: int) -> dt.timedelta | None:
    """How long a client is locked after its `attempts`-th attempt since a success failed."""
    if attempts <= FREE_FAILURES:
        return None
    doublings = min(attempts - FREE_FAILURES - 1, 20)
    return min(FIRST_LOCK * (1 << doublings), MAX_LOCK)


def _retry_after(locked_until: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


def _count_attempt(session: Session, client_id: str) -> int | None:
    """Count one attempt and return the count since the last success (None: no such
    client, nothing to guess), or raise `ClientLocked` while the client is locked."""
    now = utcnow()
    attempts: int | None = session.scalar(
        update(ApiClient)
        .where(
            ApiClient.id == client_id,
            or_(ApiClient.locked_until.is_(None), ApiClient.locked_until <= now),
        )
        .values(failed_attempts=ApiClient.failed_attempts + 1)
        .returning(ApiClient.failed_attempts)
        .execution_options(synchronize_session=False)
    )
    if attempts is None:
        locked_until = session.scalar(
            select(ApiClient.locked_until).where(ApiClient.id == client_id)
        )
        if locked_until is not None and locked_until > now:
            raise ClientLocked(_retry_after(locked_until, now))
    return attempts


def _lock_after_failure(session: Session, client_id: str, attempts: int) -> None:
    """The `attempts`-th attempt failed: lock the client from now on, if it is time to."""
    lock = lock_for(attempts)
    if lock is not None:
        session.execute(
            update(ApiClient)
            .where(ApiClient.id == client_id)
            .values(locked_until=utcnow() + lock)
            .execution_options(synchronize_session=False)
        )


def check_client(
    sessions: sessionmaker[Session], session: Session, client_id: str, secret: str
) -> ApiClient:
    """The client `client_id` if `secret` is its secret, in `session` (the caller's tenant
    session, which the success's reset joins). The attempt is counted first in a
    transaction of its own — concurrent guesses all count — and a failure's lock is
    written in another, so both stay when the caller rolls back.

    Raises `InvalidClient` (wrong secret, unknown or revoked client) or `ClientLocked`.
    """
    tenant_id = tenant_of_credential(client_id)
    if tenant_id is None:
        raise InvalidClient
    with tenant_session(sessions, tenant_id) as counting:
        attempts = _count_attempt(counting, client_id)
    try:
        client = authenticate_client(session, client_id, secret)
    except InvalidClient:
        if attempts is not None:
            with tenant_session(sessions, tenant_id) as locking:
                _lock_after_failure(locking, client_id, attempts)
        raise
    client.failed_attempts = 0
    client.locked_until = None
    return client
