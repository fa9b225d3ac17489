"""Use cases of customers: register (one or in bulk), read, change, delete, search.

Personal values are encrypted with the tenant's `FieldCipher` before they reach the
session and decrypted in Python after one query (no per-row round trips). Services
flush, never commit: the request edge owns the transaction.

Other domains call `get_customer`, `customer_exists` and `load_customers`. Contracts
builds on customers, so the contracts rule that refuses a withdrawal comes in from above
(`refuse_withdrawal_with`, wired by `kakin.app`) instead of being imported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from kakin.audit.service import record, record_many
from kakin.customers.errors import CustomerDeleted, CustomerHasActiveContracts, CustomerNotFound
from kakin.customers.models import Customer
from kakin.customers.normalise import BLIND_INDEXED, index_key
from kakin.customers.schemas import (
    COMPANY_REQUIRED,
    PERSONAL_FIELDS,
    CustomerChange,
    CustomerFilter,
    CustomerIn,
    CustomerOut,
    CustomerSearch,
    change_values,
)
from kakin.kit.bulk import copy_rows
from kakin.kit.concurrency import check_if_match
from kakin.kit.crypto import FieldCipher
from kakin.kit.db import utcnow
from kakin.kit.errors import InvalidRequest
from kakin.kit.free_fields import FREE_NAMES, filter_free_fields
from kakin.kit.ids import new_id
from kakin.kit.pagination import Page, paginate
from kakin.tenancy.clock import tenant_today
from kakin.tenancy.errors import TenantLimitReached
from kakin.tenancy.models import Tenant
from kakin.tenancy.service import count_rows

ACTIVE = "active"
DELETED = "deleted"
RESOURCE = "customer"


# --- encryption -------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def seal(cipher: FieldCipher, values: Mapping[str, Any]) -> dict[str, Any]:
    """The encrypted and blind-index columns for the personal values present in `values`."""
    columns: dict[str, Any] = {}
    for field in PERSONAL_FIELDS:
        if field not in values:
            continue
        text = _text(values[field])
        columns[f"{field}_enc"] = cipher.encrypt(field, text)
        if field in BLIND_INDEXED:
            columns[f"{field}_bi"] = (
                None if text is None else cipher.blind_index(field, index_key(field, text))
            )
    return columns


OUT_COLUMNS = (
    Customer.id,
    Customer.kind,
    *(getattr(Customer, f"{field}_enc") for field in PERSONAL_FIELDS),
    Customer.free,
    *(getattr(Customer, name) for name in FREE_NAMES),
    Customer.status,
    Customer.deleted_at,
    Customer.created_at,
    Customer.updated_at,
    Customer.version,
)
"""The columns a `CustomerOut` is made of: the hot reads select these rows, not ORM objects
(no identity map, no instance state), still ORM-enabled so kit.db scopes them."""


def decrypt_customer(cipher: FieldCipher, row: Customer | Row[Any]) -> CustomerOut:
    """The customer as the API shows it, personal values decrypted (from a `Customer` or
    a row of `OUT_COLUMNS`)."""
    values: dict[str, Any] = {
        field: cipher.decrypt(field, getattr(row, f"{field}_enc")) for field in PERSONAL_FIELDS
    }
    values.update({name: getattr(row, name) for name in FREE_NAMES})
    return CustomerOut(
        id=row.id,
        kind=row.kind,
        free=row.free or {},
        status=row.status,
        deleted_at=row.deleted_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **values,
    )


def blind_index_condition(cipher: FieldCipher, field: str, value: str) -> Any:
    """`<field>_bi = HMAC(normalised value)`: exact search without decrypting."""
    column = getattr(Customer, f"{field}_bi")
    return column == cipher.blind_index(field, index_key(field, value))


# --- reads other domains use --------------------------------------------------------------


def get_customer(session: Session, customer_id: str, *, for_share: bool = False) -> Customer:
    """The customer row (deleted ones included), or the 404 problem.

    `for_share=True` (PostgreSQL `FOR SHARE`) makes a concurrent deletion wait for the
    caller's transaction: use it when creating something that needs the customer.
    """
    statement = select(Customer).where(Customer.id == customer_id)
    if for_share:
        statement = statement.with_for_update(read=True)
    row = session.scalar(statement)
    if row is None:
        raise CustomerNotFound(customer_id)
    return row


def read_customer(
    session: Session, cipher: FieldCipher, customer_id: str
) -> tuple[int, CustomerOut]:
    """The customer's version (ETag) and its decrypted view, in one SELECT of its columns."""
    row = session.execute(select(*OUT_COLUMNS).where(Customer.id == customer_id)).first()
    if row is None:
        raise CustomerNotFound(customer_id)
    return row.version, decrypt_customer(cipher, row)


