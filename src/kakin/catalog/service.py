"""Use cases of the simple masters: services, usage items, discount tables, tax categories.

Services flush, never commit (the request edge owns the transaction). Every change is
recorded in the audit trail. Tariffs and price plans live in `tariffs.py` and
`price_plans.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final

from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.catalog.errors import MasterNotFound, TaxRateDateTaken
from kakin.catalog.models import (
    DiscountTable,
    MasterStatus,
    Service,
    TaxCategory,
    TaxRate,
    UsageItem,
)
from kakin.catalog.repository import (
    M,
    apply_patch,
    ensure_code_free,
    find_many_by_reference,
    flush_master,
    retire,
)
from kakin.catalog.schemas import (
    DiscountConditions,
    DiscountTableIn,
    DiscountTableOut,
    MasterPatch,
    ServiceIn,
    ServiceOut,
    TaxCategoryOut,
    TaxCategoryPatch,
    TaxRateIn,
    TaxRateOut,
    UsageItemIn,
    UsageItemOut,
)
from kakin.kit.db import utcnow
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.ids import new_id
from kakin.kit.money import minor_units
from kakin.rating.discounts import DiscountKind
from kakin.rating.tax import JAPAN_TAX_RATES, TAX_CATEGORY_ORDER, UNTAXED
from kakin.rating.tax import TaxCategory as TaxCategoryCode
from kakin.rating.tax import TaxRate as RatingTaxRate

Problems = list[tuple[str, str]]


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_minor_units(value: Decimal, currency: str, at: str) -> Problems:
    """RATING.md §1: "Stored amounts are integers in the currency's minor unit"."""
    places = minor_units(currency)
    if decimal_places(value) > places:
        return [(at, f"has more decimal places than {currency} allows ({places})")]
    return []


# --- services ---------------------------------------------------------------------------


def create_service(session: Session, data: ServiceIn) -> Service:
    ensure_code_free(session, Service, data.code)
    row = Service(id=new_id("svc"), **data.model_dump(exclude_none=True))
    session.add(row)
    flush_master(session, Service, data.code)
    record(session, "create", "service", row.id, None, ServiceOut.model_validate(row))
    return row


def change_master(
    session: Session, row: M, changes: MasterPatch, out: Callable[[M], BaseModel], kind: str
) -> None:
    """Apply a change to any master and record it (before → after)."""
    before = out(row)
    apply_patch(session, row, changes)
    flush_master(session, type(row), row.code)
    record(session, "update", kind, row.id, before, out(row))


def retire_master(session: Session, row: M, out: Callable[[M], BaseModel], kind: str) -> None:
    """DELETE of a master: masters are referenced by contracts and receivables, so they are
    retired (kept, no new use), never removed."""
    before = out(row)
    retire(row)
    session.flush()
    record(session, "delete", kind, row.id, before, out(row))


# --- usage items ------------------------------------------------------------------------


def create_usage_item(session: Session, data: UsageItemIn) -> UsageItem:
    ensure_code_free(session, UsageItem, data.code)
    values = data.model_dump(exclude_none=True)
    values["rating"] = data.rating.value
    row = UsageItem(id=new_id("uit"), **values)
    session.add(row)
    flush_master(session, UsageItem, data.code)
    record(session, "create", "usage_item", row.id, None, UsageItemOut.model_validate(row))
    return row


# --- discount tables --------------------------------------------------------------------


def _discount_problems(
    session: Session, data: DiscountTableIn, currency: str
) -> tuple[Problems, DiscountConditions | None]:
    """RATING.md §5: a `fixed_rate` table has a rate (0–100 %), a `fixed_amount` table an
    amount (≥ 0, in minor units); conditions name existing services and strictly
    increasing loyalty years. Returns the problems and the conditions with ids resolved."""
    problems: Problems = []
    conditions = data.conditions
    has_steps = bool(conditions and conditions.loyalty_steps)
    if data.kind is DiscountKind.FIXED_RATE:
        if data.rate is None and not has_steps:
            problems.append((pointer("body", "rate"), "is required by fixed_rate"))
        if data.amount is not None:
            problems.append((pointer("body", "amount"), "is not used by fixed_rate"))
        if data.currency is not None:
            problems.append((pointer("body", "currency"), "is not used by fixed_rate"))
    else:
        if data.amount is None and not has_steps:
            problems.append((pointer("body", "amount"), "is required by fixed_amount"))
        if data.rate is not None:
            problems.append((pointer("body", "rate"), "is not used by fixed_amount"))
        if data.amount is not None:
            problems += check_minor_units(data.amount, currency, pointer("body", "amount"))
    if conditions is None:
        return problems, None
    if conditions.loyalty_steps:
        previous = -1
        for index, step in enumerate(conditions.loyalty_steps):
            at: tuple[str | int, ...] = ("body", "conditions", "loyalty_steps", index)
            if step.years <= previous:
                problems.append((pointer(*at, "years"), "must be above the previous step's"))
            previous = max(previous, step.years)
            if data.kind is DiscountKind.FIXED_RATE:
                if step.value > 100:
                    problems.append((pointer(*at, "value"), "a rate is at most 100 (%)"))
            else:
                problems += check_minor_units(step.value, currency, pointer(*at, "value"))
    resolved = conditions
    if conditions.required_services:
        refs = conditions.required_services
        found = find_many_by_reference(session, Service, refs)
        ids: list[str] = []
        for index, ref in enumerate(refs):
            where = pointer("body", "conditions", "required_services", index)
            service = found.get(ref)
            if service is None:
                problems.append((where, f"no service {ref}"))
            elif service.id in ids:
                problems.append((where, "is named twice"))
            else:
                ids.append(service.id)
        resolved = conditions.model_copy(update={"required_services": ids})
    return problems, resolved


def create_discount_table(
    session: Session, data: DiscountTableIn, tenant_currency: str
) -> DiscountTable:
    currency = data.currency or tenant_currency
    problems, conditions = _discount_problems(session, data, currency)
    if problems:
        raise InvalidRequest(problems)
    ensure_code_free(session, DiscountTable, data.code)
    values = data.model_dump(exclude_none=True, exclude={"conditions", "currency"})
    values["kind"] = data.kind.value
    values["scope"] = data.scope.value
    row = DiscountTable(
        id=new_id("dtb"),
        currency=currency if data.kind is DiscountKind.FIXED_AMOUNT else None,
        conditions=conditions.model_dump(mode="json", exclude_none=True) if conditions else None,
        **values,
    )
    session.add(row)
    flush_master(session, DiscountTable, data.code)
    record(session, "create", "discount_table", row.id, None, discount_table_out(row))
    return row


def discount_table_out(row: DiscountTable) -> DiscountTableOut:
    return DiscountTableOut.model_validate(row)


# --- tax categories ---------------------------------------------------------------------

DEFAULT_TAX_CATEGORY_NAMES: Final[dict[TaxCategoryCode, str]] = {
    TaxCategoryCode.STANDARD: "標準税率",
    TaxCategoryCode.REDUCED: "軽減税率",
    TaxCategoryCode.EXEMPT: "非課税",
    TaxCategoryCode.OUT_OF_SCOPE: "不課税",
}
"""RATING.md §7: the four categories every tenant has, with their Japanese labels."""


def seed_tax_master(session: Session, tenant_id: str) -> None:
    """Give a new tenant the four tax categories and the Japanese rates
    (`kakin.rating.tax.JAPAN_TAX_RATES`: standard 10 % and reduced 8 % from 2019-10-01,
    exempt and out of scope 0). Called once, when the tenant is created
    (`kakin.onboarding.open_tenant`), so every read of the tax master is only a read."""
    now = utcnow()
    session.execute(
        insert(TaxCategory),
        [
            {
                "tenant_id": tenant_id,
                "id": new_id("txc"),
                "code": code.value,
                "name": name,
                "status": MasterStatus.ACTIVE.value,
                "free": {},
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for code, name in DEFAULT_TAX_CATEGORY_NAMES.items()
        ],
    )
    session.execute(
        insert(TaxRate),
        [
            {
                "tenant_id": tenant_id,
                "category": rate.category.value,
                "effective_from": rate.valid_from,
                "rate": rate.rate,
                "created_at": now,
            }
            for rate in JAPAN_TAX_RATES
        ],
    )


def list_tax_categories(session: Session) -> list[TaxCategoryOut]:
    rows = session.scalars(select(TaxCategory)).all()
    # RATING.md §5's order of categories: standard, reduced, exempt, out_of_scope.
    order = {code.value: index for code, index in TAX_CATEGORY_ORDER.items()}
    return tax_categories_out(session, sorted(rows, key=lambda r: order.get(r.code, len(order))))


def tax_categories_out(session: Session, rows: Sequence[TaxCategory]) -> list[TaxCategoryOut]:
    codes = [row.code for row in rows]
    rates: dict[str, list[TaxRateOut]] = {code: [] for code in codes}
    for rate in session.scalars(
        select(TaxRate).where(TaxRate.category.in_(codes)).order_by(TaxRate.effective_from)
    ):
        rates[rate.category].append(TaxRateOut.model_validate(rate))
    return [_tax_category_out(row, rates[row.code]) for row in rows]


def _tax_category_out(row: TaxCategory, rates: list[TaxRateOut]) -> TaxCategoryOut:
    data = {name: getattr(row, name) for name in TaxCategoryOut.model_fields if name != "rates"}
    return TaxCategoryOut.model_validate({**data, "rates": rates})


def get_tax_category(session: Session, code: str) -> TaxCategory:
    row = session.scalar(select(TaxCategory).where(TaxCategory.code == code))
    if row is None:
        raise MasterNotFound("tax category", code)
    return row


def tax_category_out(session: Session, row: TaxCategory) -> TaxCategoryOut:
    return tax_categories_out(session, [row])[0]


def change_tax_category(session: Session, row: TaxCategory, changes: TaxCategoryPatch) -> None:
    before = tax_category_out(session, row)
    values = changes.model_dump(exclude_unset=True)
    if "name" in values and values["name"] is None:
        raise InvalidRequest([(pointer("body", "name"), "cannot be null")])
    for name, value in values.items():
        setattr(row, name, (value or {}) if name == "free" else value)
    session.flush()
    record(session, "update", "tax_category", row.id, before, tax_category_out(session, row))


def add_tax_rate(session: Session, row: TaxCategory, data: TaxRateIn) -> None:
    """RATING.md §7: "a future rate change is a new row, not a code change". Exempt and
    out-of-scope categories never carry tax, so their rate is 0."""
    if TaxCategoryCode(row.code) in UNTAXED and data.rate != 0:
        raise InvalidRequest([(pointer("body", "rate"), f"{row.code} is always 0")])
    taken = session.scalar(
        select(TaxRate.effective_from).where(
            TaxRate.category == row.code, TaxRate.effective_from == data.effective_from
        )
    )
    if taken is not None:
        raise TaxRateDateTaken(f"{row.code} already has a rate from {data.effective_from}")
    before = tax_category_out(session, row)
    session.add(TaxRate(category=row.code, effective_from=data.effective_from, rate=data.rate))
    row.updated_at = utcnow()  # a new rate is a change of the category: new ETag
    try:
        session.flush()
    except IntegrityError:  # a concurrent insert of the same date
        raise TaxRateDateTaken(
            f"{row.code} already has a rate from {data.effective_from}"
        ) from None
    record(session, "update", "tax_category", row.id, before, tax_category_out(session, row))


def tax_rates(session: Session) -> tuple[RatingTaxRate, ...]:
    """The tenant's dated tax master as `kakin.rating.tax.TaxRate`s (for the closing)."""
    return tuple(
        RatingTaxRate(TaxCategoryCode(r.category), r.rate, r.effective_from)
        for r in session.scalars(select(TaxRate).order_by(TaxRate.category, TaxRate.effective_from))
    )


def tax_category_codes(session: Session) -> set[str]:
    """The codes of the tenant's active tax categories."""
    return set(
        session.scalars(
            select(TaxCategory.code).where(TaxCategory.status == MasterStatus.ACTIVE.value)
        )
    )
