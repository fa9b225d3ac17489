"""Set-based statements on tenant-owned tables: ids in chunks sized for one query, `IN`
over an id array, bulk inserts (COPY on PostgreSQL) and bulk updates. Plumbing with no
billing word in it: every domain's repository builds its batch reads and writes on these."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

from psycopg.errors import DeadlockDetected, UniqueViolation
from sqlalchemy import (
    JSON,
    ColumnElement,
    LargeBinary,
    String,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
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


R = TypeVar("R", bound=tuple[Any, ...])


def rows_in(
    session: Session,
    row_type: type[R],
    model: type[Any],
    key: InstrumentedAttribute[Any],
    ids: Sequence[str],
    *where: ColumnElement[bool],
) -> Iterator[R]:
    """The rows of `model` whose `key` is one of `ids` (and that meet `where`), as
    `row_type`: a NamedTuple whose fields name the columns read, so the select and the
    row it fills cannot drift apart. Plain rows, no ORM objects; one query per id chunk."""
    fields: tuple[str, ...] = row_type._fields  # type: ignore[attr-defined]
    statement = select(*(getattr(model, name) for name in fields)).where(*where)
    for part in id_chunks(session, ids):
        for row in session.execute(statement.where(in_values(session, key, part))):
            yield row_type(*row)


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


def copy_text(
    session: Session, table: str, columns: Sequence[str], blocks: Iterable[bytes]
) -> None:
    """THE COPY writer: `COPY table (columns) FROM STDIN` in the session's transaction,
    fed blocks already rendered in COPY's text format (`copy_line`). The caller renders:
    formatting the text in Python and writing it in large blocks is several times faster
    than psycopg's per-value `write_row` adaptation, and a caller that knows its values
    (usage records) renders them faster still. PostgreSQL only."""
    statement = 'COPY "{}" ({}) FROM STDIN'.format(table, ", ".join(f'"{c}"' for c in columns))
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for block in blocks:
            copy.write(block)


def copy_new(session: Session, writes: Sequence[tuple[str, Sequence[str], bytes]]) -> bool:
    """The `copy_text` writes of (table, columns, text), all or none, in a savepoint: False,
    with nothing written, when a row's key is already present (or a concurrent
    transaction writing the same key deadlocked with this one). The quick way to store
    rows that are new unless proven otherwise; the caller then takes the careful way
    (`INSERT … ON CONFLICT`) for them. PostgreSQL only."""
    try:
        with session.begin_nested():
            for table, columns, text in writes:
                copy_text(session, table, columns, [text])
    except (UniqueViolation, DeadlockDetected):
        return False
    return True


COPY_BLOCK_ROWS = 2_000
"""Rows rendered per block written to COPY."""

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")

_DIGITS: Final = frozenset({int, Decimal})
"""Types whose text (digits, sign, point, exponent) never needs escaping (not `bool`)."""


def copy_escape(text: str) -> str:
    """`text` as a value of COPY's text format (backslash, tab and line breaks escaped)."""
    return text.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


def copy_value(value: Any) -> str:
    """A bound Python value as COPY text: `\\N` for NULL, ISO dates, `\\x…` for bytes."""
    if value is None:
        return "\\N"
    # Exact types first: a closing chunk renders some 70,000 values, most of them ids and
    # amounts, and the isinstance chain below cost more than the rendering.
    kind = type(value)
    if kind is str:
        return copy_escape(value)
    if kind in _DIGITS:
        return str(value)
    if isinstance(value, str):
        return copy_escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date | dt.time):  # datetimes too: naive UTC, or with offset
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\\\x" + bytes(value).hex()
    return copy_escape(str(value))  # int, Decimal, float


def copy_rows(session: Session, model: type[TenantOwned], rows: Sequence[dict[str, Any]]) -> None:
    """`insert_rows` for big inserts: PostgreSQL `COPY … FROM STDIN` (`copy_text`) in the
    session's transaction, several times faster than an executemany of INSERTs;
    `insert_rows` on other databases. The same rows are stored: values pass through each
    column's bind processing (UTC timestamps, exact decimals) and JSON through the
    dialect's serializer, and a column missing from the rows gets its Python-side
    default, as an ORM insert would give it."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        insert_rows(session, model, rows)
        return
    tenant_id = current_tenant(session)
    table: Any = model.__table__  # type: ignore[attr-defined]
    given = set(rows[0]) | {"tenant_id"}
    serialize = getattr(dialect, "_json_serializer", None) or json.dumps
    names: list[str] = []
    renders: list[Callable[[Any], str]] = []
    fill: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in given:
            default = column.default
            if default is None or not (default.is_scalar or default.is_callable):
                continue
            fill[column.name] = default.arg(None) if default.is_callable else default.arg
        names.append(column.name)
        renders.append(_renderer(column.type, dialect, serialize))

    def lines(block: Sequence[dict[str, Any]]) -> Iterator[str]:
        plan = list(zip(names, renders, strict=True))
        for row in block:
            yield (
                "\t".join([render(row[n] if n in row else fill[n]) for n, render in plan]) + "\n"
            )

    for row in rows:
        row["tenant_id"] = tenant_id
    copy_text(
        session,
        table.name,
        names,
        (
            "".join(lines(rows[i : i + COPY_BLOCK_ROWS])).encode()
            for i in range(0, len(rows), COPY_BLOCK_ROWS)
        ),
    )


def _renderer(kind: Any, dialect: Any, serialize: Callable[[Any], str]) -> Callable[[Any], str]:
    """A column's value → COPY text, as an ORM insert would bind it: JSON through the
    dialect's serializer (None is JSON `null` unless the column says `none_as_null`),
    bytes as they are, other values through the column type's bind processor."""
    if isinstance(kind, JSON):
        none_as_null = kind.none_as_null

        def render_json(value: Any) -> str:
            if value is None and none_as_null:
                return "\\N"
            return copy_escape(serialize(value))

        return render_json
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None or isinstance(kind, LargeBinary):  # bytes: the driver's wrapper aside
        return copy_value

    def render(value: Any) -> str:
        return copy_value(None if value is None else process(value))

    return render
