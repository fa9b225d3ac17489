"""Tables of the tenancy domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kakin.kit.db import ID_LENGTH, Base, TenantOwned, utcnow


class Tenant(TenantOwned, Base):
    """A provider using kakin. Its primary key is its own `tenant_id`.

    The settings are columns (not a JSON bag) so they are validated, typed and
    visible in migrations.
    """

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(40), default="jp")
    functions: Mapped[list[str]] = mapped_column(JSON)
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    default_closing_day: Mapped[str] = mapped_column(String(3), default="eom")
    line_rounding: Mapped[str] = mapped_column(String(10), default="floor")
    tax_rounding: Mapped[str] = mapped_column(String(10), default="floor")
    tax_mode: Mapped[str] = mapped_column(String(10), default="exclusive")
    language: Mapped[str] = mapped_column(String(5), default="ja")
    issuer_name: Mapped[str | None] = mapped_column(String(200))
    registration_number: Mapped[str | None] = mapped_column(String(14))
    issuer_address: Mapped[str | None] = mapped_column(String(300))
    issuer_phone: Mapped[str | None] = mapped_column(String(40))
    bank_account: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The account customers transfer to (schemas.BankAccount), printed on invoices."""
    sandbox: Mapped[bool] = mapped_column(default=False)
    """A tenant for trying kakin out: its clock can be moved forward (tenancy.clock)."""
    clock_offset_days: Mapped[int] = mapped_column(default=0)
    """Days a sandbox's clock is ahead of its time zone's date (0 on every other tenant)."""
    clock_catch_up_from: Mapped[dt.date | None] = mapped_column()
    """A sandbox's today before its clock last moved, until the scheduler has run the
    closings of the days the clock skipped (None: nothing to catch up)."""
    limit_customers: Mapped[int] = mapped_column(default=100_000)
    limit_contract_items: Mapped[int] = mapped_column(default=100_000)
    limit_receivable_lines: Mapped[int] = mapped_column(default=1_000_000)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ApiClient(TenantOwned, Base):
    """Machine credentials: the client id embeds the tenant id, the secret is argon2-hashed."""

    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(ID_LENGTH + 30), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    failed_attempts: Mapped[int] = mapped_column(default=0)
    """Authentications since the last success (tenancy.throttle), in the database so every
    worker process counts the same failures."""
    locked_until: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
    )


class AccessToken(TenantOwned, Base):
    """A bearer token (only its SHA-256 is stored), issued to a client for some scopes."""

    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(ID_LENGTH + 30))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "client_id"],
            ["api_clients.tenant_id", "api_clients.id"],
            ondelete="CASCADE",
        ),
        Index("ix_access_tokens_client", "tenant_id", "client_id"),
    )


class IdempotencyRecord(TenantOwned, Base):
    """An `Idempotency-Key` of a POST: reserved before the request runs, then its response.

    `state` is `running` from the reservation until the request's transaction commits,
    `committed` from that commit (in the same transaction as the request's effects) until
    the response is stored, then `done`. A request that commits nothing deletes its
    reservation; a `running` one older than the reservation's time to live is stale (its
    process died) and may be taken over. `owner` names the request holding the key.
    """

    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(32))
    reserved_at: Mapped[dt.datetime] = mapped_column()
    status_code: Mapped[int | None] = mapped_column()
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
