"""Tables of the billing domain.

Amounts are integers in the currency's minor unit (RATING.md §1); quantities and unit
prices are exact decimals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kakin.kit.db import ID_LENGTH, Base, TenantOwned, utcnow


class ClosingRun(TenantOwned, Base):
    """締め処理: one closing of one tenant for one closing date, stored as a record
    (NetBox jobs) with its counts, timings and the contracts that failed."""

    __tablename__ = "closing_runs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    closing_date: Mapped[dt.date] = mapped_column()
    status: Mapped[str] = mapped_column(String(24), default="pending")
    contracts_total: Mapped[int] = mapped_column(default=0)
    contracts_done: Mapped[int] = mapped_column(default=0)
    contracts_failed: Mapped[int] = mapped_column(default=0)
    receivables_written: Mapped[int] = mapped_column(default=0)
    lines_written: Mapped[int] = mapped_column(default=0)
    chunks_total: Mapped[int] = mapped_column(default=0)
    lines_at_start: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (Index("ix_closing_runs_date", "tenant_id", "closing_date"),)


class ClosingLock(TenantOwned, Base):
    """Held while a run of (tenant, closing date) is under way: two cannot overlap.

    A lock whose heartbeat is older than the timeout belonged to a crashed process and
    may be taken over by a new run (which then resumes the old run's chunks).
    """

    __tablename__ = "closing_locks"

    closing_date: Mapped[dt.date] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    holder: Mapped[str] = mapped_column(String(120))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ClosingChunk(TenantOwned, Base):
    """A bounded slice of a run's contracts; claimed, rated and committed as one unit
    (SCALE.md), so a crash loses at most one chunk's work and a rerun is harmless."""

    __tablename__ = "closing_chunks"

    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    contract_ids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    contracts_done: Mapped[int] = mapped_column(default=0)
    contracts_failed: Mapped[int] = mapped_column(default=0)
    receivables_written: Mapped[int] = mapped_column(default=0)
    lines_written: Mapped[int] = mapped_column(default=0)
    lines_removed: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    finished_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["closing_runs.tenant_id", "closing_runs.id"],
            ondelete="CASCADE",
        ),
        Index("ix_closing_chunks_status", "tenant_id", "run_id", "status"),
    )


class Receivable(TenantOwned, Base):
    """債権: what one contract owes for one billing month (RATING.md §8)."""

    __tablename__ = "receivables"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    customer_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    billing_month: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[dt.date] = mapped_column()
    period_end: Mapped[dt.date] = mapped_column()
    closing_date: Mapped[dt.date] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    tax_mode: Mapped[str] = mapped_column(String(10))
    subtotal: Mapped[int] = mapped_column()
    tax_total: Mapped[int] = mapped_column()
    total: Mapped[int] = mapped_column()
    tax_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    due_date: Mapped[dt.date | None] = mapped_column()
    payment_method_kind: Mapped[str | None] = mapped_column(String(20))
    invoice_number: Mapped[int | None] = mapped_column()
    issued_on: Mapped[dt.date | None] = mapped_column()
    document_issuer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Frozen at finalisation (documents/record.py): the issuer, language and sandbox mark
    its invoice shows; with `document_recipient_enc`, the encrypted addressee."""
    document_recipient_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    line_count: Mapped[int] = mapped_column(default=0)
    credited: Mapped[int] = mapped_column(default=0)
    """The sum of the totals of its credit notes (返還請求書), never more than `total`."""
    run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    @property
    def balance(self) -> int:
        """What the receivable still asks for: its total less what its credit notes took
        back (payments come with collections)."""
        return self.total - self.credited

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("tenant_id", "contract_id", "billing_month"),
        UniqueConstraint("tenant_id", "invoice_number"),
        Index("ix_receivables_month_status", "tenant_id", "billing_month", "status"),
        Index("ix_receivables_customer", "tenant_id", "customer_id"),
        Index("ix_receivables_due_date", "tenant_id", "due_date"),
    )


class ReceivableLine(TenantOwned, Base):
    """債権明細: one amount of a receivable with what it came from (RATING.md §8):
    `source_kind` says what `source_id` names (`kakin.rating.lines.SourceKind`)."""

    __tablename__ = "receivable_lines"

    receivable_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(20), default="charge")
    description: Mapped[str] = mapped_column(String(500), default="")
    subscription_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_kind: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[str | None] = mapped_column(String(ID_LENGTH + 40))
    quantity: Mapped[Decimal] = mapped_column()
    unit: Mapped[str | None] = mapped_column(String(40))
    unit_price: Mapped[Decimal | None] = mapped_column()
    period_start: Mapped[dt.date | None] = mapped_column()
    period_end: Mapped[dt.date | None] = mapped_column()
    days: Mapped[int | None] = mapped_column()
    tax_category: Mapped[str] = mapped_column(String(20))
    tax_rate: Mapped[Decimal] = mapped_column()
    amount: Mapped[int] = mapped_column()
    original_billing_month: Mapped[str | None] = mapped_column(String(7))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "receivable_id"],
            ["receivables.tenant_id", "receivables.id"],
            ondelete="CASCADE",
        ),
        Index("ix_receivable_lines_contract", "tenant_id", "contract_id"),
        Index("ix_receivable_lines_subscription", "tenant_id", "subscription_id"),
    )


class Adjustment(TenantOwned, Base):
    """A manual signed amount billed on the contract's next receivable (RATING.md §8)."""

    __tablename__ = "adjustments"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    subscription_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    amount: Mapped[int] = mapped_column()
    tax_category: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    receivable_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120), default="system")

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        Index("ix_adjustments_contract", "tenant_id", "contract_id", "receivable_id"),
    )


