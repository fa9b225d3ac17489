"""The OpenAPI document a client generator and a newcomer meet (issue 6 §7)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.routing import BaseRoute

from kakin.api_examples import REQUEST_EXAMPLES
from kakin.kit.openapi import COMPONENT_NAME

CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")
UNAUTHENTICATED = {"getHealth", "issueToken", "revokeToken"}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as they were)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    result: dict[str, Any] = node
    return result


def test_operation_ids_are_short_unique_camel_case(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    bad = [i for i in ids if not CAMEL_CASE.match(i) or len(i) > 32]
    assert not bad
    by_route = {(m, p): op["operationId"] for p, m, op in operations(document)}
    assert by_route[("post", "/v1/customers")] == "createCustomer"
    assert by_route[("get", "/v1/customers")] == "listCustomers"
    assert by_route[("get", "/v1/customers/{customer_id}")] == "getCustomer"
    assert by_route[("patch", "/v1/customers/{customer_id}")] == "updateCustomer"
    assert by_route[("post", "/v1/oauth/token")] == "issueToken"


def test_component_names_are_unique_and_keep_every_typed_response(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert all(COMPONENT_NAME.match(name) for name in schemas), sorted(schemas)
    titles = [s.get("title", name) for name, s in schemas.items()]
    assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)
    # the pairs that used to share a name and erased these responses in generated clients
    for name in ("RecurringFeeIn", "RecurringFeeOut", "DiscountConditionsOut", "Problem"):
        assert name in schemas
    plan = schemas["PricePlanVersionOut"]["properties"]
    assert "RecurringFeeOut" in str(plan)
    assert "DiscountConditionsOut" in str(schemas["DiscountTableOut"])
    assert "HTTPValidationError" not in schemas
    refs = set(re.findall(r"#/components/schemas/(\w+)", str(document)))
    assert refs <= set(schemas)


OAUTH = {"issueToken", "revokeToken"}
"""RFC 6749 §5.2 / RFC 7009 §2.2.1: the OAuth endpoints answer errors in OAuth's own shape."""


def test_every_error_status_is_one_problem_schema(document: dict[str, Any]) -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, method, operation in operations(document):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert "422" in responses, where
        if "requestBody" in operation:
            assert "400" in responses, where
        if operation["operationId"] not in UNAUTHENTICATED:
            assert {"401", "403"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        for status, response in responses.items():
            if int(status) < 400:
                continue
            content = response["content"]
            if operation["operationId"] in OAUTH and status in ("400", "401", "429"):
                assert content["application/json"]["schema"]["$ref"].endswith("/OAuthError")
                continue
            assert content == {"application/problem+json": {"schema": problem}}, where
    problem_schema = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem_schema["required"])
    assert "errors" in problem_schema["properties"]


def test_security_scheme_is_client_credentials_on_authenticated_operations(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/v1/oauth/token"
    assert {"customers", "contracts", "rating"} <= set(flow["scopes"])
    for path, method, operation in operations(document):
        if operation["operationId"] in UNAUTHENTICATED:
            assert "security" not in operation, path
        else:
            assert operation["security"][0].keys() == {"oauth2"}, f"{method} {path}"
    customer = document["paths"]["/v1/customers"]["post"]
    assert customer["security"] == [{"oauth2": ["customers"]}]


def test_idempotency_key_and_if_match_are_declared(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "if-match" not in headers
        if method == "post" and operation["operationId"] not in UNAUTHENTICATED:
            assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255, path
        if "If-Match" in headers:
            assert "412" in operation["responses"]
    assert "If-Match" in str(document["paths"]["/v1/customers/{customer_id}"]["patch"])
    assert "If-Match" in str(document["paths"]["/v1/price-plans/{price_plan_id}"]["delete"])


def test_main_request_bodies_have_examples_that_the_api_accepts(
    document: dict[str, Any], app: FastAPI
) -> None:
    by_path = {(r.path_format, m.lower()): r for r in api_routes(app.routes) for m in r.methods}
    bodies = {op["operationId"]: by_path[(p, m)] for p, m, op in operations(document)}
    for operation_id, example in REQUEST_EXAMPLES.items():
        route = bodies[operation_id]
        (body,) = route.dependant.body_params
        model: Any = body.field_info.annotation
        if model is Any:  # a route that validates its JSON itself documents the model's schema
            schema = route.openapi_extra["requestBody"]["content"]["application/json"]["schema"]
            model = vars(sys.modules[route.endpoint.__module__])[schema["title"]]
        TypeAdapter(model).validate_python(example)
    with_examples = {
        op["operationId"]
        for _, _, op in operations(document)
        if "examples" in op.get("requestBody", {}).get("content", {}).get("application/json", {})
    }
    assert {"createCustomer", "createContract", "createPricePlan", "createUsageRecord"} <= (
        with_examples
    )


@pytest.fixture(scope="module")
def app(client: Any) -> FastAPI:
    application: FastAPI = client.app
    return application


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()
