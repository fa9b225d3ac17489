"""What earlier receivables billed, for the corrections the rating core makes on the next
one: settlements of recurring fees billed in advance (RATING.md §3) and usage that arrived
for an already-rated period (§8). Each loader reads a whole chunk with a fixed number of
set-based queries, never one per contract.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from kakin.billing.models import Receivable, ReceivableLine, TopUp
from kakin.billing.repository import TOP_UP_COLUMNS, rating_top_up
from kakin.kit.bulk import id_chunks, in_values
from kakin.kit.money import from_minor
from kakin.rating.lines import LineKind, LineNote
from kakin.rating.model import (
    AdvanceBilling,
    BillingTiming,
    ContractInput,
    EarlierPeriodUsage,
    SubscriptionInput,
)
from kakin.rating.model import TopUp as RatingTopUp
from kakin.rating.periods import (
    BillingMonth,
    Period,
    billing_month_of,
    billing_period,
    interval_months,
    interval_period,
)
from kakin.rating.usage import UsageEntry
from kakin.usage.models import UsageRecord
from kakin.usage.repository import load_usage

ADVANCE_LOOKBACK_MONTHS: Final = 12
"""Advance-billed periods ending more than this many months before the current period
starts are settled already (a cancellation is dated when it is entered, never that far
back into issued periods)."""

LATE_RECORD_MARGIN: Final = dt.timedelta(hours=1)
"""A usage record counts as perhaps arrived after its period was rated when it was created
later than this before the period's rating: an import's records carry the time the import
started, and a long import may commit after a closing already read the period's usage.
Too early only costs a rating again that finds nothing to bill: the late line is the
period rated again with everything it was rated with (its top-ups included) minus what
was billed, so records the closing did rate give none."""

_ONE_DAY: Final = dt.timedelta(days=1)

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
    changed after that month's receivable was issued, with all that period's usage, its
    top-ups and what was billed for it so far (RATING.md §8: "rated again with every record
    known now (its top-ups and allowance included)")."""
    inputs = {cid: ci for cid, ci in inputs.items() if cid in months}
    sub_contract = {s.subscription_id: cid for cid, ci in inputs.items() for s in ci.subscriptions}
    candidates = _late_candidates(session, inputs, months, sub_contract)
    if not candidates:
        return {}
    billed = _billed_so_far(session, inputs, months, sub_contract, candidates)
    # One usage read per earlier period (a period is a closing day's billing month).
    by_period: dict[Period, set[str]] = defaultdict(set)
    period_of: dict[_Candidate, Period] = {}
    for candidate in candidates:
        subscription_id, _, month = candidate
        closing_day = inputs[sub_contract[subscription_id]].closing_day
        period = billing_period(closing_day, BillingMonth.parse(month))
        period_of[candidate] = period
        by_period[period].add(subscription_id)
    top_ups = _top_ups_of(session, candidates, period_of)
    result: dict[str, list[EarlierPeriodUsage]] = defaultdict(list)
    for period, subscription_set in sorted(by_period.items(), key=lambda item: item[0].start):
        usage: dict[str, list[UsageEntry]] = load_usage(
            session, sorted(subscription_set), period.start, period.end
        )
        for candidate in sorted(c for c in candidates if period_of[c] == period):
            subscription_id, item_id, month = candidate
            amount, quantity = billed.get(candidate, (Decimal(0), Decimal(0)))
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
                    top_ups=top_ups.get(candidate, ()),
                )
            )
    return {cid: tuple(items) for cid, items in result.items()}


def _top_ups_of(
    session: Session, candidates: set[_Candidate], period_of: Mapping[_Candidate, Period]
) -> dict[_Candidate, tuple[RatingTopUp, ...]]:
    """RATING.md §4: "Top-ups bought during a period … raise that period's allowance" —
    the top-ups of each candidate's period, whichever receivable billed them."""
    first = min(p.start for p in period_of.values())
    last = max(p.end for p in period_of.values())
    subscription_ids = sorted({sid for sid, _, _ in candidates})
    by_item: dict[tuple[str, str], list[_Candidate]] = defaultdict(list)
    for candidate in period_of:
        by_item[candidate[0], candidate[1]].append(candidate)
    found: dict[_Candidate, list[RatingTopUp]] = defaultdict(list)
    t = TopUp
    for part in id_chunks(session, subscription_ids):
        for row in session.execute(
            select(*TOP_UP_COLUMNS).where(
                in_values(session, t.subscription_id, part),
                t.bought_on >= first,
                t.bought_on <= last,
            )
        ):
            for candidate in by_item.get((row.subscription_id, row.usage_item_id), ()):
                if period_of[candidate].contains(row.bought_on):
                    found[candidate].append(rating_top_up(row))
    return {c: tuple(sorted(ts, key=lambda t: t.top_up_id)) for c, ts in found.items()}


