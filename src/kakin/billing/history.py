"""What earlier receivables billed, for the corrections the rating core makes on the next
one: settlements of recurring fees billed in advance (RATING.md §3) and usage that arrived
for an already-rated period (§8). Each loader reads a whole chunk with a fixed number of
set-based queries, never one per contract.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from kakin.billing.models import Receivable, ReceivableLine
from kakin.kit.money import from_minor
from kakin.rating.lines import LineKind, LineNote
from kakin.rating.model import (
    AdvanceBilling,
    BillingTiming,
    ContractInput,
    EarlierPeriodUsage,
    SubscriptionInput,
)
from kakin.rating.periods import (
    BillingMonth,
    Period,
    billing_month_of,
    billing_period,
    interval_months,
    interval_period,
)
from kakin.rating.usage import UsageEntry
from kakin.usage.intake import id_chunks, in_values
from kakin.usage.loader import load_usage
from kakin.usage.models import UsageRecord

ADVANCE_LOOKBACK_MONTHS: Final = 12
"""Advance-billed periods ending more than this many months before the current period
starts are settled already (a cancellation is dated when it is entered, never that far
back into issued periods)."""

LATE_USAGE_MONTHS: Final = 2
"""Earlier billing months whose usage is compared again at each closing (RATING.md §8)."""

LATE_RECORD_MARGIN: Final = dt.timedelta(hours=1)
"""A usage record counts as arrived after its period was rated when it was created later
than this before the period's receivable: an import's records carry the time the import
started, and a long import may commit after a closing already read the period's usage.
Too early only costs a comparison that finds nothing to bill."""

VOID = "void"
DRAFT = "draft"


# --- recurring fees billed in advance (RATING.md §3) ------------------------------------


def _covered(
    subscription: SubscriptionInput, fee_id: str, contract: ContractInput, day: dt.date
) -> Period:
    """The interval an advance line dated from `day` was billed for: an in-advance line
    carries one segment of it, a settlement the whole interval."""
    closing_day = contract.closing_day
    plans = subscription.plans
    current = [a for a in plans if a.valid_from <= day] or list(plans[:1])
    candidates = [a.plan for a in reversed(current)] + [a.plan for a in plans]
    fee = next(
        (
            f
            for plan in candidates
            for f in plan.recurring_fees
            if f.fee_id == fee_id and f.timing is BillingTiming.ADVANCE
        ),
        None,
    )
    month = billing_month_of(closing_day, day)
    if fee is None:
        return billing_period(closing_day, month)
    first_month = billing_month_of(closing_day, subscription.start_date)
    return interval_period(closing_day, *interval_months(fee.interval, month, first_month))


def load_advance_billings(
    session: Session,
    inputs: Mapping[str, ContractInput],
    months: Mapping[str, BillingMonth],
) -> dict[str, tuple[AdvanceBilling, ...]]:
    """Contract id → what receivables other than the current month's (and other than void
    ones) charged so far for each interval of a fee billed in advance: its `in_advance`
    lines plus its `advance_settlement` lines, for intervals ending on or after the current
    period's start less `ADVANCE_LOOKBACK_MONTHS`. One query per id chunk."""
    inputs = {cid: ci for cid, ci in inputs.items() if cid in months}
    if not inputs:
        return {}
    current = {str(m) for m in months.values()}
    earliest = min(
        billing_period(ci.closing_day, months[cid].shift(-ADVANCE_LOOKBACK_MONTHS)).start
        for cid, ci in inputs.items()
    )
    line, receivable = ReceivableLine, Receivable
    sums: dict[tuple[str, str, str, Period], Decimal] = defaultdict(Decimal)
    subscriptions = {
        s.subscription_id: (cid, s) for cid, ci in inputs.items() for s in ci.subscriptions
    }
    for part in id_chunks(session, sorted(inputs)):
        rows = session.execute(
            select(
                line.subscription_id,
                line.source_id,
                line.period_start,
                func.sum(line.amount),
            )
            .join(
                receivable,
                and_(
                    receivable.tenant_id == line.tenant_id,
                    receivable.id == line.receivable_id,
                ),
            )
            .where(
                in_values(session, line.contract_id, part),
                line.note.in_([LineNote.IN_ADVANCE.value, LineNote.ADVANCE_SETTLEMENT.value]),
                line.period_end >= earliest,
                receivable.billing_month.not_in(sorted(current)),
                receivable.status != VOID,
            )
            .group_by(line.subscription_id, line.source_id, line.period_start, line.period_end)
        )
        for subscription_id, fee_id, start, amount in rows:
            found = subscriptions.get(subscription_id or "")
            if subscription_id is None or found is None or fee_id is None or start is None:
                continue
            contract_id, subscription = found
            contract = inputs[contract_id]
            covered = _covered(subscription, fee_id, contract, start)
            key = (contract_id, subscription_id, fee_id, covered)
            sums[key] += from_minor(int(amount), contract.policy.currency)
    result: dict[str, list[AdvanceBilling]] = defaultdict(list)
    for (contract_id, subscription_id, fee_id, covered), billed in sorted(
        sums.items(), key=lambda item: (item[0][0], item[0][1], item[0][2], item[0][3].start)
    ):
        result[contract_id].append(AdvanceBilling(subscription_id, fee_id, covered, billed))
    return {cid: tuple(billings) for cid, billings in result.items()}


