"""Tables of the catalog domain: the masters (マスタ).

Every master has a tenant-unique `code`, a name, free fields (seed 000), a status
(`active` / `retired`: a master is retired, never deleted, because receivables refer to
it) and an optimistic-concurrency `version`. Tariffs and price plans are versioned by
effective date: `tariff_versions` and `price_plan_versions` are immutable snapshots, and a
revision is a new row from its date (BRIEF "Plan revisions take effect from a date").
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kakin.kit.db import ID_LENGTH, Base, TenantOwned, utcnow
from kakin.kit.free_fields import FreeFieldsColumns, free_field_indexes

CODE_LENGTH = 64
"""A master code: the provider's own short key (`INTERNET_100M`), unique per tenant."""

NAME_LENGTH = 200


class MasterStatus(enum.StrEnum):
    """A retired master stays readable (old receivables name it) but takes no new use."""

    ACTIVE = "active"
    RETIRED = "retired"


class MasterColumns(FreeFieldsColumns):
    """The columns every master shares (besides `tenant_id`, `id` and `version`)."""

    code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    status: Mapped[str] = mapped_column(String(10), default=MasterStatus.ACTIVE.value)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _master_table_args(table: str, *extra: Any) -> tuple[Any, ...]:
    return (
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
        Index(f"ix_{table}_name", "tenant_id", "name"),
        *free_field_indexes(table),
        *extra,
    )


class Service(TenantOwned, MasterColumns, Base):
    """サービスマスタ: what the provider sells (internet, TV, SIM …)."""

    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = _master_table_args("services")
    __mapper_args__ = {"version_id_col": version}


class UsageItem(TenantOwned, MasterColumns, Base):
    """A measured quantity (packets, call seconds, kWh). RATING.md §4: the rated quantity is
    `q = ceil(raw / unit)`, over the period total (`per_total`) or per record."""

    __tablename__ = "usage_items"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    unit: Mapped[Decimal] = mapped_column()
    unit_name: Mapped[str] = mapped_column(String(40))
    rating: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = _master_table_args("usage_items")
    __mapper_args__ = {"version_id_col": version}


class Tariff(TenantOwned, MasterColumns, Base):
    """料金表: the identity of a tariff; its definitions are its dated `TariffVersion`s."""

    __tablename__ = "tariffs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = _master_table_args("tariffs")
    __mapper_args__ = {"version_id_col": version}


class TariffVersion(TenantOwned, Base):
    """One definition of a tariff, valid from `effective_from` until the next version.

    Immutable: a revision is a new row (RATING.md §4 "a revision applies from its date").
    `parameters` holds the shape's parameters (RATING.md §4) as JSON, decimals as strings.
    """

    __tablename__ = "tariff_versions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    tariff_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    shape: Mapped[str] = mapped_column(String(20))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "tariff_id", "effective_from"),
        ForeignKeyConstraint(
            ["tenant_id", "tariff_id"], ["tariffs.tenant_id", "tariffs.id"], ondelete="CASCADE"
        ),
    )

    @property
    def valid_from(self) -> dt.date:
        """The first day of the version, by the name `rating.versions` reads versions by."""
        return self.effective_from


class DiscountTable(TenantOwned, MasterColumns, Base):
    """割引表: `fixed_rate` (`rate` percent) or `fixed_amount` (`amount` in `currency`),
    with a default scope and optional conditions (campaign window, bundle, loyalty steps —
    RATING.md §5), kept as validated JSON."""

    __tablename__ = "discount_tables"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    rate: Mapped[Decimal | None] = mapped_column()
    amount: Mapped[Decimal | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(String(3))
    scope: Mapped[str] = mapped_column(String(20))
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = _master_table_args("discount_tables")
    __mapper_args__ = {"version_id_col": version}


class TaxCategory(TenantOwned, MasterColumns, Base):
    """RATING.md §7: `standard`, `reduced`, `exempt`, `out_of_scope` — one row each per
    tenant (`code`), with dated rates in `tax_rates`."""

    __tablename__ = "tax_categories"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = _master_table_args("tax_categories")
    __mapper_args__ = {"version_id_col": version}


class TaxRate(TenantOwned, Base):
    """RATING.md §7: "Rates are dated master data (a future rate change is a new row, not a
    code change)". `rate` is a fraction (0.10 = 10 %), as in `kakin.rating.tax.TaxRate`."""

    __tablename__ = "tax_rates"

    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    effective_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "category"],
            ["tax_categories.tenant_id", "tax_categories.code"],
            ondelete="CASCADE",
        ),
    )


class PricePlan(TenantOwned, MasterColumns, Base):
    """料金プランマスタ: the identity of a priced offer of a service, in one currency; its
    fees and charges are its dated `PricePlanVersion`s."""

    __tablename__ = "price_plans"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    currency: Mapped[str] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = _master_table_args(
        "price_plans",
        ForeignKeyConstraint(["tenant_id", "service_id"], ["services.tenant_id", "services.id"]),
        Index("ix_price_plans_service", "tenant_id", "service_id"),
    )
    __mapper_args__ = {"version_id_col": version}


class PricePlanVersion(TenantOwned, Base):
    """One revision of a price plan's components (recurring fees, one-time fees, usage
    charges, minimum term), valid from `effective_from` until the next. Immutable: existing
    contracts keep their prices until a revision's date (BRIEF, seed 001)."""

    __tablename__ = "price_plan_versions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    price_plan_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "price_plan_id", "effective_from"),
        ForeignKeyConstraint(
            ["tenant_id", "price_plan_id"],
            ["price_plans.tenant_id", "price_plans.id"],
            ondelete="CASCADE",
        ),
    )
