"""The OpenAPI document a client generator and a newcomer meet (issue 6 §7).

FastAPI writes the document from the routes; `install_openapi` finishes it in one place
instead of in every decorator:

- `operation_id` gives short, stable camelCase operation ids from the route's function
  name (`register_customer` → `createCustomer`); a route whose function name reads badly
  as an operation sets `operation_id=` in its decorator.
- component names are made unique and readable for generated clients: Pydantic's
  `X-Input`/`X-Output` pair (a model whose schema differs between request and response)
  becomes `XIn`/`XOut`, `Page_XOut_` becomes `XPage`, FastAPI's `Body_<id>` becomes
  `<Id>Form`.
- every error status an operation can return is documented with ONE `Problem` schema
  (RFC 9457, `application/problem+json`, with the `errors` list of field pointers) — by
  rule from what the route takes (a body: 400/413; a token: 401/403; a path id: 404; an
  authenticated write: 409; `If-Match`: 412; always 422 and 500), plus what the route
  itself declares.
- the `Idempotency-Key` (authenticated POST) and `If-Match` headers are declared with
  their meaning, and the main request bodies carry an example.

The security scheme is `CLIENT_CREDENTIALS`: the request edge depends on it through
`Security(...)`, so FastAPI marks each authenticated operation with the scope it needs.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.security import OAuth2
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from kakin.kit.errors import PROBLEM_JSON

TOKEN_URL = "/v1/oauth/token"  # noqa: S105 - a path, not a secret
SECURITY_SCHEME = "oauth2"

CLIENT_CREDENTIALS = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL, scopes={})),
    scheme_name=SECURITY_SCHEME,
    description=(
        "OAuth 2.0 client credentials (RFC 6749 §4.4): exchange the tenant's `client_id` "
        f"and `client_secret` at `{TOKEN_URL}` for a bearer access token."
    ),
    # the request edge answers a missing token with its own problem document
    auto_error=False,
)
"""The one security scheme; `Security(CLIENT_CREDENTIALS, scopes=[...])` in a dependency
puts it, with the scope, on every operation that uses the dependency."""

SCOPE_DESCRIPTIONS = {
    "customers": "customers and groups",
    "contracts": "masters, contracts, subscriptions and discounts",
    "rating": "usage, closings, receivables and simulations",
}


# --- the Problem schema ------------------------------------------------------------------


class FieldProblem(BaseModel):
    """One bad field of a 422: where it is (a JSON pointer into the request) and why."""

    pointer: str = Field(
        description="RFC 6901 pointer: /body/…, /query/<name>, /path/<name>, /headers/<name>",
        examples=["/body/bands/1/up_to"],
    )
    reason: str = Field(examples=["must be greater than the previous band's up_to"])


class ProblemDocument(BaseModel):
    """RFC 9457 problem details; a problem may add members of its own (e.g. `current_etag`
    on a 412, `resource` on a 404)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="a URI reference naming the problem", examples=["/problems/x"])
    title: str = Field(description="short, the same for every occurrence of this type")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="this occurrence, in words")
    instance: str | None = Field(None, description="the request path")
    errors: list[FieldProblem] | None = Field(
        None, description="422 only: every bad field of the request"
    )


PROBLEM_SCHEMA = "Problem"
FIELD_PROBLEM_SCHEMA = "FieldProblem"

