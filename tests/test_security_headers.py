"""Headers every response carries, and what a 500 says."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from kakin.kit.errors import install_problem_handlers
from kakin.kit.headers import SecurityHeaders
from tests.factories.api import Api


def test_api_responses_are_nosniff_and_never_cached(client: TestClient, api: Api) -> None:
    customer = api.created("/v1/customers", {"name": "山田 花子"})
    responses = [
        api.get(f"/v1/customers/{customer['id']}"),  # decrypted personal data
        api.get("/v1/customers"),
        api.get("/v1/tenant"),
        api.get("/v1/customers/cus_missing"),  # a problem document
        client.get("/v1/customers"),  # 401
        client.post("/v1/oauth/token", data={"grant_type": "client_credentials"}),
    ]
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        assert response.headers["Cache-Control"] == "no-store", response.url
    health = client.get("/healthz")
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert "Cache-Control" not in health.headers


def test_an_unexpected_error_is_an_internal_error_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(SecurityHeaders)

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Internal error"
    assert body["status"] == 500
    assert "secret" not in response.text
    # answered from outside every middleware, with the same headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
