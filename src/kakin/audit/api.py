"""`GET /v1/audit-events`."""

from __future__ import annotations

from fastapi import APIRouter, Query

from kakin.audit.repository import search_events
from kakin.audit.schemas import AuditEventOut
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from kakin.tenancy.deps import Admin

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


@router.get("", response_model=Page[AuditEventOut])
def list_audit_events(
    ctx: Admin,
    resource_type: str | None = None,
    resource_id: str | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[AuditEventOut]:
    """The tenant's audit trail (admin scope: it shows every change, billing amounts too)."""
    return search_events(ctx.session, resource_type, resource_id, cursor, limit)
