"""Use cases of groups (グループ): organisations bundling customers, and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.customers.errors import CustomerDeleted, GroupMemberNotFound, GroupNotFound
from kakin.customers.models import Customer, Group, GroupMember
from kakin.customers.schemas import (
    CustomerOut,
    GroupChange,
    GroupIn,
    GroupMemberOut,
    GroupOut,
    GroupSearch,
    change_values,
)
from kakin.customers.service import ACTIVE, DELETED, decrypt_customer, get_customer
from kakin.kit.concurrency import check_if_match
from kakin.kit.crypto import FieldCipher
from kakin.kit.free_fields import filter_free_fields
from kakin.kit.ids import new_id
from kakin.kit.pagination import Page, paginate

RESOURCE = "group"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_group(session: Session, group_id: str) -> Group:
    row = session.scalar(select(Group).where(Group.id == group_id))
    if row is None:
        raise GroupNotFound(group_id)
    return row


def create_group(session: Session, data: GroupIn) -> Group:
    values = data.model_dump()
    values["free"] = values["free"] or {}
    row = Group(id=new_id("grp"), **values)
    session.add(row)
    session.flush()
    record(session, "create", RESOURCE, row.id, after=GroupOut.model_validate(row))
    return row


def change_group(
    session: Session, group_id: str, change: GroupChange, if_match: str | None
) -> Group:
    row = get_group(session, group_id)
    check_if_match(if_match, row.version)
    values = change_values(change)
    if not values:
        return row
    before = GroupOut.model_validate(row).model_dump(mode="json")
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    after = GroupOut.model_validate(row).model_dump(mode="json")
    record(
        session,
        "update",
        RESOURCE,
        row.id,
        before={k: before[k] for k in values},
        after={k: after[k] for k in values},
    )
    return row


def delete_group(session: Session, group_id: str, if_match: str | None) -> None:
    """Delete a group and its memberships; the customers themselves stay."""
    row = get_group(session, group_id)
    check_if_match(if_match, row.version)
    before = GroupOut.model_validate(row)
    session.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
    session.delete(row)
    session.flush()
    record(session, "delete", RESOURCE, group_id, before=before)


def search_groups(session: Session, filters: GroupSearch) -> Page[GroupOut]:
    statement = select(Group)
    if filters.name is not None:
        statement = statement.where(Group.name == filters.name)
    if filters.name_prefix is not None:
        statement = statement.where(
            Group.name.like(_escape_like(filters.name_prefix) + "%", escape="\\")
        )
    statement = filter_free_fields(statement, Group, filters)
    return paginate(
        session, statement, Group.id, filters.cursor, filters.limit, GroupOut.model_validate
    )


def add_member(session: Session, group_id: str, customer_id: str) -> tuple[GroupMember, bool]:
    """Add a customer to a group; adding a member again changes nothing (idempotent PUT).

    Returns the membership and whether it was created now.
    """
    get_group(session, group_id)
    customer = get_customer(session, customer_id, for_share=True)
    if customer.status == DELETED:
        raise CustomerDeleted(customer_id)
    existing = session.scalar(
        select(GroupMember).where(
            GroupMember.group_id == group_id, GroupMember.customer_id == customer_id
        )
    )
    if existing is not None:
        return existing, False
    member = GroupMember(group_id=group_id, customer_id=customer_id)
    session.add(member)
    session.flush()
    record(
        session,
        "add_member",
        RESOURCE,
        group_id,
        after={"group_id": group_id, "customer_id": customer_id},
    )
    return member, True


def remove_member(session: Session, group_id: str, customer_id: str) -> None:
    get_group(session, group_id)
    result: Any = session.execute(
        delete(GroupMember).where(
            GroupMember.group_id == group_id, GroupMember.customer_id == customer_id
        )
    )
    if not result.rowcount:
        raise GroupMemberNotFound(group_id, customer_id)
    record(
        session,
        "remove_member",
        RESOURCE,
        group_id,
        before={"group_id": group_id, "customer_id": customer_id},
    )


def member_out(member: GroupMember) -> GroupMemberOut:
    return GroupMemberOut(
        group_id=member.group_id, customer_id=member.customer_id, added_at=member.added_at
    )


def list_members(
    session: Session, cipher: FieldCipher, group_id: str, cursor: str | None, limit: int
) -> Page[CustomerOut]:
    """The group's (not deleted) customers, decrypted: one query per page."""
    get_group(session, group_id)
    statement = (
        select(Customer)
        .join(
            GroupMember,
            and_(
                GroupMember.tenant_id == Customer.tenant_id,
                GroupMember.customer_id == Customer.id,
            ),
        )
        .where(GroupMember.group_id == group_id, Customer.status == ACTIVE)
    )
    return paginate(
        session, statement, Customer.id, cursor, limit, lambda row: decrypt_customer(cipher, row)
    )


def groups_of_customer(
    session: Session, customer_id: str, cursor: str | None, limit: int
) -> Page[GroupOut]:
    """The groups a customer belongs to."""
    get_customer(session, customer_id)
    statement = (
        select(Group)
        .join(
            GroupMember,
            and_(GroupMember.tenant_id == Group.tenant_id, GroupMember.group_id == Group.id),
        )
        .where(GroupMember.customer_id == customer_id)
    )
    return paginate(session, statement, Group.id, cursor, limit, GroupOut.model_validate)
