"""`kakin usage import FILE -t TENANT` and `kakin usage rollup`, against the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kakin.cli import app
from kakin.runtime import Runtime
from kakin.usage import csv_import
from tests.factories.api import Api
from tests.factories.usage import new_subscription, new_usage_item

HEADER = "record_id,subscription_id,subscription_external_ref,usage_item,quantity,used_at\n"


def _ids(api: Api) -> list[str]:
    page = api.get("/v1/usage-records", params={"limit": 500}).json()
    return sorted(r["record_id"] for r in page["items"])


def test_a_csv_file_is_imported_and_a_reimport_counts_duplicates(
    cli: CliRunner, api: Api, runtime: Runtime, tmp_path: Path
) -> None:
    sub = new_subscription(runtime, api.tenant_id, external_ref="LINE-9")
    _, item = new_usage_item(runtime, api.tenant_id)
    lines = [f"c-{n},{sub.id},,{item},{n}.5,2026-11-{n:02d}T10:00:00+09:00\n" for n in range(1, 21)]
    lines.append(f"c-ref,,LINE-9,{item},3,2026-10-31T15:30:00Z\n")
    path = tmp_path / "usage.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8-sig")  # with BOM, as Excel saves
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 0, result.output
    assert "accepted 21, duplicates 0" in result.output
    assert len(_ids(api)) == 21
    assert api.get("/v1/usage-records/c-ref").json()["used_on"] == "2026-11-01"
    again = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert again.exit_code == 0, again.output
    assert "accepted 0, duplicates 21" in again.output


def test_a_cp932_file_with_japanese_references_is_imported(
    cli: CliRunner, api: Api, runtime: Runtime, tmp_path: Path
) -> None:
    new_subscription(runtime, api.tenant_id, external_ref="回線-東京-001")
    _, item = new_usage_item(runtime, api.tenant_id, code="通話秒")
    text = (
        "record_id,subscription_external_ref,usage_item,quantity,used_at\n"
        f"呼-1,回線-東京-001,{item},180,2026-11-02T09:00:00+09:00\n"
    )
    path = tmp_path / "shift_jis.csv"
    path.write_bytes(text.encode("cp932"))
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 0, result.output
    created = api.get("/v1/usage-records/呼-1").json()
    assert created["quantity"] == "180"
    assert created["usage_item"] == "通話秒"


def test_a_file_with_bad_lines_stores_nothing_and_names_each_line(
    cli: CliRunner, api: Api, runtime: Runtime, tmp_path: Path
) -> None:
    sub = new_subscription(runtime, api.tenant_id, start="2026-11-01")
    _, item = new_usage_item(runtime, api.tenant_id)
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + f"ok-1,{sub.id},,{item},1,2026-11-05T10:00:00+09:00\n"
        + f"bad-2,{sub.id},,{item},-4,2026-11-05T10:00:00+09:00\n"
        + f"ok-3,{sub.id},,{item},1,2026-11-05T10:00:00+09:00\n"
        + f"bad-4,{sub.id},,{item},1,2026-10-20T10:00:00+09:00\n"
        + f"bad-5,{sub.id},,{item},1\n",
        encoding="utf-8",
    )
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 1
    assert "line 3, quantity: must not be negative" in result.output
    assert "line 5, used_at: local day 2026-10-20 is outside" in result.output
    assert "line 6: 5 fields, the header has 6" in result.output
    assert "nothing was stored" in result.output
    assert _ids(api) == []


def test_a_file_with_a_wrong_header_is_refused(cli: CliRunner, api: Api, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("id,qty\n1,2\n", encoding="utf-8")
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 1
    assert "line 1: the header must name the columns" in result.output


def test_rollup_runs_for_a_tenant_and_again_changes_nothing(
    cli: CliRunner, api: Api, runtime: Runtime
) -> None:
    sub = new_subscription(runtime, api.tenant_id)
    _, item = new_usage_item(runtime, api.tenant_id)
    body = {
        "record_id": "r",
        "subscription_id": sub.id,
        "usage_item": item,
        "quantity": "2",
        "used_at": "2026-11-03T10:00:00+09:00",
    }
    api.created("/v1/usage-records", body)
    first = cli.invoke(app, ["usage", "rollup", "-t", api.tenant_id])
    assert first.exit_code == 0, first.output
    assert "rolled up 1 day(s) of 1 tenant(s): 1 totals" in first.output
    second = cli.invoke(app, ["usage", "rollup", "-t", api.tenant_id])
    assert "rolled up 0 day(s)" in second.output
    wholesale = cli.invoke(app, ["usage", "rollup", "-t", api.tenant_id, "--date", "2026-11-03"])
    assert "rolled up 1 day(s) of 1 tenant(s): 1 totals" in wholesale.output


def test_without_a_tenant_the_import_lists_the_tenants_to_choose_from(
    cli: CliRunner, api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(HEADER, encoding="utf-8")
    result = cli.invoke(app, ["usage", "import", str(path)])
    assert result.exit_code == 2
    assert api.tenant_id in result.output
    assert "choose a tenant with -t TENANT" in result.output


def test_out_of_bounds_fields_are_refused_naming_the_line_and_field(
    cli: CliRunner, api: Api, runtime: Runtime, tmp_path: Path
) -> None:
    """Issue 6 §3: a field over the csv module's limit is a clear error naming the line,
    not a traceback; every other bound names its line and field; nothing is stored."""
    sub = new_subscription(runtime, api.tenant_id, start="2026-11-01")
    _, item = new_usage_item(runtime, api.tenant_id)
    path = tmp_path / "hostile.csv"
    path.write_text(
        HEADER
        + f"ok-1,{sub.id},,{item},1,2026-11-05T10:00:00+09:00\n"
        + f'huge-3,{sub.id},,{item},"{"1" * 200_000}",2026-11-05T10:00:00+09:00\n'
        + f"nul-4,{sub.id},,{item}\x00,1,2026-11-05T10:00:00+09:00\n"
        + f"digits-5,{sub.id},,{item},١٢٣,2026-11-05T10:00:00+09:00\n"
        + f"early-6,{sub.id},,{item},1,0001-01-01T00:00:00+09:00\n"
        + f"late-7,{sub.id},,{item},1,9999-12-31T23:59:59-14:00\n"
        + f"ok-8,{sub.id},,{item},1,2026-11-06T10:00:00+09:00\n",
        encoding="utf-8",
    )
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "line 3: not readable as CSV (a field is longer than 131072 characters)" in (
        result.output
    )
    assert "line 4, usage_item: must not contain control characters" in result.output
    assert "line 5, quantity:" in result.output
    assert "line 6, used_at: must lie between 1900-01-01 and 2199-12-31" in result.output
    assert "line 7, used_at: must lie between 1900-01-01 and 2199-12-31" in result.output
    assert "nothing was stored" in result.output
    assert _ids(api) == []


def test_a_file_checked_by_worker_processes_keeps_every_rule_and_line_number(
    cli: CliRunner, api: Api, runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parallel reading (ranges of the file in forked workers, here ~200 bytes each)
    names the same lines, finds repeats across ranges, and stores all or nothing."""
    monkeypatch.setattr(csv_import, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(csv_import, "RANGE_BYTES", 200)
    sub = new_subscription(runtime, api.tenant_id, start="2026-11-01")
    _, item = new_usage_item(runtime, api.tenant_id)

    def line(n: int, quantity: str = "1") -> str:
        return f"w-{n},{sub.id},,{item},{quantity},2026-11-05T10:00:00+09:00\r\n"

    good = [line(n, f"{n}.5") for n in range(1, 31)]
    path = tmp_path / "big.csv"
    crlf = HEADER.replace("\n", "\r\n")
    path.write_text(crlf + "".join([*good[:20], line(21, "-1"), *good[21:]]), encoding="utf-8")
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 1, result.output
    assert "line 22, quantity: must not be negative" in result.output
    assert _ids(api) == []
    path.write_text(crlf + "".join(good) + line(3, "3.5") + line(4, "9"), encoding="utf-8")
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 1, result.output
    assert "line 33, record_id: already registered with other content" in result.output
    assert "line 32" not in result.output  # w-3 again with the same content: a duplicate
    assert _ids(api) == []
    path.write_text(HEADER + "".join(good) + line(3, "3.5"), encoding="utf-8")
    result = cli.invoke(app, ["usage", "import", str(path), "-t", api.tenant_id])
    assert result.exit_code == 0, result.output
    assert "accepted 30, duplicates 1" in result.output
    assert len(_ids(api)) == 30
    assert api.get("/v1/usage-records/w-30").json()["quantity"] == "30.5"