class CreditNote(TenantOwned, Base):
    """返還請求書: reduces an issued (open) receivable; numbered like invoices."""

    __tablename__ = "credit_notes"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    receivable_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    number: Mapped[int] = mapped_column()
    issued_on: Mapped[dt.date] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    subtotal: Mapped[int] = mapped_column()
    tax_total: Mapped[int] = mapped_column()
    total: Mapped[int] = mapped_column()
    tax_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    document_issuer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Frozen at issue, like a receivable's (documents/record.py)."""
    document_recipient_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "receivable_id"], ["receivables.tenant_id", "receivables.id"]
        ),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_credit_notes_receivable", "tenant_id", "receivable_id"),
    )


class DocumentSequence(TenantOwned, Base):
    """Gapless numbers per tenant and kind (`invoice`, `credit_note`), taken inside the
    finalising transaction, so a rolled-back finalisation leaves no gap."""

    __tablename__ = "document_sequences"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class OneTimeCharge(TenantOwned, Base):
    """一時金 registered on a subscription (device price, construction fee …): billed on the
    first closing after `incurred_on` (RATING.md §3). `amount` is per unit of `quantity`,
    an exact decimal in major units like the plans' fees; `receivable_id` is set when a
    closing puts it on a receivable (reset only by recomputing that receivable's draft)."""

    __tablename__ = "one_time_charges"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    subscription_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    code: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    incurred_on: Mapped[dt.date] = mapped_column()
    amount: Mapped[Decimal] = mapped_column()
    quantity: Mapped[Decimal] = mapped_column()
    tax_category: Mapped[str] = mapped_column(String(20))
    receivable_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"], ["subscriptions.tenant_id", "subscriptions.id"]
        ),
        Index("ix_one_time_charges_contract", "tenant_id", "contract_id", "receivable_id"),
        Index("ix_one_time_charges_subscription", "tenant_id", "subscription_id"),
    )


class TopUp(TenantOwned, Base):
    """追加購入: `quantity` rated units of a usage item bought on `bought_on`, raising that
    period's allowance and billed as a one-time fee of `price` (RATING.md §4; an exact
    decimal in major units)."""

    __tablename__ = "top_ups"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    subscription_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    usage_item_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    name: Mapped[str] = mapped_column(String(200))
    bought_on: Mapped[dt.date] = mapped_column()
    quantity: Mapped[Decimal] = mapped_column()
    price: Mapped[Decimal] = mapped_column()
    tax_category: Mapped[str] = mapped_column(String(20))
    receivable_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contracts.tenant_id", "contracts.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"], ["subscriptions.tenant_id", "subscriptions.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "usage_item_id"], ["usage_items.tenant_id", "usage_items.id"]
        ),
        Index("ix_top_ups_contract", "tenant_id", "contract_id", "receivable_id"),
        Index("ix_top_ups_subscription", "tenant_id", "subscription_id"),
    )
