"""The catalog's masters as the rating core's inputs: tariff versions, price plan versions
(with their tariffs and usage items), discount tables.

Every row → rating-input conversion of the catalog is here, so the closing, the preview
and the tests read a master the same way. Each input carries the name its lines print
(RATING.md §8: a line says what it came from), taken from the master it converts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol

from kakin.catalog.plan_schemas import PlanComponents
from kakin.kit.money import stored_decimal
from kakin.rating import discounts as rd
from kakin.rating import tariffs as rating
from kakin.rating.model import (
    OneTimeFee,
    PlanAssignment,
    PricePlan,
    RecurringFee,
    SuspensionFee,
    TariffVersion,
    UsageCharge,
)
from kakin.rating.periods import Interval
from kakin.rating.termination import EarlyTerminationRule, MinimumTerm

EARLY_TERMINATION_NAME: Final = "解約違約金"
"""The label of an early-termination line (a plan's rule has no name of its own)."""

PER_RECORD: Final = "per_record"
"""`UsageItem.rating` of items rated record by record (catalog.schemas.UsageRating)."""


# --- tariffs -----------------------------------------------------------------------------


class StoredTariffVersion(Protocol):
    """What a tariff version's conversion reads (an ORM row or a plain row)."""

    @property
    def shape(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]: ...


def rating_tariff(version: StoredTariffVersion) -> rating.Tariff:
    """A stored version as the rating core's `Tariff` (what the closing rates with)."""
    p = version.parameters
    bands = tuple(
        rating.Band(
            up_to=stored_decimal(b.get("up_to")),
            amount=stored_decimal(b.get("amount")),
            unit_price=stored_decimal(b.get("unit_price")),
            flat_fee=stored_decimal(b.get("flat_fee")),
        )
        for b in p.get("bands") or ()
    )
    return rating.Tariff(
        shape=rating.TariffShape(version.shape),
        fixed_fee=stored_decimal(p.get("fixed_fee")),
        unit_price=stored_decimal(p.get("unit_price")),
        included=stored_decimal(p.get("included")),
        lower=stored_decimal(p.get("lower")),
        upper=stored_decimal(p.get("upper")),
        bands=bands,
        mode=rating.GraduatedMode(p["mode"]) if p.get("mode") else None,
    )


# --- price plans -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageItemFacts:
    """What a usage charge takes from its usage item: how its raw quantity counts, and the
    name its lines print."""

    unit: Decimal
    unit_name: str
    per_record: bool
    name: str


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One version of a price plan with its components validated (stored or in memory)."""

    id: str
    price_plan_id: str
    effective_from: dt.date
    components: PlanComponents


@dataclass(frozen=True)
class RatingPlans:
    """Price plans as the rating core's plans: plan id → its versions as assignments from
    their dates (`PlanAssignment`), oldest first; the service of each plan; and the plans
    whose stored components could not be converted (plan id → reason: the closing fails
    only the contracts on them)."""

    versions: dict[str, list[PlanAssignment]]
    service_of: dict[str, str]
    broken: dict[str, str]


def rating_plan(
    version: PlanVersion,
    tariffs: Mapping[str, tuple[TariffVersion, ...]],
    items: Mapping[str, UsageItemFacts],
) -> PricePlan:
    """One plan version as the rating core's `PricePlan`; KeyError for a usage item that
    is not in `items`."""
    c = version.components
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
                name=EARLY_TERMINATION_NAME,
            )
    suspension = c.suspension_fee
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
                name=f.name,
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
                name=items[u.usage_item].name,
            )
            for u in c.usage_charges
        ),
        one_time_fees=tuple(
            OneTimeFee(f.code, f.amount, f.tax_category, f.per_quantity, name=f.name)
            for f in c.one_time_fees
        ),
        suspension_fee=(
            SuspensionFee(
                suspension.code,
                suspension.amount,
                suspension.tax_category,
                suspension.per_quantity,
                name=suspension.name,
            )
            if suspension
            else None
        ),
        minimum_term=term,
        early_termination=rule,
    )


def rating_plans_of(
    versions: Mapping[str, Sequence[PlanVersion]],
    tariffs: Mapping[str, tuple[TariffVersion, ...]],
    items: Mapping[str, UsageItemFacts],
    service_of: Mapping[str, str],
    broken: Mapping[str, str],
) -> RatingPlans:
    """`versions` (plan id → versions, oldest first) converted; a plan that cannot be
    converted (or whose components could not be read: `broken`) is named in `broken`."""
    plans: dict[str, list[PlanAssignment]] = {}
    failed = dict(broken)
    for plan_id, plan_versions in versions.items():
        if plan_id in failed:
            continue
        try:
            plans[plan_id] = [
                PlanAssignment(v.effective_from, rating_plan(v, tariffs, items))
                for v in plan_versions
            ]
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            failed[plan_id] = plan_failure(plan_id, exc)
    return RatingPlans(plans, dict(service_of), failed)


def plan_failure(plan_id: str, exc: BaseException) -> str:
    return f"price plan {plan_id}: {type(exc).__name__}: {exc}"


# --- discount tables ---------------------------------------------------------------------


class StoredDiscountTable(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def rate(self) -> Decimal | None: ...

    @property
    def amount(self) -> Decimal | None: ...

    @property
    def conditions(self) -> dict[str, Any] | None: ...


def rating_discount_table(row: StoredDiscountTable) -> rd.DiscountTable:
    """The table as `kakin.rating.discounts` takes it (percent or amount as `value`; a
    loyalty table without a base value is worth 0 below its first step)."""
    kind = rd.DiscountKind(row.kind)
    value = row.rate if kind is rd.DiscountKind.FIXED_RATE else row.amount
    return rd.DiscountTable(row.id, kind, value if value is not None else Decimal(0))


def rating_loyalty_steps(row: StoredDiscountTable) -> tuple[rd.LoyaltyStep, ...]:
    steps = (row.conditions or {}).get("loyalty_steps") or []
    return tuple(rd.LoyaltyStep(int(s["years"]), Decimal(str(s["value"]))) for s in steps)


class DiscountAgreement(Protocol):
    """What a discount applying a table says besides the table (a contracts row)."""

    @property
    def id(self) -> str: ...

    @property
    def subscription_id(self) -> str | None: ...

    @property
    def scope(self) -> str: ...

    @property
    def start_date(self) -> dt.date: ...

    @property
    def end_date(self) -> dt.date | None: ...

    @property
    def priority(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DiscountTerms:
    """What a discount table gives every discount applying it (RATING.md §5): its value,
    its conditions and its name."""

    table: rd.DiscountTable
    window: rd.CampaignWindow | None
    required_services: frozenset[str]
    loyalty_steps: tuple[rd.LoyaltyStep, ...]
    name: str

    def discount(self, agreement: DiscountAgreement) -> rd.Discount:
        """A discount applying this table, as the rating core takes it."""
        return rd.Discount(
            discount_id=agreement.id,
            table=self.table,
            subscription_id=agreement.subscription_id,
            scope=rd.DiscountScope(agreement.scope),
            valid_from=agreement.start_date,
            valid_to=agreement.end_date,
            priority=agreement.priority,
            window=self.window,
            required_services=self.required_services,
            loyalty_steps=self.loyalty_steps,
            name=self.name,
        )


class NamedDiscountTable(StoredDiscountTable, Protocol):
    @property
    def name(self) -> str: ...


def discount_terms(row: NamedDiscountTable) -> DiscountTerms:
    conditions = row.conditions or {}
    window = conditions.get("window")
    return DiscountTerms(
        table=rating_discount_table(row),
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
        loyalty_steps=rating_loyalty_steps(row),
        name=row.name,
    )
