"""Optimistic concurrency: a row's `version` is its ETag; `If-Match` must name it."""

from __future__ import annotations

from fastapi import Response

from kakin.kit.errors import PreconditionFailed


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def check_if_match(if_match: str | None, version: int) -> None:
    """RFC 9110 §13.1.1: a change with a stale `If-Match` fails with 412 and changes nothing."""
    if if_match is None:
        return
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    if "*" in candidates or etag(version) in candidates:
        return
    raise PreconditionFailed(
        f"If-Match {if_match} does not match the current ETag {etag(version)}",
        current_etag=etag(version),
    )
