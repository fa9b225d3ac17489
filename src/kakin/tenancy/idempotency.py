"""The database side of `Idempotency-Key` (the rules are kit.idempotency's).

A reservation is a row inserted with `ON CONFLICT DO NOTHING` and committed at once, so
of concurrent requests with one key exactly one inserts it; the others see it and wait.
A stored response body can hold personal data (a registered customer), so it is kept
encrypted under the tenant's data key, as the customers' own columns are.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kakin.kit.crypto import FieldCipher
from kakin.kit.db import current_tenant, tenant_session, utcnow
from kakin.kit.idempotency import (
    RESERVATION_TTL,
    IdempotencyKeyReused,
    IdempotentRequest,
    Reservation,
    StoredResponse,
)
from kakin.runtime import Runtime
from kakin.tenancy.models import IdempotencyRecord

BODY_FIELD = "idempotency_body"

RUNNING = "running"
COMMITTED = "committed"
DONE = "done"


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


class DatabaseIdempotencyStore:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _cipher(self, tenant_id: str) -> FieldCipher:
        return self.runtime.keyring.cipher(tenant_id)

    def attempt(
        self, session: Session, request: IdempotentRequest
    ) -> Reservation | StoredResponse | None:
        """One try at the key in the request's `session`; ends its transaction either way
        (so a waiting request holds no connection while it sleeps)."""
        try:
            outcome = self._attempt(session, request)
        except BaseException:
            session.rollback()
            raise
        session.commit()
        return outcome

    def _attempt(
        self, session: Session, request: IdempotentRequest
    ) -> Reservation | StoredResponse | None:
        tenant_id = current_tenant(session)
        owner = secrets.token_hex(16)
        now = utcnow()
        table = cast(Table, IdempotencyRecord.__table__)
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        inserted = session.scalar(
            dialect.insert(table)
            .values(
                tenant_id=tenant_id,
                key=request.key,
                request_hash=request.request_hash,
                state=RUNNING,
                owner=owner,
                reserved_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
            .returning(table.c.owner)  # no row: the key was there already
        )
        if inserted is not None:
            return Reservation(tenant_id, request.key, owner)
        row = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == request.key))
        if row is None:
            return None  # released meanwhile: the next try may reserve it
        if row.request_hash != request.request_hash:
            raise IdempotencyKeyReused()
        if row.state == DONE:
            body = self._cipher(tenant_id).decrypt(BODY_FIELD, row.body) or ""
            return StoredResponse(row.status_code or 200, dict(row.headers or {}), _bytes(body))
        if row.state == RUNNING and row.reserved_at < now - RESERVATION_TTL:
            taken = session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.key == request.key,
                    IdempotencyRecord.owner == row.owner,
                    IdempotencyRecord.state == RUNNING,
                )
                .values(owner=owner, reserved_at=now)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(taken) == 1:
                return Reservation(tenant_id, request.key, owner)
        return None

    def mark_committed(self, session: Session, reservation: Reservation) -> bool:
        """In the request's own transaction, just before it commits: the key's request has
        run (False: the reservation was taken over as stale; the request must roll back)."""
        marked = session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.key == reservation.key,
                IdempotencyRecord.owner == reservation.owner,
                IdempotencyRecord.state == RUNNING,
            )
            .values(state=COMMITTED)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(marked) == 1

    def complete(self, reservation: Reservation, response: StoredResponse) -> None:
        body = self._cipher(reservation.tenant_id).encrypt(
            BODY_FIELD, base64.b64encode(response.body).decode()
        )
        with tenant_session(self.runtime.sessions, reservation.tenant_id) as session:
            session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.key == reservation.key,
                    IdempotencyRecord.owner == reservation.owner,
                )
                .values(
                    state=DONE,
                    status_code=response.status_code,
                    headers=response.headers,
                    body=body,
                )
                .execution_options(synchronize_session=False)
            )

    def release(self, reservation: Reservation) -> None:
        """Give the key up: the request committed nothing (a `committed` key is kept)."""
        with tenant_session(self.runtime.sessions, reservation.tenant_id) as session:
            session.execute(
                delete(IdempotencyRecord)
                .where(
                    IdempotencyRecord.key == reservation.key,
                    IdempotencyRecord.owner == reservation.owner,
                    IdempotencyRecord.state == RUNNING,
                )
                .execution_options(synchronize_session=False)
            )


def _bytes(body: str) -> bytes:
    return base64.b64decode(body)