def customer_exists(session: Session, customer_id: str, *, for_share: bool = False) -> bool:
    """True if the session's tenant has this customer and it is not deleted."""
    statement = select(Customer.id).where(Customer.id == customer_id, Customer.status == ACTIVE)
    if for_share:
        statement = statement.with_for_update(read=True)
    return session.scalar(statement) is not None


def load_customers(
    session: Session, cipher: FieldCipher, customer_ids: Iterable[str]
) -> dict[str, CustomerOut]:
    """Many customers by id in one query, decrypted (for invoices, lists of contracts)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = session.scalars(select(Customer).where(Customer.id.in_(ids)))
    return {row.id: decrypt_customer(cipher, row) for row in rows}


# --- registration -------------------------------------------------------------------------


def ensure_room(session: Session, tenant: Tenant, adding: int) -> None:
    """Seed 000 制限事項: refuse (409, nothing written) what would pass `limit_customers`.

    The tenant row is locked first (PostgreSQL), so two concurrent registrations cannot
    both pass the limit. Deleted customers do not count.
    """
    session.execute(select(Tenant.tenant_id).with_for_update())
    current = count_rows(session, Customer, Customer.status == ACTIVE)
    if current + adding > tenant.limit_customers:
        raise TenantLimitReached(
            "limit_customers", tenant.limit_customers, current=current, requested=adding
        )


def _free_values(data: CustomerIn) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(data, name) for name in FREE_NAMES}
    values["free"] = data.free or {}
    return values


def create_customer(
    session: Session, cipher: FieldCipher, tenant: Tenant, data: CustomerIn
) -> tuple[Customer, CustomerOut]:
    ensure_room(session, tenant, 1)
    row = Customer(
        id=new_id("cus"),
        kind=data.kind,
        status=ACTIVE,
        **seal(cipher, data.model_dump(include=set(PERSONAL_FIELDS))),
        **_free_values(data),
    )
    session.add(row)
    session.flush()
    out = decrypt_customer(cipher, row)
    record(session, "create", RESOURCE, row.id, after=out, personal=PERSONAL_FIELDS)
    return row, out


def create_customers(
    session: Session, cipher: FieldCipher, tenant: Tenant, items: Sequence[CustomerIn]
) -> list[CustomerOut]:
    """Bulk registration: one limit check, one executemany, one audit insert.

    All or nothing: the input is fully validated before this is called, and any failure
    here rolls the whole request back.
    """
    ensure_room(session, tenant, len(items))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    outs: list[CustomerOut] = []
    for data in items:
        personal = data.model_dump(include=set(PERSONAL_FIELDS))
        customer_id = new_id("cus")
        row = {
            "id": customer_id,
            "kind": data.kind,
            **seal(cipher, personal),
            **_free_values(data),
            "status": ACTIVE,
            "deleted_at": None,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        rows.append(row)
        outs.append(
            CustomerOut(
                id=customer_id,
                kind=data.kind,
                status=ACTIVE,
                created_at=now,
                updated_at=now,
                **personal,
                **_free_values(data),
            )
        )
    copy_rows(session, Customer, rows)
    record_many(
        session, "create", RESOURCE, [(out.id, out) for out in outs], personal=PERSONAL_FIELDS
    )
    return outs


# --- change and deletion ------------------------------------------------------------------


def change_customer(
    session: Session,
    cipher: FieldCipher,
    customer_id: str,
    change: CustomerChange,
    if_match: str | None,
) -> tuple[Customer, CustomerOut]:
    row = get_customer(session, customer_id)
    if row.status == DELETED:
        raise CustomerDeleted(customer_id)
    check_if_match(if_match, row.version)
    values = change_values(change)
    if not values:
        return row, decrypt_customer(cipher, row)
    _check_company(row, values)
    before = decrypt_customer(cipher, row).model_dump(mode="json")
    personal = {k: v for k, v in values.items() if k in PERSONAL_FIELDS}
    for column, value in seal(cipher, personal).items():
        setattr(row, column, value)
    for name, value in values.items():
        if name not in PERSONAL_FIELDS:
            setattr(row, name, value)
    session.flush()
    out = decrypt_customer(cipher, row)
    after = out.model_dump(mode="json")
    record(
        session,
        "update",
        RESOURCE,
        row.id,
        before={k: before[k] for k in values},
        after={k: after[k] for k in values},
        personal=PERSONAL_FIELDS,
    )
    return row, out


def _check_company(row: Customer, values: Mapping[str, Any]) -> None:
    """A corporate customer keeps its company name (the rule `CustomerIn` checks)."""
    kind = values.get("kind", row.kind)
    has_company = (
        values["company_name"] is not None
        if "company_name" in values
        else row.company_name_enc is not None
    )
    if kind == "corporate" and not has_company:
        raise InvalidRequest([("/body/company_name", COMPANY_REQUIRED)])


class ActiveContracts(Protocol):
    """The contracts rule (`kakin.contracts.service.active_contract_ids`): the ids of the
    customer's contracts still in use on `today`."""

    def __call__(self, session: Session, customer_id: str, today: dt.date) -> Sequence[str]: ...


