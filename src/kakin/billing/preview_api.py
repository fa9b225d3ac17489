"""HTTP routes that look ahead and aside: the open period's running charge of a
subscription, and charge simulation (料金シミュレーション). Neither stores anything."""

from __future__ import annotations

from fastapi import APIRouter

from kakin.billing.preview import current_usage, simulate
from kakin.billing.preview_schemas import CurrentUsageOut, SimulationIn, SimulationOut
from kakin.kit.bounds import Date
from kakin.tenancy.clock import tenant_today
from kakin.tenancy.deps import Rating

router = APIRouter(tags=["billing"])


@router.get("/v1/subscriptions/{subscription_id}/current-usage", response_model=CurrentUsageOut)
def get_current_usage(ctx: Rating, subscription_id: str, on: Date | None = None) -> CurrentUsageOut:
    """The billing period containing `on` (default: today in the tenant's time zone): each
    usage item's quantities, allowance and running amount, and the subscription's lines as
    the period's receivable would show them with the usage recorded up to `on`."""
    return current_usage(ctx.session, subscription_id, on or tenant_today(ctx.tenant))


@router.post("/v1/simulations", response_model=SimulationOut)
def create_simulation(ctx: Rating, body: SimulationIn) -> SimulationOut:
    """料金シミュレーション. `{"contract_id", "billing_month", "replace": [{"subscription_id",
    "price_plan_id"}]}`: the contract's month with those subscriptions on another plan for
    the whole period, beside the month as it stands (`current`, `simulated`, `difference`).
    `{"billing_month", "hypothetical": {"closing_day", "start_date", "plan" | "price_plan_id",
    "quantity", "usage": [{"usage_item", "quantity"}]}}`: one subscription of that plan.
    Money in the currency's major unit (decimal strings); nothing is stored."""
    return simulate(ctx.session, ctx.tenant, body)
