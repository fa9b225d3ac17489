"""Per process: validated access tokens and tenant rows, kept for `ACCESS_CACHE_SECONDS`.

Every API request authenticates its bearer token and needs its tenant's row (functions,
limits, time zone). Both change rarely, so a process keeps what it has validated or read
for a few seconds instead of asking the database on every request:

- a token revoked or a tenant changed through THIS process (any `Session` that commits an
  UPDATE or DELETE of `access_tokens` or `tenants`, or an ORM change of a `Tenant`) is
  dropped from this process's cache when that transaction commits — immediately;
- other processes (the other uvicorn workers, `kakin client revoke`) learn of it when
  their entry expires: at most `ACCESS_CACHE_SECONDS` later;
- a token is never accepted past its own `expires_at`.

docs/operating.md states the lag for operators. The entries are plain values (never ORM
objects), so no session or thread ever shares a mapped instance through the cache.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    make_transient_to_detached,
    object_session,
)

from kakin.kit.db import utcnow
from kakin.tenancy.models import AccessToken, Tenant

ACCESS_CACHE_SECONDS = 5.0
"""How long a process trusts a validated token or a tenant row it read: the longest another
process may still accept a revoked token, or use a tenant's previous settings."""

MAX_ENTRIES = 10_000
"""Of each kind; past it the expired entries are swept, and if that is not enough, all."""

_TENANT_COLUMNS = tuple(attr.key for attr in inspect(Tenant).column_attrs)


@dataclass(frozen=True)
class Grant:
    """What a valid access token grants: its tenant, client and scopes."""

    tenant_id: str
    client_id: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class TenantSnapshot:
    """A tenant row's values as read from the database (every column)."""

    tenant_id: str
    functions: frozenset[str]
    values: Mapping[str, Any]

    @classmethod
    def of(cls, tenant: Tenant) -> TenantSnapshot:
        values = {key: copy.deepcopy(getattr(tenant, key)) for key in _TENANT_COLUMNS}
        return cls(tenant.tenant_id, frozenset(tenant.functions), values)

    def attach(self, session: Session) -> Tenant:
        """The tenant as a persistent object of `session`, as if just loaded (no query).

        A change to it is flushed `WHERE version = <this snapshot's>`, so a snapshot that
        another process has outdated loses the race (409) instead of overwriting."""
        key = session.identity_key(Tenant, (self.tenant_id,))
        present = session.identity_map.get(key)
        if isinstance(present, Tenant):
            return present
        tenant = Tenant(**copy.deepcopy(dict(self.values)))
        make_transient_to_detached(tenant)
        session.add(tenant)
        return tenant


class AccessCache:
    """Grants by token hash and tenant snapshots by tenant id, each with a deadline."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._grants: dict[str, tuple[float, Grant]] = {}
        self._tenants: dict[str, tuple[float, TenantSnapshot]] = {}

    def grant(self, token_hash: str) -> Grant | None:
        entry = self._grants.get(token_hash)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            self._grants.pop(token_hash, None)
            return None
        return entry[1]

    def tenant(self, tenant_id: str) -> TenantSnapshot | None:
        entry = self._tenants.get(tenant_id)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            self._tenants.pop(tenant_id, None)
            return None
        return entry[1]

    def remember(self, token_hash: str, grant: Grant, expires_at: dt.datetime) -> None:
        """Keep `grant` for the time to live, never past the token's own expiry."""
        now = time.monotonic()
        left = (expires_at - utcnow()).total_seconds()
        if left <= 0 or self.ttl_seconds <= 0:
            return
        _bounded(self._grants, now)
        self._grants[token_hash] = (now + min(self.ttl_seconds, left), grant)

    def remember_tenant(self, snapshot: TenantSnapshot) -> None:
        if self.ttl_seconds <= 0:
            return
        now = time.monotonic()
        _bounded(self._tenants, now)
        self._tenants[snapshot.tenant_id] = (now + self.ttl_seconds, snapshot)

    def forget_tokens_of(self, tenant_id: str | None) -> None:
        """Drop the grants of one tenant (every grant when `tenant_id` is None)."""
        for token_hash, (_, grant) in list(self._grants.items()):
            if tenant_id is None or grant.tenant_id == tenant_id:
                self._grants.pop(token_hash, None)

    def forget_tenant(self, tenant_id: str | None) -> None:
        """Drop one tenant's snapshot (every snapshot when `tenant_id` is None)."""
        if tenant_id is None:
            self._tenants.clear()
        else:
            self._tenants.pop(tenant_id, None)

    def clear(self) -> None:
        self._grants.clear()
        self._tenants.clear()


def _bounded(entries: dict[str, tuple[float, Any]], now: float) -> None:
    if len(entries) < MAX_ENTRIES:
        return
    for key, (deadline, _) in list(entries.items()):
        if deadline <= now:
            entries.pop(key, None)
    if len(entries) >= MAX_ENTRIES:
        entries.clear()


ACCESS_CACHE = AccessCache(ACCESS_CACHE_SECONDS)
"""This process's cache (module state: one per process, shared by its threads)."""


# --- invalidation: what a session commits drops what it changed ---------------------------

_CHANGED_TENANTS = "access_cache.changed_tenants"
_CHANGED_TOKENS = "access_cache.changed_tokens"
_ALL = None
"""Marks a change whose tenant is unknown (an unscoped session's UPDATE)."""


def _mark(session: Session, kind: str, tenant_id: str | None) -> None:
    session.info.setdefault(kind, set()).add(tenant_id)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_change(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    classes = {mapper.class_ for mapper in state.all_mappers}
    tenant_id = state.session.info.get("tenant_id")
    if Tenant in classes:
        _mark(state.session, _CHANGED_TENANTS, tenant_id)
        _mark(state.session, _CHANGED_TOKENS, tenant_id)  # a deleted tenant's tokens
    if AccessToken in classes:
        _mark(state.session, _CHANGED_TOKENS, tenant_id)


@event.listens_for(Tenant, "after_update")
@event.listens_for(Tenant, "after_delete")
def _note_tenant_change(_mapper: Any, _connection: Any, target: Tenant) -> None:
    session = object_session(target)
    if session is not None:
        _mark(session, _CHANGED_TENANTS, target.tenant_id)
        _mark(session, _CHANGED_TOKENS, target.tenant_id)


@event.listens_for(AccessToken, "after_update")
@event.listens_for(AccessToken, "after_delete")
def _note_token_change(_mapper: Any, _connection: Any, target: AccessToken) -> None:
    session = object_session(target)
    if session is not None:
        _mark(session, _CHANGED_TOKENS, target.tenant_id)


@event.listens_for(Session, "after_commit")
def _drop_committed_changes(session: Session) -> None:
    for tenant_id in session.info.pop(_CHANGED_TENANTS, ()):
        ACCESS_CACHE.forget_tenant(tenant_id)
    for tenant_id in session.info.pop(_CHANGED_TOKENS, ()):
        ACCESS_CACHE.forget_tokens_of(tenant_id)


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED_TENANTS, None)
    session.info.pop(_CHANGED_TOKENS, None)
