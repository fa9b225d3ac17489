"""Each tenant's field cipher, unwrapped once per process from the tenant's wrapped key."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kakin.kit.crypto import FieldCipher, MasterKeyError, new_wrapped_data_key, unwrap_data_key
from kakin.kit.db import unscoped_session
from kakin.tenancy.models import Tenant


class Keyring:
    """Unwraps tenants' data keys with the master key; the cache may be dropped at any time."""

    def __init__(self, master_key: bytes, sessions: sessionmaker[Session]) -> None:
        self._master_key = master_key
        self._sessions = sessions
        self._ciphers: dict[str, FieldCipher] = {}
        self._lock = threading.Lock()

    def new_wrapped_key(self) -> bytes:
        return new_wrapped_data_key(self._master_key)

    def cipher(self, tenant_id: str) -> FieldCipher:
        cipher = self._ciphers.get(tenant_id)
        if cipher is not None:
            return cipher
        with unscoped_session(self._sessions) as session:
            wrapped = session.scalar(
                select(Tenant.wrapped_data_key).where(Tenant.tenant_id == tenant_id)
            )
        if wrapped is None:
            raise MasterKeyError(f"no such tenant {tenant_id}")
        cipher = FieldCipher(tenant_id, unwrap_data_key(self._master_key, wrapped))
        with self._lock:
            self._ciphers[tenant_id] = cipher
        return cipher

    def verify_all(self) -> int:
        """Unwrap every tenant's key; raise `MasterKeyError` naming the first that fails."""
        with unscoped_session(self._sessions) as session:
            rows = session.execute(select(Tenant.tenant_id, Tenant.wrapped_data_key)).all()
        for tenant_id, wrapped in rows:
            try:
                unwrap_data_key(self._master_key, wrapped)
            except MasterKeyError as exc:
                raise MasterKeyError(
                    f"the master key cannot unwrap the data key of tenant {tenant_id}: "
                    "start kakin with the KAKIN_MASTER_KEY (or var/master.key) this "
                    "database was created with"
                ) from exc
        return len(rows)
