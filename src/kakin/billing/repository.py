"""Set-based reads of the billing domain for a whole chunk of contracts: the receivables of
the month being closed, and what is still to bill (adjustments, one-time charges, top-ups)
as the rating core's inputs. Plain rows, one id array per query, never a query per
contract. (What earlier receivables billed is read by `history`.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kakin.billing.models import Adjustment, OneTimeCharge, Receivable, TopUp
from kakin.kit.bulk import id_chunks, in_values, rows_in
from kakin.kit.money import from_minor
from kakin.rating import model as rating
from kakin.rating.periods import BillingMonth
from kakin.rating.tax import TaxCategory


class MonthReceivable(NamedTuple):
    """What the closing needs of a contract's receivable for the month being closed: an
    issued one is never rewritten, a draft is replaced when its content changed."""

    id: str
    contract_id: str
    status: str
    content_hash: str | None
    version: int
    line_count: int


def month_receivables(
    session: Session, contract_ids: Sequence[str], month: BillingMonth
) -> dict[str, MonthReceivable]:
    """Contract id → its receivable of `month` (at most one: unique per contract and month)."""
    rows = rows_in(
        session,
        MonthReceivable,
        Receivable,
        Receivable.contract_id,
        contract_ids,
        Receivable.billing_month == str(month),
    )
    return {row.contract_id: row for row in rows}


TOP_UP_COLUMNS: Final = (
    TopUp.id,
    TopUp.contract_id,
    TopUp.subscription_id,
    TopUp.usage_item_id,
    TopUp.bought_on,
    TopUp.quantity,
    TopUp.price,
    TopUp.tax_category,
    TopUp.name,
)
"""What a top-up's rating input is made of (`rating_top_up`)."""


def rating_top_up(row: Any) -> rating.TopUp:
    """A row of `TOP_UP_COLUMNS` as the rating core's top-up (the closing and late-usage
    re-rating read top-ups so)."""
    return rating.TopUp(
        top_up_id=row.id,
        subscription_id=row.subscription_id,
        usage_item_id=row.usage_item_id,
        bought_on=row.bought_on,
        quantity=row.quantity,
        price=row.price,
        tax_category=TaxCategory(row.tax_category),
        name=row.name,
    )


@dataclass
class Unbilled:
    """Per contract, what no receivable bills yet (or the month's own draft, which is being
    recomputed), as rating inputs; each carries its name (the label of its line)."""

    adjustments: dict[str, list[rating.Adjustment]] = field(default_factory=dict)
    one_time_charges: dict[str, list[rating.OneTimeCharge]] = field(default_factory=dict)
    top_ups: dict[str, list[rating.TopUp]] = field(default_factory=dict)


def unbilled(
    session: Session,
    contract_ids: Sequence[str],
    drafts: Mapping[str, str],
    currency_of: Mapping[str, str],
) -> Unbilled:
    """The adjustments, one-time charges and top-ups (RATING.md §3, §4, §8) of the contracts
    still to bill: on no receivable, or on the month's own receivable `drafts[contract]`.
    Three queries per id chunk. Adjustments are stored in minor units of the contract's
    currency (`currency_of`)."""
    adjustments: dict[str, list[rating.Adjustment]] = defaultdict(list)
    a = Adjustment
    adjustment_columns = (
        a.id,
        a.contract_id,
        a.amount,
        a.tax_category,
        a.subscription_id,
        a.reason,
    )
    for row in _unbilled_rows(session, adjustment_columns, a, contract_ids, drafts):
        adjustments[row.contract_id].append(
            rating.Adjustment(
                row.id,
                from_minor(row.amount, currency_of[row.contract_id]),
                TaxCategory(row.tax_category),
                row.subscription_id,
                name=row.reason,
            )
        )
    charges: dict[str, list[rating.OneTimeCharge]] = defaultdict(list)
    c = OneTimeCharge
    charge_columns = (
        c.id,
        c.contract_id,
        c.incurred_on,
        c.amount,
        c.subscription_id,
        c.quantity,
        c.tax_category,
        c.name,
    )
    for row in _unbilled_rows(session, charge_columns, c, contract_ids, drafts):
        charges[row.contract_id].append(
            rating.OneTimeCharge(
                charge_id=row.id,
                fee_id=row.id,
                incurred_on=row.incurred_on,
                amount=row.amount,
                subscription_id=row.subscription_id,
                quantity=row.quantity,
                tax_category=TaxCategory(row.tax_category),
                name=row.name,
            )
        )
    top_ups: dict[str, list[rating.TopUp]] = defaultdict(list)
    for row in _unbilled_rows(session, TOP_UP_COLUMNS, TopUp, contract_ids, drafts):
        top_ups[row.contract_id].append(rating_top_up(row))
    return Unbilled(dict(adjustments), dict(charges), dict(top_ups))


def _unbilled_rows(
    session: Session,
    columns: Sequence[Any],
    model: type[Adjustment] | type[OneTimeCharge] | type[TopUp],
    contract_ids: Sequence[str],
    drafts: Mapping[str, str],
) -> list[Any]:
    """The rows of `model` on no receivable or on their contract's month draft; the
    receivable ids travel as one array (a bare `IN` list of a chunk's drafts is a
    statement of a thousand parameters to plan)."""
    on_draft = sorted(drafts.values()) or [""]
    statement = select(*columns, model.receivable_id)
    found = []
    for part in id_chunks(session, contract_ids):
        for row in session.execute(
            statement.where(
                in_values(session, model.contract_id, part),
                or_(
                    model.receivable_id.is_(None),
                    in_values(session, model.receivable_id, on_draft),
                ),
            )
        ):
            if row.receivable_id is None or drafts.get(row.contract_id) == row.receivable_id:
                found.append(row)
    return found
