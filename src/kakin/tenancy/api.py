"""OAuth 2.0 token endpoint (RFC 6749 §4.4, RFC 7009) and the tenant's own settings."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.responses import JSONResponse

from kakin.audit.service import record
from kakin.kit.concurrency import check_if_match, set_etag
from kakin.kit.db import tenant_session
from kakin.tenancy.deps import AnyScope, get_runtime
from kakin.tenancy.schemas import OAuthError, TenantOut, TenantSettingsIn, TokenOut
from kakin.tenancy.service import (
    InvalidClient,
    apply_settings,
    authenticate_client,
    issue_token,
    revoke_token,
    tenant_of_credential,
)

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


@router.post(
    "/v1/oauth/token",
    response_model=TokenOut,
    responses={
        400: {"model": OAuthError, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthError, "description": "invalid_client"},
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
    basic = _basic_credentials(authorization)
    if basic is not None:
        client_id, client_secret = basic
    if grant_type is None:
        return _oauth_error("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
    if not client_id or not client_secret:
        return _oauth_error("invalid_client", "client authentication failed", 401)
    tenant_id = tenant_of_credential(client_id)
    if tenant_id is None:
        return _oauth_error("invalid_client", "client authentication failed", 401)
    runtime = get_runtime(request)
    requested = scope.split() if scope else None
    try:
        with tenant_session(runtime.sessions, tenant_id) as session:
            client = authenticate_client(session, client_id, client_secret)
            issued = issue_token(
                session, client, requested, runtime.settings.access_token_ttl_seconds
            )
    except InvalidClient:
        return _oauth_error("invalid_client", "client authentication failed", 401)
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
    responses={200: {"description": "revoked, or was not valid (RFC 7009 §2.2)", "content": {}}},
    operation_id="revokeToken",
)
def revoke(request: Request, token: Annotated[str, Form()]) -> Response:
    """RFC 7009: revoke an access token. The token itself is the proof of possession."""
    tenant_id = tenant_of_credential(token)
    if tenant_id is not None:
        with tenant_session(get_runtime(request).sessions, tenant_id) as session:
            revoke_token(session, token)
    return Response(status_code=200)


@router.get("/v1/tenant", response_model=TenantOut, tags=["tenant"], operation_id="getTenant")
def get_tenant_settings(ctx: AnyScope, response: Response) -> TenantOut:
    set_etag(response, ctx.tenant.version)
    return TenantOut.model_validate(ctx.tenant)


@router.patch("/v1/tenant", response_model=TenantOut, tags=["tenant"], operation_id="updateTenant")
def change_tenant_settings(
    ctx: AnyScope,
    changes: TenantSettingsIn,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> TenantOut:
    """Change the tenant's settings (time zone, rounding, tax mode, issuer, functions …)."""
    check_if_match(if_match, ctx.tenant.version)
    before = TenantOut.model_validate(ctx.tenant)
    apply_settings(ctx.tenant, changes)
    ctx.session.flush()
    after = TenantOut.model_validate(ctx.tenant)
    record(ctx.session, "update", "tenant", ctx.tenant_id, before, after)
    set_etag(response, ctx.tenant.version)
    return after
