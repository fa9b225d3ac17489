"""`Idempotency-Key` on POST: a replay returns the first response; another body is a 422.

A pure ASGI middleware, so it wraps every POST route the same way. The key is scoped
by the caller's tenant (taken from a token the store verifies before replaying), and
the stored response lives in the database, not in the process (SCALE.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kakin.kit.errors import PROBLEM_JSON, InvalidRequest

MAX_KEY_LENGTH = 255
STORED_STATUSES = frozenset({200, 201, 202, 204, 404, 409})
"""Outcomes worth replaying; 401/403/422/5xx are not stored so a corrected retry can pass."""


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status_code: int
    headers: dict[str, str]
    body: bytes


class IdempotencyStore(Protocol):
    def tenant_for(self, authorization: str) -> str | None:
        """The tenant of a valid bearer token, or None (the route will then answer 401)."""

    def load(self, tenant_id: str, key: str) -> StoredResponse | None: ...

    def save(self, tenant_id: str, key: str, response: StoredResponse) -> None: ...


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, store_factory: Callable[[Scope], IdempotencyStore]) -> None:
        self.app = app
        self.store_factory = store_factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("idempotency-key")
        authorization = headers.get("authorization", "")
        if key is None or not authorization.lower().startswith("bearer "):
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send_problem(
                send,
                InvalidRequest([("/headers/Idempotency-Key", "must be 1 to 255 characters")]),
            )
            return
        body = await _read_body(receive)
        store = self.store_factory(scope)
        tenant_id = await anyio.to_thread.run_sync(store.tenant_for, authorization)
        if tenant_id is None:
            await self.app(scope, _replay_body(body), send)
            return
        request_hash = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).hexdigest()
        stored = await anyio.to_thread.run_sync(store.load, tenant_id, key)
        if stored is not None:
            if stored.request_hash != request_hash:
                await _send_problem(
                    send,
                    InvalidRequest(
                        [("/headers/Idempotency-Key", "already used with a different request")]
                    ),
                )
                return
            replayed = stored.headers | {"idempotent-replayed": "true"}
            await _send(send, stored.status_code, replayed, stored.body)
            return
        captured: dict[str, Any] = {"body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = {
                    k.decode().lower(): v.decode("latin-1") for k, v in message.get("headers", [])
                }
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, _replay_body(body), capture)
        if captured.get("status") in STORED_STATUSES:
            kept = {
                k: v
                for k, v in captured["headers"].items()
                if k in ("content-type", "etag", "location")
            }
            response = StoredResponse(request_hash, captured["status"], kept, captured["body"])
            await anyio.to_thread.run_sync(store.save, tenant_id, key, response)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay_body(body: bytes) -> Callable[[], Awaitable[Message]]:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items() if k != "content-length"]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_problem(send: Send, problem: InvalidRequest) -> None:
    body = json.dumps(problem.body(), ensure_ascii=False).encode()
    await _send(send, problem.status, {"content-type": PROBLEM_JSON}, body)
