"""HTTP routes of the catalog domain: the masters (マスタ), under the `contracts` scope.

Each master: POST (201 + ETag + Location), GET list (search + cursor pagination), GET one
(ETag), PATCH (If-Match), DELETE (If-Match; retires the master — it stays readable, since
contracts and receivables refer to it). Tariffs and price plans add
`POST …/{id}/versions` for a revision from a date. The routes every master shares are
made by one factory, `master_routes`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from kakin.catalog import price_plans, service, tariffs
from kakin.catalog.models import DiscountTable, PricePlan, Service, Tariff, UsageItem
from kakin.catalog.plan_schemas import PricePlanIn, PricePlanOut, PricePlanVersionIn
from kakin.catalog.repository import get_master, kind_of, search
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
from kakin.tenancy.deps import ApiContext, Contracts

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


# --- the routes every master shares -----------------------------------------------------

Outs = Callable[[Session, Sequence[Any]], Sequence[BaseModel]]
"""A page of master rows as the API shows them (one query per kind for the whole page)."""


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _route(
    router: APIRouter,
    method: str,
    path: str,
    name: str,
    endpoint: Callable[..., Any],
    parameters: list[inspect.Parameter],
    returns: Any,
    doc: str | None,
    **options: Any,
) -> None:
    """Add `endpoint` (called with keywords) under `name`, the operation id's source, with
    the typed signature FastAPI reads its parameters from."""
    endpoint.__name__ = name
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    description = inspect.cleandoc(doc) if doc else ""
    router.add_api_route(
        path, endpoint, methods=[method], name=name, description=description, **options
    )


def master_routes(
    router: APIRouter,
    *,
    name: str,
    key: str,
    out_model: type[BaseModel],
    patch_model: type[BaseModel],
    load: Callable[[Session, str], Any],
    outs: Outs,
    change: Callable[[Session, Any, Any, Callable[[Any], BaseModel]], None],
    retire: Callable[[Session, Any, Callable[[Any], BaseModel]], None] | None = None,
    search_model: type[Any] | None = None,
    docs: Mapping[str, str] | None = None,
) -> None:
    """The routes of master `name` (`service` → `getService`, `updateService` …) on
    `router`, the path parameter being `key`:

    - `GET ""` (with `search_model`): search by the master filters, cursor pagination;
    - `GET /{key}`: the master and its ETag;
    - `PATCH /{key}`: If-Match → `change` → the new ETag;
    - `DELETE /{key}` (with `retire`): If-Match → `retire` → 204.

    `docs` gives a route's description by its verb (`list`, `get`, `change`, `retire`)."""
    docs = docs or {}
    plural = name + "s"
    one = f"/{{{key}}}"
    context = _param("ctx", Contracts)
    reference = _param(key, str)
    if_match = _param("if_match", IfMatch, None)

    def out_of(session: Session) -> Callable[[Any], BaseModel]:
        return lambda row: outs(session, [row])[0]

    if search_model is not None:
        model = search_model

        def list_masters(**kw: Any) -> Page[BaseModel]:
            ctx: ApiContext = kw["ctx"]
            return search(
                ctx.session,
                model,
                kw["filters"],
                kw["cursor"],
                kw["limit"],
                lambda rows: list(outs(ctx.session, rows)),
            )

        _route(
            router,
            "GET",
            "",
            f"list_{plural}",
            list_masters,
            [
                context,
                _param("filters", Filters),
                _param("cursor", str | None, None),
                _param("limit", Limit, DEFAULT_LIMIT),
            ],
            Page[out_model],  # type: ignore[valid-type]
            docs.get("list"),
            response_model=Page[out_model],  # type: ignore[valid-type]
        )

    def get_one(**kw: Any) -> BaseModel:
        ctx: ApiContext = kw["ctx"]
        row = load(ctx.session, kw[key])
        set_etag(kw["response"], row.version)
        return out_of(ctx.session)(row)

    _route(
        router,
        "GET",
        one,
        f"get_{name}",
        get_one,
        [context, reference, _param("response", Response)],
        out_model,
        docs.get("get"),
        response_model=out_model,
        responses=ERRORS,
    )

    def change_one(**kw: Any) -> BaseModel:
        ctx: ApiContext = kw["ctx"]
        row = load(ctx.session, kw[key])
        check_if_match(kw["if_match"], row.version)
        out = out_of(ctx.session)
        change(ctx.session, row, kw["changes"], out)
        set_etag(kw["response"], row.version)
        return out(row)

    _route(
        router,
        "PATCH",
        one,
        f"change_{name}",
        change_one,
        [
            context,
            reference,
            _param("changes", patch_model),
            _param("response", Response),
            if_match,
        ],
        out_model,
        docs.get("change"),
        response_model=out_model,
        responses=CHANGE_ERRORS,
    )

    if retire is not None:
        retire_with = retire

        def retire_one(**kw: Any) -> Response:
            ctx: ApiContext = kw["ctx"]
            row = load(ctx.session, kw[key])
            check_if_match(kw["if_match"], row.version)
            retire_with(ctx.session, row, out_of(ctx.session))
            return Response(status_code=204)

        _route(
            router,
            "DELETE",
            one,
            f"retire_{name}",
            retire_one,
            [context, reference, if_match],
            Response,
            docs.get("retire"),
            status_code=204,
            responses=CHANGE_ERRORS,
        )


