"""`GET /v1/audit-events`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from kakin.audit.models import AuditEvent
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kakin.tenancy.deps import Admin

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    occurred_at: dt.datetime
    actor: str
    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("", response_model=Page[AuditEventOut])
def list_audit_events(
    ctx: Admin,
    resource_type: str | None = None,
    resource_id: str | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[AuditEventOut]:
    """The tenant's audit trail (admin scope: it shows every change, billing amounts too)."""
    statement = select(AuditEvent)
    if resource_type:
        statement = statement.where(AuditEvent.resource_type == resource_type)
    if resource_id:
        statement = statement.where(AuditEvent.resource_id == resource_id)
    return paginate(
        ctx.session, statement, AuditEvent.id, cursor, limit, AuditEventOut.model_validate
    )
