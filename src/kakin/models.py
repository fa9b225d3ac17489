"""Every table of kakin, imported in one place so Alembic and the schema tests see them all."""

from __future__ import annotations

from kakin.audit import models as audit_models
from kakin.billing import models as billing_models
from kakin.catalog import models as catalog_models
from kakin.contracts import models as contracts_models
from kakin.customers import models as customers_models
from kakin.kit.db import Base
from kakin.tenancy import models as tenancy_models
from kakin.usage import models as usage_models

__all__ = [
    "Base",
    "audit_models",
    "billing_models",
    "catalog_models",
    "contracts_models",
    "customers_models",
    "tenancy_models",
    "usage_models",
]
