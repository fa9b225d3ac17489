"""The request edge: authenticate the bearer token, scope the session, own the transaction.

Every API route takes an `ApiContext` through `require(scope)`, naming its one scope:
`Customers`, `Contracts`, `Rating` (the function scopes) or `Admin`. The context's session is
scoped to the token's tenant (kit.db's loader criteria), and the transaction is committed
when the route returns and rolled back when it raises — before the response is sent
(`Depends(scope="function")`), so a failed commit can never be reported as success.

Two rules hold here for every route alike, because every route passes here:
- `Idempotency-Key` (kit.idempotency): the key is reserved after the token, scope and
  function switch are checked — a replay passes the same checks as the original;
- a transaction that lost a race for a row (kit.concurrency.is_lost_race) is a 412 when
  the request sent `If-Match`, else a 409 — never a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Security, params
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kakin.kit.concurrency import is_lost_race, lost_race
from kakin.kit.crypto import FieldCipher, hash_secret
from kakin.kit.errors import Unauthorized
from kakin.kit.idempotency import (
    STATE_KEY,
    IdempotencyKeyInUse,
    IdempotentRequest,
    Reservation,
    check_key,
    idempotent_request,
    reserve,
)
from kakin.kit.openapi import CLIENT_CREDENTIALS
from kakin.runtime import Runtime
from kakin.tenancy.access_cache import ACCESS_CACHE, Grant, TenantSnapshot
from kakin.tenancy.errors import FunctionDisabled, InsufficientScope
from kakin.tenancy.idempotency import DatabaseIdempotencyStore
from kakin.tenancy.models import Tenant
from kakin.tenancy.schemas import ADMIN_SCOPE, ALL_FUNCTIONS, ALL_SCOPES
from kakin.tenancy.service import InvalidToken, authenticate_token, tenant_of_credential


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@dataclass
class ApiContext:
    """Who is calling, for which tenant, with the tenant-scoped session of this request.

    `tenant` is the tenant row as an object of `session`, made on first use from the
    snapshot the request was authenticated with (tenancy.access_cache): routes that never
    read it cost nothing for it.
    """

    session: Session
    snapshot: TenantSnapshot
    actor: str
    scopes: tuple[str, ...]
    runtime: Runtime
    after_commit: list[Callable[[], Any]] = field(default_factory=list)
    _tenant: Tenant | None = field(default=None, repr=False)

    @property
    def tenant(self) -> Tenant:
        if self._tenant is None:
            self._tenant = self.snapshot.attach(self.session)
        return self._tenant

    @property
    def tenant_id(self) -> str:
        return self.snapshot.tenant_id

    @property
    def cipher(self) -> FieldCipher:
        return self.runtime.keyring.cipher(self.tenant_id)

    def has_function(self, function: str) -> bool:
        return function in self.snapshot.functions


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an access token as 'Authorization: Bearer <token>'")
    return token.strip()


def _invalid_token() -> Unauthorized:
    return Unauthorized("the access token is unknown, expired or revoked", error="invalid_token")


def token_tenant(token: str) -> str:
    """The tenant id the token names (its session is scoped to it before any query)."""
    tenant_id = tenant_of_credential(token)
    if tenant_id is None:
        raise Unauthorized("the access token is not valid", error="invalid_token")
    return tenant_id


def cached_access(token_hash: str) -> tuple[Grant, TenantSnapshot] | None:
    """The grant and tenant this process validated within ACCESS_CACHE_SECONDS, if any."""
    grant = ACCESS_CACHE.grant(token_hash)
    if grant is None:
        return None
    snapshot = ACCESS_CACHE.tenant(grant.tenant_id)
    return None if snapshot is None else (grant, snapshot)


def authenticate(session: Session, token: str, token_hash: str) -> tuple[Grant, Tenant]:
    """The database's answer for `token` (one query in `session`), remembered in the cache."""
    try:
        access, tenant = authenticate_token(session, token)
    except InvalidToken:
        raise _invalid_token() from None
    grant = Grant(tenant.tenant_id, access.client_id, tuple(access.scopes))
    ACCESS_CACHE.remember(token_hash, grant, access.expires_at)
    ACCESS_CACHE.remember_tenant(TenantSnapshot.of(tenant))
    return grant, tenant


def idempotency_store(runtime: Runtime) -> DatabaseIdempotencyStore:
    store = runtime.extras.get("idempotency_store")
    if not isinstance(store, DatabaseIdempotencyStore):
        store = runtime.extras["idempotency_store"] = DatabaseIdempotencyStore(runtime)
    return store


