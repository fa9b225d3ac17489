"""HTTP routes of the customers domain: `/v1/customers` and `/v1/groups`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from kakin.customers import groups as group_service
from kakin.customers import service
from kakin.customers.errors import (
    CustomerDeleted,
    CustomerHasActiveContracts,
    CustomerNotFound,
    GroupMemberNotFound,
    GroupNotFound,
)
from kakin.customers.schemas import (
    CustomerChange,
    CustomerIn,
    CustomerOut,
    CustomersBulkIn,
    CustomersBulkOut,
    CustomerSearch,
    GroupChange,
    GroupIn,
    GroupMemberOut,
    GroupOut,
    GroupSearch,
)
from kakin.kit.concurrency import etag, set_etag
from kakin.kit.errors import InvalidRequest, Problem
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from kakin.kit.responses import json_response
from kakin.tenancy.deps import Customers, CustomersReader
from kakin.tenancy.errors import TenantLimitReached


def _responses(*problems: type[Problem]) -> dict[int | str, dict[str, str]]:
    return {p.status: {"description": p.title} for p in problems}


IfMatch = Annotated[str | None, Header()]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

customers = APIRouter(prefix="/v1/customers", tags=["customers"])
groups = APIRouter(prefix="/v1/groups", tags=["groups"])


# --- customers ----------------------------------------------------------------------------


@customers.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomerOut,
    responses=_responses(TenantLimitReached, InvalidRequest),
)
def register_customer(ctx: Customers, data: CustomerIn, response: Response) -> CustomerOut:
    """Register a customer. Personal fields are stored encrypted with the tenant's key."""
    row, out = service.create_customer(ctx.session, ctx.cipher, ctx.tenant, data)
    set_etag(response, row.version)
    response.headers["Location"] = f"/v1/customers/{row.id}"
    return out


@customers.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomersBulkOut,
    responses=_responses(TenantLimitReached, InvalidRequest),
    operation_id="createCustomersInBulk",
)
def register_customers(ctx: Customers, data: CustomersBulkIn) -> Response:
    """Register up to 1,000 customers at once: all of them, or (on any error) none.

    Every bad item is reported with its pointer `/body/customers/<index>/<field>`.
    """
    items = service.create_customers(ctx.session, ctx.cipher, ctx.tenant, data.customers)
    return json_response(CustomersBulkOut(items=items), status.HTTP_201_CREATED)


@customers.get("", response_model=Page[CustomerOut])
def search_customers(ctx: CustomersReader, search: Annotated[CustomerSearch, Query()]) -> Response:
    """Search customers. Prefer `POST /v1/customers/search` for name, kana, phone or
    e-mail: query strings end up in access logs."""
    return json_response(service.search_customers(ctx.session, ctx.cipher, search))


@customers.post("/search", response_model=Page[CustomerOut], operation_id="searchCustomers")
def search_customers_by_body(ctx: Customers, search: CustomerSearch) -> Page[CustomerOut]:
    """Search customers with the conditions in the body (the same as `GET /v1/customers`)."""
    return service.search_customers(ctx.session, ctx.cipher, search)


@customers.get("/{customer_id}", response_model=CustomerOut, responses=_responses(CustomerNotFound))
def read_customer(ctx: CustomersReader, customer_id: str) -> Response:
    version, out = service.read_customer(ctx.session, ctx.cipher, customer_id)
    return json_response(out, headers={"ETag": etag(version)})


@customers.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    responses=_responses(CustomerNotFound, CustomerDeleted, InvalidRequest),
)
def change_customer(
    ctx: Customers,
    customer_id: str,
    change: CustomerChange,
    response: Response,
    if_match: IfMatch = None,
) -> CustomerOut:
    """Change a customer; fields left out keep their value. Honours `If-Match`."""
    row, out = service.change_customer(ctx.session, ctx.cipher, customer_id, change, if_match)
    set_etag(response, row.version)
    return out


@customers.delete(
    "/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_responses(CustomerNotFound, CustomerHasActiveContracts),
)
def delete_customer(ctx: Customers, customer_id: str, if_match: IfMatch = None) -> Response:
    """Delete a customer logically (退会); refused while it has active contracts."""
    service.delete_customer(ctx.session, ctx.tenant, customer_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@customers.get(
    "/{customer_id}/groups",
    response_model=Page[GroupOut],
    responses=_responses(CustomerNotFound),
    operation_id="listCustomerGroups",
)
def list_groups_of_customer(
    ctx: Customers, customer_id: str, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[GroupOut]:
    return group_service.groups_of_customer(ctx.session, customer_id, cursor, limit)


# --- groups -------------------------------------------------------------------------------


@groups.post("", status_code=status.HTTP_201_CREATED, response_model=GroupOut)
def register_group(ctx: Customers, data: GroupIn, response: Response) -> GroupOut:
    row = group_service.create_group(ctx.session, data)
    set_etag(response, row.version)
    response.headers["Location"] = f"/v1/groups/{row.id}"
    return GroupOut.model_validate(row)


@groups.get("", response_model=Page[GroupOut])
def search_groups(ctx: Customers, search: Annotated[GroupSearch, Query()]) -> Page[GroupOut]:
    """Search groups by name (exact or prefix) and free fields."""
    return group_service.search_groups(ctx.session, search)


@groups.get("/{group_id}", response_model=GroupOut, responses=_responses(GroupNotFound))
def read_group(ctx: Customers, group_id: str, response: Response) -> GroupOut:
    row = group_service.get_group(ctx.session, group_id)
    set_etag(response, row.version)
    return GroupOut.model_validate(row)


@groups.patch("/{group_id}", response_model=GroupOut, responses=_responses(GroupNotFound))
def change_group(
    ctx: Customers, group_id: str, change: GroupChange, response: Response, if_match: IfMatch = None
) -> GroupOut:
    row = group_service.change_group(ctx.session, group_id, change, if_match)
    set_etag(response, row.version)
    return GroupOut.model_validate(row)


@groups.delete(
    "/{group_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_responses(GroupNotFound)
)
def delete_group(ctx: Customers, group_id: str, if_match: IfMatch = None) -> Response:
    """Delete a group and its memberships (the customers stay)."""
    group_service.delete_group(ctx.session, group_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@groups.get(
    "/{group_id}/customers", response_model=Page[CustomerOut], responses=_responses(GroupNotFound)
)
def list_group_customers(
    ctx: Customers, group_id: str, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[CustomerOut]:
    """The group's customers (deleted customers left out), decrypted."""
    return group_service.list_members(ctx.session, ctx.cipher, group_id, cursor, limit)


@groups.put(
    "/{group_id}/customers/{customer_id}",
    response_model=GroupMemberOut,
    responses={
        201: {"description": "Added"},
        **_responses(GroupNotFound, CustomerNotFound, CustomerDeleted),
    },
)
def add_group_customer(
    ctx: Customers, group_id: str, customer_id: str, response: Response
) -> GroupMemberOut:
    """Add a customer to a group: 201 when added, 200 when it already was a member."""
    member, created = group_service.add_member(ctx.session, group_id, customer_id)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return group_service.member_out(member)


@groups.delete(
    "/{group_id}/customers/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_responses(GroupNotFound, GroupMemberNotFound),
)
def remove_group_customer(ctx: Customers, group_id: str, customer_id: str) -> Response:
    group_service.remove_member(ctx.session, group_id, customer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router = APIRouter()
router.include_router(customers)
router.include_router(groups)
