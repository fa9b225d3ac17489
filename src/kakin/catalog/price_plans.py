"""Use cases of price plans (料金プランマスタ) and their dated versions — RATING.md §3, §4, §6.

A version's components are validated here (references to this tenant's usage items,
tariffs and tax categories; amounts in the plan currency's minor unit; codes unique in the
version; the early-termination rule's parameters) and stored as an immutable snapshot.
A revision is a new version from its date: existing contracts keep their prices until
then, and what was billed before it never changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.catalog.errors import VersionDateTaken
from kakin.catalog.models import (
    MasterStatus,
    PricePlan,
    PricePlanVersion,
    Service,
    Tariff,
    UsageItem,
)
from kakin.catalog.plan_schemas import (
    EarlyTermination,
    PlanComponents,
    PricePlanIn,
    PricePlanOut,
    PricePlanVersionIn,
    PricePlanVersionOut,
    UsageCharge,
)
from kakin.catalog.repository import (
    ensure_code_free,
    find_by_reference,
    find_many_by_reference,
    flush_master,
    version_on,
    versions_for,
)
from kakin.catalog.service import Problems, check_minor_units, tax_category_codes
from kakin.kit.concurrency import check_if_match
from kakin.kit.db import utcnow
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.ids import new_id
from kakin.rating.termination import EarlyTerminationKind

_IDENTITY = {"code", "name", "free", *(f"free_{n}" for n in range(1, 11))}


class _ComponentChecker:
    """Collects the problems of one version's components as (pointer, reason)."""

    def __init__(self, session: Session, currency: str) -> None:
        self.session = session
        self.currency = currency
        self.taxes = tax_category_codes(session)
        self.codes: set[str] = set()
        self.problems: Problems = []

    def add(self, reason: str, *at: str | int) -> None:
        self.problems.append((pointer("body", *at), reason))

    def fee(self, code: str, amount: Decimal | None, tax_category: str, *at: str | int) -> None:
        """A fee's code is unique in the version, its amount in the plan currency's minor
        unit, its tax category one of the tenant's."""
        self.code(code, *at)
        self.amount(amount, *at, "amount")
        self.tax(tax_category, *at)

    def code(self, code: str, *at: str | int) -> None:
        if code in self.codes:
            self.add("is used twice in this plan", *at, "code")
        self.codes.add(code)

    def amount(self, amount: Decimal | None, *at: str | int) -> None:
        if amount is not None:
            self.problems += check_minor_units(amount, self.currency, pointer("body", *at))

    def tax(self, category: str, *at: str | int) -> None:
        if category not in self.taxes:
            self.add(f"no tax category {category}", *at, "tax_category")

    def usage_charges(self, charges: Sequence[UsageCharge]) -> list[UsageCharge]:
        """Check the usage charges; answer them with usage items and tariffs as ids."""
        items = find_many_by_reference(self.session, UsageItem, [c.usage_item for c in charges])
        tariffs = find_many_by_reference(self.session, Tariff, [c.tariff_id for c in charges])
        resolved = []
        seen_items: set[str] = set()
        for index, charge in enumerate(charges):
            at = ("usage_charges", index)
            item = items.get(charge.usage_item)
            tariff = tariffs.get(charge.tariff_id)
            if item is None:
                self.add(f"no usage item {charge.usage_item}", *at, "usage_item")
            elif item.status != MasterStatus.ACTIVE:
                self.add("the usage item is retired", *at, "usage_item")
            elif item.id in seen_items:
                self.add("is charged twice in this plan", *at, "usage_item")
            if tariff is None:
                self.add(f"no tariff {charge.tariff_id}", *at, "tariff_id")
            elif tariff.status != MasterStatus.ACTIVE:
                self.add("the tariff is retired", *at, "tariff_id")
            self.tax(charge.tax_category, *at)
            if item is None or tariff is None:
                resolved.append(charge)
                continue
            seen_items.add(item.id)
            code = charge.code or item.code
            self.code(code, *at)
            update = {"code": code, "usage_item": item.id, "tariff_id": tariff.id}
            resolved.append(charge.model_copy(update=update))
        return resolved

    def early_termination(self, rule: EarlyTermination, has_recurring_fees: bool) -> None:
        """RATING.md §6: `fixed` takes an amount; the other rules take theirs from the
        plan's recurring fees, so the plan needs one."""
        at = ("minimum_term", "early_termination")
        if rule.rule is EarlyTerminationKind.FIXED:
            if rule.amount is None:
                self.add("is required by fixed", *at, "amount")
        elif rule.amount is not None:
            self.add(f"is not used by {rule.rule}", *at, "amount")
        elif not has_recurring_fees:
            self.add(f"{rule.rule} needs a recurring fee in the plan", *at, "rule")
        self.amount(rule.amount, *at, "amount")
        self.amount(rule.cap, *at, "cap")
        self.tax(rule.tax_category, *at)