class ScopeGuard:
    """The dependency behind `require(scope)`: authenticates, checks, scopes, commits.

    Its `scope` is the route's declared scope (tests read it to walk every route with
    every scope). A function scope also needs the tenant's function switch of the same
    name on (seed 000: a tenant may use only the functions it needs); `admin` is not a
    function and cannot be switched off, so an admin can always switch functions back on.

    The token and tenant come from this process's cache (tenancy.access_cache) when it
    has them; an `admin` request always reads both from the database, so the tenant it
    changes is the current row.
    """

    def __init__(self, scope: str) -> None:
        if scope not in ALL_SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        self.scope = scope

    def check(self, grant: Grant, snapshot: TenantSnapshot) -> None:
        if self.scope in ALL_FUNCTIONS and self.scope not in snapshot.functions:
            raise FunctionDisabled(f"the {self.scope} function is not enabled for this tenant")
        if self.scope not in grant.scopes:
            raise InsufficientScope(
                f"this request needs the '{self.scope}' scope", error="insufficient_scope"
            )

    def context(self, runtime: Runtime, session: Session, token: str) -> ApiContext:
        """Authenticate `token` (from the cache, else in `session`) and check the scope."""
        token_hash = hash_secret(token)
        cached = None if self.scope == ADMIN_SCOPE else cached_access(token_hash)
        tenant: Tenant | None = None
        if cached is None:
            grant, tenant = authenticate(session, token, token_hash)
            snapshot = TenantSnapshot.of(tenant)
        else:
            grant, snapshot = cached
        self.check(grant, snapshot)
        session.info["actor"] = actor = f"api_client:{grant.client_id}"
        return ApiContext(session, snapshot, actor, grant.scopes, runtime, _tenant=tenant)

    def __call__(
        self,
        request: Request,
        idempotent: Annotated[IdempotentRequest | None, Depends(idempotent_request)],
        # declares the OAuth 2.0 scheme on the operation (kit.openapi); `require` adds the scope
        _: Annotated[str | None, Security(CLIENT_CREDENTIALS)] = None,
    ) -> Iterator[ApiContext]:
        runtime = get_runtime(request)
        token = bearer_token(request)
        session = runtime.sessions()
        session.info["tenant_id"] = token_tenant(token)
        reservation: Reservation | None = None
        try:
            session.begin()
            ctx = self.context(runtime, session, token)
            if idempotent is not None:
                check_key(idempotent.key)
                store = idempotency_store(runtime)
                reservation = reserve(lambda: store.attempt(session, idempotent))
                setattr(request.state, STATE_KEY, reservation)  # for IdempotencyMiddleware
            request.state.tenant_id = ctx.tenant_id
            yield ctx
            if reservation is not None and not idempotency_store(runtime).mark_committed(
                session, reservation
            ):
                raise IdempotencyKeyInUse("this request ran too long; its key was taken over")
            session.commit()
        except BaseException as exc:
            session.rollback()
            if is_lost_race(exc):
                raise lost_race(request.headers.get("if-match")) from None
            raise
        finally:
            session.close()
        if reservation is not None:
            reservation.committed = True
        for job in ctx.after_commit:
            job()


class ReadGuard(ScopeGuard):
    """`require(scope, read_only=True)`: the edge of the hot reads (a customer by id, a
    search), with the same authentication and checks as `ScopeGuard`.

    It runs on the event loop (no worker-thread hop) and touches the database only when
    the token is not cached. Its session reads in autocommit (`Runtime.read_sessions`): a
    route that runs ONE select pays one round trip, not BEGIN + select + COMMIT, and kit.db
    refuses any write through it.
    """

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        _: Annotated[str | None, Security(CLIENT_CREDENTIALS)] = None,
    ) -> AsyncIterator[ApiContext]:
        runtime = get_runtime(request)
        token = bearer_token(request)
        session = runtime.read_sessions()
        session.info["tenant_id"] = token_tenant(token)
        try:
            if (cached := cached_access(hash_secret(token))) is not None:
                self.check(*cached)
                ctx = ApiContext(
                    session,
                    cached[1],
                    f"api_client:{cached[0].client_id}",
                    cached[0].scopes,
                    runtime,
                )
            else:
                ctx = await run_in_threadpool(self.context, runtime, session, token)
            request.state.tenant_id = ctx.tenant_id
            yield ctx
        finally:
            # autocommit: no transaction is open, so closing sends nothing to the database
            session.close()


def require(scope: str, *, read_only: bool = False) -> Any:
    """A dependency giving an `ApiContext` whose token holds `scope` (see `ScopeGuard`);
    `read_only` for a route that only reads (see `ReadGuard`)."""
    guard = ReadGuard(scope) if read_only else ScopeGuard(scope)
    # params.Security: the scope goes into the operation's security requirement (OpenAPI),
    # and scope="function" ends the transaction before the response is sent
    return params.Security(guard, scope="function", scopes=[scope])


Customers = Annotated[ApiContext, require("customers")]
CustomersReader = Annotated[ApiContext, require("customers", read_only=True)]
"""For the customers routes that only read (their hot paths)."""
Contracts = Annotated[ApiContext, require("contracts")]
Rating = Annotated[ApiContext, require("rating")]
Admin = Annotated[ApiContext, require(ADMIN_SCOPE)]
"""Tenant settings, function switches, the test clock and the audit trail."""
