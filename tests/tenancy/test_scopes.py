"""Access within a tenant: every route declares one scope and is closed to the others.

The routes are walked from the OpenAPI document, so a new route is checked without anyone
remembering to; each is called with a token of every single scope.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kakin.runtime import Runtime
from kakin.tenancy.deps import ScopeGuard
from kakin.tenancy.schemas import ALL_SCOPES
from tests.factories.api import Api, new_tenant_api

UNSCOPED = {("POST", "/v1/oauth/token"), ("POST", "/v1/oauth/revoke")}
"""The OAuth endpoints authenticate the client itself, not a bearer token."""


def _scopes_of(dependant: Dependant) -> list[str]:
    found = [d.call.scope for d in dependant.dependencies if isinstance(d.call, ScopeGuard)]
    for sub in dependant.dependencies:
        found += _scopes_of(sub)
    return found


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's routes, the included routers' too (FastAPI keeps those as routers)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def _declared_scopes(client: TestClient) -> dict[tuple[str, str], list[str]]:
    app: Any = client.app
    return {
        (method, route.path): _scopes_of(route.dependant)
        for route in _api_routes(app.routes)
        for method in route.methods
    }


def _openapi_routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if path.startswith("/v1/")
    ]


def _token(client: TestClient, api: Api, scope: str) -> str:
    response = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(api.credentials.client_id, api.credentials.client_secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_every_route_declares_exactly_one_scope(client: TestClient) -> None:
    declared = _declared_scopes(client)
    routes = _openapi_routes(client)
    assert len(routes) > 50
    for route in routes:
        scopes = declared[route]
        if route in UNSCOPED:
            assert scopes == [], route
        else:
            assert len(scopes) == 1, (route, scopes)
            assert scopes[0] in ALL_SCOPES, (route, scopes)
    admin = {route for route in routes if declared[route] == ["admin"]}
    assert {
        ("GET", "/v1/tenant"),
        ("PATCH", "/v1/tenant"),
        ("GET", "/v1/tenant/clock"),
        ("POST", "/v1/tenant/clock"),
        ("GET", "/v1/audit-events"),
    } <= admin


def test_every_route_answers_403_insufficient_scope_exactly_without_its_scope(
    client: TestClient, api: Api
) -> None:
    declared = _declared_scopes(client)
    tokens = {scope: _token(client, api, scope) for scope in ALL_SCOPES}
    walked = 0
    for method, path in _openapi_routes(client):
        if (method, path) in UNSCOPED:
            continue
        (needed,) = declared[(method, path)]
        url = re.sub(r"{\w+}", "x", path)
        body: dict[str, Any] = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
        for scope, token in tokens.items():
            response = client.request(
                method, url, headers={"Authorization": f"Bearer {token}"}, **body
            )
            refused = response.status_code == 403 and (
                response.json().get("error") == "insufficient_scope"
            )
            if scope == needed:
                assert not refused, f"{method} {path} refused its own scope {scope}"
            else:
                assert refused, (
                    f"{method} {path} (needs {needed}) answered {response.status_code} "
                    f"to a {scope} token: {response.text[:200]}"
                )
                assert f"'{needed}'" in response.json()["detail"]
            walked += 1
    assert walked > 200


def test_a_customers_client_can_neither_change_the_tenant_nor_read_the_audit_trail(
    client: TestClient, api: Api
) -> None:
    customers = {"Authorization": f"Bearer {_token(client, api, 'customers')}"}
    for method, path, body in (
        ("PATCH", "/v1/tenant", {"tax_mode": "inclusive"}),
        ("PATCH", "/v1/tenant", {"functions": ["customers", "contracts", "rating"]}),
        ("GET", "/v1/tenant", None),
        ("GET", "/v1/audit-events", None),
    ):
        response = client.request(method, path, headers=customers, json=body)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert api.get("/v1/tenant").json()["tax_mode"] == "exclusive"


def test_an_admin_can_switch_a_function_back_on(client: TestClient, runtime: Runtime) -> None:
    """`admin` is not a function: switching every function off cannot lock the tenant out."""
    tenant = new_tenant_api(client, runtime, functions=["customers"])
    assert tenant.get("/v1/contracts").status_code == 403
    switched = tenant.patch("/v1/tenant", json={"functions": ["customers", "contracts", "rating"]})
    assert switched.status_code == 200, switched.text
    assert tenant.get("/v1/audit-events").status_code == 200
    assert tenant.get("/v1/contracts").status_code == 200
