"""HTTP routes of billing: closing runs, receivables and lines, adjustments, credit notes."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from kakin.billing import closing, service
from kakin.billing.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    ClosingRunIn,
    ClosingRunOut,
    CreditNoteIn,
    CreditNoteOut,
    ReceivableDetailOut,
    ReceivableLineOut,
    ReceivableOut,
    ReceivableStatus,
)
from kakin.billing.service import (
    add_adjustment,
    finalize,
    finalize_month,
    get_receivable,
    issue_credit_note,
)
from kakin.catalog.service import tax_rates as tenant_tax_rates
from kakin.contracts.service import get_contract
from kakin.kit.bounds import BILLING_MONTH_PATTERN, Date, in_currency
from kakin.kit.concurrency import set_etag
from kakin.kit.db import tenant_session
from kakin.kit.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
)
from kakin.runtime import Runtime
from kakin.tenancy.clock import refuse_after_today
from kakin.tenancy.deps import Rating

log = logging.getLogger("kakin.closing")
router = APIRouter(tags=["billing"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _run_in_background(runtime: Runtime, tenant_id: str, run_id: str) -> None:
    def work() -> None:
        try:
            closing.work_on_run(runtime.sessions, tenant_id, run_id)
            with tenant_session(runtime.sessions, tenant_id) as session:
                closing.finish_run(session, run_id)
        except Exception:  # a thread has no caller to raise to: record it on the run
            log.exception("closing run %s failed", run_id)
            with tenant_session(runtime.sessions, tenant_id) as session:
                closing.fail_run(session, run_id, "the run stopped on an unexpected error")

    threading.Thread(target=work, name=f"closing-{run_id}", daemon=True).start()


@router.post("/v1/closing-runs", status_code=202, response_model=ClosingRunOut)
def start_closing_run(ctx: Rating, body: ClosingRunIn) -> ClosingRunOut:
    """Start (or resume) the closing of `closing_date`; follow it at `GET /v1/closing-runs/{id}`.

    A date after the tenant's today is refused (a sandbox tenant moves its clock first).
    """
    refuse_after_today(ctx.tenant, body.closing_date, "/body/closing_date")
    run = closing.start_run(ctx.session, body.closing_date)
    ctx.session.flush()
    out = ClosingRunOut.model_validate(run)
    ctx.after_commit.append(lambda: _run_in_background(ctx.runtime, ctx.tenant_id, run.id))
    return out


@router.get("/v1/closing-runs/{run_id}", response_model=ClosingRunOut)
def get_closing_run(ctx: Rating, run_id: str) -> ClosingRunOut:
    return ClosingRunOut.model_validate(service.get_closing_run(ctx.session, run_id))


@router.get("/v1/closing-runs", response_model=Page[ClosingRunOut])
def list_closing_runs(
    ctx: Rating,
    closing_date: Date | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ClosingRunOut]:
    return service.search_closing_runs(ctx.session, closing_date, cursor, limit)


@router.get("/v1/receivables", response_model=Page[ReceivableOut])
def list_receivables(
    ctx: Rating,
    contract_id: str | None = None,
    customer_id: str | None = None,
    billing_month: Annotated[str | None, Query(pattern=BILLING_MONTH_PATTERN)] = None,
    status: ReceivableStatus | None = None,
    due_from: Date | None = None,
    due_to: Date | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ReceivableOut]:
    filters = service.ReceivableFilter(
        contract_id, customer_id, billing_month, status, due_from, due_to
    )
    return service.search_receivables(ctx.session, filters, cursor, limit)


@router.get(
    "/v1/receivables/{receivable_id}",
    response_model=ReceivableDetailOut,
    operation_id="getReceivable",
)
def get_receivable_route(
    ctx: Rating, receivable_id: str, response: Response
) -> ReceivableDetailOut:
    receivable = get_receivable(ctx.session, receivable_id)
    set_etag(response, receivable.version)
    return service.receivable_detail(ctx.session, receivable)


@router.post("/v1/receivables/{receivable_id}/finalize", response_model=ReceivableDetailOut)
def finalize_receivable(ctx: Rating, receivable_id: str, response: Response) -> ReceivableDetailOut:
    """`draft` → `open`: the next invoice number; never rewritten after this."""
    receivable = finalize(
        ctx.session,
        ctx.cipher,
        ctx.tenant,
        get_receivable(ctx.session, receivable_id, for_update=True),
    )
    set_etag(response, receivable.version)
    return service.receivable_detail(ctx.session, receivable)


class FinalizeMonthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    billing_month: Annotated[str, Query(pattern=BILLING_MONTH_PATTERN)]


class FinalizedMonthOut(BaseModel):
    billing_month: str
    finalized: int = Field(description="how many drafts were issued")


@router.post("/v1/receivables/finalize", response_model=FinalizedMonthOut)
def finalize_billing_month(ctx: Rating, body: FinalizeMonthIn) -> FinalizedMonthOut:
    """Finalise every draft of a billing month (the end of the tenant's review window)."""
    return FinalizedMonthOut(
        billing_month=body.billing_month,
        finalized=finalize_month(ctx.session, ctx.cipher, ctx.tenant, body.billing_month),
    )


@router.get("/v1/receivable-lines", response_model=Page[ReceivableLineOut])
def search_receivable_lines(
    ctx: Rating,
    receivable_id: str | None = None,
    contract_id: str | None = None,
    subscription_id: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ReceivableLineOut]:
    return service.search_receivable_lines(
        ctx.session, receivable_id, contract_id, subscription_id, kind, cursor, limit
    )


@router.post(
    "/v1/contracts/{contract_id}/adjustments", status_code=201, response_model=AdjustmentOut
)
def create_adjustment(ctx: Rating, contract_id: str, body: AdjustmentIn) -> AdjustmentOut:
    """A signed amount billed on the contract's next receivable (RATING.md §8)."""
    money = in_currency(get_contract(ctx.session, contract_id).currency)
    return AdjustmentOut.model_validate(
        add_adjustment(ctx.session, contract_id, body), context=money
    )


@router.get("/v1/contracts/{contract_id}/adjustments", response_model=Page[AdjustmentOut])
def list_adjustments(
    ctx: Rating, contract_id: str, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[AdjustmentOut]:
    return service.adjustments_of(
        ctx.session, get_contract(ctx.session, contract_id), cursor, limit
    )


@router.post(
    "/v1/receivables/{receivable_id}/credit-notes", status_code=201, response_model=CreditNoteOut
)
def create_credit_note(ctx: Rating, receivable_id: str, body: CreditNoteIn) -> CreditNoteOut:
    """返還請求書: reduce an issued receivable."""
    receivable = get_receivable(ctx.session, receivable_id, for_update=True)
    note = issue_credit_note(
        ctx.session, ctx.cipher, ctx.tenant, receivable, body, tenant_tax_rates(ctx.session)
    )
    return CreditNoteOut.model_validate(note, context=in_currency(receivable.currency))


@router.get("/v1/receivables/{receivable_id}/credit-notes", response_model=Page[CreditNoteOut])
def list_credit_notes_of_receivable(
    ctx: Rating, receivable_id: str, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[CreditNoteOut]:
    """The credit notes of one receivable, oldest first."""
    get_receivable(ctx.session, receivable_id)
    filters = service.CreditNoteFilter(receivable_id=receivable_id)
    return service.search_credit_notes(ctx.session, filters, cursor, limit)


@router.get("/v1/credit-notes", response_model=Page[CreditNoteOut])
def list_credit_notes(
    ctx: Rating,
    receivable_id: str | None = None,
    contract_id: str | None = None,
    customer_id: str | None = None,
    issued_from: Date | None = None,
    issued_to: Date | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[CreditNoteOut]:
    """Credit notes (返還請求書), filtered by receivable, its contract or customer, and
    issue date."""
    filters = service.CreditNoteFilter(
        receivable_id, contract_id, customer_id, issued_from, issued_to
    )
    return service.search_credit_notes(ctx.session, filters, cursor, limit)


@router.get("/v1/credit-notes/{credit_note_id}", response_model=CreditNoteOut)
def get_credit_note(ctx: Rating, credit_note_id: str) -> CreditNoteOut:
    note = service.get_credit_note(ctx.session, credit_note_id)
    currency = get_receivable(ctx.session, note.receivable_id).currency
    return CreditNoteOut.model_validate(note, context=in_currency(currency))
