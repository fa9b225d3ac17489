"""The per-process cache of validated tokens and tenant rows (tenancy.access_cache).

Changes made through this process take effect at once; changes made elsewhere (another
worker, the CLI: here a Core connection that no Session sees) once the entry expires.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from kakin.customers.models import Customer
from kakin.kit.crypto import hash_secret
from kakin.kit.db import ReadOnlySession, tenant_session
from kakin.runtime import Runtime
from kakin.tenancy.access_cache import ACCESS_CACHE
from kakin.tenancy.models import AccessToken, Tenant
from kakin.tenancy.service import revoke_client
from tests.factories.api import Api
from tests.factories.customers import create_customer


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    ACCESS_CACHE.clear()
    yield
    ACCESS_CACHE.clear()


def _expire_entries() -> None:
    """What the passing of ACCESS_CACHE_SECONDS does."""
    ACCESS_CACHE.clear()


def test_a_token_revoked_through_the_api_is_refused_at_once_on_the_cached_paths(
    client: TestClient, api: Api
) -> None:
    customer = create_customer(api)
    assert api.get(f"/v1/customers/{customer['id']}").status_code == 200  # cached now
    creds = (api.credentials.client_id, api.credentials.client_secret)
    assert client.post("/v1/oauth/revoke", data={"token": api.token}, auth=creds).status_code == 200
    assert api.get(f"/v1/customers/{customer['id']}").status_code == 401
    assert api.post("/v1/customers", json={"name": "山田 花子"}).status_code == 401


def test_a_client_revoked_by_a_session_of_this_process_is_refused_at_once(
    runtime: Runtime, api: Api
) -> None:
    assert api.get("/v1/customers").status_code == 200
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        assert revoke_client(session, api.credentials.client_id)
    assert api.get("/v1/customers").status_code == 401


def test_a_revocation_rolled_back_leaves_the_token_valid(runtime: Runtime, api: Api) -> None:
    assert api.get("/v1/customers").status_code == 200
    with runtime.sessions() as session:
        session.info["tenant_id"] = api.tenant_id
        with session.begin():
            revoke_client(session, api.credentials.client_id)
            session.rollback()
    assert api.get("/v1/customers").status_code == 200


def test_another_process_revoking_a_token_is_seen_within_the_time_to_live(
    runtime: Runtime, api: Api
) -> None:
    assert api.get("/v1/customers").status_code == 200
    with runtime.engine.begin() as conn:  # not a Session: as another process would
        conn.execute(
            update(AccessToken)
            .where(AccessToken.token_hash == hash_secret(api.token))
            .values(revoked_at=text("CURRENT_TIMESTAMP"))
        )
    assert api.get("/v1/customers").status_code == 200  # still cached: the documented lag
    _expire_entries()
    assert api.get("/v1/customers").status_code == 401


def test_a_function_switched_off_through_the_api_is_refused_at_once(api: Api) -> None:
    assert api.get("/v1/customers").status_code == 200
    tenant = api.get("/v1/tenant")
    functions = [f for f in tenant.json()["functions"] if f != "customers"]
    changed = api.patch(
        "/v1/tenant", json={"functions": functions}, headers={"If-Match": tenant.headers["ETag"]}
    )
    assert changed.status_code == 200, changed.text
    assert api.get("/v1/customers").status_code == 403


def test_a_tenant_changed_by_an_update_statement_of_this_process_is_reread(
    runtime: Runtime, api: Api
) -> None:
    assert api.post("/v1/customers", json={"name": "山田 花子"}).status_code == 201
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        session.execute(update(Tenant).values(limit_customers=1))
    response = api.post("/v1/customers", json={"name": "山田 次郎"})
    assert response.status_code == 409, response.text


def test_another_process_changing_the_tenant_is_seen_within_the_time_to_live(
    runtime: Runtime, api: Api
) -> None:
    assert api.get("/v1/customers").status_code == 200
    with runtime.engine.begin() as conn:
        conn.execute(
            update(Tenant).where(Tenant.tenant_id == api.tenant_id).values(functions=["rating"])
        )
    assert api.get("/v1/customers").status_code == 200
    _expire_entries()
    assert api.get("/v1/customers").status_code == 403


def test_a_cached_tenant_is_attached_to_the_request_session_without_a_query(
    runtime: Runtime, api: Api
) -> None:
    """Routes that read `ctx.tenant` get the snapshot as an object of their session: a
    registration checks `limit_customers` on it (and locks the row itself)."""
    assert api.post("/v1/customers", json={"name": "山田 花子"}).status_code == 201
    assert api.post("/v1/customers", json={"name": "山田 次郎"}).status_code == 201
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        count = len(session.scalars(select(Customer.id)).all())
    assert count == 2


def test_a_read_only_session_refuses_writes(runtime: Runtime, api: Api) -> None:
    with runtime.read_sessions() as session:
        session.info["tenant_id"] = api.tenant_id
        assert session.scalar(select(Tenant.tenant_id)) == api.tenant_id
        with pytest.raises(ReadOnlySession):
            session.execute(update(Tenant).values(name="changed"))
        session.add(Customer(id="cus_x", name_enc=b"x", name_bi="x"))
        with pytest.raises(ReadOnlySession):
            session.flush()