_active_contracts: list[ActiveContracts] = []
"""The wired rule (none until `refuse_withdrawal_with`); a list, so wiring is no rebinding."""


def refuse_withdrawal_with(rule: ActiveContracts) -> None:
    """Make `delete_customer` ask `rule` whether the customer still has contracts in use."""
    _active_contracts[:] = [rule]


def delete_customer(
    session: Session, tenant: Tenant, customer_id: str, if_match: str | None
) -> None:
    """Logical deletion (退会). Refused while the customer has active contracts.

    Deleting a deleted customer changes nothing. The row is updated before contracts
    are counted, so a contract being created concurrently (which reads the customer
    `for_share`) is either seen here or finds the customer deleted.
    """
    if not _active_contracts:
        # Deleting unchecked would strand contracts in use: fail loudly instead.
        raise RuntimeError("no withdrawal rule is wired in (kakin.app wires contracts')")
    row = get_customer(session, customer_id)
    if row.status == DELETED:
        return
    check_if_match(if_match, row.version)
    row.status = DELETED
    row.deleted_at = utcnow()
    session.flush()
    contract_ids = _active_contracts[0](session, customer_id, tenant_today(tenant))
    if contract_ids:
        raise CustomerHasActiveContracts(customer_id, contract_ids)
    record(
        session,
        "delete",
        RESOURCE,
        customer_id,
        before={"status": ACTIVE},
        after={"status": DELETED},
    )


# --- search -------------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def search_statement(
    cipher: FieldCipher, filters: CustomerFilter, statement: Select[Any] | None = None
) -> Select[Any]:
    """`statement` (all of `Customer` unless given) narrowed to the filters."""
    if statement is None:
        statement = select(Customer)
    if not filters.include_deleted:
        statement = statement.where(Customer.status == ACTIVE)
    for field in BLIND_INDEXED:
        value = getattr(filters, field)
        if value is not None:
            statement = statement.where(blind_index_condition(cipher, field, value))
    statement = filter_free_fields(statement, Customer, filters)
    if filters.created_from is not None:
        statement = statement.where(Customer.created_at >= _utc(filters.created_from))
    if filters.created_to is not None:
        statement = statement.where(Customer.created_at < _utc(filters.created_to))
    if filters.updated_from is not None:
        statement = statement.where(Customer.updated_at >= _utc(filters.updated_from))
    if filters.updated_to is not None:
        statement = statement.where(Customer.updated_at < _utc(filters.updated_to))
    return statement


def search_customers(
    session: Session, cipher: FieldCipher, search: CustomerSearch
) -> Page[CustomerOut]:
    return paginate(
        session,
        search_statement(cipher, search, select(*OUT_COLUMNS)),
        Customer.id,
        search.cursor,
        search.limit,
        lambda row: decrypt_customer(cipher, row),
        rows=True,
    )
