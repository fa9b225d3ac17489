"""Set-based statements on tenant-owned tables: ids in chunks sized for one query, `IN`
over an id array, bulk inserts (COPY on PostgreSQL) and bulk updates. Plumbing with no
billing word in it: every domain's repository builds its batch reads and writes on these."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, String, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from kakin.kit.db import TenantOwned, current_tenant

T = TypeVar("T")

LOOKUP_CHUNK = 5_000
"""Ids per lookup query on SQLite (well under its bound-parameter limit)."""

LOOKUP_CHUNK_POSTGRESQL = 50_000
"""Ids per lookup query on PostgreSQL, where they travel as one array parameter."""


def chunks(values: Sequence[T], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def id_chunks(session: Session, values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in chunks sized for one `in_values` query on the session's database."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    return chunks(values, LOOKUP_CHUNK_POSTGRESQL if postgresql else LOOKUP_CHUNK)


def in_values(
    session: Session, column: InstrumentedAttribute[Any], values: Sequence[str]
) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL `IN (SELECT unnest(:array))`: one parameter however
    many ids, planned as a join — unlike `= ANY(:array)`, whose cached generic plan can
    turn into a scan testing every row against the whole array once a partition that was
    empty when planned has filled up (seen in a 200,000-line import)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.in_(select(func.unnest(_id_array(values))))
    return column.in_(values)


_PLAIN_IDS: Final = re.compile(
    r"(?:(?!(?i:null)(?:,|$))[0-9A-Za-z_.:-]+)(?:,(?!(?i:null)(?:,|$))[0-9A-Za-z_.:-]+)*"
)
"""Comma-joined values that need no quoting in a PostgreSQL array literal: no empty value,
none spelled NULL, nothing but letters, digits and `_.:-`."""


def _id_array(values: Sequence[str]) -> ColumnElement[Any]:
    """`values` as one `varchar[]` parameter. Ids (kakin's, and most external ones) are
    sent as the array's text literal, checked by one regular expression over the joined
    text: the driver's own list adaptation quotes element by element, a few milliseconds of
    Python per thousand ids, paid by every chunk query."""
    joined = ",".join(values)
    if _PLAIN_IDS.fullmatch(joined):
        return cast(bindparam(None, "{" + joined + "}", type_=String), ARRAY(String))
    return bindparam(None, list(values), type_=ARRAY(String))


def insert_rows(session: Session, model: type[TenantOwned], rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert (one executemany) of tenant-owned rows, stamped with the session's tenant."""
    if not rows:
        return
    tenant_id = current_tenant(session)
    for row in rows:
        row["tenant_id"] = tenant_id
    session.execute(insert(model), list(rows))


def update_rows(session: Session, model: type[TenantOwned], rows: Sequence[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key (one executemany) of the session's tenant's rows."""
    if not rows:
        return
    tenant_id = current_tenant(session)
    session.execute(update(model), [row | {"tenant_id": tenant_id} for row in rows])


def copy_rows(session: Session, model: type[TenantOwned], rows: Sequence[dict[str, Any]]) -> None:
    """`insert_rows` for big inserts: PostgreSQL `COPY … FROM STDIN` in the session's
    transaction (several times faster than an executemany of INSERTs); `insert_rows` on
    other databases. The same rows are stored: values pass through each column's bind
    processing (UTC timestamps, exact decimals, JSON) and a column missing from the rows
    gets its Python-side default, as an ORM insert would give it."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        insert_rows(session, model, rows)
        return
    tenant_id = current_tenant(session)
    table: Any = model.__table__  # type: ignore[attr-defined]
    given = set(rows[0]) | {"tenant_id"}
    columns = []
    fill: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given:
            columns.append(column)
        elif column.default is not None and (
            column.default.is_scalar or column.default.is_callable
        ):
            columns.append(column)
            arg = column.default.arg
            fill[column.name] = arg(None) if column.default.is_callable else arg
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    names = [column.name for column in columns]
    plan = list(zip(names, processors, strict=True))
    statement = 'COPY "{}" ({}) FROM STDIN'.format(table.name, ", ".join(f'"{n}"' for n in names))
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            row["tenant_id"] = tenant_id
            values = []
            for name, process in plan:
                value = row[name] if name in row else fill[name]
                values.append(process(value) if process is not None else value)
            copy.write_row(values)
