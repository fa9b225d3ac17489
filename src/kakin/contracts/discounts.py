"""Use cases of discounts (割引契約): a discount table applied to a contract or subscription."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.contracts.errors import ContractNotActive, DiscountNotFound
from kakin.contracts.models import Discount, Subscription
from kakin.contracts.schemas import DiscountFilter, DiscountIn, DiscountOut, DiscountPatch
from kakin.contracts.service import (
    contract_for_reference,
    ensure_contract_item_room,
    ensure_period_open,
    get_contract,
    master_problem,
)
from kakin.kit.concurrency import check_if_match
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.ids import new_id
from kakin.tenancy.models import Tenant

SCOPES = ("all", "recurring", "usage", "one_time")


def discount_out(discount: Discount) -> DiscountOut:
    return DiscountOut.model_validate(discount, from_attributes=True)


def get_discount(session: Session, discount_id: str) -> Discount:
    discount = session.scalar(select(Discount).where(Discount.id == discount_id))
    if discount is None:
        raise DiscountNotFound(f"no discount {discount_id}")
    return discount


def _default_scope(table: Any) -> str:
    """The discount table's own scope when it has one (catalog), else `all`."""
    scope = getattr(table, "scope", None)
    return scope if isinstance(scope, str) and scope in SCOPES else "all"


def create_discount(session: Session, tenant: Tenant, data: DiscountIn) -> Discount:
    contract = contract_for_reference(session, data.contract_id, pointer("body", "contract_id"))
    if contract.status == "cancelled":
        raise ContractNotActive(f"contract {contract.id} is cancelled")
    errors: list[tuple[str, str]] = []
    if data.subscription_id is not None:
        owner = session.scalar(
            select(Subscription.contract_id).where(Subscription.id == data.subscription_id)
        )
        if owner is None:
            errors.append((pointer("body", "subscription_id"), "no such subscription"))
        elif owner != contract.id:
            errors.append(
                (pointer("body", "subscription_id"), "the subscription belongs to another contract")
            )
    table, problem = master_problem(session, "discount_table", data.discount_table_id)
    if problem is not None:
        errors.append((pointer("body", "discount_table_id"), problem))
    elif getattr(table, "currency", None) not in (None, contract.currency):
        errors.append(
            (
                pointer("body", "discount_table_id"),
                f"the discount table is in {table.currency}, the contract in {contract.currency}",
            )
        )
    if errors:
        raise InvalidRequest(errors)
    ensure_contract_item_room(session, tenant)
    ensure_period_open(session, contract, data.start_date)
    discount = Discount(
        id=new_id("dis"),
        contract_id=contract.id,
        subscription_id=data.subscription_id,
        discount_table_id=table.id,
        scope=data.scope or _default_scope(table),
        start_date=data.start_date,
        end_date=data.end_date,
        priority=data.priority,
    )
    session.add(discount)
    session.flush()
    record(session, "create", "discount", discount.id, None, discount_out(discount))
    return discount


def update_discount(
    session: Session, discount_id: str, changes: DiscountPatch, if_match: str | None
) -> Discount:
    discount = get_discount(session, discount_id)
    check_if_match(if_match, discount.version)
    values = changes.model_dump(exclude_unset=True)
    start = values.get("start_date", discount.start_date)
    end = values.get("end_date", discount.end_date)
    if end is not None and end < start:
        raise InvalidRequest([(pointer("body", "end_date"), "end_date is before start_date")])
    contract = get_contract(session, discount.contract_id)
    # A changed range (or scope or priority) changes what every day since the earliest
    # affected date is billed.
    affected = [discount.start_date, start]
    if "end_date" in values and "start_date" not in values and "scope" not in values:
        affected = [d for d in (end, discount.end_date) if d is not None] or [start]
    ensure_period_open(session, contract, min(affected))
    before = discount_out(discount)
    for name, value in values.items():
        setattr(discount, name, value)
    session.flush()
    record(session, "update", "discount", discount.id, before, discount_out(discount))
    return discount


def delete_discount(session: Session, discount_id: str, if_match: str | None) -> None:
    discount = get_discount(session, discount_id)
    check_if_match(if_match, discount.version)
    ensure_period_open(session, get_contract(session, discount.contract_id), discount.start_date)
    before = discount_out(discount)
    session.delete(discount)
    session.flush()
    record(session, "delete", "discount", discount.id, before, None)


def search_discounts(filters: DiscountFilter) -> Select[Any]:
    statement = select(Discount)
    if filters.contract_id is not None:
        statement = statement.where(Discount.contract_id == filters.contract_id)
    if filters.subscription_id is not None:
        statement = statement.where(Discount.subscription_id == filters.subscription_id)
    return statement
