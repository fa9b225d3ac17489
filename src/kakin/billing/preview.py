"""Looking ahead and aside: the running charge of an open period, and charge simulation.

Both rate with the closing's own pieces and store nothing:

- **Current usage** (BRIEF "kakin … also shows the running charge for the current period
  on request"; RATING.md §4 "What remains of an allowance can be read at any time"). The
  contract's `ContractInput` is loaded by the closing's loader for the billing month that
  contains `on`, its usage is cut at `on`, and `rate_period` rates the whole period. So the
  answer is what this period's receivable would say for the subscription if the period
  closed with the usage recorded up to `on`: recurring and one-time fees as the closing
  will charge them for the period (they are known in advance: the fee of the subscription's
  active days in the period, not a fee "so far"), usage and its tariffs up to `on`, the
  subscription's own discounts and adjustments. Contract-level discounts and adjustments
  belong to no subscription and are left out; the tax shown is the tax of these lines
  alone (RATING.md §7 rounds once per rate per receivable, so the receivable's tax may
  differ by a minor unit when other subscriptions share it).
- **Simulation** (料金シミュレーション, BRIEF "what would this customer pay on another
  plan"). `replace`: the contract's real month, with some subscriptions on another plan
  for the whole period (the plan's versions as they apply to each day; negotiated prices
  of the old plan do not carry over), against the same month rated as it stands.
  `hypothetical`: one subscription of a plan (stored or given as components) for a
  billing month, with the given usage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from kakin.billing.errors import NotRatable
from kakin.billing.loader import ContractBatch, load_contract_batch
from kakin.billing.preview_schemas import (
    CurrentUsageOut,
    Difference,
    HypotheticalSubscription,
    PlanReplacement,
    ReceivableFigures,
    SimulationIn,
    SimulationOut,
    UsageSoFar,
)
from kakin.billing.receivable_rows import (
    Row,
    line_rows,
    receivable_rows,
    totals_row,
    unstorable_amount,
)
from kakin.catalog.errors import MasterNotFound
from kakin.catalog.models import PricePlan as PricePlanRow
from kakin.catalog.models import UsageItem
from kakin.catalog.plan_schemas import PlanComponents
from kakin.catalog.price_plans import check_components
from kakin.catalog.rating_inputs import PlanVersion, RatingPlans
from kakin.catalog.repository import (
    find_by_reference,
    find_many_by_reference,
    rating_plans,
    rating_plans_of_versions,
)
from kakin.catalog.service import tax_rates
from kakin.contracts.service import get_contract
from kakin.contracts.subscriptions import get_subscription
from kakin.kit.bounds import MAX_STORED_MINOR, AmountTooLarge, in_currency, storable_minor
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.money import RoundingMode, from_minor
from kakin.rating.charges import usage_items, usage_key
from kakin.rating.engine import rate_period, remaining_allowance_on
from kakin.rating.lines import LineKind, LineNote, ReceivableDraft, ReceivableLine
from kakin.rating.model import (
    ContractInput,
    PlanAssignment,
    QuantityChange,
    RatingPolicy,
    SubscriptionInput,
    UsageEntry,
)
from kakin.rating.periods import (
    BillingMonth,
    ClosingDay,
    Period,
    billing_month_of,
    billing_period,
    closing_date,
    parse_closing_day,
)
from kakin.rating.tax import TaxMode, receivable_totals
from kakin.rating.timeline import SubscriptionTimeline
from kakin.rating.versions import version_on
from kakin.tenancy.models import Tenant

ZERO: Final = Decimal(0)
HYPOTHETICAL: Final = "hypothetical"
"""The id of the contract, subscription and plan of a hypothetical simulation."""

# --- shared helpers ------------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> Decimal:
    """An amount of the answer as it would be stored (rounded to the minor unit), in the
    major unit: the API's one money convention (kit.bounds.MoneyOut); a 422 when it could
    not be stored."""
    return from_minor(storable_minor(amount, currency), currency)


def _figures(
    receivable: Row, lines: Sequence[ReceivableLine], rows: list[Row], currency: str
) -> Row:
    """The rows the closing would store, as the fields of an answer: the lines with their
    usage items (not stored: a usage line's source is its tariff); a 422 when the rows
    could not be stored."""
    if unstorable_amount(receivable, rows) is not None:
        raise AmountTooLarge(
            [("/body", f"an amount of {currency} exceeds {MAX_STORED_MINOR} minor units")]
        )
    return receivable | {
        "lines": [
            row | {"usage_item_id": line.usage_item_id}
            for line, row in zip(lines, rows, strict=True)
        ]
    }


def _receivable_figures(draft: ReceivableDraft) -> ReceivableFigures:
    """A draft as the closing would write it (same rows, same labels)."""
    receivable, rows = receivable_rows(draft)
    figures = _figures(receivable, draft.lines, rows, draft.currency)
    if draft.contract_id == HYPOTHETICAL:
        figures["contract_id"] = None
    return ReceivableFigures.model_validate(figures, context=in_currency(draft.currency))


def _rate(contract: ContractInput, month: BillingMonth) -> ReceivableDraft:
    try:
        return rate_period(contract, month)
    except (ArithmeticError, ValueError, KeyError, TypeError, LookupError) as exc:
        raise NotRatable(f"{type(exc).__name__}: {exc}") from None


def _load(
    session: Session, contract_id: str, closing_day: ClosingDay, month: BillingMonth
) -> tuple[ContractBatch, ContractInput]:
    """The closing's own rating input of one contract for `month`."""
    batch = load_contract_batch(session, closing_date(closing_day, month), [contract_id])
    if contract_id in batch.errors:
        raise NotRatable(batch.errors[contract_id])
    return batch, batch.inputs[contract_id]


def _convertible(plans: RatingPlans) -> RatingPlans:
    """The plans, or a 422 naming one that cannot be rated with (its stored components
    cannot be converted)."""
    if plans.broken:
        raise NotRatable(next(iter(plans.broken.values())))
    return plans


def _policy(tenant: Tenant, currency: str) -> RatingPolicy:
    return RatingPolicy(
        currency=currency,
        line_rounding=RoundingMode(tenant.line_rounding),
        tax_rounding=RoundingMode(tenant.tax_rounding),
        tax_mode=TaxMode(tenant.tax_mode),
    )


# --- current usage -------------------------------------------------------------------------


def current_usage(session: Session, subscription_id: str, on: dt.date) -> CurrentUsageOut:
    """The open period's running charge of one subscription (see the module docstring)."""
    subscription = get_subscription(session, subscription_id)
    contract = get_contract(session, subscription.contract_id)
    closing_day = parse_closing_day(contract.closing_day)
    month = billing_month_of(closing_day, on)
    period = billing_period(closing_day, month)
    batch, loaded = _load(session, contract.id, closing_day, month)
    # RATING.md §4: usage belongs to the period by its local date; cut it at `on`.
    so_far = dataclasses.replace(loaded, usage=tuple(e for e in loaded.usage if e.day <= on))
    draft = _rate(so_far, month)
    lines = [line for line in draft.lines if line.subscription_id == subscription.id]
    policy = so_far.policy
    currency = policy.currency
    # RATING.md §7: tax once per rate over these lines (the subscription's share).
    totals = receivable_totals(
        [(line.tax_category, line.tax_rate, line.amount) for line in lines],
        policy.tax_mode,
        currency,
        policy.tax_rounding,
    )
    figures = _figures(totals_row(totals, currency), lines, line_rows(lines, currency), currency)
    return CurrentUsageOut.model_validate(
        figures
        | {
            "subscription_id": subscription.id,
            "contract_id": contract.id,
            "on": on,
            "billing_month": str(month),
            "period_start": period.start,
            "period_end": period.end,
            "closing_date": batch.closing_date,
            "currency": currency,
            "tax_mode": policy.tax_mode.value,
            "usage": _usage_so_far(session, so_far, subscription.id, period, on, lines),
        },
        context=in_currency(currency),
    )


def _usage_so_far(
    session: Session,
    contract: ContractInput,
    subscription_id: str,
    period: Period,
    on: dt.date,
    lines: Sequence[ReceivableLine],
) -> list[UsageSoFar]:
    subscription = next(
        (s for s in contract.subscriptions if s.subscription_id == subscription_id), None
    )
    if subscription is None:
        return []
    timeline = SubscriptionTimeline(subscription)
    item_ids = usage_items(timeline)
    if not item_ids:
        return []
    items = {i.id: i for i in session.scalars(select(UsageItem).where(UsageItem.id.in_(item_ids)))}
    currency = contract.policy.currency
    result = []
    for item_id in item_ids:
        raw = sum(
            (
                e.raw
                for e in contract.usage
                if e.subscription_id == subscription_id
                and e.usage_item_id == item_id
                and period.start <= e.day <= on
            ),
            ZERO,
        )
        item_lines = [
            line
            for line in lines
            if line.kind is LineKind.USAGE
            and line.usage_item_id == item_id
            and line.note is not LineNote.LATE_USAGE
        ]
        key = usage_key(timeline, item_id, on) if timeline.life.contains(on) else None
        item = items.get(item_id)
        result.append(
            UsageSoFar(
                usage_item_id=item_id,
                code=item.code if item else None,
                name=item.name if item else None,
                unit_name=item.unit_name if item else None,
                raw_quantity=raw,
                rated_quantity=sum((line.quantity for line in item_lines), ZERO),
                allowance=key.charge.allowance if key else None,
                remaining_allowance=remaining_allowance_on(contract, subscription_id, item_id, on),
                amount=_money(sum((line.amount for line in item_lines), ZERO), currency),
            )
        )
    return result


# --- simulation ----------------------------------------------------------------------------


def simulate(session: Session, tenant: Tenant, body: SimulationIn) -> SimulationOut:
    """料金シミュレーション: the would-be receivable; writes nothing (the caller rolls back
    whatever lazily created defaults the reads may have added)."""
    month = BillingMonth.parse(body.billing_month)
    replacing = body.contract_id is not None or body.replace is not None
    if replacing and body.hypothetical is not None:
        raise InvalidRequest(
            [
                (
                    pointer("body", "hypothetical"),
                    "give either contract_id and replace, or hypothetical",
                )
            ]
        )
    if body.hypothetical is not None:
        return _simulate_hypothetical(session, tenant, month, body.hypothetical)
    problems: list[tuple[str, str]] = []
    if body.contract_id is None:
        problems.append((pointer("body", "contract_id"), "is required (or give hypothetical)"))
    if body.replace is None:
        problems.append((pointer("body", "replace"), "is required with contract_id"))
    if problems or body.contract_id is None or body.replace is None:
        raise InvalidRequest(problems)
    return _simulate_replacement(session, month, body.contract_id, body.replace)


def _first_active_day(subscription: SubscriptionInput, period: Period) -> dt.date | None:
    life = Period(subscription.start_date, subscription.end_date or dt.date.max)
    active = life.intersect(period)
    return active.start if active else None


def _simulate_replacement(
    session: Session, month: BillingMonth, contract_id: str, replace: Sequence[PlanReplacement]
) -> SimulationOut:
    contract = get_contract(session, contract_id)
    closing_day = parse_closing_day(contract.closing_day)
    period = billing_period(closing_day, month)
    problems: list[tuple[str, str]] = []
    plan_rows: dict[str, PricePlanRow] = {}
    for index, replacement in enumerate(replace):
        plan = find_by_reference(session, PricePlanRow, replacement.price_plan_id)
        if plan is None:
            raise MasterNotFound("price plan", replacement.price_plan_id)
        if plan.currency != contract.currency:
            problems.append(
                (
                    pointer("body", "replace", index, "price_plan_id"),
                    f"is priced in {plan.currency}, the contract in {contract.currency}",
                )
            )
        plan_rows[replacement.price_plan_id] = plan
    _, loaded = _load(session, contract.id, closing_day, month)
    subscriptions = {s.subscription_id: s for s in loaded.subscriptions}
    seen: set[str] = set()
    for index, replacement in enumerate(replace):
        at = pointer("body", "replace", index, "subscription_id")
        if replacement.subscription_id in seen:
            problems.append((at, "is replaced twice"))
        seen.add(replacement.subscription_id)
        if replacement.subscription_id not in subscriptions:
            get_subscription(session, replacement.subscription_id)  # 404 when unknown
            problems.append((at, f"is not a subscription of contract {contract.id}"))
    if problems:
        raise InvalidRequest(problems)

    plan_ids = sorted({row.id for row in plan_rows.values()})
    plans = _convertible(rating_plans(session, plan_ids))
    changed: dict[str, SubscriptionInput] = {}
    for index, replacement in enumerate(replace):
        row = plan_rows[replacement.price_plan_id]
        subscription = subscriptions[replacement.subscription_id]
        versions = plans.versions.get(row.id, [])
        first_day = _first_active_day(subscription, period)
        if first_day is not None and version_on(versions, first_day) is None:
            problems.append(
                (
                    pointer("body", "replace", index, "price_plan_id"),
                    f"has no version in force on {first_day.isoformat()}",
                )
            )
            continue
        # For the whole period: the new plan's versions as they apply to each day; the old
        # plan's negotiated prices (相対価格) were agreed for it and do not carry over.
        changed[subscription.subscription_id] = dataclasses.replace(
            subscription,
            service_id=row.service_id,
            plans=tuple(versions),
            overrides=(),
        )
    if problems:
        raise InvalidRequest(problems)
    simulated_input = dataclasses.replace(
        loaded,
        subscriptions=tuple(changed.get(s.subscription_id, s) for s in loaded.subscriptions),
    )
    current = _rate(loaded, month)
    simulated = _rate(simulated_input, month)
    current_out = _receivable_figures(current)
    simulated_out = _receivable_figures(simulated)
    return SimulationOut(
        kind="replace",
        billing_month=str(month),
        simulated=simulated_out,
        current=current_out,
        difference=Difference(
            subtotal=simulated_out.subtotal - current_out.subtotal,
            tax_total=simulated_out.tax_total - current_out.tax_total,
            total=simulated_out.total - current_out.total,
        ),
    )


def _hypothetical_plan(
    session: Session, data: HypotheticalSubscription, currency: str, start: dt.date
) -> tuple[list[PlanAssignment], str, str]:
    """(plan versions from their dates, service id, currency) of the hypothetical plan."""
    at_plan = ("body", "hypothetical", "plan")
    if (data.plan is None) == (data.price_plan_id is None):
        raise InvalidRequest([(pointer(*at_plan), "give either plan or price_plan_id")])
    if data.price_plan_id is not None:
        row = find_by_reference(session, PricePlanRow, data.price_plan_id)
        if row is None:
            raise MasterNotFound("price plan", data.price_plan_id)
        plans = _convertible(rating_plans(session, [row.id]))
        return plans.versions.get(row.id, []), row.service_id, row.currency
    components_in = data.plan or PlanComponents()
    problems, components = check_components(session, components_in, currency)
    if problems:
        # The catalog names fields from the body of a price plan; here it sits deeper.
        prefix = pointer(*at_plan)
        raise InvalidRequest([(prefix + p.removeprefix("/body"), reason) for p, reason in problems])
    # A version that exists only in memory, never stored.
    version = PlanVersion(HYPOTHETICAL, HYPOTHETICAL, start, components)
    plans = _convertible(rating_plans_of_versions(session, {HYPOTHETICAL: [version]}, {}))
    return plans.versions[HYPOTHETICAL], "", currency


def _hypothetical_usage(
    session: Session,
    data: HypotheticalSubscription,
    plans: Sequence[PlanAssignment],
    day: dt.date,
) -> tuple[UsageEntry, ...]:
    """The given usage as entries dated on `day` (the period's last day: the tariffs in
    force at its end)."""
    charged = {c.usage_item_id for a in plans for c in a.plan.usage_charges}
    found = find_many_by_reference(session, UsageItem, [u.usage_item for u in data.usage])
    problems: list[tuple[str, str]] = []
    entries = []
    for index, usage in enumerate(data.usage):
        at = pointer("body", "hypothetical", "usage", index, "usage_item")
        item = found.get(usage.usage_item)
        if item is None:
            problems.append((at, f"no usage item {usage.usage_item}"))
        elif item.id not in charged:
            problems.append((at, "is not charged by the plan"))
        else:
            entries.append(UsageEntry(HYPOTHETICAL, item.id, day, usage.quantity))
    if problems:
        raise InvalidRequest(problems)
    return tuple(entries)


def _simulate_hypothetical(
    session: Session, tenant: Tenant, month: BillingMonth, data: HypotheticalSubscription
) -> SimulationOut:
    closing_day = parse_closing_day(data.closing_day or tenant.default_closing_day)
    period = billing_period(closing_day, month)
    start = data.start_date or period.start
    if start > period.end:
        raise InvalidRequest(
            [
                (
                    pointer("body", "hypothetical", "start_date"),
                    f"is after the billing period ({period.start}…{period.end})",
                )
            ]
        )
    plans, service_id, currency = _hypothetical_plan(session, data, tenant.currency, start)
    first_day = max(start, period.start)
    if version_on(plans, first_day) is None:
        raise InvalidRequest(
            [
                (
                    pointer("body", "hypothetical", "price_plan_id"),
                    f"has no version in force on {first_day.isoformat()}",
                )
            ]
        )
    subscription = SubscriptionInput(
        subscription_id=HYPOTHETICAL,
        service_id=service_id,
        start_date=start,
        plans=tuple(plans),
        quantities=(QuantityChange(start, Decimal(data.quantity)),),
    )
    contract = ContractInput(
        contract_id=HYPOTHETICAL,
        closing_day=closing_day,
        start_date=start,
        subscriptions=(subscription,),
        policy=_policy(tenant, currency),
        usage=_hypothetical_usage(session, data, plans, period.end),
        tax_rates=tax_rates(session),
    )
    draft = _rate(contract, month)
    return SimulationOut(
        kind="hypothetical",
        billing_month=str(month),
        simulated=_receivable_figures(draft),
    )
