"""usage records, partitioned by month on PostgreSQL

Written by hand: Alembic's autogenerate cannot express declarative partitioning, so
`usage_records` is marked `manual_migration` in its model and left out of autogenerate
(migrations/env.py). SCALE.md: "Usage records are append-only and partitioned by month on
PostgreSQL". The table is `PARTITION BY RANGE (used_on)` with a DEFAULT partition; the
monthly partitions are created on demand by `kakin.usage.partitions` in the schema
`usage_partitions`. On SQLite it is a plain table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kakin.kit.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTITION_SCHEMA = "usage_partitions"


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("used_on", sa.Date(), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("usage_item_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", kakin.kit.db.ExactDecimal(), nullable=False),
        sa.Column("used_at", kakin.kit.db.UTCDateTime(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("created_at", kakin.kit.db.UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "usage_records",
        *_columns(),
        sa.PrimaryKeyConstraint("tenant_id", "record_id", "used_on", name="pk_usage_records"),
        postgresql_partition_by="RANGE (used_on)",
    )
    op.create_index(
        "ix_usage_records_subscription_day",
        "usage_records",
        ["tenant_id", "subscription_id", "used_on"],
    )
    op.create_index(
        "ix_usage_records_arrival",
        "usage_records",
        ["tenant_id", "created_at", "used_on"],
    )
    if postgresql:
        op.execute(f'CREATE SCHEMA IF NOT EXISTS "{PARTITION_SCHEMA}"')
        op.execute(
            f'CREATE TABLE "{PARTITION_SCHEMA}"."usage_records_default"'
            ' PARTITION OF "usage_records" DEFAULT'
        )


def downgrade() -> None:
    op.drop_index("ix_usage_records_arrival", table_name="usage_records")
    op.drop_index("ix_usage_records_subscription_day", table_name="usage_records")
    op.drop_table("usage_records")  # on PostgreSQL its partitions go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'DROP SCHEMA IF EXISTS "{PARTITION_SCHEMA}" CASCADE')
