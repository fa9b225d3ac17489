"""RFC 6749 §4.4 client credentials, RFC 7009 revocation, scopes and function switches."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from kakin.tenancy.service import create_client, revoke_client
from tests.factories.api import Api, new_tenant_api


def test_token_is_issued_for_basic_credentials_and_opens_the_api(api: Api) -> None:
    response = api.get("/v1/tenant")
    assert response.status_code == 200
    assert response.json()["tenant_id"] == api.tenant_id
    assert response.headers["ETag"]


def test_token_is_issued_for_form_credentials(client: TestClient, api: Api) -> None:
    response = client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": api.credentials.client_id,
            "client_secret": api.credentials.client_secret,
            "scope": "customers",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "customers"
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_secret_is_invalid_client(client: TestClient, api: Api) -> None:
    response = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api.credentials.client_id, "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_unknown_grant_type_is_unsupported_grant_type(client: TestClient, api: Api) -> None:
    response = client.post(
        "/v1/oauth/token",
        data={"grant_type": "password"},
        auth=(api.credentials.client_id, api.credentials.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_scope_the_client_does_not_hold_is_invalid_scope(
    client: TestClient, runtime: Runtime
) -> None:
    limited = new_tenant_api(client, runtime, scopes=["customers"])
    response = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "contracts"},
        auth=(limited.credentials.client_id, limited.credentials.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_missing_or_garbage_token_is_401_problem(client: TestClient) -> None:
    garbage = ({}, {"Authorization": "Bearer kat.ten_X.nonsense"}, {"Authorization": "Basic x"})
    for headers in garbage:
        response = client.get("/v1/tenant", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


def _revoke(client: TestClient, token: str, owner: Api | None) -> Any:
    auth = (owner.credentials.client_id, owner.credentials.client_secret) if owner else None
    return client.post("/v1/oauth/revoke", data={"token": token}, auth=auth)


def test_revoked_token_no_longer_opens_the_api(client: TestClient, api: Api) -> None:
    assert _revoke(client, api.token, api).status_code == 200
    assert api.get("/v1/tenant").status_code == 401


def test_revoke_with_form_credentials_and_of_an_unknown_token_is_200(
    client: TestClient, api: Api
) -> None:
    """RFC 7009 §2.1 (client authentication as at the token endpoint) and §2.2 (an
    invalid token is not an error)."""
    creds = {"client_id": api.credentials.client_id, "client_secret": api.credentials.client_secret}
    unknown = f"kat.{api.tenant_id}.not-a-token"
    assert client.post("/v1/oauth/revoke", data={"token": unknown, **creds}).status_code == 200
    assert client.post("/v1/oauth/revoke", data={"token": api.token, **creds}).status_code == 200
    assert api.get("/v1/tenant").status_code == 401


def test_revoke_without_a_token_is_invalid_request(client: TestClient, api: Api) -> None:
    """RFC 7009 §2.2.1 answers errors as RFC 6749 §5.2: a missing parameter is
    invalid_request (400), not a validation problem."""
    creds = {"client_id": api.credentials.client_id, "client_secret": api.credentials.client_secret}
    for data in (creds, {**creds, "token": ""}):
        response = client.post("/v1/oauth/revoke", data=data)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
    assert api.get("/v1/tenant").status_code == 200


def test_revoke_without_or_with_wrong_client_credentials_is_invalid_client(
    client: TestClient, api: Api
) -> None:
    """RFC 7009 §2.1: "the client also includes its authentication credentials"; §2.2.1:
    invalid_client is answered as RFC 6749 §5.2 says (401)."""
    anonymous = _revoke(client, api.token, None)
    wrong = client.post(
        "/v1/oauth/revoke",
        data={"token": api.token},
        auth=(api.credentials.client_id, "not-the-secret"),
    )
    for response in (anonymous, wrong):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert "WWW-Authenticate" in response.headers
    assert api.get("/v1/tenant").status_code == 200


def test_a_client_cannot_revoke_another_clients_token(
    client: TestClient, runtime: Runtime, api: Api, other_api: Api
) -> None:
    """RFC 7009 §2.1: the server "verifies whether the token was issued to the client
    making the revocation request. If this validation fails, the request is refused"."""
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        second = create_client(session, name="second")
    sibling = client.post(
        "/v1/oauth/revoke",
        data={"token": api.token},
        auth=(second.client_id, second.client_secret),
    )
    assert sibling.status_code == 400, sibling.text
    assert sibling.json()["error"] == "unauthorized_client"
    stranger = _revoke(client, api.token, other_api)  # another tenant's client
    assert stranger.status_code == 200  # not a token it could know of (§2.2)
    assert api.get("/v1/tenant").status_code == 200


def test_revoked_client_cannot_get_tokens_and_its_tokens_die(
    client: TestClient, runtime: Runtime, api: Api
) -> None:
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        assert revoke_client(session, api.credentials.client_id)
    assert api.get("/v1/tenant").status_code == 401
    response = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api.credentials.client_id, api.credentials.client_secret),
    )
    assert response.status_code == 401


def test_tenant_settings_change_with_if_match(api: Api) -> None:
    etag = api.get("/v1/tenant").headers["ETag"]
    response = api.patch(
        "/v1/tenant",
        json={"registration_number": "T1180301018771", "line_rounding": "half_up"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.text
    assert response.json()["registration_number"] == "T1180301018771"
    stale = api.patch("/v1/tenant", json={"language": "en"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert api.get("/v1/tenant").json()["language"] == "ja"


def test_registration_number_with_a_wrong_check_digit_is_422(api: Api) -> None:
    response = api.patch("/v1/tenant", json={"registration_number": "T2180301018771"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/registration_number"


def test_rating_without_contracts_is_refused(api: Api) -> None:
    response = api.patch("/v1/tenant", json={"functions": ["customers", "rating"]})
    assert response.status_code == 422
