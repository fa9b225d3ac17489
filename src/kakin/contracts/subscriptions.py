"""Use cases of subscriptions: creation, dated events, state on a day.

Every change is a dated event appended to `subscription_events`. Before an event is
stored, the whole history with it is replayed by `rating.events.validate_events`, so an event
dated in the past (allowed while `ensure_period_open` says so) is checked against the
events on both sides of it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.catalog.models import PricePlan
from kakin.catalog.price_plans import plan_version_on
from kakin.catalog.tariffs import negotiation_problem
from kakin.contracts.errors import (
    ContractNotActive,
    DuplicateEvent,
    EventAfterEnd,
    ExternalRefTaken,
    SubscriptionAlreadyCancelled,
    SubscriptionNotActive,
    SubscriptionNotFound,
    SubscriptionNotSuspended,
)
from kakin.contracts.models import Contract, Subscription, SubscriptionEvent
from kakin.contracts.schemas import (
    SubscriptionDetailOut,
    SubscriptionEventOut,
    SubscriptionFilter,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionStateOut,
)
from kakin.contracts.service import (
    contract_for_reference,
    ensure_contract_item_room,
    ensure_period_open,
    get_contract,
    master_problem,
)
from kakin.kit.concurrency import check_if_match
from kakin.kit.db import utcnow
from kakin.kit.errors import InvalidRequest, Problem, pointer
from kakin.kit.ids import new_id
from kakin.rating.events import (
    EventKind,
    Timeline,
    TimelineCode,
    TimelineEvent,
    TimelineProblem,
    build_timeline,
    validate_events,
)
from kakin.tenancy.models import Tenant

_PROBLEMS: dict[TimelineCode, type[Problem]] = {
    TimelineCode.AFTER_END: EventAfterEnd,
    TimelineCode.ALREADY_CANCELLED: SubscriptionAlreadyCancelled,
    TimelineCode.NOT_ACTIVE: SubscriptionNotActive,
    TimelineCode.NOT_SUSPENDED: SubscriptionNotSuspended,
    TimelineCode.DUPLICATE: DuplicateEvent,
}
"""Timeline codes answered 409; BEFORE_START and INVALID_VALUE are the caller's 422."""


# --- conversions ---------------------------------------------------------------------------


def event_data(event: TimelineEvent) -> dict[str, Any]:
    """The JSON `data` of a stored event (decimals as strings)."""
    if event.kind is EventKind.START:
        return {
            "price_plan_id": event.price_plan_id,
            "quantity": event.quantity,
            "end_date": event.end_date.isoformat() if event.end_date else None,
        }
    if event.kind is EventKind.PLAN_CHANGE:
        return {"price_plan_id": event.price_plan_id}
    if event.kind is EventKind.QUANTITY_CHANGE:
        return {"quantity": event.quantity}
    if event.kind is EventKind.PRICE_OVERRIDE:
        amount = None if event.amount is None else format(event.amount, "f")
        return {"component_code": event.component_code, "amount": amount}
    return {}


def timeline_event(row: SubscriptionEvent) -> TimelineEvent:
    """A stored event as the timeline's plain data (the closing batch uses this too)."""
    data = row.data or {}
    end = data.get("end_date")
    amount = data.get("amount")
    return TimelineEvent(
        kind=EventKind(row.kind),
        effective_date=row.effective_date,
        seq=row.seq,
        price_plan_id=data.get("price_plan_id"),
        quantity=data.get("quantity"),
        end_date=dt.date.fromisoformat(end) if end else None,
        component_code=data.get("component_code"),
        amount=None if amount is None else Decimal(amount),
    )


