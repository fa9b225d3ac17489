"""`GET /v1/receivables/{id}/invoice.pdf` and `GET /v1/credit-notes/{id}/credit-note.pdf`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kakin.billing.errors import ReceivableNotFound
from kakin.billing.invoice_pdf import (
    Recipient,
    credit_note_document_from,
    invoice_document_from,
    render_credit_note,
    render_invoice,
)
from kakin.billing.models import CreditNote, Receivable
from kakin.billing.service import get_receivable, receivable_lines
from kakin.contracts.models import Contract
from kakin.contracts.schemas import BillingAddress
from kakin.contracts.service import BILLING_ADDRESS_FIELD
from kakin.customers.service import load_customers
from kakin.kit.crypto import FieldCipher
from kakin.kit.errors import NotFound
from kakin.tenancy.deps import Rating

router = APIRouter(tags=["billing"])

PDF = "application/pdf"


def recipient_of(session: Session, cipher: FieldCipher, receivable: Receivable) -> Recipient:
    """The invoice's addressee: the contract's billing address, else its customer, else
    the provider's own customer id (a tenant keeping customers outside kakin)."""
    contract = session.scalar(select(Contract).where(Contract.id == receivable.contract_id))
    if contract is None:  # pragma: no cover - a receivable always has its contract
        raise ReceivableNotFound(f"no contract for receivable {receivable.id}")
    address_json = cipher.decrypt(BILLING_ADDRESS_FIELD, contract.billing_address_enc)
    if address_json:
        address = BillingAddress.model_validate_json(address_json)
        return Recipient(address.name, address.postal_code, address.address)
    if contract.customer_id:
        customer = load_customers(session, cipher, [contract.customer_id]).get(contract.customer_id)
        if customer is not None:
            return Recipient(customer.name or "", customer.postal_code, customer.address)
    return Recipient(contract.external_customer_id or contract.id)


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
    marked draft before."""
    receivable = get_receivable(ctx.session, receivable_id)
    document = invoice_document_from(
        receivable,
        receivable_lines(ctx.session, receivable.id),
        ctx.tenant,
        recipient_of(ctx.session, ctx.cipher, receivable),
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
    note = ctx.session.scalar(select(CreditNote).where(CreditNote.id == credit_note_id))
    if note is None:
        raise NotFound(f"no credit note {credit_note_id}")
    receivable = get_receivable(ctx.session, note.receivable_id)
    document = credit_note_document_from(
        note, receivable, ctx.tenant, recipient_of(ctx.session, ctx.cipher, receivable)
    )
    return _pdf(render_credit_note(document), f"credit-note-{note.number}.pdf")