STATUS_DESCRIPTIONS = {
    400: "The request could not be read (e.g. a body that cannot be parsed)",
    401: "No valid access token (missing, unknown, expired or revoked)",
    403: "The token lacks the scope, or the tenant the function, this operation needs",
    404: "Unknown id (or another tenant's: they look the same on purpose)",
    409: "The request conflicts with the current state of the resource",
    412: "If-Match names an ETag that is not current: the resource changed since you read it",
    413: "The body is larger than the API accepts",
    422: "The request is not valid: `errors` names each bad field with a JSON pointer",
    429: "Too many requests; retry after the time in Retry-After",
    500: "An unexpected error; it has been logged and the request changed nothing",
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


# --- operation ids -------------------------------------------------------------------------

VERBS = {"register": "create", "read": "get", "search": "list", "change": "update"}
"""The function names' verbs as an operation id says them (`read_customer` → `getCustomer`)."""


def camel_case(words: list[str]) -> str:
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def operation_id(route: APIRoute) -> str:
    """FastAPI's `generate_unique_id_function`: the route's name in camelCase, its verb
    normalised (`register_customer` → `createCustomer`)."""
    words = route.name.split("_")
    words[0] = VERBS.get(words[0], words[0])
    return camel_case(words)


# --- the document --------------------------------------------------------------------------


def install_openapi(app: FastAPI, examples: Mapping[str, Any] | None = None) -> None:
    """Make `app.openapi()` (and `/openapi.json`) the finished document.

    `examples` maps an operation id to an example request body.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            finish(document, examples or {})
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish(document: dict[str, Any], examples: Mapping[str, Any]) -> None:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    _rename_components(document, schemas)
    _add_problem_schema(schemas)
    used_scopes: set[str] = set()
    for _path, method, operation in _operations(document):
        for requirement in operation.get("security", []):
            used_scopes.update(requirement.get(SECURITY_SCHEME, []))
        _declare_headers(operation, method)
        _describe_files(operation)
        _document_problems(operation, method)
        example = examples.get(operation["operationId"])
        if example is not None:
            content = operation["requestBody"]["content"]["application/json"]
            content["examples"] = {"example": {"value": example}}
    scheme = document["components"].get("securitySchemes", {}).get(SECURITY_SCHEME)
    if scheme is not None:
        scheme["flows"]["clientCredentials"]["scopes"] = {
            scope: SCOPE_DESCRIPTIONS.get(scope, f"the {scope} function")
            for scope in sorted(used_scopes)
        }
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _references(document, f"#/components/schemas/{unused}"):
            schemas.pop(unused, None)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}:
                yield path, method, operation


# --- component names -----------------------------------------------------------------------

_RENAMES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"^(\w+)-Input$"), lambda m: f"{m[1]}In"),
    (re.compile(r"^(\w+)-Output$"), lambda m: f"{m[1]}Out"),
    (re.compile(r"^Page_(\w+?)(?:Out)?_$"), lambda m: f"{m[1]}Page"),
    (re.compile(r"^Body_(\w+)$"), lambda m: f"{m[1][:1].upper()}{m[1][1:]}Form"),
)
COMPONENT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def component_name(name: str) -> str:
    for pattern, rename in _RENAMES:
        match = pattern.match(name)
        if match:
            return rename(match)
    return name


def _rename_components(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    renames = {old: component_name(old) for old in schemas}
    targets = list(renames.values())
    duplicates = sorted({n for n in targets if targets.count(n) > 1})
    if duplicates:  # a rename must never merge two schemas into one
        raise ValueError(f"component names collide after renaming: {duplicates}")
    refs = {
        f"#/components/schemas/{old}": f"#/components/schemas/{new}"
        for old, new in renames.items()
        if old != new
    }
    renamed = {renames[name]: schema for name, schema in schemas.items()}
    for name, schema in renamed.items():
        if "title" in schema:  # generators name classes after the title: keep it unique
            schema["title"] = name
    schemas.clear()
    schemas.update(renamed)
    _rewrite_refs(document, refs)


def _rewrite_refs(node: Any, refs: Mapping[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in refs:
            node["$ref"] = refs[ref]
        for value in node.values():
            _rewrite_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, refs)


def _references(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_references(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_references(v, ref) for v in node)
    return False


def _add_problem_schema(schemas: dict[str, Any]) -> None:
    template = "#/components/schemas/{model}"
    schema = ProblemDocument.model_json_schema(ref_template=template)
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[PROBLEM_SCHEMA] = schema


# --- headers and problems ------------------------------------------------------------------

IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": (
        "The `ETag` you read (RFC 9110 §13.1.1): the change applies only if the resource "
        "has not changed since, else 412 and nothing changes. Leave it out to change "
        "unconditionally."
    ),
    "schema": {"type": "string", "examples": ['"3"']},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Any unique string (1 to 255 characters, e.g. a UUID) naming this request: a retry "
        "with the same key and the same body returns the first response (with "
        "`Idempotent-Replayed: true`) instead of acting twice; the same key with another "
        "body is a 422."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _declare_headers(operation: dict[str, Any], method: str) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    for index, parameter in enumerate(parameters):
        if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
            parameters[index] = dict(IF_MATCH)
    if method == "post" and operation.get("security"):
        # kit.idempotency's middleware serves every authenticated POST
        parameters.append(dict(IDEMPOTENCY_KEY))
    if not parameters:
        del operation["parameters"]


def _describe_files(operation: dict[str, Any]) -> None:
    """A response with a media type but no schema (a PDF) is a file: say so, so that a
    generated client returns its bytes."""
    for response in operation.get("responses", {}).values():
        for media_type, media in response.get("content", {}).items():
            if not media.get("schema") and not media_type.endswith("json"):
                media["schema"] = {"type": "string", "format": "binary"}


def error_statuses(operation: dict[str, Any], method: str) -> set[int]:
    """The statuses an operation can answer with a problem, by rule from what it takes."""
    statuses = {422, 500}
    parameters = operation.get("parameters", [])
    if "requestBody" in operation:
        statuses |= {400, 413}
    if operation.get("security"):
        statuses |= {401, 403}
    if any(p["in"] == "path" for p in parameters):
        statuses.add(404)
    if method in WRITE_METHODS and operation.get("security"):
        statuses.add(409)
    if any(p["in"] == "header" and p["name"] == "If-Match" for p in parameters):
        statuses.add(412)
    return statuses


def _document_problems(operation: dict[str, Any], method: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    problem = {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}}
    for status in sorted(error_statuses(operation, method) | declared):
        response = responses.setdefault(str(status), {})
        content = response.get("content", {})
        schema_ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        # a route's own error model (e.g. RFC 6749's on the token endpoint) stays
        if not content or schema_ref.endswith("/HTTPValidationError"):
            response["content"] = {PROBLEM_JSON: problem}
        if not response.get("description") or response["description"] == "Validation Error":
            response["description"] = STATUS_DESCRIPTIONS.get(status, "A problem")
    operation["responses"] = dict(sorted(responses.items()))


# --- /docs and /redoc, offline ---------------------------------------------------------------

DOCS_ASSETS_URL = "/docs/assets"


def _assets_directory() -> Path:
    """Swagger UI's and ReDoc's dist files as the fastapi-offline package ships them."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:  # pragma: no cover - a declared dependency
        raise RuntimeError("the fastapi-offline package is not installed")
    return Path(spec.origin).parent / "static"


def install_offline_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI, with a working Authorize button) and `/redoc`, whose scripts,
    styles and icon come from this server, never from a CDN."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = "/docs/oauth2-redirect"
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=_assets_directory()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API",
            redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
