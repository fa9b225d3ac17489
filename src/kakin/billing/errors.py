"""Named failures of the billing domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kakin.kit.errors import Conflict, NotFound


class ClosingInProgress(Conflict):
    slug = "closing-in-progress"
    title = "A closing of this date is already running"

    def __init__(self, closing_date: dt.date, **extra: Any) -> None:
        super().__init__(f"a closing run for {closing_date.isoformat()} is under way", **extra)


class ReceivableNotFound(NotFound):
    slug = "receivable-not-found"
    title = "No such receivable"


class ReceivableNotDraft(Conflict):
    slug = "receivable-not-draft"
    title = "Only a draft receivable can be finalised"


class ReceivableNotOpen(Conflict):
    slug = "receivable-not-open"
    title = "A credit note needs an open receivable"


class CreditExceedsReceivable(Conflict):
    """Credit notes never take back more than the receivable's total (issue 6 §1)."""

    slug = "credit-exceeds-receivable"
    title = "The credit notes would exceed the receivable's total"


class ClosingRunNotFound(NotFound):
    slug = "closing-run-not-found"
    title = "No such closing run"


class NotRatable(Conflict):
    """The contract's data cannot be rated as it stands (the closing would record the same
    failure for it); the detail says why."""

    slug = "not-ratable"
    title = "The contract cannot be rated"