def subscription_out(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(sub, from_attributes=True)


def state_out(timeline: Timeline, on: dt.date) -> SubscriptionStateOut:
    state = timeline.state_on(on)
    if state is None:
        status = "pending" if on < timeline.start else "ended"
        return SubscriptionStateOut(on=on, status=status)
    return SubscriptionStateOut(
        on=on,
        status=state.status.value,
        price_plan_id=state.price_plan_id,
        quantity=state.quantity,
        overrides=state.override_map,
    )


def _events(session: Session, sub_id: str) -> list[SubscriptionEvent]:
    return list(
        session.scalars(
            select(SubscriptionEvent)
            .where(SubscriptionEvent.subscription_id == sub_id)
            .order_by(SubscriptionEvent.seq)
        )
    )


def subscription_detail(
    session: Session, sub: Subscription, today: dt.date
) -> SubscriptionDetailOut:
    rows = _events(session, sub.id)
    timeline = build_timeline([timeline_event(r) for r in rows], check=False)
    return SubscriptionDetailOut(
        **subscription_out(sub).model_dump(),
        events=[SubscriptionEventOut.model_validate(r, from_attributes=True) for r in rows],
        today=state_out(timeline, today),
    )


# --- use cases -----------------------------------------------------------------------------


def _plan_problems(
    session: Session, reference: str, contract: Contract
) -> tuple[str, list[tuple[str, str]]]:
    """The id of the plan `reference` (an id or a code) names, and why it cannot be taken
    up on `contract` (unknown, retired, other currency)."""
    where = pointer("body", "price_plan_id")
    plan, problem = master_problem(session, "price_plan", reference)
    if problem is not None:
        return reference, [(where, problem)]
    currency = getattr(plan, "currency", None)
    if currency is not None and currency != contract.currency:
        return plan.id, [
            (where, f"the price plan is in {currency}, the contract in {contract.currency}")
        ]
    return plan.id, []


def component_codes(session: Session, plan_id: str, on: dt.date) -> set[str]:
    """The codes of the fees and charges of the plan's version in force on `on` (what a
    price override may name); empty when no version is known."""
    version = plan_version_on(session, plan_id, on)
    components = version.components if version is not None else None
    if not isinstance(components, dict):
        return set()
    codes: set[str] = set()
    for key in ("recurring_fees", "one_time_fees", "usage_charges"):
        codes.update(str(c["code"]) for c in components.get(key) or [] if c.get("code"))
    suspension = components.get("suspension_fee")
    if isinstance(suspension, dict) and suspension.get("code"):
        codes.add(str(suspension["code"]))
    return codes


def _usage_override_problem(session: Session, plan_id: str, code: str, on: dt.date) -> str | None:
    """Why a negotiated price (相対価格) from `on` cannot apply to the plan's usage charge
    `code` (None: it can, or `code` is no usage charge): see
    `kakin.rating.tariffs.NEGOTIABLE_AMOUNT`."""
    version = plan_version_on(session, plan_id, on)
    components = version.components if version is not None else None
    charges = components.get("usage_charges") or [] if isinstance(components, dict) else []
    charge = next((c for c in charges if c.get("code") == code), None)
    if charge is None:
        return None
    problem = negotiation_problem(session, str(charge["tariff_id"]), on)
    return f"the usage charge {code!r}: {problem}" if problem else None


def get_subscription(session: Session, sub_id: str) -> Subscription:
    sub = session.scalar(select(Subscription).where(Subscription.id == sub_id))
    if sub is None:
        raise SubscriptionNotFound(f"no subscription {sub_id}")
    return sub


def _ensure_external_ref_free(session: Session, external_ref: str, own_id: str | None) -> None:
    other = session.scalar(select(Subscription.id).where(Subscription.external_ref == external_ref))
    if other is not None and other != own_id:
        raise ExternalRefTaken(f"subscription {other} already has external_ref {external_ref!r}")


def create_subscription(session: Session, tenant: Tenant, data: SubscriptionIn) -> Subscription:
    contract = contract_for_reference(session, data.contract_id, pointer("body", "contract_id"))
    if contract.status == "cancelled":
        raise ContractNotActive(f"contract {contract.id} is cancelled")
    errors: list[tuple[str, str]] = []
    if data.start_date < contract.start_date:
        errors.append(
            (pointer("body", "start_date"), f"before the contract's start {contract.start_date}")
        )
    end = data.end_date if data.end_date is not None else contract.end_date
    if contract.end_date is not None:
        if data.start_date > contract.end_date:
            errors.append(
                (pointer("body", "start_date"), f"after the contract's end {contract.end_date}")
            )
        if end is not None and end > contract.end_date:
            errors.append(
                (pointer("body", "end_date"), f"after the contract's end {contract.end_date}")
            )
    plan_id, plan_problems = _plan_problems(session, data.price_plan_id, contract)
    errors += plan_problems
    if errors:
        raise InvalidRequest(errors)
    if data.external_ref is not None:
        _ensure_external_ref_free(session, data.external_ref, None)
    ensure_contract_item_room(session, tenant)
    ensure_period_open(session, contract, data.start_date)
    start = TimelineEvent(
        EventKind.START,
        data.start_date,
        1,
        price_plan_id=plan_id,
        quantity=data.quantity,
        end_date=end,
    )
    sub = Subscription(
        id=new_id("sub"),
        contract_id=contract.id,
        price_plan_id=plan_id,
        quantity=data.quantity,
        start_date=data.start_date,
        end_date=end,
        status="active",
        external_ref=data.external_ref,
    )
    session.add(sub)
    session.flush()
    session.add(_event_row(session, sub.id, start))
    session.flush()
    record(session, "create", "subscription", sub.id, None, subscription_out(sub))
    return sub


def _event_row(session: Session, sub_id: str, event: TimelineEvent) -> SubscriptionEvent:
    return SubscriptionEvent(
        subscription_id=sub_id,
        seq=event.seq,
        kind=event.kind.value,
        effective_date=event.effective_date,
        data=event_data(event),
        actor=str(session.info.get("actor", "system")),
    )


def update_subscription(
    session: Session, sub_id: str, changes: SubscriptionPatch, if_match: str | None
) -> Subscription:
    sub = get_subscription(session, sub_id)
    check_if_match(if_match, sub.version)
    before = subscription_out(sub)
    if "external_ref" in changes.model_fields_set:
        if changes.external_ref is not None:
            _ensure_external_ref_free(session, changes.external_ref, sub.id)
        sub.external_ref = changes.external_ref
    session.flush()
    record(session, "update", "subscription", sub.id, before, subscription_out(sub))
    return sub


def _refuse(problem: TimelineProblem, new: TimelineEvent) -> Problem:
    if problem.code is TimelineCode.BEFORE_START:
        return InvalidRequest([(pointer("body", "effective_date"), problem.reason)])
    if problem.code in (TimelineCode.INVALID_VALUE, TimelineCode.NO_START):
        return InvalidRequest([(pointer("body"), problem.reason)])
    detail = problem.reason
    if problem.event is not new:
        detail = (
            f"with this {new.kind} effective {new.effective_date}, the {problem.event.kind} "
            f"effective {problem.event.effective_date} would no longer hold: {problem.reason}"
        )
    return _PROBLEMS[problem.code](detail)


def add_event(
    session: Session,
    sub_id: str,
    kind: EventKind,
    effective_date: dt.date,
    if_match: str | None,
    **values: Any,
) -> Subscription:
    """Append one dated event after replaying the history with it; refuse impossible ones."""
    sub = get_subscription(session, sub_id)
    check_if_match(if_match, sub.version)
    contract = get_contract(session, sub.contract_id)
    if kind is EventKind.PLAN_CHANGE:
        values["price_plan_id"], plan_problems = _plan_problems(
            session, values["price_plan_id"], contract
        )
        if plan_problems:
            raise InvalidRequest(plan_problems)
    ensure_period_open(session, contract, effective_date)
    rows = _events(session, sub.id)
    existing = [timeline_event(r) for r in rows]
    if kind is EventKind.PRICE_OVERRIDE:
        state = build_timeline(existing, check=False).state_on(effective_date)
        if state is not None:
            codes = component_codes(session, state.price_plan_id, effective_date)
            if codes and values["component_code"] not in codes:
                raise InvalidRequest(
                    [
                        (
                            pointer("body", "component_code"),
                            f"the price plan {state.price_plan_id} has no component "
                            f"{values['component_code']!r} on {effective_date}",
                        )
                    ]
                )
            problem = _usage_override_problem(
                session, state.price_plan_id, values["component_code"], effective_date
            )
            if problem is not None and values.get("amount") is not None:
                raise InvalidRequest([(pointer("body", "component_code"), problem)])
    new = TimelineEvent(
        kind, effective_date, max((e.seq for e in existing), default=0) + 1, **values
    )
    problems = validate_events([*existing, new])
    if problems:
        raise _refuse(problems[0], new)
    timeline = build_timeline([*existing, new], check=False)
    before = subscription_out(sub)
    last = timeline.states[-1]
    sub.price_plan_id = last.price_plan_id
    sub.quantity = last.quantity
    sub.end_date = timeline.end
    cancelled = any(e.kind is EventKind.CANCEL for e in (*existing, new))
    sub.status = "cancelled" if cancelled else last.status.value
    sub.updated_at = utcnow()  # bumps the version even when the summary is unchanged
    session.add(_event_row(session, sub.id, new))
    session.flush()
    after = subscription_out(sub).model_dump(mode="json") | {
        "event": {
            "kind": kind.value,
            "effective_date": effective_date.isoformat(),
            **event_data(new),
        }
    }
    record(session, "update", "subscription", sub.id, before, after)
    return sub


def subscription_state(session: Session, sub_id: str, on: dt.date) -> SubscriptionStateOut:
    sub = get_subscription(session, sub_id)
    timeline = build_timeline([timeline_event(r) for r in _events(session, sub.id)], check=False)
    return state_out(timeline, on)


def _plan_ids(reference: str) -> Any:
    """The ids of the price plan named by `reference`, its id or its code."""
    return select(PricePlan.id).where((PricePlan.id == reference) | (PricePlan.code == reference))


def search_subscriptions(filters: SubscriptionFilter) -> Select[Any]:
    statement = select(Subscription)
    if filters.contract_id is not None:
        statement = statement.where(Subscription.contract_id == filters.contract_id)
    if filters.price_plan_id is not None:
        statement = statement.where(
            Subscription.price_plan_id.in_(_plan_ids(filters.price_plan_id))
        )
    if filters.status is not None:
        statement = statement.where(Subscription.status == filters.status)
    if filters.external_ref is not None:
        statement = statement.where(Subscription.external_ref == filters.external_ref)
    return statement
