"""Fixtures: the same suite on SQLite and on PostgreSQL, migrated by Alembic.

Every database test runs twice, once per database (`db` parameter). Each test gets a
tenant of its own, so tests never see each other's data — the same wall that keeps
tenants apart in production keeps tests apart here. Without a reachable PostgreSQL the
PostgreSQL half is skipped with a visible reason, so a laptop still passes.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kakin.app import create_app
from kakin.migrate import upgrade
from kakin.runtime import Runtime
from kakin.settings import Settings, get_settings
from tests.factories.api import Api, new_tenant_api

POSTGRES_URL = os.environ.get(
    "KAKIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
"""The PostgreSQL the suite uses (present on the development machines and in CI)."""

DATABASES = ["sqlite", "postgresql"]


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def _fresh_postgres_database() -> str:
    """A database of this test session's own (concurrent runs must not share a schema)."""
    name = f"kakin_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=DATABASES)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'kakin.db'}"
        upgrade(url)
        yield url
        return
    problem = _postgres_available()
    if problem is not None:
        pytest.skip(f"PostgreSQL half skipped: {POSTGRES_URL} is not reachable ({problem})")
    url = _fresh_postgres_database()
    try:
        upgrade(url)
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.fixture(scope="session")
def runtime(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    settings = Settings(
        database_url=database_url,
        var_dir=Path(tmp_path_factory.mktemp("var")),
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def cli(runtime: Runtime) -> Iterator[CliRunner]:
    """A runner whose `kakin` uses the test database and master key."""
    get_settings.cache_clear()
    yield CliRunner(
        env={
            "KAKIN_DATABASE_URL": runtime.settings.resolved_database_url(),
            "KAKIN_MASTER_KEY": runtime.settings.master_key,
            "KAKIN_VAR_DIR": str(runtime.settings.var_dir),
        }
    )
    get_settings.cache_clear()


@pytest.fixture
def api(client: TestClient, runtime: Runtime) -> Api:
    """An authenticated API caller for a fresh tenant with every function."""
    return new_tenant_api(client, runtime)


@pytest.fixture
def sandbox_api(client: TestClient, runtime: Runtime) -> Api:
    """A sandbox tenant (its clock can be moved forward: closings ahead of the real date)."""
    return new_tenant_api(client, runtime, name="sandbox tenant", sandbox=True)


@pytest.fixture
def other_api(client: TestClient, runtime: Runtime) -> Api:
    """A second, unrelated tenant (for isolation tests)."""
    return new_tenant_api(client, runtime, name="other tenant")
