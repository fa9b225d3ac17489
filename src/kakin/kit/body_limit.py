"""A limit on the size of request bodies (ASGI middleware), answered 413 problem+json.

The body is refused before the application reads it: from `Content-Length` when the
client sends one, else while it streams in (the middleware holds what it has read and
hands it on only once the whole body is within the limit).
"""

from __future__ import annotations

import json
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kakin.kit.errors import PROBLEM_JSON

DEFAULT_BODY_LIMIT = 1 << 20
"""1 MiB: a price plan of 100 fees and charges, or a customer with 16 KiB of free JSON,
is a few tens of KiB."""

BATCH_BODY_LIMIT = 16 << 20
"""16 MiB for the batch routes: 10,000 usage records or 1,000 customers (about 2 MB)."""

BATCH_PATHS = ("/v1/usage-records/batch", "/v1/customers/bulk")
"""The batch routes (up to 10,000 usage records; up to 1,000 customers)."""


class BodySizeLimit:
    """Refuse bodies over `limit` bytes (`batch_limit` on the paths in `batch_paths`)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = DEFAULT_BODY_LIMIT,
        batch_limit: int = BATCH_BODY_LIMIT,
        batch_paths: Collection[str] = BATCH_PATHS,
    ) -> None:
        self.app = app
        self.limit = limit
        self.batch_limit = batch_limit
        self.batch_paths = frozenset(batch_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.batch_limit if scope["path"] in self.batch_paths else self.limit
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(scope, send, limit)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _too_large(scope, send, limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "/problems/payload-too-large",
            "title": "The request body is too large",
            "status": 413,
            "detail": f"the body of {scope['path']} may be at most {limit} bytes",
            "instance": scope["path"],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
