"""Named failures of the usage domain."""

from __future__ import annotations

from collections.abc import Sequence

from kakin.kit.errors import Conflict, InvalidRequest, NotFound


class UsageRecordNotFound(NotFound):
    """Unknown record id, or one of another tenant (they look the same on purpose)."""

    slug = "usage-record-not-found"
    title = "No such usage record"

    def __init__(self, record_id: str) -> None:
        super().__init__(f"no usage record {record_id!r}")


class UsageRecordsInvalid(InvalidRequest):
    """422 naming every bad record (its index, or line of a file) and field; nothing stored."""

    slug = "usage-records-invalid"
    title = "Some usage records are not valid; none was stored"


class UsageRecordConflict(Conflict):
    """A `record_id` already registered (or repeated in the request) with other content.

    The issue: "A repeated record_id with the same content is accepted once and reported
    as a duplicate; with different content it is a 409" — and then nothing is stored.
    """

    slug = "usage-record-conflict"
    title = "A record_id is already registered with other content; nothing was stored"

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        items = [{"pointer": where, "reason": reason} for where, reason in errors]
        super().__init__(f"{len(items)} record(s) conflict with registered records", errors=items)
