"""`GET /v1/receivables/{id}/invoice.pdf` and `GET /v1/credit-notes/{id}/credit-note.pdf`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kakin.billing.documents.record import document_parties
from kakin.billing.invoice_pdf import (
    credit_note_document_from,
    invoice_document_from,
    render_credit_note,
    render_invoice,
)
from kakin.billing.service import get_credit_note, get_receivable, receivable_lines
from kakin.tenancy.deps import Rating

router = APIRouter(tags=["billing"])

PDF = "application/pdf"


def _pdf(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    "/v1/receivables/{receivable_id}/invoice.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the (qualified) invoice as PDF"}},
    operation_id="getInvoicePdf",
)
def invoice_pdf(ctx: Rating, receivable_id: str) -> Response:
    """The invoice of a receivable: a qualified invoice (適格請求書) once finalised, a
    marked draft before. An issued invoice shows its parties as they were when it was
    issued; a draft shows them as they stand."""
    receivable = get_receivable(ctx.session, receivable_id)
    parties = document_parties(
        ctx.session, ctx.cipher, ctx.tenant, receivable, receivable.contract_id
    )
    document = invoice_document_from(
        receivable, receivable_lines(ctx.session, receivable.id), parties
    )
    number = receivable.invoice_number or "draft"
    return _pdf(render_invoice(document), f"invoice-{number}.pdf")


@router.get(
    "/v1/credit-notes/{credit_note_id}/credit-note.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the credit note as PDF"}},
    operation_id="getCreditNotePdf",
)
def credit_note_pdf(ctx: Rating, credit_note_id: str) -> Response:
    """A credit note (適格返還請求書), with its parties as they were when it was issued."""
    note = get_credit_note(ctx.session, credit_note_id)
    receivable = get_receivable(ctx.session, note.receivable_id)
    parties = document_parties(ctx.session, ctx.cipher, ctx.tenant, note, receivable.contract_id)
    document = credit_note_document_from(note, receivable, parties)
    return _pdf(render_credit_note(document), f"credit-note-{note.number}.pdf")
