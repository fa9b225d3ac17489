"""Named failures of the tenancy domain."""

from __future__ import annotations

from typing import Any

from kakin.kit.errors import Conflict, Forbidden


class TenantLimitReached(Conflict):
    """Seed 000 制限事項: a request that would pass a tenant's limit writes nothing."""

    slug = "tenant-limit-reached"
    title = "A tenant limit would be exceeded"

    def __init__(self, limit: str, value: int, **extra: Any) -> None:
        super().__init__(
            f"this request would exceed the tenant's limit {limit} = {value}",
            limit=limit,
            value=value,
            **extra,
        )


class FunctionDisabled(Forbidden):
    slug = "function-disabled"
    title = "This function is not enabled for the tenant"


class InsufficientScope(Forbidden):
    slug = "insufficient-scope"
    title = "The access token lacks the scope this request needs"


class NotASandbox(Conflict):
    slug = "not-a-sandbox"
    title = "Only a sandbox tenant's clock can be moved"


class ClockMoved(Conflict):
    slug = "clock-moved"
    title = "The tenant's clock was moved concurrently"
