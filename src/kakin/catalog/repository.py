"""Queries and writes every master shares: look-up by id or code, search, code uniqueness.

The session is tenant-scoped (kit.db), so every statement here sees only the caller's
tenant: another tenant's id is simply not found.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, Text, cast, func, select
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
from kakin.catalog.plan_schemas import PlanComponents
from kakin.catalog.rating_inputs import (
    PER_RECORD,
    DiscountTerms,
    PlanVersion,
    RatingPlans,
    UsageItemFacts,
    discount_terms,
    plan_failure,
    rating_plans_of,
    rating_tariff,
)
from kakin.catalog.schemas import MasterFilter, MasterPatch
from kakin.kit.bulk import id_chunks, in_values
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.free_fields import filter_free_fields
from kakin.kit.pagination import Page, paginate
from kakin.rating.model import TariffVersion as RatingTariffVersion

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


# --- the closing's reads: masters as rating inputs, for a whole chunk at once ----------------


@functools.lru_cache(maxsize=4096)
def _components(version_id: str, stored: str) -> PlanComponents:
    """A version's components validated once per process (versions are immutable rows; the
    stored text is part of the key, so an in-memory version reusing an id is never mixed
    up with a stored one)."""
    return PlanComponents.model_validate_json(stored)


def rating_plans(session: Session, plan_ids: Sequence[str]) -> RatingPlans:
    """Every version of `plan_ids` as the rating core's plans, with their tariffs, usage
    items and services: five plain-row queries, each plan version's components parsed once
    per process. A plan whose components cannot be read or converted is in `broken`."""
    v = PricePlanVersion
    versions: dict[str, list[PlanVersion]] = {plan_id: [] for plan_id in plan_ids}
    broken: dict[str, str] = {}
    statement = select(v.id, v.price_plan_id, v.effective_from, cast(v.components, Text))
    for part in id_chunks(session, sorted(set(plan_ids))):
        rows = session.execute(
            statement.where(in_values(session, v.price_plan_id, part)).order_by(
                v.price_plan_id, v.effective_from
            )
        )
        for version_id, plan_id, effective_from, stored in rows:
            try:
                components = _components(version_id, stored)
            except ValueError as exc:
                broken[plan_id] = plan_failure(plan_id, exc)
                continue
            versions[plan_id].append(PlanVersion(version_id, plan_id, effective_from, components))
    service_of: dict[str, str] = {}
    for part in id_chunks(session, sorted(set(plan_ids))):
        for plan_id, service_id in session.execute(
            select(PricePlan.id, PricePlan.service_id).where(in_values(session, PricePlan.id, part))
        ):
            service_of[plan_id] = service_id
    return rating_plans_of_versions(session, versions, service_of, broken)


def rating_plans_of_versions(
    session: Session,
    versions: Mapping[str, Sequence[PlanVersion]],
    service_of: Mapping[str, str],
    broken: Mapping[str, str] | None = None,
) -> RatingPlans:
    """`versions` (plan id → versions oldest first, stored or in memory) as the rating
    core's plans, with the tariffs and usage items they charge by read in two queries."""
    tariff_ids: set[str] = set()
    item_ids: set[str] = set()
    for plan_versions in versions.values():
        for version in plan_versions:
            for charge in version.components.usage_charges:
                tariff_ids.add(charge.tariff_id)
                item_ids.add(charge.usage_item)
    return rating_plans_of(
        versions,
        _rating_tariffs(session, sorted(tariff_ids)),
        _usage_item_facts(session, sorted(item_ids)),
        service_of,
        broken or {},
    )


def _rating_tariffs(
    session: Session, tariff_ids: Sequence[str]
) -> dict[str, tuple[RatingTariffVersion, ...]]:
    t = TariffVersion
    found: dict[str, list[RatingTariffVersion]] = defaultdict(list)
    for part in id_chunks(session, tariff_ids):
        rows = session.execute(
            select(t.tariff_id, t.effective_from, t.shape, t.parameters)
            .where(in_values(session, t.tariff_id, part))
            .order_by(t.tariff_id, t.effective_from)
        )
        for row in rows:
            found[row.tariff_id].append(
                RatingTariffVersion(row.tariff_id, row.effective_from, rating_tariff(row))
            )
    return {tariff_id: tuple(tariff_versions) for tariff_id, tariff_versions in found.items()}


def _usage_item_facts(session: Session, item_ids: Sequence[str]) -> dict[str, UsageItemFacts]:
    u = UsageItem
    facts: dict[str, UsageItemFacts] = {}
    for part in id_chunks(session, item_ids):
        for item_id, unit, unit_name, item_rating, name in session.execute(
            select(u.id, u.unit, u.unit_name, u.rating, u.name).where(
                in_values(session, u.id, part)
            )
        ):
            facts[item_id] = UsageItemFacts(unit, unit_name, item_rating == PER_RECORD, name)
    return facts


def discount_terms_of(session: Session, table_ids: Sequence[str]) -> dict[str, DiscountTerms]:
    """The terms of the discount tables `table_ids` (RATING.md §5), in one plain-row query."""
    d = DiscountTable
    terms: dict[str, DiscountTerms] = {}
    for part in id_chunks(session, table_ids):
        for row in session.execute(
            select(d.id, d.kind, d.rate, d.amount, d.conditions, d.name).where(
                in_values(session, d.id, part)
            )
        ):
            terms[row.id] = discount_terms(row)
    return terms
