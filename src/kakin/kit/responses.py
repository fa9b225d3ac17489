"""Responses a hot route builds itself."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(
    model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """`model` as a JSON response, serialised once by pydantic (in Rust).

    The route still declares `response_model` for OpenAPI; returning the model itself would
    make FastAPI validate it a second time and serialise it again, on a worker thread of
    its own when the route is synchronous."""
    return Response(
        model.model_dump_json(by_alias=True),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
