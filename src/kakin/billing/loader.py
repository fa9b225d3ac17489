"""Everything one chunk of a closing needs, loaded with a fixed number of queries and
turned into the rating core's plain inputs (`kakin.rating.ContractInput`).

Price plan and tariff versions are immutable rows (a revision is a new row), so their
conversions are cached by version id for the life of the process.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NamedTuple, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kakin.billing.history import load_advance_billings, load_earlier_usage
from kakin.billing.models import Adjustment, OneTimeCharge, Receivable, TopUp
from kakin.catalog.models import DiscountTable, PricePlanVersion, UsageItem
from kakin.catalog.models import PricePlan as PricePlanRow
from kakin.catalog.plan_schemas import PlanComponents
from kakin.catalog.price_plans import plan_versions_for
from kakin.catalog.service import rating_discount_table, rating_loyalty_steps, tax_rates
from kakin.catalog.tariffs import rating_tariff, tariff_versions_for
from kakin.contracts.models import Contract, Subscription, SubscriptionEvent
from kakin.contracts.models import Discount as DiscountRow
from kakin.contracts.subscriptions import timeline_event
from kakin.kit.bulk import id_chunks, in_values
from kakin.kit.money import RoundingMode, from_minor
from kakin.rating import discounts as rd
from kakin.rating.due_dates import PaymentTerms
from kakin.rating.events import Timeline, TimelineEvent, build_timeline
from kakin.rating.lines import LineKind, ReceivableLine
from kakin.rating.model import (
    Adjustment as RatingAdjustment,
)
from kakin.rating.model import (
    ContractInput,
    OneTimeFee,
    PlanAssignment,
    PricePlan,
    RatingPolicy,
    RecurringFee,
    SuspensionFee,
    TariffVersion,
    UsageCharge,
)
from kakin.rating.model import (
    OneTimeCharge as RatingOneTimeCharge,
)
from kakin.rating.model import (
    TopUp as RatingTopUp,
)
from kakin.rating.periods import BillingMonth, Interval, Period, billing_period, parse_closing_day
from kakin.rating.tax import TaxCategory, TaxMode
from kakin.rating.termination import EarlyTerminationRule, MinimumTerm
from kakin.rating.timeline import subscription_input
from kakin.tenancy.service import get_tenant
from kakin.usage.loader import load_usage

_ONE_DAY = dt.timedelta(days=1)

KIND_LABELS = {
    LineKind.DISCOUNT: "割引",
    LineKind.EARLY_TERMINATION: "解約違約金",
    LineKind.ADJUSTMENT: "調整",
}


@dataclass(frozen=True)
class ContractFacts:
    """What the writer needs of a contract besides its rating input."""

    customer_id: str | None
    payment_method_kind: str | None


@dataclass
class ContractBatch:
    """One chunk's rating inputs, with what the writer needs to describe the results."""

    closing_date: dt.date
    inputs: dict[str, ContractInput] = field(default_factory=dict)
    months: dict[str, BillingMonth] = field(default_factory=dict)
    facts: dict[str, ContractFacts] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def describe(self, line: ReceivableLine) -> str:
        """A line's label: its usage item's name (a usage line's source is its tariff),
        else its fee's, else its kind's."""
        for key in (line.usage_item_id, line.source_id):
            if key and key in self.names:
                return self.names[key]
        return KIND_LABELS.get(line.kind, line.kind.value)


@dataclass(frozen=True)
class _UsageItemFacts:
    unit: Decimal
    unit_name: str
    per_record: bool
    name: str


@functools.lru_cache(maxsize=4096)
def _components(version_id: str, raw: str) -> PlanComponents:
    return PlanComponents.model_validate_json(raw)


