"""Use cases of the tenancy domain: tenants, API clients and access tokens.

RFC 6749 §4.4 (client credentials). A client id embeds its tenant id and an access token
embeds its tenant id too, so each lookup is a primary-key read inside one tenant (and, on
a sharded database, on that tenant's shard).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.kit.concurrency import check_if_match
from kakin.kit.crypto import hash_secret
from kakin.kit.db import current_tenant, utcnow
from kakin.kit.ids import new_id
from kakin.tenancy.models import AccessToken, ApiClient, Tenant
from kakin.tenancy.schemas import (
    ALL_FUNCTIONS,
    ALL_SCOPES,
    ClientCredentials,
    TenantOut,
    TenantSettingsIn,
)

TOKEN_PREFIX = "kat"  # noqa: S105 - a prefix, not a secret
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("kakin-timing-equaliser")


class InvalidClient(Exception):
    """RFC 6749 §5.2 `invalid_client`: unknown client, wrong secret or revoked."""


class InvalidToken(Exception):
    """RFC 6750 §3.1 `invalid_token`: unknown, expired or revoked bearer token."""


def tenant_of_credential(credential: str) -> str | None:
    """The tenant id embedded in a client id (`TENANT.xxx`) or token (`kat.TENANT.xxx`)."""
    parts = credential.split(".")
    if len(parts) == 3 and parts[0] == TOKEN_PREFIX:
        return parts[1]
    if len(parts) == 2 and parts[0].startswith("ten_"):
        return parts[0]
    return None


def create_tenant(
    session: Session,
    name: str,
    wrapped_data_key: bytes,
    functions: list[str] | None = None,
    settings: TenantSettingsIn | None = None,
    sandbox: bool = False,
) -> Tenant:
    """A new tenant in an unscoped session; its data key comes wrapped by the keyring.

    A `sandbox` tenant is for trying kakin out: its clock can be moved forward.
    """
    tenant = Tenant(
        tenant_id=new_id("ten"),
        name=name,
        functions=list(functions or ALL_FUNCTIONS),
        wrapped_data_key=wrapped_data_key,
        sandbox=sandbox,
        clock_offset_days=0,
    )
    if settings is not None:
        apply_settings(tenant, settings)
    session.add(tenant)
    session.flush()
    return tenant


def apply_settings(tenant: Tenant, changes: TenantSettingsIn) -> None:
    for field, value in changes.model_dump(mode="json", exclude_unset=True).items():
        setattr(tenant, field, value)


def change_settings(
    session: Session, tenant: Tenant, changes: TenantSettingsIn, if_match: str | None
) -> TenantOut:
    """The tenant's settings changed (If-Match: its ETag) and the change audited."""
    check_if_match(if_match, tenant.version)
    before = TenantOut.model_validate(tenant)
    apply_settings(tenant, changes)
    session.flush()
    after = TenantOut.model_validate(tenant)
    record(session, "update", "tenant", tenant.tenant_id, before, after)
    return after


def get_tenant(session: Session) -> Tenant:
    tenant: Tenant | None = session.scalar(select(Tenant))
    if tenant is None:  # a token of a deleted tenant
        raise InvalidToken
    return tenant


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.created_at)))


def create_client(
    session: Session, name: str = "", scopes: list[str] | None = None
) -> ClientCredentials:
    """A new API client of the session's tenant. The secret is shown once, stored hashed.

    Without `scopes` the client is a full one: every function and `admin`.
    """
    tenant_id = current_tenant(session)
    client_id = f"{tenant_id}.{secrets.token_urlsafe(12)}"
    secret = secrets.token_urlsafe(32)
    scope_list = list(dict.fromkeys(scopes or ALL_SCOPES))
    unknown = [s for s in scope_list if s not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; the scopes are {' '.join(ALL_SCOPES)}")
    session.add(
        ApiClient(id=client_id, name=name, secret_hash=_hasher.hash(secret), scopes=scope_list)
    )
    session.flush()
    return ClientCredentials(
        tenant_id=tenant_id, client_id=client_id, client_secret=secret, scopes=scope_list
    )


def revoke_client(session: Session, client_id: str) -> bool:
    """Revoke a client and every token it was issued; False if there is no such client."""
    now = utcnow()
    result = session.execute(
        update(ApiClient)
        .where(ApiClient.id == client_id, ApiClient.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(AccessToken)
        .where(AccessToken.client_id == client_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.created_at)))


def authenticate_client(session: Session, client_id: str, secret: str) -> ApiClient:
    client = session.scalar(select(ApiClient).where(ApiClient.id == client_id))
    try:
        _hasher.verify(client.secret_hash if client else _DUMMY_HASH, secret)
    except (VerifyMismatchError, InvalidHashError):
        raise InvalidClient from None
    if client is None or client.revoked_at is not None:
        raise InvalidClient
    return client


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    scopes: list[str]


def issue_token(
    session: Session, client: ApiClient, requested: list[str] | None, ttl_seconds: int
) -> IssuedToken:
    """RFC 6749 §3.3: the granted scopes are the requested ones, all of which the client holds."""
    scopes = requested or list(client.scopes)
    if not set(scopes) <= set(client.scopes):
        raise ValueError("invalid_scope")
    token = f"{TOKEN_PREFIX}.{client.tenant_id}.{secrets.token_urlsafe(32)}"
    now = utcnow()
    session.add(
        AccessToken(
            token_hash=hash_secret(token),
            client_id=client.id,
            scopes=scopes,
            issued_at=now,
            expires_at=now + dt.timedelta(seconds=ttl_seconds),
        )
    )
    session.flush()
    return IssuedToken(token=token, expires_in=ttl_seconds, scopes=scopes)


def find_valid_token(session: Session, token: str) -> AccessToken:
    row = session.scalar(select(AccessToken).where(AccessToken.token_hash == hash_secret(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise InvalidToken
    return row


def authenticate_token(session: Session, token: str) -> tuple[AccessToken, Tenant]:
    """The valid token and its tenant in one round trip (every API request does this)."""
    row = session.execute(
        select(AccessToken, Tenant)
        .join(Tenant, Tenant.tenant_id == AccessToken.tenant_id)
        .where(AccessToken.token_hash == hash_secret(token))
    ).first()
    if row is None:
        raise InvalidToken
    access, tenant = row[0], row[1]
    if access.revoked_at is not None or access.expires_at <= utcnow():
        raise InvalidToken
    return access, tenant


def token_owner(session: Session, token: str) -> str | None:
    """The client id an access token of the session's tenant was issued to (None: unknown)."""
    owner: str | None = session.scalar(
        select(AccessToken.client_id).where(AccessToken.token_hash == hash_secret(token))
    )
    return owner


def revoke_token(session: Session, token: str, client_id: str) -> None:
    """RFC 7009: revoke `client_id`'s token; revoking an unknown or invalid token is not an
    error (§2.2), and another client's token is never touched (§2.1)."""
    session.execute(
        update(AccessToken)
        .where(
            AccessToken.token_hash == hash_secret(token),
            AccessToken.client_id == client_id,
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


def count_rows(session: Session, model: type, *where: object) -> int:
    """How many rows of `model` the session's tenant holds (scoping adds the tenant)."""
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]
