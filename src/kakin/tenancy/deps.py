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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Security, params
from sqlalchemy.orm import Session

from kakin.kit.concurrency import is_lost_race, lost_race
from kakin.kit.crypto import FieldCipher
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
    """Who is calling, for which tenant, with the tenant-scoped session of this request."""

    session: Session
    tenant: Tenant
    actor: str
    scopes: list[str]
    runtime: Runtime
    after_commit: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def cipher(self) -> FieldCipher:
        return self.runtime.keyring.cipher(self.tenant_id)

    def has_function(self, function: str) -> bool:
        return function in self.tenant.functions


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an access token as 'Authorization: Bearer <token>'")
    return token.strip()


def open_context(runtime: Runtime, token: str) -> tuple[Session, Tenant, list[str], str]:
    """Validate `token` and return a scoped session (transaction begun) for its tenant."""
    tenant_id = tenant_of_credential(token)
    if tenant_id is None:
        raise Unauthorized("the access token is not valid", error="invalid_token")
    session = runtime.sessions()
    session.info["tenant_id"] = tenant_id
    try:
        session.begin()
        row, tenant = authenticate_token(session, token)
    except InvalidToken:
        session.close()
        raise Unauthorized(
            "the access token is unknown, expired or revoked", error="invalid_token"
        ) from None
    except BaseException:
        session.close()
        raise
    session.info["actor"] = f"api_client:{row.client_id}"
    return session, tenant, list(row.scopes), row.client_id


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
    """

    def __init__(self, scope: str) -> None:
        if scope not in ALL_SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        self.scope = scope

    def __call__(
        self,
        request: Request,
        idempotent: Annotated[IdempotentRequest | None, Depends(idempotent_request)],
        # declares the OAuth 2.0 scheme on the operation (kit.openapi); `require` adds the scope
        _: Annotated[str | None, Security(CLIENT_CREDENTIALS)] = None,
    ) -> Iterator[ApiContext]:
        runtime = get_runtime(request)
        session, tenant, scopes, client_id = open_context(runtime, bearer_token(request))
        reservation: Reservation | None = None
        try:
            if self.scope in ALL_FUNCTIONS and self.scope not in tenant.functions:
                raise FunctionDisabled(f"the {self.scope} function is not enabled for this tenant")
            if self.scope not in scopes:
                raise InsufficientScope(
                    f"this request needs the '{self.scope}' scope", error="insufficient_scope"
                )
            if idempotent is not None:
                check_key(idempotent.key)
                store = idempotency_store(runtime)
                reservation = reserve(lambda: store.attempt(session, idempotent))
                setattr(request.state, STATE_KEY, reservation)  # for IdempotencyMiddleware
            ctx = ApiContext(session, tenant, f"api_client:{client_id}", scopes, runtime)
            request.state.tenant_id = tenant.tenant_id
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


def require(scope: str) -> Any:
    """A dependency giving an `ApiContext` whose token holds `scope` (see `ScopeGuard`)."""
    # params.Security: the scope goes into the operation's security requirement (OpenAPI),
    # and scope="function" ends the transaction before the response is sent
    return params.Security(ScopeGuard(scope), scope="function", scopes=[scope])


Customers = Annotated[ApiContext, require("customers")]
Contracts = Annotated[ApiContext, require("contracts")]
Rating = Annotated[ApiContext, require("rating")]
Admin = Annotated[ApiContext, require(ADMIN_SCOPE)]
"""Tenant settings, function switches, the test clock and the audit trail."""
