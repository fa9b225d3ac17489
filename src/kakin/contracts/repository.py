"""Set-based reads of the contracts domain for a whole list of contracts at once: what the
closing (and the preview, which rates with the closing's input) needs of contracts, their
subscriptions with their lives (from their events) and their discounts. Plain rows, one id
array per query, never a query per contract.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from kakin.contracts.models import Contract, Discount, Subscription, SubscriptionEvent
from kakin.contracts.subscriptions import timeline_event
from kakin.kit.bulk import id_chunks, in_values, rows_in
from kakin.rating.events import Timeline, TimelineEvent, build_timeline


class ClosingContract(NamedTuple):
    """The columns of a contract the closing reads."""

    id: str
    closing_day: str
    start_date: dt.date
    currency: str
    payment_terms_months: int
    payment_terms_day: str
    payment_method_kind: str | None
    customer_id: str | None


class SubscriptionRow(NamedTuple):
    id: str
    contract_id: str
    price_plan_id: str


class DiscountRow(NamedTuple):
    """A discount of a contract (or of one of its subscriptions) applying a table."""

    id: str
    contract_id: str
    subscription_id: str | None
    discount_table_id: str
    scope: str
    start_date: dt.date
    end_date: dt.date | None
    priority: int


def closing_contracts(session: Session, contract_ids: Sequence[str]) -> list[ClosingContract]:
    return list(rows_in(session, ClosingContract, Contract, Contract.id, contract_ids))


def subscriptions_of(
    session: Session, contract_ids: Sequence[str]
) -> dict[str, list[SubscriptionRow]]:
    """Contract id → its subscriptions (contracts without any are absent)."""
    found: dict[str, list[SubscriptionRow]] = defaultdict(list)
    for row in rows_in(
        session, SubscriptionRow, Subscription, Subscription.contract_id, contract_ids
    ):
        found[row.contract_id].append(row)
    return dict(found)


def subscription_lives(session: Session, subscription_ids: Sequence[str]) -> dict[str, Timeline]:
    """Subscription id → its life, built from its stored events (validated when they were
    registered, so not again here); subscriptions without events are absent."""
    e = SubscriptionEvent
    statement = select(e.subscription_id, e.kind, e.effective_date, e.seq, e.data)
    grouped: dict[str, list[TimelineEvent]] = defaultdict(list)
    for part in id_chunks(session, subscription_ids):
        for row in session.execute(statement.where(in_values(session, e.subscription_id, part))):
            # a plain row has the event's columns: no ORM object per event
            grouped[row.subscription_id].append(timeline_event(row))  # type: ignore[arg-type]
    return {sid: build_timeline(events, check=False) for sid, events in grouped.items()}


def discounts_of(session: Session, contract_ids: Sequence[str]) -> list[DiscountRow]:
    """The discounts of the contracts and of their subscriptions."""
    return list(rows_in(session, DiscountRow, Discount, Discount.contract_id, contract_ids))
