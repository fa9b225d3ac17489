"""The `kakin` command as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from kakin.billing.models import ClosingRun
from kakin.cli import app
from kakin.kit.db import tenant_session
from kakin.runtime import Runtime
from tests.factories.api import Api, new_tenant_api

KAKIN = [sys.executable, "-m", "kakin.cli"]


def _kakin(tmp_path: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "KAKIN_VAR_DIR": str(tmp_path / "var"),
        "KAKIN_DATABASE_URL": f"sqlite:///{tmp_path / 'kakin.db'}",
        "KAKIN_SCHEDULER_INTERVAL_SECONDS": "0",
    }
    env.pop("KAKIN_MASTER_KEY", None)
    if key is not None:
        env["KAKIN_MASTER_KEY"] = key
    return subprocess.run(
        [*KAKIN, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_tenant_create_prints_credentials_as_json(tmp_path: Path, key: str) -> None:
    created = _kakin(tmp_path, "tenant", "create", "ACME 通信", "--json", key=key)
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert set(body) == {"tenant_id", "client_id", "client_secret", "sandbox"}
    assert body["sandbox"] is False
    listed = _kakin(tmp_path, "tenant", "list", key=key)
    assert body["tenant_id"] in listed.stdout
    assert "ACME 通信" in listed.stdout


def test_client_create_and_revoke_by_tenant_name(tmp_path: Path, key: str) -> None:
    _kakin(tmp_path, "tenant", "create", "acme", key=key)
    created = _kakin(tmp_path, "client", "create", "-t", "acme", "--scope", "customers", key=key)
    assert created.returncode == 0, created.stderr
    client = json.loads(created.stdout)
    assert client["scopes"] == ["customers"]
    revoked = _kakin(tmp_path, "client", "revoke", client["client_id"], "-t", "acme", key=key)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in _kakin(tmp_path, "client", "list", "-t", "acme", key=key).stdout


def test_without_t_the_tenants_are_listed_to_choose_from(tmp_path: Path, key: str) -> None:
    """Seed 003: a command-line import without -t lists the choices."""
    _kakin(tmp_path, "tenant", "create", "first", key=key)
    _kakin(tmp_path, "tenant", "create", "second", key=key)
    result = _kakin(tmp_path, "client", "create", key=key)
    assert result.returncode == 2
    assert "first" in result.stdout
    assert "second" in result.stdout
    assert "-t" in result.stderr


def test_a_database_of_another_master_key_is_refused_with_a_clear_message(
    tmp_path: Path, key: str
) -> None:
    _kakin(tmp_path, "tenant", "create", "acme", key=key)
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    refused = _kakin(tmp_path, "tenant", "list", key=other)
    assert refused.returncode == 2
    assert "cannot unwrap" in refused.stderr
    assert "KAKIN_MASTER_KEY" in refused.stderr


def test_the_key_file_is_created_private_on_first_run(tmp_path: Path) -> None:
    assert _kakin(tmp_path, "migrate").returncode == 0
    key_file = tmp_path / "var" / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_demo_and_close_work_end_to_end(tmp_path: Path, key: str) -> None:
    demo = _kakin(tmp_path, "demo", key=key)
    assert demo.returncode == 0, demo.stderr
    tenant_id = json.loads(demo.stdout)["tenant_id"]
    again = _kakin(tmp_path, "demo", key=key)
    assert json.loads(again.stdout)["tenant_id"] == tenant_id
    closed = _kakin(tmp_path, "close", "--date", "2026-11-01", "-t", tenant_id, key=key)
    assert closed.returncode == 0, closed.stderr
    assert "completed" in closed.stdout


def test_tenant_create_sandbox(tmp_path: Path, key: str) -> None:
    created = _kakin(tmp_path, "tenant", "create", "試し", "--sandbox", "--json", key=key)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["sandbox"] is True
    assert "sandbox" in _kakin(tmp_path, "tenant", "list", key=key).stdout


def test_client_create_grants_admin_only_when_asked(tmp_path: Path, key: str) -> None:
    _kakin(tmp_path, "tenant", "create", "acme", key=key)
    default = _kakin(tmp_path, "client", "create", "-t", "acme", key=key)
    assert json.loads(default.stdout)["scopes"] == ["customers", "contracts", "rating"]
    admin = _kakin(
        tmp_path, "client", "create", "-t", "acme", "--scope", "admin", "--scope", "rating", key=key
    )
    assert admin.returncode == 0, admin.stderr
    assert json.loads(admin.stdout)["scopes"] == ["admin", "rating"]
    unknown = _kakin(tmp_path, "client", "create", "-t", "acme", "--scope", "root", key=key)
    assert unknown.returncode == 2
    assert "unknown scope 'root'" in unknown.stderr


def _runs(runtime: Runtime, tenant_id: str) -> int:
    with tenant_session(runtime.sessions, tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(ClosingRun)) or 0)


def test_close_refuses_a_tenant_whose_rating_function_is_off(
    cli: CliRunner, client: TestClient, runtime: Runtime
) -> None:
    tenant = new_tenant_api(client, runtime, functions=["customers", "contracts"])
    result = cli.invoke(app, ["close", "--date", "2026-11-01", "-t", tenant.tenant_id])
    assert result.exit_code == 2, result.output
    assert "rating function" in result.output
    assert _runs(runtime, tenant.tenant_id) == 0


def test_close_refuses_a_date_after_the_tenants_today(
    cli: CliRunner, api: Api, runtime: Runtime
) -> None:
    today = dt.date.fromisoformat(api.get("/v1/tenant/clock").json()["date"])
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    result = cli.invoke(app, ["close", "--date", tomorrow, "-t", api.tenant_id])
    assert result.exit_code == 2, result.output
    assert f"closing date {tomorrow} is after the tenant's today {today}" in result.output
    assert _runs(runtime, api.tenant_id) == 0
    closed = cli.invoke(app, ["close", "--date", today.isoformat(), "-t", api.tenant_id])
    assert closed.exit_code == 0, closed.output
    assert _runs(runtime, api.tenant_id) == 1
