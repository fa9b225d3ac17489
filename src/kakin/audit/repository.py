"""Reading the audit trail (the session is tenant-scoped: only the caller's events)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kakin.audit.models import AuditEvent
from kakin.audit.schemas import AuditEventOut
from kakin.kit.pagination import Page, paginate


def search_events(
    session: Session,
    resource_type: str | None,
    resource_id: str | None,
    cursor: str | None,
    limit: int,
) -> Page[AuditEventOut]:
    """One page of events, oldest first, optionally of one kind of resource or one id."""
    statement = select(AuditEvent)
    if resource_type:
        statement = statement.where(AuditEvent.resource_type == resource_type)
    if resource_id:
        statement = statement.where(AuditEvent.resource_id == resource_id)
    return paginate(session, statement, AuditEvent.id, cursor, limit, AuditEventOut.model_validate)
