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
from kakin.kit.bulk import id_chunks, in_values
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
    c = Contract
    statement = select(
        c.id,
        c.closing_day,
        c.start_date,
        c.currency,
        c.payment_terms_months,
        c.payment_terms_day,
        c.payment_method_kind,
        c.customer_id,
    )
    return [
        ClosingContract(*row)
        for part in id_chunks(session, contract_ids)
        for row in session.execute(statement.where(in_values(session, c.id, part)))
    ]


def subscriptions_of(
    session: Session, contract_ids: Sequence[str]
) -> dict[str, list[SubscriptionRow]]:
    """Contract id → its subscriptions (contracts without any are absent)."""
    s = Subscription
    statement = select(s.id, s.contract_id, s.price_plan_id)
    found: dict[str, list[SubscriptionRow]] = defaultdict(list)
    for part in id_chunks(session, contract_ids):
        for row in session.execute(statement.where(in_values(session, s.contract_id, part))):
            found[row.contract_id].append(SubscriptionRow(*row))
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
    d = Discount
    statement = select(
        d.id,
        d.contract_id,
        d.subscription_id,
        d.discount_table_id,
        d.scope,
        d.start_date,
        d.end_date,
        d.priority,
    )
    return [
        DiscountRow(*row)
        for part in id_chunks(session, contract_ids)
        for row in session.execute(statement.where(in_values(session, d.contract_id, part)))
    ]
