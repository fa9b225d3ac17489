"""An authenticated API caller for one tenant, over real HTTP into the ASGI app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from kakin.kit.db import tenant_session, unscoped_session
from kakin.onboarding import open_tenant
from kakin.runtime import Runtime
from kakin.tenancy import service as tenancy
from kakin.tenancy.schemas import ClientCredentials


@dataclass
class Api:
    client: TestClient
    tenant_id: str
    credentials: ClientCredentials
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = self.headers | kwargs.pop("headers", {})
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self._call("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self._call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._call("DELETE", path, **kwargs)

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST and insist on 201; returns the body."""
        response = self.post(path, json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


def new_tenant_api(
    client: TestClient,
    runtime: Runtime,
    name: str = "test tenant",
    functions: list[str] | None = None,
    scopes: list[str] | None = None,
    sandbox: bool = False,
) -> Api:
    with unscoped_session(runtime.sessions) as session:
        tenant_id = open_tenant(
            session, name, runtime.keyring.new_wrapped_key(), functions=functions, sandbox=sandbox
        ).tenant_id
    with tenant_session(runtime.sessions, tenant_id) as session:
        credentials = tenancy.create_client(session, name="tests", scopes=scopes)
    response = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 200, response.text
    return Api(client, tenant_id, credentials, response.json()["access_token"])


def advance_clock_to(api: Api, day: str) -> None:
    """Move a sandbox tenant's clock forward to `day`, unless its today is later already
    (the tests stay true when the real date passes theirs)."""
    today = api.get("/v1/tenant/clock").json()["date"]
    if today < day:
        moved = api.post("/v1/tenant/clock", json={"date": day})
        assert moved.status_code == 200, moved.text
