"""Opening a tenant: its row and what every tenant has from the start (the tax master).

Tenancy lies below the domains whose masters a new tenant starts with, so the use case
that creates a tenant lives above them; the CLI, the demo and the tests all open tenants
here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kakin.catalog.service import seed_tax_master
from kakin.tenancy.models import Tenant
from kakin.tenancy.schemas import TenantSettingsIn
from kakin.tenancy.service import create_tenant


def open_tenant(
    session: Session,
    name: str,
    wrapped_data_key: bytes,
    functions: list[str] | None = None,
    settings: TenantSettingsIn | None = None,
    sandbox: bool = False,
) -> Tenant:
    """A new tenant (`kakin.tenancy.service.create_tenant`, in an unscoped session) with
    the four tax categories and the Japanese rates, in the same transaction."""
    tenant = create_tenant(session, name, wrapped_data_key, functions, settings, sandbox)
    seed_tax_master(session, tenant.tenant_id)
    return tenant
