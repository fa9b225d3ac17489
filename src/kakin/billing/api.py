"""HTTP routes of billing: closing runs, receivables and lines, adjustments, credit notes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, tuple_

from kakin.billing import closing, service
from kakin.billing.models import Adjustment, ClosingRun, CreditNote, Receivable, ReceivableLine
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
    receivable_lines,
)
from kakin.catalog.service import tax_rates as tenant_tax_rates
from kakin.contracts.service import get_contract
from kakin.kit.bounds import BILLING_MONTH_PATTERN, Date, in_currency
from kakin.kit.concurrency import set_etag
from kakin.kit.db import tenant_session
from kakin.kit.errors import InvalidRequest
from kakin.kit.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    decode_cursor,
    encode_cursor,
    paginate,
    paginate_rows,
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
    statement = select(ClosingRun)
    if closing_date is not None:
        statement = statement.where(ClosingRun.closing_date == closing_date)
    return paginate(
        ctx.session, statement, ClosingRun.id, cursor, limit, ClosingRunOut.model_validate
    )


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
    statement = select(Receivable)
    if contract_id:
        statement = statement.where(Receivable.contract_id == contract_id)
    if customer_id:
        statement = statement.where(Receivable.customer_id == customer_id)
    if billing_month:
        statement = statement.where(Receivable.billing_month == billing_month)
    if status:
        statement = statement.where(Receivable.status == status)
    if due_from:
        statement = statement.where(Receivable.due_date >= due_from)
    if due_to:
        statement = statement.where(Receivable.due_date <= due_to)
    return paginate(ctx.session, statement, Receivable.id, cursor, limit, _receivable_out)


def _receivable_out(receivable: Receivable) -> ReceivableOut:
    return ReceivableOut.model_validate(receivable, context=in_currency(receivable.currency))


def _detail(ctx: Rating, receivable: Receivable) -> ReceivableDetailOut:
    lines = receivable_lines(ctx.session, receivable.id)
    money = in_currency(receivable.currency)
    return ReceivableDetailOut.model_validate(
        {
            **_receivable_out(receivable).model_dump(),
            "lines": [ReceivableLineOut.model_validate(line, context=money) for line in lines],
        }
    )


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
    return _detail(ctx, receivable)


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
    return _detail(ctx, receivable)


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
    if not (receivable_id or contract_id or subscription_id):
        raise InvalidRequest(
            [("/query/receivable_id", "name a receivable_id, contract_id or subscription_id")]
        )
    statement = select(ReceivableLine)
    if receivable_id:
        statement = statement.where(ReceivableLine.receivable_id == receivable_id)
    if contract_id:
        statement = statement.where(ReceivableLine.contract_id == contract_id)
    if subscription_id:
        statement = statement.where(ReceivableLine.subscription_id == subscription_id)
    if kind:
        statement = statement.where(ReceivableLine.kind == kind)
    if cursor:
        receivable, _, line_no = decode_cursor(cursor).rpartition(":")
        if not line_no.isdigit():
            raise InvalidRequest([("/query/cursor", "not a cursor this API returned")])
        statement = statement.where(
            tuple_(ReceivableLine.receivable_id, ReceivableLine.line_no)
            > (receivable, int(line_no))
        )
    rows = ctx.session.scalars(
        statement.order_by(ReceivableLine.receivable_id, ReceivableLine.line_no).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        encode_cursor(f"{rows[-1].receivable_id}:{rows[-1].line_no}") if more and rows else None
    )
    currencies = dict(
        ctx.session.execute(
            select(Receivable.id, Receivable.currency).where(
                Receivable.id.in_({r.receivable_id for r in rows})
            )
        ).all()
    )
    return Page[ReceivableLineOut](
        items=[
            ReceivableLineOut.model_validate(r, context=in_currency(currencies[r.receivable_id]))
            for r in rows
        ],
        next_cursor=next_cursor,
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
    money = in_currency(get_contract(ctx.session, contract_id).currency)
    statement = select(Adjustment).where(Adjustment.contract_id == contract_id)
    return paginate(
        ctx.session,
        statement,
        Adjustment.id,
        cursor,
        limit,
        lambda row: AdjustmentOut.model_validate(row, context=money),
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


def _notes_out(ctx: Rating, notes: Sequence[CreditNote]) -> list[CreditNoteOut]:
    """Credit notes as answers, in their receivables' currencies (one query per page)."""
    currencies = dict(
        ctx.session.execute(
            select(Receivable.id, Receivable.currency).where(
                Receivable.id.in_({n.receivable_id for n in notes})
            )
        ).all()
    )
    return [
        CreditNoteOut.model_validate(n, context=in_currency(currencies[n.receivable_id]))
        for n in notes
    ]


@router.get("/v1/receivables/{receivable_id}/credit-notes", response_model=Page[CreditNoteOut])
def list_credit_notes_of_receivable(
    ctx: Rating, receivable_id: str, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[CreditNoteOut]:
    """The credit notes of one receivable, oldest first."""
    get_receivable(ctx.session, receivable_id)
    statement = select(CreditNote).where(CreditNote.receivable_id == receivable_id)
    return paginate_rows(
        ctx.session, statement, CreditNote.id, cursor, limit, lambda notes: _notes_out(ctx, notes)
    )


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
    statement = select(CreditNote)
    if receivable_id:
        statement = statement.where(CreditNote.receivable_id == receivable_id)
    if contract_id or customer_id:
        receivables = select(Receivable.id)
        if contract_id:
            receivables = receivables.where(Receivable.contract_id == contract_id)
        if customer_id:
            receivables = receivables.where(Receivable.customer_id == customer_id)
        statement = statement.where(CreditNote.receivable_id.in_(receivables))
    if issued_from:
        statement = statement.where(CreditNote.issued_on >= issued_from)
    if issued_to:
        statement = statement.where(CreditNote.issued_on <= issued_to)
    return paginate_rows(
        ctx.session, statement, CreditNote.id, cursor, limit, lambda notes: _notes_out(ctx, notes)
    )


@router.get("/v1/credit-notes/{credit_note_id}", response_model=CreditNoteOut)
def get_credit_note(ctx: Rating, credit_note_id: str) -> CreditNoteOut:
    note = service.get_credit_note(ctx.session, credit_note_id)
    currency = get_receivable(ctx.session, note.receivable_id).currency
    return CreditNoteOut.model_validate(note, context=in_currency(currency))
