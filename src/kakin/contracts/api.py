"""HTTP routes of the contracts domain: contracts, subscriptions and their events, discounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from kakin.contracts import discounts as discount_service
from kakin.contracts import service as contract_service
from kakin.contracts import subscriptions as subscription_service
from kakin.contracts.models import Contract, Discount, Subscription
from kakin.contracts.schemas import (
    ContractFilter,
    ContractIn,
    ContractOut,
    ContractPatch,
    Dated,
    DiscountFilter,
    DiscountIn,
    DiscountOut,
    DiscountPatch,
    PlanChangeIn,
    PriceOverrideIn,
    QuantityChangeIn,
    SubscriptionDetailOut,
    SubscriptionFilter,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionStateOut,
)
from kakin.kit.bounds import Date
from kakin.kit.concurrency import set_etag
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kakin.rating.events import EventKind
from kakin.tenancy.clock import tenant_today
from kakin.tenancy.deps import ApiContext, Contracts

router = APIRouter(tags=["contracts"])

IfMatch = Annotated[str | None, Header()]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
_CONFLICTS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such resource (or another tenant's)"},
    409: {"description": "the change conflicts with the current state"},
    412: {"description": "If-Match does not name the current version"},
    422: {"description": "the request is not valid"},
}


def _created(response: Response, location: str, version: int) -> None:
    response.status_code = 201
    response.headers["Location"] = location
    set_etag(response, version)


# --- contracts -----------------------------------------------------------------------------


def _contract_out(ctx: ApiContext, contract: Any) -> ContractOut:
    return contract_service.contract_out(contract, ctx.cipher, tenant_today(ctx.tenant))


@router.post("/v1/contracts", status_code=201, responses=_CONFLICTS)
def create_contract(body: ContractIn, ctx: Contracts, response: Response) -> ContractOut:
    """Create a contract for a kakin customer or an external customer id."""
    contract = contract_service.create_contract(
        ctx.session, ctx.tenant, ctx.cipher, body, customers_enabled=ctx.has_function("customers")
    )
    _created(response, f"/v1/contracts/{contract.id}", contract.version)
    return _contract_out(ctx, contract)


@router.get("/v1/contracts", responses=_CONFLICTS)
def list_contracts(
    ctx: Contracts,
    filters: Annotated[ContractFilter, Query()],
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ContractOut]:
    """Search contracts by customer, external customer id, status, closing day, free fields."""
    today = tenant_today(ctx.tenant)
    statement = contract_service.search_contracts(filters, today)
    return paginate(
        ctx.session,
        statement,
        Contract.id,
        cursor,
        limit,
        lambda c: contract_service.contract_out(c, ctx.cipher, today),
    )


@router.get("/v1/contracts/{contract_id}", responses=_CONFLICTS)
def get_contract(contract_id: str, ctx: Contracts, response: Response) -> ContractOut:
    contract = contract_service.get_contract(ctx.session, contract_id)
    set_etag(response, contract.version)
    return _contract_out(ctx, contract)


@router.patch("/v1/contracts/{contract_id}", responses=_CONFLICTS)
def update_contract(
    contract_id: str,
    body: ContractPatch,
    ctx: Contracts,
    response: Response,
    if_match: IfMatch = None,
) -> ContractOut:
    """Change a contract. Setting `end_date` ends it: its subscriptions must end by then."""
    contract = contract_service.update_contract(
        ctx.session, ctx.cipher, contract_id, body, if_match
    )
    set_etag(response, contract.version)
    return _contract_out(ctx, contract)


@router.delete("/v1/contracts/{contract_id}", status_code=204, responses=_CONFLICTS)
def cancel_contract(contract_id: str, ctx: Contracts, if_match: IfMatch = None) -> Response:
    """Withdraw a contract that has no subscriptions or discounts (status `cancelled`)."""
    contract_service.cancel_contract(ctx.session, contract_id, if_match)
    return Response(status_code=204)


# --- subscriptions -------------------------------------------------------------------------


def _detail(ctx: ApiContext, sub: Any, response: Response) -> SubscriptionDetailOut:
    set_etag(response, sub.version)
    return subscription_service.subscription_detail(ctx.session, sub, tenant_today(ctx.tenant))


@router.post("/v1/subscriptions", status_code=201, responses=_CONFLICTS)
def create_subscription(
    body: SubscriptionIn, ctx: Contracts, response: Response
) -> SubscriptionDetailOut:
    sub = subscription_service.create_subscription(ctx.session, ctx.tenant, body)
    _created(response, f"/v1/subscriptions/{sub.id}", sub.version)
    return _detail(ctx, sub, response)


@router.get("/v1/subscriptions", responses=_CONFLICTS)
def list_subscriptions(
    ctx: Contracts,
    filters: Annotated[SubscriptionFilter, Query()],
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[SubscriptionOut]:
    return paginate(
        ctx.session,
        subscription_service.search_subscriptions(filters),
        Subscription.id,
        cursor,
        limit,
        subscription_service.subscription_out,
    )


@router.get("/v1/subscriptions/{subscription_id}", responses=_CONFLICTS)
def get_subscription(
    subscription_id: str, ctx: Contracts, response: Response
) -> SubscriptionDetailOut:
    """A subscription with its events and its state today."""
    sub = subscription_service.get_subscription(ctx.session, subscription_id)
    return _detail(ctx, sub, response)


@router.patch("/v1/subscriptions/{subscription_id}", responses=_CONFLICTS)
def update_subscription(
    subscription_id: str,
    body: SubscriptionPatch,
    ctx: Contracts,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionDetailOut:
    sub = subscription_service.update_subscription(ctx.session, subscription_id, body, if_match)
    return _detail(ctx, sub, response)


@router.get(
    "/v1/subscriptions/{subscription_id}/state",
    responses=_CONFLICTS,
    operation_id="getSubscriptionState",
)
def subscription_state(
    subscription_id: str,
    ctx: Contracts,
    on: Annotated[Date | None, Query(description="default: today")] = None,
) -> SubscriptionStateOut:
    """Plan, quantity, status and price overrides on one day."""
    day = on or tenant_today(ctx.tenant)
    return subscription_service.subscription_state(ctx.session, subscription_id, day)


def _event(
    ctx: ApiContext,
    response: Response,
    subscription_id: str,
    kind: EventKind,
    body: Dated,
    if_match: str | None,
    **values: Any,
) -> SubscriptionDetailOut:
    sub = subscription_service.add_event(
        ctx.session, subscription_id, kind, body.effective_date, if_match, **values
    )
    response.status_code = 201
    return _detail(ctx, sub, response)


@router.post(
    "/v1/subscriptions/{subscription_id}/plan-changes",
    status_code=201,
    responses=_CONFLICTS,
    operation_id="changePlan",
)
def change_plan(
    subscription_id: str,
    body: PlanChangeIn,
    ctx: Contracts,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionDetailOut:
    """RATING.md §3: the old plan is active through E−1, the new plan from E."""
    return _event(
        ctx,
        response,
        subscription_id,
        EventKind.PLAN_CHANGE,
        body,
        if_match,
        price_plan_id=body.price_plan_id,
    )


@router.post(
    "/v1/subscriptions/{subscription_id}/quantity-changes",
    status_code=201,
    responses=_CONFLICTS,
    operation_id="changeQuantity",
)
def change_quantity(
    subscription_id: str,
    body: QuantityChangeIn,
    ctx: Contracts,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionDetailOut:
    return _event(
        ctx,
        response,
        subscription_id,
        EventKind.QUANTITY_CHANGE,
        body,
        if_match,
        quantity=body.quantity,
    )


@router.post(
    "/v1/subscriptions/{subscription_id}/suspensions",
    status_code=201,
    responses=_CONFLICTS,
    operation_id="suspendSubscription",
)
def suspend(
    subscription_id: str, body: Dated, ctx: Contracts, response: Response, if_match: IfMatch = None
) -> SubscriptionDetailOut:
    """Suspended from the effective date on (only while active)."""
    return _event(ctx, response, subscription_id, EventKind.SUSPEND, body, if_match)


@router.post(
    "/v1/subscriptions/{subscription_id}/resumptions",
    status_code=201,
    responses=_CONFLICTS,
    operation_id="resumeSubscription",
)
def resume(
    subscription_id: str, body: Dated, ctx: Contracts, response: Response, if_match: IfMatch = None
) -> SubscriptionDetailOut:
    """Active again from the effective date on (only while suspended)."""
    return _event(ctx, response, subscription_id, EventKind.RESUME, body, if_match)


@router.post(
    "/v1/subscriptions/{subscription_id}/cancellations",
    status_code=201,
    responses=_CONFLICTS,
    operation_id="cancelSubscription",
)
def cancel(
    subscription_id: str, body: Dated, ctx: Contracts, response: Response, if_match: IfMatch = None
) -> SubscriptionDetailOut:
    """RATING.md §3: the effective date is the end date, and the end date is an active day."""
    return _event(ctx, response, subscription_id, EventKind.CANCEL, body, if_match)


@router.post(
    "/v1/subscriptions/{subscription_id}/price-overrides", status_code=201, responses=_CONFLICTS
)
def override_price(
    subscription_id: str,
    body: PriceOverrideIn,
    ctx: Contracts,
    response: Response,
    if_match: IfMatch = None,
) -> SubscriptionDetailOut:
    """相対価格 (RATING.md §3): a negotiated amount for one component of the plan, from the
    effective date on; `amount: null` ends it. A plan change ends every override."""
    return _event(
        ctx,
        response,
        subscription_id,
        EventKind.PRICE_OVERRIDE,
        body,
        if_match,
        component_code=body.component_code,
        amount=body.amount,
    )


# --- discounts -----------------------------------------------------------------------------


@router.post("/v1/discounts", status_code=201, responses=_CONFLICTS)
def create_discount(body: DiscountIn, ctx: Contracts, response: Response) -> DiscountOut:
    """Apply a discount table to a contract (no subscription_id) or one subscription."""
    discount = discount_service.create_discount(ctx.session, ctx.tenant, body)
    _created(response, f"/v1/discounts/{discount.id}", discount.version)
    return discount_service.discount_out(discount)


@router.get("/v1/discounts", responses=_CONFLICTS)
def list_discounts(
    ctx: Contracts,
    filters: Annotated[DiscountFilter, Query()],
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DiscountOut]:
    return paginate(
        ctx.session,
        discount_service.search_discounts(filters),
        Discount.id,
        cursor,
        limit,
        discount_service.discount_out,
    )


@router.get("/v1/discounts/{discount_id}", responses=_CONFLICTS)
def get_discount(discount_id: str, ctx: Contracts, response: Response) -> DiscountOut:
    discount = discount_service.get_discount(ctx.session, discount_id)
    set_etag(response, discount.version)
    return discount_service.discount_out(discount)


@router.patch("/v1/discounts/{discount_id}", responses=_CONFLICTS)
def update_discount(
    discount_id: str,
    body: DiscountPatch,
    ctx: Contracts,
    response: Response,
    if_match: IfMatch = None,
) -> DiscountOut:
    discount = discount_service.update_discount(ctx.session, discount_id, body, if_match)
    set_etag(response, discount.version)
    return discount_service.discount_out(discount)


@router.delete("/v1/discounts/{discount_id}", status_code=204, responses=_CONFLICTS)
def delete_discount(discount_id: str, ctx: Contracts, if_match: IfMatch = None) -> Response:
    discount_service.delete_discount(ctx.session, discount_id, if_match)
    return Response(status_code=204)
