"""Use cases of contracts, and the checks every part of the domain shares.

- `ensure_period_open` is THE one place deciding whether a change dated in the past is
  still allowed; every event path, discount change, contract end-date change, usage
  deletion and one-time charge calls it. Billing moves the line (`close_period`).
- `master_problem` checks the customers and catalog masters this domain builds on.
- `ensure_contract_item_room` holds the tenant limit on subscriptions + discounts.
- `active_contract_ids` is the rule "the customer still has contracts in use", which
  customers asks before a withdrawal (`kakin.app` wires it in).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select, update
from sqlalchemy.orm import Session

from kakin.audit.service import MASK, record
from kakin.catalog.models import DiscountTable, PricePlan
from kakin.catalog.repository import find_by_reference
from kakin.contracts.errors import (
    ContractHasSubscriptionsBeforeStart,
    ContractHasSubscriptionsBeyondEnd,
    ContractInUse,
    ContractNotFound,
    PeriodClosed,
)
from kakin.contracts.models import Contract, Discount, Subscription
from kakin.contracts.schemas import (
    BillingAddress,
    ContractFilter,
    ContractIn,
    ContractOut,
    ContractPatch,
)
from kakin.customers.service import customer_exists
from kakin.kit.concurrency import check_if_match
from kakin.kit.crypto import FieldCipher
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.free_fields import FREE_NAMES, filter_free_fields
from kakin.kit.ids import new_id
from kakin.tenancy.errors import TenantLimitReached
from kakin.tenancy.models import Tenant
from kakin.tenancy.service import count_rows

BILLING_ADDRESS_FIELD = "contract.billing_address"
"""The cipher's field name (bound into the ciphertext's associated data)."""

CANCELLED = "cancelled"


# --- shared checks -----------------------------------------------------------------------


def ensure_period_open(session: Session, contract: Contract, day: dt.date) -> None:
    """Refuse (409 `period-closed`) a change effective on `day` if `contract`'s billing
    period containing `day` is already closed.

    Issue: "past dates allowed only while the period is not closed". A period is closed
    once its receivable is issued (no longer `draft`: RATING.md §8): billing then moves
    `closed_through` to the period's last day (`close_period`). Every path that changes
    what a past day is billed calls this one function: subscription events and creation,
    discount creation, change and deletion, contract end-date changes, usage deletion,
    one-time charges and top-ups.
    """
    # The column, not the loaded object: billing may have closed the period since.
    closed_through = session.scalar(
        select(Contract.closed_through).where(Contract.id == contract.id)
    )
    if closed_through is not None and day <= closed_through:
        raise PeriodClosed(
            f"the billing period containing {day.isoformat()} is closed; "
            "bill a correction as an adjustment instead",
            day=day.isoformat(),
        )


def close_period(session: Session, contract_id: str, period_end: dt.date) -> None:
    """Billing issued `contract_id`'s receivable of the period ending on `period_end`:
    every day up to it is closed from now on (an earlier period never reopens one).

    A Core UPDATE: the contract's representation does not change, so neither does its
    version (ETag) nor `updated_at`."""
    session.execute(
        update(Contract)
        .where(
            Contract.id == contract_id,
            or_(Contract.closed_through.is_(None), Contract.closed_through < period_end),
        )
        .values(closed_through=period_end, updated_at=Contract.updated_at)
        .execution_options(synchronize_session=False)
    )


def master_problem(session: Session, kind: str, master_id: str) -> tuple[Any, str | None]:
    """The master and why it cannot be used for something new (None: it can).

    A customer must exist and not be deleted (read `FOR SHARE`, so a concurrent deletion
    waits for this transaction); a catalog master (price plan, discount table: by id or
    code, the id wins) must exist and not be retired.
    """
    if kind == "customer":
        ok = customer_exists(session, master_id, for_share=True)
        return (True if ok else None), (None if ok else "no such customer")
    row: PricePlan | DiscountTable | None
    if kind == "price_plan":
        row, label = find_by_reference(session, PricePlan, master_id), "price plan"
    else:
        row, label = find_by_reference(session, DiscountTable, master_id), "discount table"
    if row is None:
        return None, f"no such {label}"
    if row.status in ("retired", "deleted"):
        return row, f"the {label} is {row.status}"
    return row, None


def ensure_contract_item_room(session: Session, tenant: Tenant, adding: int = 1) -> None:
    """Seed 000 制限事項: at most `limit_contract_items` subscriptions + discounts."""
    used = count_rows(session, Subscription) + count_rows(session, Discount)
    if used + adding > tenant.limit_contract_items:
        raise TenantLimitReached("limit_contract_items", tenant.limit_contract_items)


# --- contracts ---------------------------------------------------------------------------


def _terms_day_out(value: str) -> int | str:
    return value if value == "eom" else int(value)


def _in_use(today: dt.date) -> Any:
    """The contracts `contract_status` calls `active` on `today` (one whose start lies ahead
    is in use too)."""
    return and_(
        Contract.status != CANCELLED,
        or_(Contract.end_date.is_(None), Contract.end_date >= today),
    )


def active_contract_ids(session: Session, customer_id: str, today: dt.date) -> list[str]:
    """Ids of the customer's contracts still in use on `today`: not cancelled, not ended.
    Customers refuses a withdrawal (退会) while there is one."""
    return list(
        session.scalars(
            select(Contract.id)
            .where(Contract.customer_id == customer_id, _in_use(today))
            .order_by(Contract.id)
        )
    )


def contract_status(contract: Contract, today: dt.date) -> str:
    """`cancelled` (withdrawn), `ended` (its end date has passed) or `active`."""
    if contract.status == CANCELLED:
        return CANCELLED
    if contract.end_date is not None and contract.end_date < today:
        return "ended"
    return "active"


def contract_out(contract: Contract, cipher: FieldCipher, today: dt.date) -> ContractOut:
    address_json = cipher.decrypt(BILLING_ADDRESS_FIELD, contract.billing_address_enc)
    free = {name: getattr(contract, name) for name in FREE_NAMES}
    return ContractOut(
        id=contract.id,
        customer_id=contract.customer_id,
        external_customer_id=contract.external_customer_id,
        closing_day=contract.closing_day,
        payment_terms_months=contract.payment_terms_months,
        payment_terms_day=_terms_day_out(contract.payment_terms_day),
        payment_method_kind=contract.payment_method_kind,
        payment_method_ref=contract.payment_method_ref,
        currency=contract.currency,
        billing_address=BillingAddress.model_validate_json(address_json) if address_json else None,
        invoice_delivery=contract.invoice_delivery,
        start_date=contract.start_date,
        end_date=contract.end_date,
        status=contract_status(contract, today),
        created_at=contract.created_at,
        updated_at=contract.updated_at,
        version=contract.version,
        free=contract.free or {},
        **free,
    )


def _audit_view(contract: Contract) -> dict[str, Any]:
    return {
        "customer_id": contract.customer_id,
        "external_customer_id": contract.external_customer_id,
        "closing_day": contract.closing_day,
        "payment_terms_months": contract.payment_terms_months,
        "payment_terms_day": contract.payment_terms_day,
        "payment_method_kind": contract.payment_method_kind,
        "payment_method_ref": contract.payment_method_ref,
        "currency": contract.currency,
        "billing_address": MASK if contract.billing_address_enc else None,
        "invoice_delivery": contract.invoice_delivery,
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat() if contract.end_date else None,
        "status": contract.status,
        "free": contract.free,
        **{name: getattr(contract, name) for name in FREE_NAMES},
    }


def _encrypt_address(cipher: FieldCipher, address: BillingAddress | None) -> bytes | None:
    if address is None:
        return None
    return cipher.encrypt(BILLING_ADDRESS_FIELD, address.model_dump_json(exclude_none=True))


def get_contract(session: Session, contract_id: str) -> Contract:
    contract = session.scalar(select(Contract).where(Contract.id == contract_id))
    if contract is None:
        raise ContractNotFound(f"no contract {contract_id}")
    return contract


def contract_for_reference(session: Session, contract_id: str, where: str) -> Contract:
    """A contract named in a request body: 422 (not 404) when there is none."""
    contract = session.scalar(select(Contract).where(Contract.id == contract_id))
    if contract is None:
        raise InvalidRequest([(where, "no such contract")])
    return contract


def create_contract(
    session: Session,
    tenant: Tenant,
    cipher: FieldCipher,
    data: ContractIn,
    *,
    customers_enabled: bool,
) -> Contract:
    if data.customer_id is not None:
        if not customers_enabled:
            raise InvalidRequest(
                [
                    (
                        pointer("body", "customer_id"),
                        "this tenant does not use customer management; "
                        "send external_customer_id instead",
                    )
                ]
            )
        _, problem = master_problem(session, "customer", data.customer_id)
        if problem is not None:
            raise InvalidRequest([(pointer("body", "customer_id"), problem)])
    free = data.model_dump(include=set(FREE_NAMES))
    contract = Contract(
        id=new_id("con"),
        customer_id=data.customer_id,
        external_customer_id=data.external_customer_id,
        closing_day=data.closing_day or tenant.default_closing_day,
        payment_terms_months=data.payment_terms_months,
        payment_terms_day=str(data.payment_terms_day),
        payment_method_kind=data.payment_method_kind,
        payment_method_ref=data.payment_method_ref,
        currency=data.currency or tenant.currency,
        billing_address_enc=_encrypt_address(cipher, data.billing_address),
        invoice_delivery=data.invoice_delivery,
        start_date=data.start_date,
        end_date=data.end_date,
        status="active",
        free=data.free or {},
        **free,
    )
    session.add(contract)
    session.flush()
    record(session, "create", "contract", contract.id, None, _audit_view(contract))
    return contract


def update_contract(
    session: Session,
    cipher: FieldCipher,
    contract_id: str,
    changes: ContractPatch,
    if_match: str | None,
) -> Contract:
    contract = get_contract(session, contract_id)
    check_if_match(if_match, contract.version)
    before = _audit_view(contract)
    values = changes.model_dump(exclude_unset=True)
    start = values.get("start_date", contract.start_date)
    end = values.get("end_date", contract.end_date)
    if end is not None and end < start:
        raise InvalidRequest([(pointer("body", "end_date"), "end_date is before start_date")])
    if "start_date" in values and start > contract.start_date:
        early = session.scalar(
            select(Subscription.id).where(
                Subscription.contract_id == contract.id, Subscription.start_date < start
            )
        )
        if early is not None:
            raise ContractHasSubscriptionsBeforeStart(
                f"subscription {early} starts before {start}", subscription_id=early
            )
    if "end_date" in values and end != contract.end_date:
        if end is not None:
            late = session.scalar(
                select(Subscription.id).where(
                    Subscription.contract_id == contract.id,
                    or_(Subscription.end_date.is_(None), Subscription.end_date > end),
                )
            )
            if late is not None:
                raise ContractHasSubscriptionsBeyondEnd(
                    f"subscription {late} does not end by {end}; cancel it first",
                    subscription_id=late,
                )
        changed_from = min(d for d in (end, contract.end_date) if d is not None)
        ensure_period_open(session, contract, changed_from)
    for name, value in values.items():
        if name == "billing_address":
            contract.billing_address_enc = _encrypt_address(cipher, changes.billing_address)
        elif name == "payment_terms_day":
            contract.payment_terms_day = str(value)
        elif name == "free":
            contract.free = value or {}
        else:
            setattr(contract, name, value)
    session.flush()
    record(session, "update", "contract", contract.id, before, _audit_view(contract))
    return contract


def cancel_contract(session: Session, contract_id: str, if_match: str | None) -> None:
    """Withdraw a contract that never got a subscription or discount (status `cancelled`)."""
    contract = get_contract(session, contract_id)
    check_if_match(if_match, contract.version)
    if contract.status == CANCELLED:
        return
    in_use = session.scalar(
        select(
            exists().where(Subscription.contract_id == contract.id)
            | exists().where(Discount.contract_id == contract.id)
        )
    )
    if in_use:
        raise ContractInUse("cancel its subscriptions and delete its discounts; end it instead")
    before = _audit_view(contract)
    contract.status = CANCELLED
    session.flush()
    record(session, "delete", "contract", contract.id, before, _audit_view(contract))


def search_contracts(filters: ContractFilter, today: dt.date) -> Select[Any]:
    statement = select(Contract)
    if filters.customer_id is not None:
        statement = statement.where(Contract.customer_id == filters.customer_id)
    if filters.external_customer_id is not None:
        statement = statement.where(Contract.external_customer_id == filters.external_customer_id)
    if filters.closing_day is not None:
        statement = statement.where(Contract.closing_day == filters.closing_day)
    if filters.status == CANCELLED:
        statement = statement.where(Contract.status == CANCELLED)
    elif filters.status == "ended":
        statement = statement.where(and_(Contract.status != CANCELLED, Contract.end_date < today))
    elif filters.status == "active":
        statement = statement.where(_in_use(today))
    return filter_free_fields(statement, Contract, filters)
