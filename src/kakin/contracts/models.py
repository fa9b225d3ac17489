"""Tables of the contracts domain: contracts, subscriptions and their events, discounts.

A subscription's history is its rows in `subscription_events` (the `start` event holds
the plan, quantity and planned end it began with); the columns `price_plan_id`,
`quantity`, `end_date` and `status` of `subscriptions` are a summary kept in step with
the events (the state after the last event) so lists and searches need no replay.
`rating.events` rebuilds the state on any day from the events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kakin.kit.db import ID_LENGTH, Base, TenantOwned, utcnow
from kakin.kit.free_fields import FreeFieldsColumns, free_field_indexes

EXTERNAL_ID_LENGTH = 100


class Contract(TenantOwned, FreeFieldsColumns, Base):
    """基本契約: the customer's basic agreement and the billing unit.

    Exactly one of `customer_id` (a kakin customer) and `external_customer_id` (a
    customer kept outside kakin, for tenants without the customers function) is set.
    `billing_address_enc` is the encrypted JSON of name, postal code, address and phone.
    """

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    external_customer_id: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_LENGTH))
    closing_day: Mapped[str] = mapped_column(String(3))
    payment_terms_months: Mapped[int] = mapped_column(default=1)
    payment_terms_day: Mapped[str] = mapped_column(String(3), default="eom")
    payment_method_kind: Mapped[str | None] = mapped_column(String(20))
    payment_method_ref: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    billing_address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    invoice_delivery: Mapped[str] = mapped_column(String(10), default="email")
    start_date: Mapped[dt.date] = mapped_column()
    end_date: Mapped[dt.date | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="active")
    closed_through: Mapped[dt.date | None] = mapped_column()
    """The last day of the contract's latest issued billing period (None: nothing issued).

    Written by billing when it finalises a receivable (RATING.md §8: an issued period is
    never rewritten); `contracts.service.ensure_period_open` refuses changes on or before
    it. Not part of the contract's representation, so writing it keeps the version."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        Index("ix_contracts_customer", "tenant_id", "customer_id"),
        Index("ix_contracts_external_customer", "tenant_id", "external_customer_id"),
        Index("ix_contracts_status", "tenant_id", "status"),
        Index("ix_contracts_closing_day", "tenant_id", "closing_day"),
        *free_field_indexes("contracts"),
    )


class Subscription(TenantOwned, Base):
    """サービス契約: a contract's subscription to a price plan, with dated events."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    price_plan_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    quantity: Mapped[int] = mapped_column()
    start_date: Mapped[dt.date] = mapped_column()
    end_date: Mapped[dt.date | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="active")
    external_ref: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "price_plan_id"], ["price_plans.tenant_id", "price_plans.id"]
        ),
        UniqueConstraint("tenant_id", "external_ref", name="uq_subscriptions_external_ref"),
        Index("ix_subscriptions_contract", "tenant_id", "contract_id"),
        Index("ix_subscriptions_price_plan", "tenant_id", "price_plan_id"),
        Index("ix_subscriptions_status", "tenant_id", "status"),
    )


class SubscriptionEvent(TenantOwned, Base):
    """One dated event of a subscription; `data` holds the kind's values (see
    `rating.events.TimelineEvent`)."""

    __tablename__ = "subscription_events"

    subscription_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[dt.date] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120), default="system")

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["subscriptions.tenant_id", "subscriptions.id"],
            ondelete="CASCADE",
        ),
    )


class Discount(TenantOwned, Base):
    """割引契約: a discount table applied to a contract or one of its subscriptions."""

    __tablename__ = "discounts"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    subscription_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    discount_table_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    scope: Mapped[str] = mapped_column(String(10), default="all")
    start_date: Mapped[dt.date] = mapped_column()
    end_date: Mapped[dt.date | None] = mapped_column()
    priority: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"], ["subscriptions.tenant_id", "subscriptions.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "discount_table_id"], ["discount_tables.tenant_id", "discount_tables.id"]
        ),
        Index("ix_discounts_contract", "tenant_id", "contract_id"),
        Index("ix_discounts_subscription", "tenant_id", "subscription_id"),
    )
