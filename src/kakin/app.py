"""create_app(): the API routers and their plumbing, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from starlette.types import Scope

from kakin import __version__
from kakin.api_examples import REQUEST_EXAMPLES
from kakin.audit.api import router as audit_router
from kakin.billing.api import router as billing_router
from kakin.billing.charges_api import router as charges_router
from kakin.billing.documents_api import router as documents_router
from kakin.billing.preview_api import router as preview_router
from kakin.billing.scheduler import Scheduler
from kakin.catalog.api import router as catalog_router
from kakin.contracts.api import router as contracts_router
from kakin.contracts.service import active_contract_ids
from kakin.customers.api import router as customers_router
from kakin.customers.service import refuse_withdrawal_with
from kakin.kit.body_limit import BodySizeLimit
from kakin.kit.bounds import check_request_values
from kakin.kit.errors import install_problem_handlers
from kakin.kit.headers import SecurityHeaders
from kakin.kit.idempotency import IdempotencyMiddleware, Replay, ResponseStore, replay_handler
from kakin.kit.openapi import install_offline_docs, install_openapi, operation_id
from kakin.kit.query import reject_unknown_query_parameters
from kakin.runtime import Runtime
from kakin.settings import get_settings
from kakin.tenancy.api import router as tenancy_router
from kakin.tenancy.deps import idempotency_store
from kakin.usage.api import router as usage_router

API_DESCRIPTION = """\
kakin (課金): customers, contracts, masters and rating for subscription businesses.

Authenticate with `POST /v1/oauth/token` (OAuth 2.0 client credentials; the *Authorize*
button here does it) and send the token as `Authorization: Bearer …`. Errors are RFC 9457
`application/problem+json`, a 422 naming each bad field (an unknown query parameter too).
Lists use cursor pagination (`cursor`, `limit`); every POST accepts `Idempotency-Key`;
changes accept `If-Match` with the ETag you read. Masters are named by id or by code.
Money is a decimal string in the currency's major unit. The guides are in the
repository's `docs/` folder.
"""


class Health(BaseModel):
    status: Literal["ok"]
    version: str


def create_app(runtime: Runtime | None = None) -> FastAPI:
    # Customers lies below contracts, so contracts' rule is handed to it from here.
    refuse_withdrawal_with(active_contract_ids)
    own_runtime = runtime is None
    rt = runtime or Runtime.from_settings(get_settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if own_runtime and rt.settings.scheduler_interval_seconds > 0:
            # size 0 (SCALE.md): the serving process also runs the batches
            scheduler = Scheduler(rt, rt.settings.scheduler_interval_seconds)
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()
        if own_runtime:
            rt.close()

    app = FastAPI(
        title="kakin",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # --- the API surface (issue 6 §7): operation ids, strict query, offline docs ---
        generate_unique_id_function=operation_id,
        dependencies=[Depends(check_request_values), Depends(reject_unknown_query_parameters)],
        docs_url=None,
        redoc_url=None,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.runtime = rt
    install_problem_handlers(app)

    store = idempotency_store(rt)

    def store_for(_scope: Scope) -> ResponseStore:
        return store

    app.add_middleware(IdempotencyMiddleware, store_factory=store_for)
    app.add_exception_handler(Replay, replay_handler)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders)  # outermost: replays and errors get them too

    @app.get("/healthz", tags=["health"], operation_id="getHealth")
    def healthz() -> Health:
        return Health(status="ok", version=__version__)

    routers = (
        tenancy_router,
        customers_router,
        catalog_router,
        contracts_router,
        usage_router,
        billing_router,
        charges_router,
        preview_router,
        documents_router,
        audit_router,
    )
    for router in routers:
        app.include_router(router)

    # --- the OpenAPI document and its offline /docs and /redoc (issue 6 §7) ---
    install_openapi(app, REQUEST_EXAMPLES)
    install_offline_docs(app)
    return app
