"""Recording audit events; every domain service calls `record` for each change it makes.

Personal values never enter the audit trail, only that they changed: the domain that owns
them names them (`personal=`), so this bottom layer knows no domain's fields."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from kakin.audit.models import AuditEvent
from kakin.kit.bulk import copy_rows
from kakin.kit.db import utcnow
from kakin.kit.ids import new_id

MASK = "***"
"""What the trail shows of a personal value that is set."""


def masked(
    data: Mapping[str, Any] | BaseModel | None, personal: Collection[str] = ()
) -> dict[str, Any] | None:
    if data is None:
        return None
    values = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
    return {k: (MASK if k in personal and v is not None else v) for k, v in values.items()}


def _actor(session: Session) -> str:
    return str(session.info.get("actor", "system"))


def record(
    session: Session,
    action: str,
    resource_type: str,
    resource_id: str,
    before: Mapping[str, Any] | BaseModel | None = None,
    after: Mapping[str, Any] | BaseModel | None = None,
    *,
    personal: Collection[str] = (),
) -> None:
    """Add one audit event to the session's transaction (it commits or rolls back with it);
    the values of the `personal` fields are masked."""
    session.add(
        AuditEvent(
            id=new_id("aud"),
            actor=_actor(session),
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            before=masked(before, personal),
            after=masked(after, personal),
        )
    )


def record_many(
    session: Session,
    action: str,
    resource_type: str,
    afters: Sequence[tuple[str, Any]],
    *,
    personal: Collection[str] = (),
) -> None:
    """One event per created resource, written with one bulk insert (bulk registration)."""
    actor, now = _actor(session), utcnow()
    copy_rows(
        session,
        AuditEvent,
        [
            {
                "id": new_id("aud"),
                "occurred_at": now,
                "actor": actor,
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "before": None,
                "after": masked(after, personal),
            }
            for resource_id, after in afters
        ],
    )