# --- usage that arrived for an already-rated period (RATING.md §8) ----------------------


def _item_of_source(subscription: SubscriptionInput) -> dict[str, str]:
    """A stored usage line's `source_id` (tariff version, `override:<charge>`, or the
    charge of a late-usage line) → its usage item, from the subscription's plans."""
    items: dict[str, str] = {}
    for assignment in subscription.plans:
        for charge in assignment.plan.usage_charges:
            items[charge.charge_id] = charge.usage_item_id
            items[f"override:{charge.charge_id}"] = charge.usage_item_id
            for version in charge.tariffs:
                items.setdefault(version.tariff_id, charge.usage_item_id)
    return items


_Candidate = tuple[str, str, str]
"""(subscription, usage item, earlier billing month) whose usage may have changed."""


def load_earlier_usage(
    session: Session,
    inputs: Mapping[str, ContractInput],
    months: Mapping[str, BillingMonth],
) -> dict[str, tuple[EarlierPeriodUsage, ...]]:
    """Contract id → the (subscription, usage item, earlier billing month) whose usage
    changed after that month's receivable was issued, with all that period's usage and
    what was billed for it so far (RATING.md §8)."""
    inputs = {cid: ci for cid, ci in inputs.items() if cid in months}
    sub_contract = {s.subscription_id: cid for cid, ci in inputs.items() for s in ci.subscriptions}
    candidates = _late_candidates(session, inputs, months, sub_contract)
    if not candidates:
        return {}
    billed = _billed_so_far(session, inputs, months, sub_contract, candidates)
    result: dict[str, list[EarlierPeriodUsage]] = defaultdict(list)
    by_month: dict[str, set[str]] = defaultdict(set)
    for subscription_id, _, month in candidates:
        by_month[month].add(subscription_id)
    for month, subscription_set in sorted(by_month.items()):
        some = next(iter(subscription_set))
        period = billing_period(inputs[sub_contract[some]].closing_day, BillingMonth.parse(month))
        usage: dict[str, list[UsageEntry]] = load_usage(
            session, sorted(subscription_set), period.start, period.end
        )
        for subscription_id, item_id, candidate_month in sorted(candidates):
            if candidate_month != month:
                continue
            amount, quantity = billed.get(
                (subscription_id, item_id, month), (Decimal(0), Decimal(0))
            )
            result[sub_contract[subscription_id]].append(
                EarlierPeriodUsage(
                    billing_month=BillingMonth.parse(month),
                    subscription_id=subscription_id,
                    usage_item_id=item_id,
                    entries=tuple(
                        e for e in usage.get(subscription_id, ()) if e.usage_item_id == item_id
                    ),
                    billed_amount=amount,
                    billed_quantity=quantity,
                )
            )
    return {cid: tuple(items) for cid, items in result.items()}


