"""Small, explicit builders of rating inputs for the tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kakin.rating import (
    ContractInput,
    Discount,
    PlanAssignment,
    PricePlan,
    RatingPolicy,
    RecurringFee,
    SubscriptionInput,
    Tariff,
    TariffShape,
    TariffVersion,
    UsageCharge,
)
from kakin.rating.periods import ClosingDay


def d(text: str) -> date:
    return date.fromisoformat(text)


def D(text: str | int) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(str(text))


def monthly_plan(fee: str | int = "3000", plan_id: str = "basic", **kwargs: object) -> PricePlan:
    return PricePlan(
        plan_id=plan_id,
        recurring_fees=(RecurringFee("base", D(fee)),),
        **kwargs,  # type: ignore[arg-type]
    )


def per_unit_charge(price: str = "10", item: str = "calls", **kwargs: object) -> UsageCharge:
    tariff = Tariff(TariffShape.PER_UNIT, unit_price=D(price))
    return UsageCharge(
        charge_id=f"{item}-charge",
        usage_item_id=item,
        tariffs=(TariffVersion(f"{item}-tariff", d("2000-01-01"), tariff),),
        **kwargs,  # type: ignore[arg-type]
    )


def subscription(
    plan: PricePlan,
    start: str = "2026-01-01",
    end: str | None = None,
    sub_id: str = "s1",
    service_id: str = "internet",
    **kwargs: object,
) -> SubscriptionInput:
    return SubscriptionInput(
        subscription_id=sub_id,
        service_id=service_id,
        start_date=d(start),
        end_date=d(end) if end else None,
        plans=(PlanAssignment(d(start), plan),),
        **kwargs,  # type: ignore[arg-type]
    )


def contract(
    *subscriptions: SubscriptionInput,
    closing_day: ClosingDay = "eom",
    start: str = "2026-01-01",
    discounts: tuple[Discount, ...] = (),
    policy: RatingPolicy | None = None,
    **kwargs: object,
) -> ContractInput:
    return ContractInput(
        contract_id="c1",
        closing_day=closing_day,
        start_date=d(start),
        subscriptions=subscriptions,
        discounts=discounts,
        policy=policy or RatingPolicy(),
        **kwargs,  # type: ignore[arg-type]
    )
