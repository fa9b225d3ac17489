"""Response headers every answer carries, whatever route made it."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def security_headers(path: str) -> dict[str, str]:
    """The headers of `SecurityHeaders` for a response to `path`."""
    headers = {"X-Content-Type-Options": "nosniff"}
    if path.startswith("/v1/"):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeaders:
    """Headers on every response: `X-Content-Type-Options: nosniff` (no browser guesses a
    type other than the declared one), and on the API's own routes `Cache-Control:
    no-store` — their answers carry personal data (names, addresses, decrypted fields)
    and billing amounts, which no shared or browser cache may keep (RFC 9111 §5.2.2.5).

    Starlette answers an unhandled exception from outside every middleware, so the 500
    handler (kit.errors) adds `security_headers` itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(str(scope.get("path", "")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)