def check_components(
    session: Session, data: PlanComponents, currency: str
) -> tuple[Problems, PlanComponents]:
    """Every problem of a version's components as (pointer, reason), and the components
    with usage items and tariffs resolved to ids and usage-charge codes filled in."""
    check = _ComponentChecker(session, currency)
    for index, fee in enumerate(data.recurring_fees):
        check.fee(fee.code, fee.amount, fee.tax_category, "recurring_fees", index)
    if (suspension := data.suspension_fee) is not None:
        check.fee(suspension.code, suspension.amount, suspension.tax_category, "suspension_fee")
    for index, one_time in enumerate(data.one_time_fees):
        check.fee(one_time.code, one_time.amount, one_time.tax_category, "one_time_fees", index)
    charges = check.usage_charges(data.usage_charges)
    if data.minimum_term is not None and data.minimum_term.early_termination is not None:
        check.early_termination(data.minimum_term.early_termination, bool(data.recurring_fees))
    components = data.model_copy(update={"usage_charges": charges})
    return check.problems, PlanComponents.model_validate(
        components.model_dump(include=set(PlanComponents.model_fields))
    )


def plan_components(version: PricePlanVersion) -> PlanComponents:
    """A stored version's components (what the closing builds `rating.model.PricePlan`
    from)."""
    return PlanComponents.model_validate(version.components)


def version_out(version: PricePlanVersion) -> PricePlanVersionOut:
    return PricePlanVersionOut.model_validate(
        {
            **version.components,
            "id": version.id,
            "effective_from": version.effective_from,
            "created_at": version.created_at,
        }
    )


def plan_versions_for(
    session: Session, plan_ids: Sequence[str]
) -> dict[str, list[PricePlanVersion]]:
    """Every version of each plan, oldest first, in one query (for lists and batches)."""
    return versions_for(session, PricePlanVersion, plan_ids)


def price_plan_out(row: PricePlan, versions: Sequence[PricePlanVersion]) -> PricePlanOut:
    data = {name: getattr(row, name) for name in PricePlanOut.model_fields if name != "versions"}
    return PricePlanOut.model_validate({**data, "versions": [version_out(v) for v in versions]})


def price_plans_out(session: Session, rows: Sequence[PricePlan]) -> list[PricePlanOut]:
    versions = plan_versions_for(session, [row.id for row in rows])
    return [price_plan_out(row, versions[row.id]) for row in rows]


def plan_version_on(session: Session, plan_id: str, on: dt.date) -> PricePlanVersion | None:
    """The version of a price plan in force on `on` (None before the first version)."""
    return version_on(session, PricePlanVersion, plan_id, on)


def _check_version(
    session: Session, data: PricePlanVersionIn, currency: str, problems: Problems
) -> PlanComponents:
    more, components = check_components(session, data, currency)
    if problems + more:
        raise InvalidRequest(problems + more)
    return components


def _add_version(
    session: Session, plan: PricePlan, data: PricePlanVersionIn, components: PlanComponents
) -> PricePlanVersion:
    taken = session.scalar(
        select(PricePlanVersion.id).where(
            PricePlanVersion.price_plan_id == plan.id,
            PricePlanVersion.effective_from == data.effective_from,
        )
    )
    if taken is not None:
        raise VersionDateTaken("price plan", data.effective_from.isoformat())
    version = PricePlanVersion(
        id=new_id("ppv"),
        price_plan_id=plan.id,
        effective_from=data.effective_from,
        components=components.model_dump(mode="json"),
    )
    session.add(version)
    return version


def create_price_plan(
    session: Session, data: PricePlanIn, tenant_currency: str
) -> tuple[PricePlan, list[PricePlanVersion]]:
    problems: Problems = []
    service = find_by_reference(session, Service, data.service_id)
    if service is None:
        problems.append((pointer("body", "service_id"), f"no service {data.service_id}"))
    elif service.status != MasterStatus.ACTIVE:
        problems.append((pointer("body", "service_id"), "the service is retired"))
    currency = data.currency or tenant_currency
    components = _check_version(session, data, currency, problems)
    if service is None:  # _check_version has raised this problem already
        raise InvalidRequest(problems)
    ensure_code_free(session, PricePlan, data.code)
    plan = PricePlan(
        id=new_id("ppl"),
        service_id=service.id,
        currency=currency,
        **data.model_dump(include=_IDENTITY, exclude_none=True),
    )
    session.add(plan)
    flush_master(session, PricePlan, data.code)
    version = _add_version(session, plan, data, components)
    session.flush()
    record(session, "create", "price_plan", plan.id, None, price_plan_out(plan, [version]))
    return plan, [version]


def add_price_plan_version(
    session: Session, plan: PricePlan, data: PricePlanVersionIn, if_match: str | None
) -> list[PricePlanVersion]:
    """A revision from `data.effective_from`; the existing versions are left as they are."""
    check_if_match(if_match, plan.version)
    components = _check_version(session, data, plan.currency, [])
    before = price_plans_out(session, [plan])[0]
    _add_version(session, plan, data, components)
    plan.updated_at = utcnow()  # the plan changed: a new ETag
    try:
        session.flush()
    except IntegrityError:  # a concurrent revision from the same date
        raise VersionDateTaken("price plan", data.effective_from.isoformat()) from None
    versions = plan_versions_for(session, [plan.id])[plan.id]
    record(session, "create_version", "price_plan", plan.id, before, price_plan_out(plan, versions))
    return versions
