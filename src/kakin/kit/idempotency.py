"""`Idempotency-Key` on POST: exactly once, whatever the concurrency.

The key is reserved before the request runs, at the request edge (`tenancy.deps.require`,
after the token, scope and function switch are checked, so a replay passes the same
checks as the original):

- the first request with a key reserves it and runs; it marks the key `committed` in its
  own transaction, so its effects and the mark commit together;
- a repeat waits (a bounded time) while the first runs, then replays the first's response;
  if the first is still running, it is a 409 `idempotency-key-in-use`, and nothing ran;
- the same key with another request (method, path or body) is a 422;
- a request that commits nothing (401/403/404/409/422/5xx: it raised) releases the key, so
  a corrected retry runs; a reservation whose process died expires (`RESERVATION_TTL`).

`IdempotencyMiddleware` keeps the response of the request that reserved the key before
sending it on, so any repeat the client sends after seeing it is a replay. The stored
response lives in the database, not in the process (SCALE.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kakin.kit.errors import Conflict, InvalidRequest

MAX_KEY_LENGTH = 255

WAIT_SECONDS = 10.0
"""How long a repeat waits for the first request with its key to finish."""

RESERVATION_TTL = dt.timedelta(minutes=10)
"""A key reserved this long ago by a request that has not committed is stale: the process
running it died. Longer than any request runs (a 10,000-record batch takes seconds)."""

KEPT_HEADERS = ("content-type", "etag", "location")

STATE_KEY = "idempotency_reservation"
"""Where the edge leaves its `Reservation` in the ASGI scope's state for the middleware."""

log = logging.getLogger("kakin.idempotency")


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Reservation:
    """A key this request holds: `owner` is the request's own random token; `committed`
    once the request's transaction (with the key's mark) has committed."""

    tenant_id: str
    key: str
    owner: str
    committed: bool = False


class IdempotencyKeyInUse(Conflict):
    slug = "idempotency-key-in-use"
    title = "A request with this Idempotency-Key is still being processed"


class IdempotencyKeyReused(InvalidRequest):
    def __init__(self) -> None:
        super().__init__([("/headers/Idempotency-Key", "already used with a different request")])


class Replay(Exception):
    """Raised by the edge to answer with the stored response (`replay_handler`)."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


class ResponseStore(Protocol):
    """Where the middleware keeps (or gives up) the response of a reserving request."""

    def complete(self, reservation: Reservation, response: StoredResponse) -> None: ...

    def release(self, reservation: Reservation) -> None: ...


@dataclass(frozen=True)
class IdempotentRequest:
    key: str
    request_hash: str


async def idempotent_request(request: Request) -> IdempotentRequest | None:
    """The key and the request's fingerprint, for a POST that sends `Idempotency-Key` (a
    dependency: the body is read here, asynchronously; FastAPI caches it for the route)."""
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or key is None:
        return None
    body = await request.body()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    return IdempotentRequest(key, fingerprint)


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            [("/headers/Idempotency-Key", f"1 to {MAX_KEY_LENGTH} printable characters")]
        )


Attempt = Callable[[], Reservation | StoredResponse | None]
"""One try at the key: the reservation, the stored response, or None while another request
holds the key."""


def reserve(attempt: Attempt, wait: float | None = None) -> Reservation:
    """Reserve the key, waiting (`WAIT_SECONDS` unless `wait`) while another request holds
    it; raise `Replay` when it has a stored response, `IdempotencyKeyInUse` when the wait
    is over."""
    deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
    delay = 0.01
    while True:
        outcome = attempt()
        if isinstance(outcome, Reservation):
            return outcome
        if isinstance(outcome, StoredResponse):
            raise Replay(outcome)
        if time.monotonic() >= deadline:
            raise IdempotencyKeyInUse(
                "the first request with this Idempotency-Key has not finished; retry later"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


async def replay_handler(_request: Request, exc: Exception) -> Response:
    """The exception handler answering a `Replay` with the stored response."""
    assert isinstance(exc, Replay)  # noqa: S101 - registered for Replay only
    stored = exc.stored
    headers = stored.headers | {"idempotent-replayed": "true"}
    return Response(stored.body, status_code=stored.status_code, headers=headers)


class IdempotencyMiddleware:
    """Stores the response of a request that reserved its key, before sending it on; a
    request that did not commit releases the key instead (see the module's rules)."""

    def __init__(self, app: ASGIApp, store_factory: Callable[[Scope], ResponseStore]) -> None:
        self.app = app
        self.store_factory = store_factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            if _reservation(scope) is None:
                await send(message)  # not a reserving request: nothing to keep

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            await self._finish(scope, None)
            raise
        reservation = _reservation(scope)
        if reservation is None:
            return
        body = b"".join(chunks)
        await self._finish(scope, _stored(start, body))
        if start is not None:
            await send(start)
            await send({"type": "http.response.body", "body": body})

    async def _finish(self, scope: Scope, response: StoredResponse | None) -> None:
        reservation = _reservation(scope)
        if reservation is None:
            return
        store = self.store_factory(scope)
        try:
            if response is not None and reservation.committed:
                await anyio.to_thread.run_sync(store.complete, reservation, response)
            else:
                await anyio.to_thread.run_sync(store.release, reservation)
        except Exception:
            # The request's outcome stands; its key is still reserved (`committed`: never
            # run again) or expires (`running`).
            log.exception("could not keep the response of Idempotency-Key %r", reservation.key)


def _reservation(scope: Scope) -> Reservation | None:
    state: dict[str, Any] = scope.get("state") or {}
    reservation = state.get(STATE_KEY)
    return reservation if isinstance(reservation, Reservation) else None


def _stored(start: Message | None, body: bytes) -> StoredResponse | None:
    if start is None:
        return None
    headers = {
        k.decode().lower(): v.decode("latin-1")
        for k, v in start.get("headers", [])
        if k.decode().lower() in KEPT_HEADERS
    }
    return StoredResponse(start["status"], headers, body)
