"""OAuth 2.0 token endpoint (RFC 6749 §4.4, RFC 7009) and the tenant's own settings."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.responses import JSONResponse

from kakin.audit.service import record
from kakin.kit.concurrency import set_etag
from kakin.kit.db import tenant_session
from kakin.tenancy.clock import move_clock, tenant_today
from kakin.tenancy.deps import Admin, get_runtime
from kakin.tenancy.models import Tenant
from kakin.tenancy.schemas import (
    ClockIn,
    ClockOut,
    OAuthError,
    TenantOut,
    TenantSettingsIn,
    TokenOut,
)
from kakin.tenancy.service import (
    InvalidClient,
    change_settings,
    issue_token,
    revoke_token,
    tenant_of_credential,
    token_owner,
)
from kakin.tenancy.throttle import ClientLocked, check_client

router = APIRouter(tags=["access"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    """RFC 6749 §5.2 error response (plain JSON, as the RFC prescribes)."""
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="kakin"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
    return unquote(client_id), unquote(secret)


def _client_credentials(
    authorization: str | None, client_id: str | None, client_secret: str | None
) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: HTTP Basic, or `client_id` and `client_secret` in the form."""
    basic = _basic_credentials(authorization)
    if basic is not None:
        return basic
    if client_id and client_secret:
        return client_id, client_secret
    return None


def _slow_down(locked: ClientLocked) -> JSONResponse:
    """429 while a client is locked after repeated failures (RFC 6585 §4, `Retry-After`)."""
    response = _oauth_error(
        "slow_down",
        f"too many failed authentications of this client; retry after {locked.retry_after} s",
        429,
    )
    response.headers["Retry-After"] = str(locked.retry_after)
    return response


_CLIENT_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": OAuthError, "description": "invalid_client (RFC 6749 §5.2)"},
    429: {
        "model": OAuthError,
        "description": "slow_down: too many failed authentications; see Retry-After",
    },
}


@router.post(
    "/v1/oauth/token",
    response_model=TokenOut,
    responses={
        400: {"model": OAuthError, "description": "RFC 6749 §5.2 error"},
        **_CLIENT_ERRORS,
    },
    operation_id="issueToken",
)
def token(
    request: Request,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Exchange client credentials (HTTP Basic or form) for a bearer access token."""
    credentials = _client_credentials(authorization, client_id, client_secret)
    if grant_type is None:
        return _oauth_error("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
    tenant_id = tenant_of_credential(credentials[0]) if credentials else None
    if credentials is None or tenant_id is None:
        return _oauth_error("invalid_client", "client authentication failed", 401)
    runtime = get_runtime(request)
    requested = scope.split() if scope else None
    try:
        with tenant_session(runtime.sessions, tenant_id) as session:
            client = check_client(runtime.sessions, session, *credentials)
            issued = issue_token(
                session, client, requested, runtime.settings.access_token_ttl_seconds
            )
    except InvalidClient:
        return _oauth_error("invalid_client", "client authentication failed", 401)
    except ClientLocked as locked:
        return _slow_down(locked)
    except ValueError:
        return _oauth_error("invalid_scope", "a requested scope is not granted to this client")
    body = TokenOut(
        access_token=issued.token, expires_in=issued.expires_in, scope=" ".join(issued.scopes)
    )
    return JSONResponse(body.model_dump(), headers=_NO_STORE)


@router.post(
    "/v1/oauth/revoke",
    status_code=200,
    response_class=Response,
    responses={
        200: {"description": "revoked, or was not valid (RFC 7009 §2.2)", "content": {}},
        400: {
            "model": OAuthError,
            "description": "invalid_request: no token; unauthorized_client: the token was"
            " issued to another client",
        },
        **_CLIENT_ERRORS,
    },
    operation_id="revokeToken",
)
def revoke(
    request: Request,
    token: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """RFC 7009: a client revokes one of its own access tokens.

    §2.1: the client authenticates (HTTP Basic or form credentials, as for the token
    endpoint), and only a token issued to that client is revoked. §2.2: a token that is
    not valid (unknown, expired, already revoked) is not an error; a request without
    one is `invalid_request` (RFC 6749 §5.2, as RFC 7009 §2.2.1 refers to it).
    """
    credentials = _client_credentials(authorization, client_id, client_secret)
    tenant_id = tenant_of_credential(credentials[0]) if credentials else None
    if credentials is None or tenant_id is None:
        return _oauth_error("invalid_client", "client authentication failed", 401)
    if not token:
        return _oauth_error("invalid_request", "token is required")
    runtime = get_runtime(request)
    try:
        with tenant_session(runtime.sessions, tenant_id) as session:
            client = check_client(runtime.sessions, session, *credentials)
            owner = (
                token_owner(session, token) if tenant_of_credential(token) == tenant_id else None
            )
            if owner is not None and owner != client.id:
                # Refused (§2.1), after the success's counter reset is committed.
                refused = _oauth_error(
                    "unauthorized_client", "the token was issued to another client"
                )
            else:
                refused = None
                revoke_token(session, token, client.id)
    except InvalidClient:
        return _oauth_error("invalid_client", "client authentication failed", 401)
    except ClientLocked as locked:
        return _slow_down(locked)
    return refused or Response(status_code=200, headers=_NO_STORE)


@router.get("/v1/tenant", response_model=TenantOut, tags=["tenant"], operation_id="getTenant")
def get_tenant_settings(ctx: Admin, response: Response) -> TenantOut:
    set_etag(response, ctx.tenant.version)
    return TenantOut.model_validate(ctx.tenant)


@router.patch("/v1/tenant", response_model=TenantOut, tags=["tenant"], operation_id="updateTenant")
def change_tenant_settings(
    ctx: Admin,
    changes: TenantSettingsIn,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> TenantOut:
    """Change the tenant's settings (time zone, rounding, tax mode, issuer, functions …)."""
    after = change_settings(ctx.session, ctx.tenant, changes, if_match)
    set_etag(response, ctx.tenant.version)
    return after


def _clock(tenant: Tenant) -> ClockOut:
    return ClockOut(
        date=tenant_today(tenant),
        time_zone=tenant.time_zone,
        sandbox=tenant.sandbox,
        offset_days=tenant.clock_offset_days,
    )


@router.get("/v1/tenant/clock", response_model=ClockOut, tags=["tenant"])
def get_clock(ctx: Admin) -> ClockOut:
    """The tenant's today: its time zone's date (a sandbox's clock may run ahead)."""
    return _clock(ctx.tenant)


@router.post(
    "/v1/tenant/clock",
    response_model=ClockOut,
    tags=["tenant"],
    responses={409: {"description": "not a sandbox tenant, or the clock moved concurrently"}},
)
def move_tenant_clock(ctx: Admin, body: ClockIn) -> ClockOut:
    """Move a sandbox tenant's clock forward to `date` (a test clock, like Kill Bill's).

    The scheduler then runs the closings of the days passed, in order, and issue dates,
    due dates and current usage follow the new today. Forward only; 409 on a tenant that
    is not a sandbox.
    """
    before = _clock(ctx.tenant)
    if not move_clock(ctx.session, ctx.tenant, body.date):
        return before
    after = _clock(ctx.tenant)
    record(ctx.session, "update", "tenant_clock", ctx.tenant_id, before, after)
    return after