def catalog_master_routes(
    router: APIRouter,
    model: type[Any],
    out_model: type[BaseModel],
    patch_model: type[BaseModel],
    outs: Outs,
    *,
    search_all: bool = True,
    docs: Mapping[str, str] | None = None,
) -> None:
    """`master_routes` of a master named by id or code, changed by `change_master` and
    retired by `retire_master` (its audit kind being its name)."""
    name = kind_of(model).replace(" ", "_")
    master_routes(
        router,
        name=name,
        key=f"{name}_id",
        out_model=out_model,
        patch_model=patch_model,
        load=lambda session, reference: get_master(session, model, reference),
        outs=outs,
        change=lambda session, row, changes, out: service.change_master(
            session, row, changes, out, name
        ),
        retire=lambda session, row, out: service.retire_master(session, row, out, name),
        search_model=model if search_all else None,
        docs=docs,
    )


# --- services ---------------------------------------------------------------------------

services = APIRouter(prefix="/v1/services", tags=["masters"])


def _services_out(_session: Session, rows: Sequence[Service]) -> list[ServiceOut]:
    return [ServiceOut.model_validate(row) for row in rows]


@services.post("", status_code=201, response_model=ServiceOut, responses=CHANGE_ERRORS)
def create_service(ctx: Contracts, data: ServiceIn, response: Response) -> ServiceOut:
    """Register a service (サービスマスタ)."""
    row = service.create_service(ctx.session, data)
    _created(response, f"/v1/services/{row.id}", row.version)
    return ServiceOut.model_validate(row)


catalog_master_routes(
    services,
    Service,
    ServiceOut,
    ServicePatch,
    _services_out,
    docs={
        "list": "Search services by code, name, status and free fields.",
        "retire": "Retire a service: it stays readable, but new price plans cannot use it.",
    },
)


# --- usage items ------------------------------------------------------------------------

usage_items = APIRouter(prefix="/v1/usage-items", tags=["masters"])


def _usage_items_out(_session: Session, rows: Sequence[UsageItem]) -> list[UsageItemOut]:
    return [UsageItemOut.model_validate(row) for row in rows]


@usage_items.post("", status_code=201, response_model=UsageItemOut, responses=CHANGE_ERRORS)
def create_usage_item(ctx: Contracts, data: UsageItemIn, response: Response) -> UsageItemOut:
    """Register a usage item: its unit (RATING.md §4 `q = ceil(raw / unit)`) and whether it
    rates over the period total or per record."""
    row = service.create_usage_item(ctx.session, data)
    _created(response, f"/v1/usage-items/{row.id}", row.version)
    return UsageItemOut.model_validate(row)


