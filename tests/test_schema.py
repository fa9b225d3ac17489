"""SCALE.md: the schema can be sharded by tenant (Citus) without change.

Checked over the metadata *as migrated* (reflected from the database Alembic built),
so a migration that drifts from the models is caught too.
"""

from __future__ import annotations

from sqlalchemy import inspect

from kakin.models import Base
from kakin.runtime import Runtime

GLOBAL_TABLES = frozenset({"alembic_version"})
"""Reference tables with no tenant (none hold tenant data)."""


def test_every_table_is_tenant_owned_or_global(runtime: Runtime) -> None:
    inspector = inspect(runtime.engine)
    for table in inspector.get_table_names():
        if table in GLOBAL_TABLES:
            continue
        columns = [c["name"] for c in inspector.get_columns(table)]
        assert "tenant_id" in columns, f"{table} has no tenant_id"


def test_tenant_id_leads_every_primary_and_unique_key(runtime: Runtime) -> None:
    inspector = inspect(runtime.engine)
    for table in set(inspector.get_table_names()) - GLOBAL_TABLES:
        pk = inspector.get_pk_constraint(table)["constrained_columns"]
        assert pk[0] == "tenant_id", f"{table} primary key {pk} does not lead with tenant_id"
        for unique in inspector.get_unique_constraints(table):
            cols = unique["column_names"]
            assert cols[0] == "tenant_id", f"{table} unique {cols} does not lead with tenant_id"
        for index in inspector.get_indexes(table):
            if index.get("unique"):
                cols = index["column_names"]
                assert cols[0] == "tenant_id", f"{table} unique index {cols} lacks tenant_id"


def test_no_foreign_key_crosses_tenants(runtime: Runtime) -> None:
    inspector = inspect(runtime.engine)
    for table in set(inspector.get_table_names()) - GLOBAL_TABLES:
        for fk in inspector.get_foreign_keys(table):
            pairs = dict(zip(fk["constrained_columns"], fk["referred_columns"], strict=True))
            assert pairs.get("tenant_id") == "tenant_id", (
                f"{table} foreign key {fk['constrained_columns']} -> {fk['referred_table']} "
                "does not carry tenant_id to tenant_id"
            )


def test_models_declare_the_same_tables_the_migrations_built(runtime: Runtime) -> None:
    migrated = set(inspect(runtime.engine).get_table_names()) - GLOBAL_TABLES
    assert migrated == set(Base.metadata.tables)
