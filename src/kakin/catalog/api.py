"""HTTP routes of the catalog domain: the masters (マスタ), under the `contracts` scope.

Each master: POST (201 + ETag + Location), GET list (search + cursor pagination), GET one
(ETag), PATCH (If-Match), DELETE (If-Match; retires the master — it stays readable, since
contracts and receivables refer to it). Tariffs and price plans add
`POST …/{id}/versions` for a revision from a date.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from kakin.catalog import price_plans, service, tariffs
from kakin.catalog.models import DiscountTable, PricePlan, Service, Tariff, UsageItem
from kakin.catalog.plan_schemas import PricePlanIn, PricePlanOut, PricePlanVersionIn
from kakin.catalog.repository import get_master, search
from kakin.catalog.schemas import (
    DiscountTableIn,
    DiscountTableOut,
    DiscountTablePatch,
    MasterFilter,
    MasterPatch,
    ServiceIn,
    ServiceOut,
    ServicePatch,
    TaxCategoryOut,
    TaxCategoryPatch,
    TaxRateIn,
    UsageItemIn,
    UsageItemOut,
    UsageItemPatch,
)
from kakin.catalog.tariff_schemas import TariffDefinitionIn, TariffIn, TariffOut
from kakin.kit.concurrency import check_if_match, set_etag
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from kakin.tenancy.deps import Contracts

router = APIRouter()

IfMatch = Annotated[str | None, Header()]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Filters = Annotated[MasterFilter, Query()]

ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "unknown id (or another tenant's)"}}
CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"description": "the code is taken"},
    412: {"description": "If-Match is stale"},
}


def _created(response: Response, location: str, version: int) -> None:
    response.headers["Location"] = location
    set_etag(response, version)


# --- services ---------------------------------------------------------------------------

services = APIRouter(prefix="/v1/services", tags=["masters"])


def _service_out(row: Service) -> ServiceOut:
    return ServiceOut.model_validate(row)


@services.post("", status_code=201, response_model=ServiceOut, responses=CHANGE_ERRORS)
def create_service(ctx: Contracts, data: ServiceIn, response: Response) -> ServiceOut:
    """Register a service (サービスマスタ)."""
    row = service.create_service(ctx.session, data)
    _created(response, f"/v1/services/{row.id}", row.version)
    return _service_out(row)


@services.get("", response_model=Page[ServiceOut])
def list_services(
    ctx: Contracts, filters: Filters, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[ServiceOut]:
    """Search services by code, name, status and free fields."""
    return search(
        ctx.session, Service, filters, cursor, limit, lambda rows: [_service_out(r) for r in rows]
    )


@services.get("/{service_id}", response_model=ServiceOut, responses=ERRORS)
def get_service(ctx: Contracts, service_id: str, response: Response) -> ServiceOut:
    row = get_master(ctx.session, Service, service_id)
    set_etag(response, row.version)
    return _service_out(row)


@services.patch("/{service_id}", response_model=ServiceOut, responses=CHANGE_ERRORS)
def change_service(
    ctx: Contracts,
    service_id: str,
    changes: ServicePatch,
    response: Response,
    if_match: IfMatch = None,
) -> ServiceOut:
    row = get_master(ctx.session, Service, service_id)
    check_if_match(if_match, row.version)
    service.change_master(ctx.session, row, changes, _service_out, "service")
    set_etag(response, row.version)
    return _service_out(row)


@services.delete("/{service_id}", status_code=204, responses=CHANGE_ERRORS)
def retire_service(ctx: Contracts, service_id: str, if_match: IfMatch = None) -> Response:
    """Retire a service: it stays readable, but new price plans cannot use it."""
    row = get_master(ctx.session, Service, service_id)
    check_if_match(if_match, row.version)
    service.retire_master(ctx.session, row, _service_out, "service")
    return Response(status_code=204)


# --- usage items ------------------------------------------------------------------------

usage_items = APIRouter(prefix="/v1/usage-items", tags=["masters"])


def _usage_item_out(row: UsageItem) -> UsageItemOut:
    return UsageItemOut.model_validate(row)


@usage_items.post("", status_code=201, response_model=UsageItemOut, responses=CHANGE_ERRORS)
def create_usage_item(ctx: Contracts, data: UsageItemIn, response: Response) -> UsageItemOut:
    """Register a usage item: its unit (RATING.md §4 `q = ceil(raw / unit)`) and whether it
    rates over the period total or per record."""
    row = service.create_usage_item(ctx.session, data)
    _created(response, f"/v1/usage-items/{row.id}", row.version)
    return _usage_item_out(row)


@usage_items.get("", response_model=Page[UsageItemOut])
def list_usage_items(
    ctx: Contracts, filters: Filters, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[UsageItemOut]:
    return search(
        ctx.session,
        UsageItem,
        filters,
        cursor,
        limit,
        lambda rows: [_usage_item_out(r) for r in rows],
    )


@usage_items.get("/{usage_item_id}", response_model=UsageItemOut, responses=ERRORS)
def get_usage_item(ctx: Contracts, usage_item_id: str, response: Response) -> UsageItemOut:
    row = get_master(ctx.session, UsageItem, usage_item_id)
    set_etag(response, row.version)
    return _usage_item_out(row)


@usage_items.patch("/{usage_item_id}", response_model=UsageItemOut, responses=CHANGE_ERRORS)
def change_usage_item(
    ctx: Contracts,
    usage_item_id: str,
    changes: UsageItemPatch,
    response: Response,
    if_match: IfMatch = None,
) -> UsageItemOut:
    """Change names, status and free fields (`unit` and `rating` are fixed at creation)."""
    row = get_master(ctx.session, UsageItem, usage_item_id)
    check_if_match(if_match, row.version)
    service.change_master(ctx.session, row, changes, _usage_item_out, "usage_item")
    set_etag(response, row.version)
    return _usage_item_out(row)


@usage_items.delete("/{usage_item_id}", status_code=204, responses=CHANGE_ERRORS)
def retire_usage_item(ctx: Contracts, usage_item_id: str, if_match: IfMatch = None) -> Response:
    row = get_master(ctx.session, UsageItem, usage_item_id)
    check_if_match(if_match, row.version)
    service.retire_master(ctx.session, row, _usage_item_out, "usage_item")
    return Response(status_code=204)


# --- tariffs ----------------------------------------------------------------------------

tariff_routes = APIRouter(prefix="/v1/tariffs", tags=["masters"])


@tariff_routes.post("", status_code=201, response_model=TariffOut, responses=CHANGE_ERRORS)
def create_tariff(ctx: Contracts, data: TariffIn, response: Response) -> TariffOut:
    """Register a tariff (料金表) in one of the seven shapes of RATING.md §4, with its first
    version from `effective_from`."""
    row, versions = tariffs.create_tariff(ctx.session, data)
    _created(response, f"/v1/tariffs/{row.id}", row.version)
    return tariffs.tariff_out(row, versions)


@tariff_routes.get("", response_model=Page[TariffOut])
def list_tariffs(
    ctx: Contracts, filters: Filters, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[TariffOut]:
    return search(
        ctx.session,
        Tariff,
        filters,
        cursor,
        limit,
        lambda rows: tariffs.tariffs_out(ctx.session, rows),
    )


@tariff_routes.get("/{tariff_id}", response_model=TariffOut, responses=ERRORS)
def get_tariff(ctx: Contracts, tariff_id: str, response: Response) -> TariffOut:
    """A tariff with all its versions, oldest first."""
    row = get_master(ctx.session, Tariff, tariff_id)
    set_etag(response, row.version)
    return tariffs.tariffs_out(ctx.session, [row])[0]


@tariff_routes.post(
    "/{tariff_id}/versions", status_code=201, response_model=TariffOut, responses=CHANGE_ERRORS
)
def add_tariff_version(
    ctx: Contracts,
    tariff_id: str,
    data: TariffDefinitionIn,
    response: Response,
    if_match: IfMatch = None,
) -> TariffOut:
    """A revision from `effective_from` (409 when a version from that date exists). The
    existing versions do not change."""
    row = get_master(ctx.session, Tariff, tariff_id)
    versions = tariffs.add_tariff_version(ctx.session, row, data, if_match)
    _created(response, f"/v1/tariffs/{row.id}", row.version)
    return tariffs.tariff_out(row, versions)


@tariff_routes.patch("/{tariff_id}", response_model=TariffOut, responses=CHANGE_ERRORS)
def change_tariff(
    ctx: Contracts,
    tariff_id: str,
    changes: MasterPatch,
    response: Response,
    if_match: IfMatch = None,
) -> TariffOut:
    """Change the code, name, status or free fields (a definition changes by a new version)."""
    row = get_master(ctx.session, Tariff, tariff_id)
    check_if_match(if_match, row.version)

    def out(tariff: Tariff) -> TariffOut:
        return tariffs.tariffs_out(ctx.session, [tariff])[0]

    service.change_master(ctx.session, row, changes, out, "tariff")
    set_etag(response, row.version)
    return out(row)


@tariff_routes.delete("/{tariff_id}", status_code=204, responses=CHANGE_ERRORS)
def retire_tariff(ctx: Contracts, tariff_id: str, if_match: IfMatch = None) -> Response:
    """Retire a tariff: plans that use it keep it; new plan versions cannot."""
    row = get_master(ctx.session, Tariff, tariff_id)
    check_if_match(if_match, row.version)
    service.retire_master(
        ctx.session, row, lambda t: tariffs.tariffs_out(ctx.session, [t])[0], "tariff"
    )
    return Response(status_code=204)


# --- discount tables --------------------------------------------------------------------

discount_tables = APIRouter(prefix="/v1/discount-tables", tags=["masters"])


@discount_tables.post("", status_code=201, response_model=DiscountTableOut, responses=CHANGE_ERRORS)
def create_discount_table(
    ctx: Contracts, data: DiscountTableIn, response: Response
) -> DiscountTableOut:
    """Register a discount table (割引表, RATING.md §5), optionally with campaign, bundle
    or loyalty conditions."""
    row = service.create_discount_table(ctx.session, data, ctx.tenant.currency)
    _created(response, f"/v1/discount-tables/{row.id}", row.version)
    return service.discount_table_out(row)


@discount_tables.get("", response_model=Page[DiscountTableOut])
def list_discount_tables(
    ctx: Contracts, filters: Filters, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[DiscountTableOut]:
    return search(
        ctx.session,
        DiscountTable,
        filters,
        cursor,
        limit,
        lambda rows: [service.discount_table_out(r) for r in rows],
    )


@discount_tables.get("/{discount_table_id}", response_model=DiscountTableOut, responses=ERRORS)
def get_discount_table(
    ctx: Contracts, discount_table_id: str, response: Response
) -> DiscountTableOut:
    row = get_master(ctx.session, DiscountTable, discount_table_id)
    set_etag(response, row.version)
    return service.discount_table_out(row)


@discount_tables.patch(
    "/{discount_table_id}", response_model=DiscountTableOut, responses=CHANGE_ERRORS
)
def change_discount_table(
    ctx: Contracts,
    discount_table_id: str,
    changes: DiscountTablePatch,
    response: Response,
    if_match: IfMatch = None,
) -> DiscountTableOut:
    """Change the code, name, status or free fields (the discount itself is fixed)."""
    row = get_master(ctx.session, DiscountTable, discount_table_id)
    check_if_match(if_match, row.version)
    service.change_master(ctx.session, row, changes, service.discount_table_out, "discount_table")
    set_etag(response, row.version)
    return service.discount_table_out(row)


@discount_tables.delete("/{discount_table_id}", status_code=204, responses=CHANGE_ERRORS)
def retire_discount_table(
    ctx: Contracts, discount_table_id: str, if_match: IfMatch = None
) -> Response:
    row = get_master(ctx.session, DiscountTable, discount_table_id)
    check_if_match(if_match, row.version)
    service.retire_master(ctx.session, row, service.discount_table_out, "discount_table")
    return Response(status_code=204)


# --- tax categories ---------------------------------------------------------------------

tax_categories = APIRouter(prefix="/v1/tax-categories", tags=["masters"])


@tax_categories.get("", response_model=Page[TaxCategoryOut])
def list_tax_categories(ctx: Contracts) -> Page[TaxCategoryOut]:
    """The four tax categories of RATING.md §7 with their dated rates (fractions: 0.10 is
    10 %). Every tenant has them; the Japanese rates are there from the start."""
    return Page[TaxCategoryOut](items=service.list_tax_categories(ctx.session))


@tax_categories.get("/{code}", response_model=TaxCategoryOut, responses=ERRORS)
def get_tax_category(ctx: Contracts, code: str, response: Response) -> TaxCategoryOut:
    row = service.get_tax_category(ctx.session, code)
    set_etag(response, row.version)
    return service.tax_category_out(ctx.session, row)


@tax_categories.patch("/{code}", response_model=TaxCategoryOut, responses=CHANGE_ERRORS)
def change_tax_category(
    ctx: Contracts,
    code: str,
    changes: TaxCategoryPatch,
    response: Response,
    if_match: IfMatch = None,
) -> TaxCategoryOut:
    """Change the name or free fields of a tax category."""
    row = service.get_tax_category(ctx.session, code)
    check_if_match(if_match, row.version)
    service.change_tax_category(ctx.session, row, changes)
    set_etag(response, row.version)
    return service.tax_category_out(ctx.session, row)


@tax_categories.post(
    "/{code}/rates",
    status_code=201,
    response_model=TaxCategoryOut,
    responses={**ERRORS, 409: {"description": "a rate from this date exists"}, 412: {}},
)
def add_tax_rate(
    ctx: Contracts, code: str, data: TaxRateIn, response: Response, if_match: IfMatch = None
) -> TaxCategoryOut:
    """Add a dated rate (RATING.md §7: "a future rate change is a new row")."""
    row = service.get_tax_category(ctx.session, code)
    check_if_match(if_match, row.version)
    service.add_tax_rate(ctx.session, row, data)
    _created(response, f"/v1/tax-categories/{row.code}", row.version)
    return service.tax_category_out(ctx.session, row)


# --- price plans ------------------------------------------------------------------------

plans = APIRouter(prefix="/v1/price-plans", tags=["masters"])


@plans.post("", status_code=201, response_model=PricePlanOut, responses=CHANGE_ERRORS)
def create_price_plan(ctx: Contracts, data: PricePlanIn, response: Response) -> PricePlanOut:
    """Register a price plan (料金プランマスタ) of a service with its first version: recurring
    fees, one-time fees, usage charges and an optional minimum term."""
    row, versions = price_plans.create_price_plan(ctx.session, data, ctx.tenant.currency)
    _created(response, f"/v1/price-plans/{row.id}", row.version)
    return price_plans.price_plan_out(row, versions)


@plans.get("", response_model=Page[PricePlanOut])
def list_price_plans(
    ctx: Contracts,
    filters: Filters,
    service_id: str | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[PricePlanOut]:
    """Search price plans (optionally of one service)."""
    where = [PricePlan.service_id == service_id] if service_id else []
    return search(
        ctx.session,
        PricePlan,
        filters,
        cursor,
        limit,
        lambda rows: price_plans.price_plans_out(ctx.session, rows),
        *where,
    )


@plans.get("/{price_plan_id}", response_model=PricePlanOut, responses=ERRORS)
def get_price_plan(ctx: Contracts, price_plan_id: str, response: Response) -> PricePlanOut:
    """A price plan with all its versions, oldest first."""
    row = get_master(ctx.session, PricePlan, price_plan_id)
    set_etag(response, row.version)
    return price_plans.price_plans_out(ctx.session, [row])[0]


@plans.post(
    "/{price_plan_id}/versions",
    status_code=201,
    response_model=PricePlanOut,
    responses=CHANGE_ERRORS,
)
def add_price_plan_version(
    ctx: Contracts,
    price_plan_id: str,
    data: PricePlanVersionIn,
    response: Response,
    if_match: IfMatch = None,
) -> PricePlanOut:
    """A revision from `effective_from`: contracts keep the old prices until that date
    (409 when a version from that date exists). The existing versions do not change."""
    row = get_master(ctx.session, PricePlan, price_plan_id)
    versions = price_plans.add_price_plan_version(ctx.session, row, data, if_match)
    _created(response, f"/v1/price-plans/{row.id}", row.version)
    return price_plans.price_plan_out(row, versions)


@plans.patch("/{price_plan_id}", response_model=PricePlanOut, responses=CHANGE_ERRORS)
def change_price_plan(
    ctx: Contracts,
    price_plan_id: str,
    changes: MasterPatch,
    response: Response,
    if_match: IfMatch = None,
) -> PricePlanOut:
    """Change the code, name, status or free fields (prices change by a new version)."""
    row = get_master(ctx.session, PricePlan, price_plan_id)
    check_if_match(if_match, row.version)

    def out(plan: PricePlan) -> PricePlanOut:
        return price_plans.price_plans_out(ctx.session, [plan])[0]

    service.change_master(ctx.session, row, changes, out, "price_plan")
    set_etag(response, row.version)
    return out(row)


@plans.delete("/{price_plan_id}", status_code=204, responses=CHANGE_ERRORS)
def retire_price_plan(ctx: Contracts, price_plan_id: str, if_match: IfMatch = None) -> Response:
    """Retire a price plan: subscriptions on it keep it; new ones cannot choose it. Plans
    are never removed, since subscriptions and receivables refer to them."""
    row = get_master(ctx.session, PricePlan, price_plan_id)
    check_if_match(if_match, row.version)
    service.retire_master(
        ctx.session, row, lambda p: price_plans.price_plans_out(ctx.session, [p])[0], "price_plan"
    )
    return Response(status_code=204)


for _router in (services, usage_items, tariff_routes, discount_tables, tax_categories, plans):
    router.include_router(_router)
