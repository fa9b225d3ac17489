"""Errors as named facts, answered as RFC 9457 `application/problem+json`.

Each domain error is a subclass of `Problem` carrying its HTTP status and a short type
slug (Polar ADR-0002). The handlers installed by `install_problem_handlers` turn every
failure into a problem document: validation errors name each bad field with a JSON
pointer, unknown routes and methods are problems too, and an unexpected exception is a
500 that reveals nothing of the request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kakin.kit.headers import security_headers

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("kakin.errors")


class Problem(Exception):
    """A failure the caller can act on; subclasses set `status`, `slug` and `title`."""

    status: int = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(Problem):
    status = 412
    slug = "precondition-failed"
    title = "The resource changed since you read it"


class Unauthorized(Problem):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = 'Bearer realm="kakin"'


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class InternalError(Problem):
    status = 500
    slug = "internal-error"
    title = "Internal error"


class InvalidRequest(Problem):
    """422 with one entry per bad field: `{"pointer": "/body/bands/1/up_to", "reason": …}`."""

    status = 422
    slug = "validation-error"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[tuple[str, str]], detail: str | None = None) -> None:
        items = [{"pointer": pointer, "reason": reason} for pointer, reason in errors]
        super().__init__(detail or "; ".join(f"{p}: {r}" for p, r in errors), errors=items)


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from path parts."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[tuple[str, str]]:
    errors = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if p not in ("function-after",)]
        # a validator's own reason, without Pydantic's "Value error, " in front of it
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        # Pydantic's messages may quote the input; never echo personal data back.
        errors.append((pointer(*loc), msg))
    return errors


_STATUS_SLUGS = {
    404: NotFound,
    401: Unauthorized,
    403: Forbidden,
}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(InvalidRequest(_validation_errors(exc)), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cls = _STATUS_SLUGS.get(exc.status_code)
        if cls is not None:
            problem: Problem = cls(str(exc.detail))
        else:
            problem = Problem(str(exc.detail))
            problem.status = exc.status_code
        if exc.headers:
            problem.headers.update(exc.headers)
        return problem_response(problem, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = InternalError("An unexpected error occurred; it has been logged.")
        problem.headers.update(security_headers(request.url.path))
        return problem_response(problem, request)