def _late_candidates(
    session: Session,
    inputs: Mapping[str, ContractInput],
    months: Mapping[str, BillingMonth],
    sub_contract: Mapping[str, str],
) -> set[_Candidate]:
    """Which usage changed after its period was rated, in two queries per id chunk.

    Usage records are append-only once a period is issued (deletion is refused,
    registration still accepted: RATING.md §8), so a period's usage changed exactly when
    it has records created after its receivable was rated — at the latest when the
    receivable was first written (`created_at`; `updated_at` also moves on finalising, so
    records registered between the last rating and the finalising would be missed). Only
    issued receivables of the previous `LATE_USAGE_MONTHS` months count: a draft is simply
    recomputed by its own month's next closing run, and is where such usage belongs."""
    if not inputs:
        return set()
    earlier_months = sorted(
        {str(months[cid].shift(-n)) for cid in inputs for n in range(1, LATE_USAGE_MONTHS + 1)}
    )
    rated_at: dict[tuple[str, str], dt.datetime] = {}
    for part in id_chunks(session, sorted(inputs)):
        for contract_id, month, created_at in session.execute(
            select(Receivable.contract_id, Receivable.billing_month, Receivable.created_at).where(
                in_values(session, Receivable.contract_id, part),
                Receivable.billing_month.in_(earlier_months),
                Receivable.status.not_in([DRAFT, VOID]),
            )
        ):
            rated_at[(contract_id, month)] = created_at
    if not rated_at:
        return set()
    periods: dict[str, list[tuple[str, Period]]] = defaultdict(list)
    for cid, month in rated_at:
        period = billing_period(inputs[cid].closing_day, BillingMonth.parse(month))
        periods[cid].append((month, period))
    first_day = min(p.start for ps in periods.values() for _, p in ps)
    last_day = max(p.end for ps in periods.values() for _, p in ps)
    subscription_ids = sorted(s for s, cid in sub_contract.items() if cid in periods)
    candidates: set[_Candidate] = set()
    r = UsageRecord
    for part in id_chunks(session, subscription_ids):
        for subscription_id, item_id, day, newest in session.execute(
            select(r.subscription_id, r.usage_item_id, r.used_on, func.max(r.created_at))
            .where(
                in_values(session, r.subscription_id, part),
                r.used_on >= first_day,
                r.used_on <= last_day,
                r.created_at > min(rated_at.values()) - LATE_RECORD_MARGIN,
            )
            .group_by(r.subscription_id, r.usage_item_id, r.used_on)
        ):
            contract_id = sub_contract[subscription_id]
            for month, period in periods[contract_id]:
                late = newest > rated_at[(contract_id, month)] - LATE_RECORD_MARGIN
                if late and period.contains(day):
                    candidates.add((subscription_id, item_id, month))
    return candidates


def _billed_so_far(
    session: Session,
    inputs: Mapping[str, ContractInput],
    months: Mapping[str, BillingMonth],
    sub_contract: Mapping[str, str],
    candidates: set[_Candidate],
) -> dict[_Candidate, tuple[Decimal, Decimal]]:
    """(amount, quantity) billed for each candidate so far: its month's own usage lines and
    the late-usage lines for that month on later receivables — never the current month's
    (being recomputed) nor a void one's. Late lines of a month are on later receivables, so
    every receivable from the earliest candidate month on is found through (contract,
    billing month), then its lines by key: plain index lookups, whatever the planner
    believes of a freshly written table."""
    subscriptions = {s.subscription_id: s for ci in inputs.values() for s in ci.subscriptions}
    item_maps = {sid: _item_of_source(subscriptions[sid]) for sid, _, _ in candidates}
    candidate_months = sorted({month for _, _, month in candidates})
    current = sorted({str(m) for m in months.values()})
    months_of: dict[str, str] = {}
    for part in id_chunks(session, sorted({sub_contract[sid] for sid in item_maps})):
        for receivable_id, billing_month in session.execute(
            select(Receivable.id, Receivable.billing_month).where(
                in_values(session, Receivable.contract_id, part),
                Receivable.billing_month >= candidate_months[0],
                Receivable.billing_month.not_in(current),
                Receivable.status != VOID,
            )
        ):
            months_of[receivable_id] = billing_month
    billed: dict[_Candidate, tuple[Decimal, Decimal]] = {}
    line = ReceivableLine
    for part in id_chunks(session, sorted(months_of)):
        for receivable_id, sid, source_id, original, note, amount, quantity in session.execute(
            select(
                line.receivable_id,
                line.subscription_id,
                line.source_id,
                line.original_billing_month,
                line.note,
                line.amount,
                line.quantity,
            ).where(
                in_values(session, line.receivable_id, part),
                line.kind == LineKind.USAGE.value,
            )
        ):
            of_month = original if note == LineNote.LATE_USAGE.value else months_of[receivable_id]
            if sid is None or sid not in item_maps or of_month is None:
                continue
            key = (sid, item_maps[sid].get(source_id or "", ""), of_month)
            if key not in candidates:
                continue
            currency = inputs[sub_contract[sid]].policy.currency
            amount_so_far, quantity_so_far = billed.get(key, (Decimal(0), Decimal(0)))
            billed[key] = (
                amount_so_far + from_minor(amount, currency),
                quantity_so_far + Decimal(quantity),
            )
    return billed
