"""Seed 000 個人情報の暗号化: no personal value is stored in plain text, anywhere."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.customers import customer_body

SECRETS = {
    "name": "Zyxqwv Plaintextovich",
    "name_kana": "ヌヌヌテストカナ",
    "address": "秘密県秘密市秘密町9-8-7",
    "phone": "099-8877-6655",
    "email": "uniq-zq9-secret@example.org",
    "postal_code": "987-6543",
    "birth_date": "1911-02-03",
}
CHANGED = {
    "name": "Changed Qwzxyplain",
    "address": "変更後の秘密住所12-34",
    "email": "changed-zq9-secret@example.org",
}
BULK = {
    "name": "Bulkname Vvqzplain",
    "address": "一括登録の秘密住所56-78",
    "email": "bulk-zq9-secret@example.org",
    "phone": "080-5544-3322",
}


def _needles() -> list[str]:
    values = [*SECRETS.values(), *CHANGED.values(), *BULK.values()]
    return [*values, "Plaintextovich", "ヌヌヌ", "秘密", "uniq-zq9", "Qwzxyplain", "Vvqzplain"]


def _store_personal_data(api: Api) -> None:
    created = api.post(
        "/v1/customers",
        json=customer_body(**SECRETS),
        headers={"Idempotency-Key": "encryption-test-1"},
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    replayed = api.post(
        "/v1/customers",
        json=customer_body(**SECRETS),
        headers={"Idempotency-Key": "encryption-test-1"},
    )
    assert replayed.json() == created.json()
    changed = api.patch(f"/v1/customers/{customer_id}", json=CHANGED)
    assert changed.status_code == 200
    bulk = api.post("/v1/customers/bulk", json={"customers": [customer_body(**BULK)]})
    assert bulk.status_code == 201
    group = api.created("/v1/groups", {"name": "暗号化テスト"})
    assert api.put(f"/v1/groups/{group['id']}/customers/{customer_id}").status_code == 201
    found = api.post("/v1/customers/search", json={"email": SECRETS["email"]})
    assert found.status_code == 200
    assert api.get(f"/v1/customers/{customer_id}").json()["name"] == CHANGED["name"]


def _all_rows_as_text(runtime: Runtime) -> list[str]:
    dialect = runtime.engine.dialect.name
    texts: list[str] = []
    with runtime.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            if dialect == "postgresql":
                rows = conn.execute(text(f'SELECT t::text FROM "{table}" AS t'))  # noqa: S608
                texts += [row[0] for row in rows]
            else:
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                    for value in row:
                        if isinstance(value, bytes):
                            texts.append(value.decode("utf-8", errors="replace"))
                            texts.append(value.hex())
                        else:
                            texts.append(str(value))
    return texts


def test_no_personal_value_is_stored_in_plain_text(api: Api, runtime: Runtime) -> None:
    _store_personal_data(api)
    stored = "\n".join(_all_rows_as_text(runtime))
    for needle in _needles():
        assert (needle in stored) is False, "a personal value is stored in plain text"
        assert (needle.encode().hex() in stored) is False, "a personal value is stored as bytes"
    if runtime.engine.dialect.name == "sqlite":
        database = Path(runtime.engine.url.database or "")
        raw = b"".join(
            path.read_bytes() for path in (database, Path(f"{database}-wal")) if path.exists()
        )
        assert raw  # the scan read the file
        for needle in _needles():
            assert (needle.encode() in raw) is False, "a personal value is in the database file"


def test_the_scan_would_see_a_plain_value(api: Api, runtime: Runtime) -> None:
    """The check above is not vacuous: free fields are plain text and are found."""
    marker = "plain-free-field-zq9-marker"
    api.created("/v1/customers", customer_body(free_9=marker))
    assert marker in "\n".join(_all_rows_as_text(runtime))