def _rating_plan(
    version: PricePlanVersion,
    tariffs: dict[str, tuple[TariffVersion, ...]],
    items: dict[str, _UsageItemFacts],
) -> PricePlan:
    import json  # noqa: PLC0415 - only to key the cache by the stored JSON text

    c = _components(version.id, json.dumps(version.components, sort_keys=True))
    term = None
    rule = None
    if c.minimum_term is not None:
        term = MinimumTerm(
            c.minimum_term.months,
            c.minimum_term.auto_renew,
            c.minimum_term.renewal_window_months,
        )
        et = c.minimum_term.early_termination
        if et is not None:
            rule = EarlyTerminationRule(
                f"early_termination:{version.price_plan_id}",
                et.rule,
                et.amount,
                et.cap,
                et.tax_category,
            )
    return PricePlan(
        plan_id=version.price_plan_id,
        proration=c.proration,
        recurring_fees=tuple(
            RecurringFee(
                f.code,
                f.amount,
                f.tax_category,
                f.timing,
                Interval(f.interval_months, f.interval_alignment),
                f.per_quantity,
            )
            for f in c.recurring_fees
        ),
        usage_charges=tuple(
            UsageCharge(
                charge_id=u.code or u.usage_item,
                usage_item_id=u.usage_item,
                tariffs=tariffs.get(u.tariff_id, ()),
                unit=items[u.usage_item].unit,
                unit_name=items[u.usage_item].unit_name,
                per_record=items[u.usage_item].per_record,
                allowance=u.allowance,
                tax_category=u.tax_category,
            )
            for u in c.usage_charges
        ),
        one_time_fees=tuple(
            OneTimeFee(f.code, f.amount, f.tax_category, f.per_quantity) for f in c.one_time_fees
        ),
        suspension_fee=(
            SuspensionFee(
                c.suspension_fee.code,
                c.suspension_fee.amount,
                c.suspension_fee.tax_category,
                c.suspension_fee.per_quantity,
            )
            if c.suspension_fee
            else None
        ),
        minimum_term=term,
        early_termination=rule,
    )


class _ContractRow(NamedTuple):
    """The columns of a contract the closing reads (a plain row, not an ORM object)."""

    id: str
    closing_day: str
    start_date: dt.date
    currency: str
    payment_terms_months: int
    payment_terms_day: str
    payment_method_kind: str | None
    customer_id: str | None


class _SubscriptionRow(NamedTuple):
    id: str
    contract_id: str
    price_plan_id: str


def _timelines(session: Session, subscription_ids: Sequence[str]) -> dict[str, Timeline]:
    """The lives of the subscriptions from their stored (validated) events, one id array
    per query."""
    e = SubscriptionEvent
    grouped: dict[str, list[TimelineEvent]] = defaultdict(list)
    for part in id_chunks(session, subscription_ids):
        rows = session.execute(
            select(e.subscription_id, e.kind, e.effective_date, e.seq, e.data).where(
                in_values(session, e.subscription_id, part)
            )
        )
        for row in rows:
            grouped[row.subscription_id].append(timeline_event(row))  # type: ignore[arg-type]
    return {sid: build_timeline(events, check=False) for sid, events in grouped.items()}


def _discount(row: DiscountRow, table: DiscountTable) -> rd.Discount:
    conditions = table.conditions or {}
    window = conditions.get("window")
    return rd.Discount(
        discount_id=row.id,
        table=rating_discount_table(table),
        subscription_id=row.subscription_id,
        scope=rd.DiscountScope(row.scope),
        valid_from=row.start_date,
        valid_to=row.end_date,
        priority=row.priority,
        window=(
            rd.CampaignWindow(
                rd.WindowAnchor(window.get("anchor", "start")),
                int(window["months"]),
                int(window.get("offset_months", 0)),
            )
            if window
            else None
        ),
        required_services=frozenset(conditions.get("required_services") or ()),
        loyalty_steps=rating_loyalty_steps(table),
    )


def rating_plans(
    session: Session,
    versions_by_plan: Mapping[str, Sequence[PricePlanVersion]],
    names: dict[str, str],
    broken: dict[str, str] | None = None,
) -> dict[str, list[tuple[dt.date, PricePlan]]]:
    """Price plan versions as the rating core's plans, `(effective_from, plan)` in the
    order given, with their tariffs and usage items read in two queries. The labels of
    their fees, charges and usage items are added to `names` (see `ContractBatch.describe`).

    A plan whose stored components cannot be converted raises, unless `broken` is given:
    then its reason is put there (plan id → reason) and the others are converted, so the
    closing fails only the contracts on that plan."""
    tariff_ids: set[str] = set()
    item_ids: set[str] = set()
    for versions in versions_by_plan.values():
        for v in versions:
            for u in v.components.get("usage_charges") or ():
                tariff_ids.add(u["tariff_id"])
                item_ids.add(u["usage_item"])
    tariffs: dict[str, tuple[TariffVersion, ...]] = {
        tid: tuple(TariffVersion(tid, tv.effective_from, rating_tariff(tv)) for tv in tvs)
        for tid, tvs in tariff_versions_for(session, sorted(tariff_ids)).items()
    }
    items: dict[str, _UsageItemFacts] = {}
    if item_ids:
        for item in session.scalars(select(UsageItem).where(UsageItem.id.in_(item_ids))):
            items[item.id] = _UsageItemFacts(
                item.unit, item.unit_name, item.rating == "per_record", item.name
            )
            names[item.id] = item.name
    plans: dict[str, list[tuple[dt.date, PricePlan]]] = {}
    for plan_id, versions in versions_by_plan.items():
        try:
            plans[plan_id] = [(v.effective_from, _rating_plan(v, tariffs, items)) for v in versions]
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            if broken is None:
                raise
            broken[plan_id] = f"price plan {plan_id}: {type(exc).__name__}: {exc}"
        for v in versions:
            for group in ("recurring_fees", "one_time_fees", "usage_charges"):
                for comp in v.components.get(group) or ():
                    if comp.get("code") and comp.get("name"):
                        names[comp["code"]] = comp["name"]
            if v.components.get("suspension_fee"):
                names[v.components["suspension_fee"]["code"]] = v.components["suspension_fee"][
                    "name"
                ]
    return plans


