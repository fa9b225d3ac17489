"""The database-backed store behind kit.idempotency's middleware.

A stored response body can hold personal data (a registered customer), so it is kept
encrypted under the tenant's data key, as the customers' own columns are.
"""

from __future__ import annotations

import base64

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kakin.kit.crypto import FieldCipher
from kakin.kit.db import tenant_session
from kakin.kit.idempotency import StoredResponse
from kakin.runtime import Runtime
from kakin.tenancy.models import IdempotencyRecord
from kakin.tenancy.service import InvalidToken, find_valid_token, tenant_of_credential

BODY_FIELD = "idempotency_body"


class DatabaseIdempotencyStore:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _cipher(self, tenant_id: str) -> FieldCipher:
        return self.runtime.keyring.cipher(tenant_id)

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
            body = self._cipher(tenant_id).decrypt(BODY_FIELD, row.body) or ""
            return StoredResponse(
                row.request_hash, row.status_code, dict(row.headers), base64.b64decode(body)
            )

    def save(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        try:
            with tenant_session(self.runtime.sessions, tenant_id) as session:
                session.add(
                    IdempotencyRecord(
                        key=key,
                        request_hash=response.request_hash,
                        status_code=response.status_code,
                        headers=response.headers,
                        body=self._cipher(tenant_id).encrypt(
                            BODY_FIELD, base64.b64encode(response.body).decode()
                        ),
                    )
                )
        except IntegrityError:
            pass  # a concurrent request with the same key stored its response first
