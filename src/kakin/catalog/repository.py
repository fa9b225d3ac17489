"""Queries and writes every master shares: look-up by id or code, search, code uniqueness.

The session is tenant-scoped (kit.db), so every statement here sees only the caller's
tenant: another tenant's id is simply not found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kakin.catalog.errors import DuplicateCode, MasterNotFound
from kakin.catalog.models import (
    DiscountTable,
    MasterStatus,
    PricePlan,
    PricePlanVersion,
    Service,
    Tariff,
    TariffVersion,
    TaxCategory,
    UsageItem,
)
from kakin.catalog.schemas import MasterFilter, MasterPatch
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.free_fields import filter_free_fields
from kakin.kit.pagination import Page, paginate

M = TypeVar("M", Service, UsageItem, Tariff, DiscountTable, TaxCategory, PricePlan)
T = TypeVar("T")
V = TypeVar("V", PricePlanVersion, TariffVersion)

KINDS: dict[type[Any], str] = {
    Service: "service",
    UsageItem: "usage item",
    Tariff: "tariff",
    DiscountTable: "discount table",
    TaxCategory: "tax category",
    PricePlan: "price plan",
}
"""The name of each kind of master in messages and in the audit trail."""


def kind_of(model: type[Any]) -> str:
    return KINDS[model]


def get_master(session: Session, model: type[M], reference: str) -> M:
    """The master with this id or code, or `MasterNotFound` (also for other tenants')."""
    row = find_by_reference(session, model, reference)
    if row is None:
        raise MasterNotFound(kind_of(model), reference)
    return row


def find_by_reference(session: Session, model: type[M], reference: str) -> M | None:
    """A master named by its id or by its code (the API takes either wherever it takes a
    master; an id wins over another master's equal code)."""
    return session.scalar(
        select(model)
        .where((model.id == reference) | (model.code == reference))
        .order_by((model.id == reference).desc())
        .limit(1)
    )


def find_many_by_reference(
    session: Session, model: type[M], references: Sequence[str]
) -> dict[str, M]:
    """Masters named by id or code, in one query: reference → master (absent when unknown)."""
    if not references:
        return {}
    wanted = set(references)
    rows = session.scalars(select(model).where(model.id.in_(wanted) | model.code.in_(wanted)))
    found: dict[str, M] = {}
    for row in rows:
        found[row.id] = row
        found.setdefault(row.code, row)
    return {ref: found[ref] for ref in references if ref in found}


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_statement(model: type[M], filters: MasterFilter) -> Select[tuple[M]]:
    """`select(model)` narrowed by the common master search conditions."""
    statement = select(model)
    if filters.code is not None:
        statement = statement.where(model.code == filters.code)
    if filters.code_prefix is not None:
        statement = statement.where(
            model.code.like(_escape_like(filters.code_prefix) + "%", escape="\\")
        )
    if filters.name is not None:
        pattern = "%" + _escape_like(filters.name.lower()) + "%"
        statement = statement.where(func.lower(model.name).like(pattern, escape="\\"))
    if filters.status is not None:
        statement = statement.where(model.status == filters.status.value)
    return filter_free_fields(statement, model, filters)


def search(
    session: Session,
    model: type[M],
    filters: MasterFilter,
    cursor: str | None,
    limit: int,
    to_items: Callable[[Sequence[M]], list[T]],
    *where: Any,
) -> Page[T]:
    """One page of masters; `to_items` turns the whole page into output at once, so it can
    load what the page needs with one query per kind (no N+1)."""
    statement = search_statement(model, filters).where(*where)
    page = paginate(session, statement, model.id, cursor, limit, lambda row: row)
    return Page[T](items=to_items(page.items), next_cursor=page.next_cursor)


def ensure_code_free(
    session: Session, model: type[M], code: str, exclude_id: str | None = None
) -> None:
    """409 when another master of this kind already has `code`."""
    statement = select(model.id).where(model.code == code)
    if exclude_id is not None:
        statement = statement.where(model.id != exclude_id)
    if session.scalar(statement.limit(1)) is not None:
        raise DuplicateCode(kind_of(model), code)


def flush_master(session: Session, model: type[M], code: str) -> None:
    """Flush; a concurrent insert of the same code (unique constraint) is a 409 too."""
    try:
        session.flush()
    except IntegrityError:
        raise DuplicateCode(kind_of(model), code) from None


NOT_NULL_FIELDS = frozenset({"code", "name", "status", "unit_name"})
"""Fields a change may set but never clear."""


def apply_patch(session: Session, row: M, changes: MasterPatch) -> None:
    """Apply the fields sent in `changes` (code, name, status, free fields, and the
    subclass's own changeable fields) to `row`."""
    values = changes.model_dump(exclude_unset=True)
    nulls = [
        pointer("body", name) for name in NOT_NULL_FIELDS if name in values and values[name] is None
    ]
    if nulls:
        raise InvalidRequest([(p, "cannot be null") for p in sorted(nulls)])
    if "code" in values and values["code"] != row.code:
        ensure_code_free(session, type(row), values["code"], exclude_id=row.id)
    for name, value in values.items():
        if name == "free":
            setattr(row, name, value or {})
        elif name == "status":
            setattr(row, name, MasterStatus(value).value)
        else:
            setattr(row, name, value)


def retire(row: M) -> None:
    row.status = MasterStatus.RETIRED.value


# --- dated versions (price plans and tariffs) ----------------------------------------------


_PARENT_COLUMN: dict[type[Any], str] = {
    PricePlanVersion: "price_plan_id",
    TariffVersion: "tariff_id",
}
"""The column of each version table naming what it is a version of."""


def _parent(model: type[V]) -> Any:
    return getattr(model, _PARENT_COLUMN[model])


def versions_for(session: Session, model: type[V], parent_ids: Sequence[str]) -> dict[str, list[V]]:
    """Every version of each parent (plan or tariff), oldest first, in one query (for lists
    and batches)."""
    versions: dict[str, list[V]] = {parent_id: [] for parent_id in parent_ids}
    if not parent_ids:
        return versions
    parent = _parent(model)
    statement = (
        select(model).where(parent.in_(set(parent_ids))).order_by(parent, model.effective_from)
    )
    for version in session.scalars(statement):
        versions[getattr(version, parent.key)].append(version)
    return versions


def version_on(session: Session, model: type[V], parent_id: str, on: dt.date) -> V | None:
    """The version in force on `on`: the latest `effective_from` ≤ `on` (None before the
    first). RATING.md §4: "a revision applies from its date" — `rating.versions.version_on`
    as one query, for the one version a request needs (the closing reads every version
    of its plans and tariffs and looks them up in memory)."""
    result: V | None = session.scalar(
        select(model)
        .where(_parent(model) == parent_id, model.effective_from <= on)
        .order_by(model.effective_from.desc())
        .limit(1)
    )
    return result