def load_contract_batch(
    session: Session, closing_date: dt.date, contract_ids: Sequence[str]
) -> ContractBatch:
    """The rating inputs of `contract_ids` for the billing month closing on `closing_date`."""
    from kakin.billing.closing import months_closed_on  # noqa: PLC0415 - avoids an import cycle

    batch = ContractBatch(closing_date)
    closed = months_closed_on(closing_date)
    tenant = get_tenant(session)
    policy = RatingPolicy(
        currency=tenant.currency,
        line_rounding=RoundingMode(tenant.line_rounding),
        tax_rounding=RoundingMode(tenant.tax_rounding),
        tax_mode=TaxMode(tenant.tax_mode),
    )
    rates = tax_rates(session)
    ids = list(contract_ids)
    c = Contract
    contracts = [
        _ContractRow(*row)
        for part in id_chunks(session, ids)
        for row in session.execute(
            select(
                c.id,
                c.closing_day,
                c.start_date,
                c.currency,
                c.payment_terms_months,
                c.payment_terms_day,
                c.payment_method_kind,
                c.customer_id,
            ).where(in_values(session, c.id, part))
        )
    ]
    subscriptions: dict[str, list[_SubscriptionRow]] = defaultdict(list)
    for part in id_chunks(session, ids):
        for row in session.execute(
            select(Subscription.id, Subscription.contract_id, Subscription.price_plan_id).where(
                in_values(session, Subscription.contract_id, part)
            )
        ):
            subscriptions[row[1]].append(_SubscriptionRow(*row))
    all_subs = [s for subs in subscriptions.values() for s in subs]
    timelines = _timelines(session, [s.id for s in all_subs])

    plan_ids = sorted({plan_id for t in timelines.values() for plan_id in t.plan_ids})
    versions_by_plan = plan_versions_for(session, plan_ids)
    service_of_plan: dict[str, str] = dict(
        session.execute(
            select(PricePlanRow.id, PricePlanRow.service_id).where(PricePlanRow.id.in_(plan_ids))
        ).all()
    )
    broken_plans: dict[str, str] = {}
    plans = {
        plan_id: [PlanAssignment(valid_from, plan) for valid_from, plan in versions]
        for plan_id, versions in rating_plans(
            session, versions_by_plan, batch.names, broken_plans
        ).items()
    }

    discounts: dict[str, list[rd.Discount]] = defaultdict(list)
    discount_rows = [
        d
        for part in id_chunks(session, ids)
        for d in session.scalars(
            select(DiscountRow).where(in_values(session, DiscountRow.contract_id, part))
        )
    ]
    if discount_rows:
        tables = {
            t.id: t
            for t in session.scalars(
                select(DiscountTable).where(
                    DiscountTable.id.in_({d.discount_table_id for d in discount_rows})
                )
            )
        }
        for d in discount_rows:
            discounts[d.contract_id].append(_discount(d, tables[d.discount_table_id]))
            batch.names[d.id] = tables[d.discount_table_id].name

    month, period = _closed_period(closed)
    usage = (
        load_usage(session, [s.id for s in all_subs], period.start, period.end) if period else {}
    )

    drafts: dict[str, str] = {
        contract_id: receivable_id
        for part in id_chunks(session, ids)
        for contract_id, receivable_id in session.execute(
            select(Receivable.contract_id, Receivable.id).where(
                in_values(session, Receivable.contract_id, part),
                Receivable.billing_month == str(month),
            )
        )
    }
    currency_of = {c.id: c.currency for c in contracts}
    adjustments: dict[str, list[RatingAdjustment]] = defaultdict(list)
    for a in _unbilled(session, Adjustment, ids, drafts):
        adjustments[a.contract_id].append(
            RatingAdjustment(
                a.id,
                from_minor(a.amount, currency_of[a.contract_id]),
                TaxCategory(a.tax_category),
                a.subscription_id,
            )
        )
        batch.names[a.id] = a.reason

    one_time_charges, top_ups = _one_time_inputs(session, ids, drafts, batch.names)

    for contract in contracts:
        try:
            if contract.closing_day not in closed:
                raise ValueError(
                    f"closing day {contract.closing_day} does not close on {closing_date}"
                )
            batch.months[contract.id] = closed[contract.closing_day]
            subs = sorted(subscriptions.get(contract.id, []), key=lambda s: s.id)
            _refuse_broken_plans(subs, timelines, broken_plans)
            sub_inputs = tuple(
                subscription_input(
                    s.id, service_of_plan.get(s.price_plan_id, ""), timelines[s.id], plans
                )
                for s in subs
                if s.id in timelines
            )
            day = contract.payment_terms_day
            batch.inputs[contract.id] = ContractInput(
                contract_id=contract.id,
                closing_day=parse_closing_day(contract.closing_day),
                start_date=contract.start_date,
                subscriptions=sub_inputs,
                policy=RatingPolicy(
                    contract.currency, policy.line_rounding, policy.tax_rounding, policy.tax_mode
                ),
                usage=tuple(e for s in subs for e in usage.get(s.id, ())),
                discounts=tuple(discounts.get(contract.id, ())),
                adjustments=tuple(adjustments.get(contract.id, ())),
                one_time_charges=tuple(one_time_charges.get(contract.id, ())),
                top_ups=tuple(top_ups.get(contract.id, ())),
                payment_terms=PaymentTerms(
                    contract.payment_terms_months, "eom" if day == "eom" else int(day)
                ),
                direct_debit=contract.payment_method_kind == "direct_debit",
                tax_rates=rates,
            )
            batch.facts[contract.id] = ContractFacts(
                contract.customer_id, contract.payment_method_kind
            )
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            batch.errors[contract.id] = f"{type(exc).__name__}: {exc}"
            batch.months.pop(contract.id, None)
    _add_history(session, batch)
    return batch


