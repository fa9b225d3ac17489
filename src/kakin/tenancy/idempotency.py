"""The database-backed store behind kit.idempotency's middleware."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kakin.kit.db import tenant_session
from kakin.kit.idempotency import StoredResponse
from kakin.runtime import Runtime
from kakin.tenancy.models import IdempotencyRecord
from kakin.tenancy.service import InvalidToken, find_valid_token, tenant_of_credential


class DatabaseIdempotencyStore:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def tenant_for(self, authorization: str) -> str | None:
        token = authorization.partition(" ")[2].strip()
        tenant_id = tenant_of_credential(token)
        if tenant_id is None:
            return None
        with tenant_session(self.runtime.sessions, tenant_id) as session:
            try:
                find_valid_token(session, token)
            except InvalidToken:
                return None
        return tenant_id

    def load(self, tenant_id: str, key: str) -> StoredResponse | None:
        with tenant_session(self.runtime.sessions, tenant_id) as session:
            row = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))
            if row is None:
                return None
            return StoredResponse(row.request_hash, row.status_code, dict(row.headers), row.body)

    def save(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        try:
            with tenant_session(self.runtime.sessions, tenant_id) as session:
                session.add(
                    IdempotencyRecord(
                        key=key,
                        request_hash=response.request_hash,
                        status_code=response.status_code,
                        headers=response.headers,
                        body=response.body,
                    )
                )
        except IntegrityError:
            pass  # a concurrent request with the same key stored its response first