catalog_master_routes(
    usage_items,
    UsageItem,
    UsageItemOut,
    UsageItemPatch,
    _usage_items_out,
    docs={
        "change": "Change names, status and free fields (`unit` and `rating` are fixed at "
        "creation).",
    },
)


# --- tariffs ----------------------------------------------------------------------------

tariff_routes = APIRouter(prefix="/v1/tariffs", tags=["masters"])


@tariff_routes.post("", status_code=201, response_model=TariffOut, responses=CHANGE_ERRORS)
def create_tariff(ctx: Contracts, data: TariffIn, response: Response) -> TariffOut:
    """Register a tariff (料金表) in one of the seven shapes of RATING.md §4, with its first
    version from `effective_from`."""
    row, versions = tariffs.create_tariff(ctx.session, data)
    _created(response, f"/v1/tariffs/{row.id}", row.version)
    return tariffs.tariff_out(row, versions)


catalog_master_routes(
    tariff_routes,
    Tariff,
    TariffOut,
    MasterPatch,
    tariffs.tariffs_out,
    docs={
        "get": "A tariff with all its versions, oldest first.",
        "change": "Change the code, name, status or free fields (a definition changes by a "
        "new version).",
        "retire": "Retire a tariff: plans that use it keep it; new plan versions cannot.",
    },
)


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


# --- discount tables --------------------------------------------------------------------

discount_tables = APIRouter(prefix="/v1/discount-tables", tags=["masters"])


def _discount_tables_out(
    _session: Session, rows: Sequence[DiscountTable]
) -> list[DiscountTableOut]:
    return [service.discount_table_out(row) for row in rows]


@discount_tables.post("", status_code=201, response_model=DiscountTableOut, responses=CHANGE_ERRORS)
def create_discount_table(
    ctx: Contracts, data: DiscountTableIn, response: Response
) -> DiscountTableOut:
    """Register a discount table (割引表, RATING.md §5), optionally with campaign, bundle
    or loyalty conditions."""
    row = service.create_discount_table(ctx.session, data, ctx.tenant.currency)
    _created(response, f"/v1/discount-tables/{row.id}", row.version)
    return service.discount_table_out(row)


catalog_master_routes(
    discount_tables,
    DiscountTable,
    DiscountTableOut,
    DiscountTablePatch,
    _discount_tables_out,
    docs={"change": "Change the code, name, status or free fields (the discount itself is fixed)."},
)


# --- tax categories ---------------------------------------------------------------------

tax_categories = APIRouter(prefix="/v1/tax-categories", tags=["masters"])


@tax_categories.get("", response_model=Page[TaxCategoryOut])
def list_tax_categories(ctx: Contracts) -> Page[TaxCategoryOut]:
    """The four tax categories of RATING.md §7 with their dated rates (fractions: 0.10 is
    10 %). Every tenant has them; the Japanese rates are there from the start."""
    return Page[TaxCategoryOut](items=service.list_tax_categories(ctx.session))


master_routes(
    tax_categories,
    name="tax_category",
    key="code",
    out_model=TaxCategoryOut,
    patch_model=TaxCategoryPatch,
    load=service.get_tax_category,
    outs=service.tax_categories_out,
    change=lambda session, row, changes, _out: service.change_tax_category(session, row, changes),
    docs={"change": "Change the name or free fields of a tax category."},
)


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


catalog_master_routes(
    plans,
    PricePlan,
    PricePlanOut,
    MasterPatch,
    price_plans.price_plans_out,
    search_all=False,  # its search adds a filter by service, above
    docs={
        "get": "A price plan with all its versions, oldest first.",
        "change": "Change the code, name, status or free fields (prices change by a new version).",
        "retire": "Retire a price plan: subscriptions on it keep it; new ones cannot choose "
        "it. Plans\nare never removed, since subscriptions and receivables refer to them.",
    },
)


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


for _router in (services, usage_items, tariff_routes, discount_tables, tax_categories, plans):
    router.include_router(_router)
