"""Issued documents are documents of record: what they show is frozen when they are issued.

A draft shows the parties as they stand (the tenant's issuer settings, the contract's
billing address or its customer). Finalising a receivable, and issuing a credit note,
stores a snapshot of them on the row: the issuer (name, 登録番号, address, phone, bank
account), the document language and the sandbox mark as plain JSON (the provider's own
business data), the recipient (billing name and address: personal data) encrypted with
the tenant's cipher. A re-download renders from the snapshot, so a later change of the
tenant's settings or of the customer never rewrites an issued document.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from kakin.billing.documents.mapping import TenantLike, bank_account_from, parties_from
from kakin.billing.documents.model import (
    HONORIFIC_ORGANISATION,
    HONORIFIC_PERSON,
    Issuer,
    Parties,
    Recipient,
)
from kakin.contracts.models import Contract
from kakin.contracts.schemas import BillingAddress
from kakin.contracts.service import BILLING_ADDRESS_FIELD
from kakin.customers.service import load_customers
from kakin.kit.crypto import FieldCipher

RECIPIENT_FIELD: Final = "document.recipient"
"""The cipher's field name (associated data) of a frozen recipient."""


class IssuedRow(Protocol):
    """A receivable or credit note: the columns its snapshot lives in."""

    document_issuer: dict[str, Any] | None
    document_recipient_enc: bytes | None


# --- the parties as they stand ------------------------------------------------------------


def live_recipient(session: Session, cipher: FieldCipher, contract_id: str) -> Recipient:
    """The addressee now: the contract's billing address, else its customer, else the
    provider's own customer id (a tenant keeping customers outside kakin). A corporate
    customer is addressed 「御中」 (company, department, contact), a person 「様」."""
    contract = session.scalar(select(Contract).where(Contract.id == contract_id))
    if contract is None:  # pragma: no cover - a receivable always has its contract
        raise LookupError(f"no contract {contract_id}")
    customer = None
    if contract.customer_id:
        customer = load_customers(session, cipher, [contract.customer_id]).get(contract.customer_id)
    corporate = customer is not None and customer.kind == "corporate"
    honorific = HONORIFIC_ORGANISATION if corporate else HONORIFIC_PERSON
    address_json = cipher.decrypt(BILLING_ADDRESS_FIELD, contract.billing_address_enc)
    if address_json:
        address = BillingAddress.model_validate_json(address_json)
        return Recipient(address.name, address.postal_code, address.address, honorific)
    if customer is not None:
        if corporate and customer.company_name:
            return Recipient(
                customer.company_name,
                customer.postal_code,
                customer.address,
                HONORIFIC_ORGANISATION,
                department=customer.department,
                attention=customer.name or None,
            )
        return Recipient(customer.name or "", customer.postal_code, customer.address)
    return Recipient(contract.external_customer_id or contract.id)


def live_parties(
    session: Session, cipher: FieldCipher, tenant: TenantLike, contract_id: str
) -> Parties:
    """The parties of a contract's documents as they stand now (what a draft shows)."""
    return parties_from(tenant, live_recipient(session, cipher, contract_id))


# --- frozen at issue ----------------------------------------------------------------------


def freeze(cipher: FieldCipher, row: IssuedRow, parties: Parties) -> None:
    """Store `parties` on the issued `row`: never rewritten after this."""
    row.document_issuer = {
        "issuer": dataclasses.asdict(parties.issuer),
        "language": parties.language,
        "sandbox": parties.sandbox,
    }
    recipient = json.dumps(dataclasses.asdict(parties.recipient), ensure_ascii=False)
    row.document_recipient_enc = cipher.encrypt(RECIPIENT_FIELD, recipient)


def frozen_parties(cipher: FieldCipher, row: IssuedRow) -> Parties | None:
    """The parties `row` was issued with, or None for a row issued without a snapshot."""
    snapshot = row.document_issuer
    recipient_json = cipher.decrypt(RECIPIENT_FIELD, row.document_recipient_enc)
    if snapshot is None or recipient_json is None:
        return None
    issuer = dict(snapshot["issuer"])
    issuer["bank_account"] = bank_account_from(issuer.get("bank_account"))
    return Parties(
        issuer=Issuer(**issuer),
        recipient=Recipient(**json.loads(recipient_json)),
        language="en" if snapshot.get("language") == "en" else "ja",
        sandbox=bool(snapshot.get("sandbox", False)),
    )


def document_parties(
    session: Session, cipher: FieldCipher, tenant: TenantLike, row: IssuedRow, contract_id: str
) -> Parties:
    """What a document of `row` shows: its snapshot once issued, live data before."""
    return frozen_parties(cipher, row) or live_parties(session, cipher, tenant, contract_id)
