"""Cursor pagination over time-ordered ids (kit.ids): stable under inserts, O(limit) reads."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kakin.kit.errors import InvalidRequest

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(None, description="null on the last page")


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest([("/query/cursor", "not a cursor this API returned")]) from None
    if not decoded:
        raise InvalidRequest([("/query/cursor", "not a cursor this API returned")])
    return decoded


def paginate(
    session: Session,
    statement: Select[Any],
    id_column: InstrumentedAttribute[str],
    cursor: str | None,
    limit: int,
    to_item: Callable[[Any], T],
    *,
    rows: bool = False,
) -> Page[T]:
    """Run `statement` ordered by `id_column`, after `cursor`, one row more than `limit`.

    `to_item` gets each row's one entity, or with `rows=True` the row itself (for a
    statement selecting columns)."""
    return paginate_rows(
        session,
        statement,
        id_column,
        cursor,
        limit,
        lambda page: [to_item(r) for r in page],
        rows=rows,
    )


def paginate_rows(
    session: Session,
    statement: Select[Any],
    id_column: InstrumentedAttribute[str],
    cursor: str | None,
    limit: int,
    to_items: Callable[[Sequence[Any]], list[T]],
    *,
    rows: bool = False,
) -> Page[T]:
    """`paginate` whose items are made from the page's rows at once — for items that need
    one more query over the whole page (never one per row)."""
    if cursor:
        statement = statement.where(id_column > decode_cursor(cursor))
    result = session.execute(statement.order_by(id_column).limit(limit + 1))
    page: Sequence[Any] = result.all() if rows else result.scalars().all()
    more = len(page) > limit
    page = page[:limit]
    next_cursor = encode_cursor(getattr(page[-1], id_column.key)) if more and page else None
    return Page[T](items=to_items(page), next_cursor=next_cursor)
