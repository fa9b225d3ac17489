"""Named failures of the catalog domain."""

from __future__ import annotations

from kakin.kit.errors import Conflict, NotFound


class MasterNotFound(NotFound):
    """Unknown id, or the id of another tenant's master (they look the same on purpose)."""

    slug = "master-not-found"
    title = "No such master"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"no {kind} {ident}", resource=kind)


class DuplicateCode(Conflict):
    """Master codes are unique per tenant and per kind of master."""

    slug = "duplicate-code"
    title = "A master with this code already exists"

    def __init__(self, kind: str, code: str) -> None:
        super().__init__(f"a {kind} with code {code!r} already exists", resource=kind, code=code)


class VersionDateTaken(Conflict):
    """A tariff or price plan already has a version from this date; versions are immutable,
    so a correction is a new version from another date."""

    slug = "version-date-taken"
    title = "A version from this date already exists"

    def __init__(self, kind: str, effective_from: str) -> None:
        super().__init__(
            f"this {kind} already has a version from {effective_from}",
            resource=kind,
            effective_from=effective_from,
        )


class TaxRateDateTaken(Conflict):
    slug = "tax-rate-date-taken"
    title = "The tax category already has a rate from this date"
