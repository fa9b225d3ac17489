"""Unknown query parameters are a 422, on every route.

A typo in a filter (`/v1/receivables?contractid=…`) must not quietly widen the answer to
every receivable: `reject_unknown_query_parameters` is an app-wide dependency comparing
the request's query parameters with those the matched route declares (its own and those
of its dependencies, a Pydantic filter model expanded to its fields).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from kakin.kit.errors import InvalidRequest, pointer

_DECLARED: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameters `route` takes (computed once per route)."""
    known = _DECLARED.get(id(route))
    if known is None or known[0] is not route:
        known = (route, frozenset(_query_names(route.dependant)))
        _DECLARED[id(route)] = known
    return known[1]


def _query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for field in dependant.query_params:
        annotation = field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.update(f.alias or name for name, f in annotation.model_fields.items())
        else:
            names.add(field.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query_parameters(request: Request) -> None:
    # async: it does no I/O, so it runs on the event loop instead of a worker thread
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = declared_query_parameters(route)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise InvalidRequest(
            [
                (pointer("query", name), f"unknown query parameter; known: {listed}")
                for name in unknown
            ]
        )
