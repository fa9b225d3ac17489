"""Tables of the customers domain.

Seed 000 (個人情報の暗号化): every personal field of a customer is stored only as
AES-GCM ciphertext under the tenant's data key (`<field>_enc`). Exact search on name,
kana, phone and e-mail goes through blind indexes (`<field>_bi`, HMAC of the normalised
value), so the database never holds a personal value in plain text. Free fields and
group names are the provider's own labels, not personal data, and stay plain.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKeyConstraint, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kakin.kit.db import ID_LENGTH, Base, TenantOwned, utcnow
from kakin.kit.free_fields import FreeFieldsColumns, free_field_indexes

BLIND_INDEX_LENGTH = 32
"""kit.crypto.BLIND_INDEX_BYTES (16) as hex."""


class Customer(TenantOwned, FreeFieldsColumns, Base):
    """A person who contracts the provider's service (顧客)."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default="individual")
    """`individual` or `corporate`: whom documents address (様 or 御中)."""
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_kana_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    nationality_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    gender_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    birth_date_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    postal_code_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    company_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    department_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_bi: Mapped[str] = mapped_column(String(BLIND_INDEX_LENGTH))
    name_kana_bi: Mapped[str | None] = mapped_column(String(BLIND_INDEX_LENGTH))
    phone_bi: Mapped[str | None] = mapped_column(String(BLIND_INDEX_LENGTH))
    email_bi: Mapped[str | None] = mapped_column(String(BLIND_INDEX_LENGTH))
    status: Mapped[str] = mapped_column(String(10), default="active")
    deleted_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_customers_name_bi", "tenant_id", "name_bi"),
        Index("ix_customers_name_kana_bi", "tenant_id", "name_kana_bi"),
        Index("ix_customers_phone_bi", "tenant_id", "phone_bi"),
        Index("ix_customers_email_bi", "tenant_id", "email_bi"),
        Index("ix_customers_status", "tenant_id", "status"),
        Index("ix_customers_created_at", "tenant_id", "created_at"),
        Index("ix_customers_updated_at", "tenant_id", "updated_at"),
        *free_field_indexes("customers"),
    )


class Group(TenantOwned, FreeFieldsColumns, Base):
    """An organisation bundling customers (グループ). Its name is not personal data."""

    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_groups_name", "tenant_id", "name"),
        *free_field_indexes("groups"),
    )


class GroupMember(TenantOwned, Base):
    """A customer's membership of a group."""

    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "group_id"], ["groups.tenant_id", "groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        Index("ix_group_members_customer", "tenant_id", "customer_id"),
    )