def _closed_period(closed: Mapping[str, BillingMonth]) -> tuple[BillingMonth | None, Period | None]:
    """The billing month and period a closing date closes (one closing day's at most)."""
    for code, month in closed.items():
        return month, billing_period(parse_closing_day(code), month)
    return None, None


def _refuse_broken_plans(
    subs: Sequence[_SubscriptionRow], timelines: Mapping[str, Timeline], broken: Mapping[str, str]
) -> None:
    """A contract with a subscription on a plan that could not be converted fails."""
    for sub in subs:
        timeline = timelines.get(sub.id)
        for plan_id in sorted(timeline.plan_ids) if timeline is not None else ():
            if plan_id in broken:
                raise ValueError(broken[plan_id])


Billable = TypeVar("Billable", Adjustment, OneTimeCharge, TopUp)


def _unbilled(
    session: Session, model: type[Billable], ids: Sequence[str], drafts: Mapping[str, str]
) -> Iterator[Billable]:
    """The rows of `model` (adjustments, one-time charges, top-ups) of the contracts that
    are on no receivable yet, or on the month's own draft (which is being recomputed):
    one query per id chunk."""
    on_draft = list(drafts.values()) or [""]
    for part in id_chunks(session, ids):
        rows = session.scalars(
            select(model).where(
                in_values(session, model.contract_id, part),
                or_(model.receivable_id.is_(None), model.receivable_id.in_(on_draft)),
            )
        )
        for row in rows:
            if row.receivable_id is None or drafts.get(row.contract_id) == row.receivable_id:
                yield row


def _one_time_inputs(
    session: Session, ids: Sequence[str], drafts: Mapping[str, str], names: dict[str, str]
) -> tuple[dict[str, list[RatingOneTimeCharge]], dict[str, list[RatingTopUp]]]:
    """The registered one-time charges and top-ups (RATING.md §3, §4) still to bill, like
    adjustments. A line's label is the row's name."""
    charges: dict[str, list[RatingOneTimeCharge]] = defaultdict(list)
    for charge in _unbilled(session, OneTimeCharge, ids, drafts):
        charges[charge.contract_id].append(
            RatingOneTimeCharge(
                charge_id=charge.id,
                fee_id=charge.id,
                incurred_on=charge.incurred_on,
                amount=charge.amount,
                subscription_id=charge.subscription_id,
                quantity=charge.quantity,
                tax_category=TaxCategory(charge.tax_category),
            )
        )
        names[charge.id] = charge.name
    top_ups: dict[str, list[RatingTopUp]] = defaultdict(list)
    for top_up in _unbilled(session, TopUp, ids, drafts):
        top_ups[top_up.contract_id].append(top_up.rating_input())
        names[top_up.id] = top_up.name
    return charges, top_ups


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
