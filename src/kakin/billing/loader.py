"""Everything one chunk of a closing needs, as the rating core's plain inputs
(`kakin.rating.ContractInput`).

Each source domain reads its own rows for the whole chunk, set-based, in its repository
(`contracts.repository`, `catalog.repository`, `billing.repository`, `usage.repository`,
`billing.history`); this module only assembles them per contract. A contract that cannot
be assembled fails alone, its reason recorded.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from kakin.billing.history import load_advance_billings, load_earlier_usage
from kakin.billing.repository import MonthReceivable, Unbilled, month_receivables, unbilled
from kakin.catalog.rating_inputs import RatingPlans
from kakin.catalog.repository import discount_terms_of, rating_plans
from kakin.catalog.service import tax_rates
from kakin.contracts.repository import (
    ClosingContract,
    SubscriptionRow,
    closing_contracts,
    discounts_of,
    subscription_lives,
    subscriptions_of,
)
from kakin.kit.money import RoundingMode
from kakin.rating import discounts as rd
from kakin.rating.due_dates import PaymentTerms
from kakin.rating.events import Timeline
from kakin.rating.model import ContractInput, RatingPolicy
from kakin.rating.periods import BillingMonth, closing_on, parse_closing_day
from kakin.rating.tax import TaxMode, TaxRate
from kakin.rating.timeline import subscription_input
from kakin.rating.usage import UsageEntry
from kakin.tenancy.service import get_tenant
from kakin.usage.repository import load_usage

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class ContractFacts:
    """What the writer needs of a contract besides its rating input."""

    customer_id: str | None
    payment_method_kind: str | None


@dataclass
class ContractBatch:
    """One chunk's rating inputs, with what the writer needs besides: each contract's
    facts and its receivable of the month, if it has one already (`existing`)."""

    closing_date: dt.date
    inputs: dict[str, ContractInput] = field(default_factory=dict)
    months: dict[str, BillingMonth] = field(default_factory=dict)
    facts: dict[str, ContractFacts] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    existing: dict[str, MonthReceivable] = field(default_factory=dict)


@dataclass(frozen=True)
class _Sources:
    """What the chunk's contracts are rated from, as each domain's reader answered it."""

    policy: Callable[[str], RatingPolicy]
    tax_rates: tuple[TaxRate, ...]
    subscriptions: dict[str, list[SubscriptionRow]]
    timelines: dict[str, Timeline]
    plans: RatingPlans
    discounts: dict[str, list[rd.Discount]]
    usage: Mapping[str, Sequence[UsageEntry]]
    unbilled: Unbilled


def load_contract_batch(
    session: Session, closing_date: dt.date, contract_ids: Sequence[str]
) -> ContractBatch:
    """The rating inputs of `contract_ids` for the billing month closing on `closing_date`."""
    batch = ContractBatch(closing_date)
    closing = closing_on(closing_date)
    ids = list(contract_ids)
    contracts = closing_contracts(session, ids)
    subscriptions = subscriptions_of(session, ids)
    subscription_ids = [s.id for subs in subscriptions.values() for s in subs]
    timelines = subscription_lives(session, subscription_ids)
    plan_ids = sorted({plan_id for t in timelines.values() for plan_id in t.plan_ids})
    usage: Mapping[str, Sequence[UsageEntry]] = {}
    if closing is not None:
        batch.existing = month_receivables(session, ids, closing.billing_month)
        period = closing.period
        usage = load_usage(session, subscription_ids, period.start, period.end)
    sources = _Sources(
        policy=_tenant_policy(session),
        tax_rates=tax_rates(session),
        subscriptions=subscriptions,
        timelines=timelines,
        plans=rating_plans(session, plan_ids),
        discounts=_discounts(session, ids),
        usage=usage,
        unbilled=unbilled(
            session,
            ids,
            {contract_id: r.id for contract_id, r in batch.existing.items()},
            {c.id: c.currency for c in contracts},
        ),
    )
    for contract in contracts:
        try:
            if closing is None or contract.closing_day != str(closing.closing_day):
                raise ValueError(
                    f"closing day {contract.closing_day} does not close on {closing_date}"
                )
            batch.inputs[contract.id] = _contract_input(contract, sources)
            batch.months[contract.id] = closing.billing_month
            batch.facts[contract.id] = ContractFacts(
                contract.customer_id, contract.payment_method_kind
            )
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            batch.errors[contract.id] = f"{type(exc).__name__}: {exc}"
    _add_history(session, batch)
    return batch


def _contract_input(contract: ClosingContract, sources: _Sources) -> ContractInput:
    subs = sorted(sources.subscriptions.get(contract.id, []), key=lambda s: s.id)
    if sources.plans.broken:
        _refuse_broken_plans(subs, sources.timelines, sources.plans.broken)
    plans = sources.plans
    day = contract.payment_terms_day
    return ContractInput(
        contract_id=contract.id,
        closing_day=parse_closing_day(contract.closing_day),
        start_date=contract.start_date,
        subscriptions=tuple(
            subscription_input(
                s.id,
                plans.service_of.get(s.price_plan_id, ""),
                sources.timelines[s.id],
                plans.versions,
            )
            for s in subs
            if s.id in sources.timelines
        ),
        policy=sources.policy(contract.currency),
        usage=tuple(e for s in subs for e in sources.usage.get(s.id, ())),
        discounts=tuple(sources.discounts.get(contract.id, ())),
        adjustments=tuple(sources.unbilled.adjustments.get(contract.id, ())),
        one_time_charges=tuple(sources.unbilled.one_time_charges.get(contract.id, ())),
        top_ups=tuple(sources.unbilled.top_ups.get(contract.id, ())),
        payment_terms=PaymentTerms(
            contract.payment_terms_months, "eom" if day == "eom" else int(day)
        ),
        direct_debit=contract.payment_method_kind == "direct_debit",
        tax_rates=sources.tax_rates,
    )


def _tenant_policy(session: Session) -> Callable[[str], RatingPolicy]:
    """The tenant's rounding and tax mode in a contract's currency (one policy object per
    currency, shared by the chunk's contracts)."""
    tenant = get_tenant(session)
    line_rounding = RoundingMode(tenant.line_rounding)
    tax_rounding = RoundingMode(tenant.tax_rounding)
    tax_mode = TaxMode(tenant.tax_mode)

    @functools.cache
    def policy(currency: str) -> RatingPolicy:
        return RatingPolicy(currency, line_rounding, tax_rounding, tax_mode)

    return policy


def _discounts(session: Session, contract_ids: Sequence[str]) -> dict[str, list[rd.Discount]]:
    """Contract id → its discounts: the contracts' agreements with their tables' terms."""
    rows = discounts_of(session, contract_ids)
    terms = discount_terms_of(session, sorted({d.discount_table_id for d in rows}))
    discounts: dict[str, list[rd.Discount]] = defaultdict(list)
    for row in rows:
        discounts[row.contract_id].append(terms[row.discount_table_id].discount(row))
    return discounts


def _refuse_broken_plans(
    subs: Sequence[SubscriptionRow], timelines: Mapping[str, Timeline], broken: Mapping[str, str]
) -> None:
    """A contract with a subscription on a plan that could not be converted fails."""
    for sub in subs:
        timeline = timelines.get(sub.id)
        for plan_id in sorted(timeline.plan_ids) if timeline is not None else ():
            if plan_id in broken:
                raise ValueError(broken[plan_id])


def _add_history(session: Session, batch: ContractBatch) -> None:
    """What earlier receivables billed, for settlements of fees billed in advance (RATING.md
    §3) and late usage (§8): a few set-based queries for the whole chunk."""
    advance = load_advance_billings(session, batch.inputs, batch.months)
    earlier = load_earlier_usage(session, batch.inputs, batch.months)
    for contract_id in advance.keys() | earlier.keys():
        batch.inputs[contract_id] = replace(
            batch.inputs[contract_id],
            advance_billings=advance.get(contract_id, ()),
            earlier_usage=earlier.get(contract_id, ()),
        )