def _checked_since(
    session: Session, inputs: Mapping[str, ContractInput], current: Sequence[str]
) -> dict[str, dt.datetime]:
    """Contract id → the time from which its records may still be unbilled late usage.

    The closing that first wrote a contract's latest earlier receivable (L) rated every
    period issued before it with all the records then known, L's own period included; so
    only records created since then can be late — except for periods issued on or after
    the day L was written, which that closing may not have seen issued: for them, records
    created since their own rating count. Three queries per id chunk on the receivables'
    keys, whatever the contract's age."""
    latest: dict[str, str] = {}
    for part in id_chunks(session, sorted(inputs)):
        for contract_id, month in session.execute(
            select(Receivable.contract_id, func.max(Receivable.billing_month))
            .where(
                in_values(session, Receivable.contract_id, part),
                Receivable.billing_month < min(current),
                Receivable.status != VOID,
            )
            .group_by(Receivable.contract_id)
        ):
            latest[contract_id] = month
    if not latest:
        return {}
    since: dict[str, dt.datetime] = {}
    for part in id_chunks(session, sorted(latest)):
        for contract_id, month, created_at in session.execute(
            select(Receivable.contract_id, Receivable.billing_month, Receivable.created_at).where(
                in_values(session, Receivable.contract_id, part),
                Receivable.billing_month.in_(sorted(set(latest.values()))),
            )
        ):
            if latest[contract_id] == month:
                since[contract_id] = created_at
    # `issued_on` is a local date: a day's slack on either side of UTC.
    earliest_day = min(since.values()).date() - _ONE_DAY
    for part in id_chunks(session, sorted(since)):
        for contract_id, created_at, issued_on in session.execute(
            select(Receivable.contract_id, Receivable.created_at, Receivable.issued_on).where(
                in_values(session, Receivable.contract_id, part),
                Receivable.issued_on >= earliest_day,
                Receivable.billing_month < min(current),
                Receivable.status.not_in([DRAFT, VOID]),
            )
        ):
            if issued_on is not None and issued_on >= since[contract_id].date() - _ONE_DAY:
                since[contract_id] = min(since[contract_id], created_at)
    return since


def _late_candidates(
    session: Session,
    inputs: Mapping[str, ContractInput],
    months: Mapping[str, BillingMonth],
    sub_contract: Mapping[str, str],
) -> set[_Candidate]:
    """Which usage of issued periods, of any age, changed after the period was rated.

    Usage records are append-only once a period is issued (deletion is refused,
    registration still accepted: RATING.md §8), so a period's usage changed exactly when
    it has records created after its receivable was rated — at the latest when the
    receivable was first written (`created_at`; `updated_at` also moves on finalising, so
    records registered between the last rating and the finalising would be missed). Only
    issued receivables count: a draft is simply recomputed by its own month's next closing
    run, and is where such usage belongs.

    Set-based and cheap whatever the history: the records looked at are those that
    arrived since the chunk's contracts' last closing (`_checked_since`) dated before the
    current period, one range of the index `ix_usage_records_arrival` per partition
    (3–10 ms a chunk of 1,000 subscriptions over 13 months of 1.3M records on PostgreSQL,
    where reading two months by subscription took 155 ms); their periods' receivables
    are then read by key. A candidate is only a period to rate again: the late
    line is what that rating gives minus what was billed, so a candidate without late
    usage gives no line."""
    if not inputs:
        return set()
    current = sorted({str(m) for m in months.values()})
    since = _checked_since(session, inputs, current)
    if not since:
        return set()
    current_start = min(billing_period(inputs[cid].closing_day, months[cid]).start for cid in since)
    # The contracts of a chunk were closed together, so their times fall on a day or two;
    # one whose last closing is older (a failed closing, a late finalising) gets a query
    # of its own rather than widening the range read for all.
    by_day: dict[dt.date, set[str]] = defaultdict(set)
    for contract_id, at in since.items():
        by_day[at.date()].add(contract_id)
    newest_of: dict[tuple[str, str, str], dt.datetime] = {}
    r = UsageRecord
    for contract_ids in by_day.values():
        lower = min(since[cid] for cid in contract_ids) - LATE_RECORD_MARGIN
        subscription_ids = sorted(s for s, cid in sub_contract.items() if cid in contract_ids)
        for part in id_chunks(session, subscription_ids):
            for subscription_id, item_id, day, newest in session.execute(
                select(r.subscription_id, r.usage_item_id, r.used_on, func.max(r.created_at))
                .where(
                    in_values(session, r.subscription_id, part),
                    r.created_at > lower,
                    r.used_on < current_start,
                )
                .group_by(r.subscription_id, r.usage_item_id, r.used_on)
            ):
                contract_id = sub_contract[subscription_id]
                if newest <= since[contract_id] - LATE_RECORD_MARGIN:
                    continue
                month = str(billing_month_of(inputs[contract_id].closing_day, day))
                key = (subscription_id, item_id, month)
                if key not in newest_of or newest > newest_of[key]:
                    newest_of[key] = newest
    if not newest_of:
        return set()
    rated_at: dict[tuple[str, str], dt.datetime] = {}
    wanted = {(sub_contract[sid], month) for sid, _, month in newest_of}
    for part in id_chunks(session, sorted({cid for cid, _ in wanted})):
        for contract_id, month, created_at in session.execute(
            select(Receivable.contract_id, Receivable.billing_month, Receivable.created_at).where(
                in_values(session, Receivable.contract_id, part),
                Receivable.billing_month.in_(sorted({m for _, m in wanted})),
                Receivable.status.not_in([DRAFT, VOID]),
            )
        ):
            if (contract_id, month) in wanted:
                rated_at[(contract_id, month)] = created_at
    return {
        key
        for key, newest in newest_of.items()
        if (rated := rated_at.get((sub_contract[key[0]], key[2]))) is not None
        and newest > rated - LATE_RECORD_MARGIN
    }


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
