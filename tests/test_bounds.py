"""Issue 6 §3: bad input is a clear 4xx and changes nothing.

A sweep posts boundary and hostile values (huge, tiny, NaN/Infinity strings, exponents,
Unicode digits, control characters, lone surrogates, deep and huge JSON, extreme dates) to
every create / update / search route, into every bounded field, and asserts a 4xx
problem+json that names the field — and that no row of the tenant changed (not one row
more or less in any tenant table, not one audit event more).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from kakin.kit.body_limit import BATCH_BODY_LIMIT, DEFAULT_BODY_LIMIT
from kakin.kit.bounds import AMOUNT_DIGITS, MAX_DATE, MIN_DATE, Money, SignedMoney
from kakin.kit.db import Base, unscoped_session
from kakin.kit.errors import PROBLEM_JSON
from kakin.runtime import Runtime
from tests.factories.api import Api
from tests.factories.billing import run_closing
from tests.factories.catalog import (
    code,
    create_discount_table,
    create_service,
    create_tariff,
    create_usage_item,
    service_body,
    tariff_body,
    usage_item_body,
)

# --- hostile values, by the kind of field --------------------------------------------------

NOT_A_NUMBER: list[Any] = [
    "1e30",
    10**30,
    "1.36e308",
    "NaN",
    "Infinity",
    "-Infinity",
    "١٢٣",  # Arabic-Indic digits: int() and Decimal() take them
    "１２３",  # full-width digits
    "1_000",
    " 1",
    "0x10",
    "",
    0.5,  # a JSON fraction
    True,
    [],
    {},
]
MONEY = [*NOT_A_NUMBER, "1000000000000", "-1000000000000", "0.0000001", "-1"]
SIGNED_MONEY = [*NOT_A_NUMBER, "1000000000000", "-1000000000000", "0.0000001"]
RECORD_MONEY = [*SIGNED_MONEY, "0.5"]  # JPY has no minor unit
QUANTITY = [*NOT_A_NUMBER, "1000000000000", "0.0000001", "-1"]
RAW_QUANTITY = [*NOT_A_NUMBER, "1000000000000000000", "0.0000001", "-1"]
COUNT = [10**20, 2**63, -1, "١", "１", 1.5, [], "x" * 20_000]
QUANTITY_COUNT = [*COUNT, 0, "2", True]  # a subscription's quantity is a JSON integer ≥ 1
DATE = ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01", "٢٠٢٦-01-01", "2026-02-30", 1]
TIMESTAMP = [
    "0001-01-01T00:00:00+09:00",
    "9999-12-31T23:59:59-14:00",
    "1899-12-31T12:00:00Z",
    "2200-01-01T00:00:00Z",
]
TEXT = ["a\x00b", "a\x07b", "a\x9bb", "\ud800", "x" * 20_000, 5]
FREE = [
    {"deep": json.loads("[" * 900 + "]" * 900)},
    {f"k{n}": "x" * 9_000 for n in range(5)},  # 45 KB: each string fine, the whole too big
    {"a\x00": 1},
    "not an object",
]

KINDS: dict[str, list[Any]] = {
    "money": MONEY,
    "signed_money": SIGNED_MONEY,
    "record_money": RECORD_MONEY,
    "quantity": QUANTITY,
    "raw_quantity": RAW_QUANTITY,
    "count": COUNT,
    "quantity_count": QUANTITY_COUNT,
    "date": DATE,
    "timestamp": TIMESTAMP,
    "text": TEXT,
    "free": FREE,
}


def _dumps(body: Any) -> bytes:
    # ensure_ascii: a lone surrogate travels as the JSON escape "\ud800"
    return json.dumps(body, ensure_ascii=True).encode()


def _send(api: Api, method: str, path: str, body: Any) -> Any:
    return api._call(
        method, path, content=_dumps(body), headers={"Content-Type": "application/json"}
    )


def _with(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


def snapshot(runtime: Runtime, tenant_id: str) -> dict[str, int]:
    """Rows per tenant table (audit events included)."""
    counts = {}
    with unscoped_session(runtime.sessions) as session:
        for table in Base.metadata.sorted_tables:
            if "tenant_id" in table.c:
                counts[table.name] = session.scalar(
                    select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
                )
    return counts


def assert_refused(response: Any, pointer: str, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), what
    problem = response.json()
    pointers = [e["pointer"] for e in problem.get("errors", [])]
    assert any(p == pointer or p.startswith(pointer + "/") for p in pointers), (
        what,
        pointer,
        problem,
    )


# --- a tenant with one of everything -----------------------------------------------------


def _world(api: Api) -> dict[str, Any]:
    service = create_service(api)
    item = create_usage_item(api)
    tariff = create_tariff(api)
    table = create_discount_table(api)
    plan = api.created(
        "/v1/price-plans",
        {
            "code": code("PLAN"),
            "name": "光ホーム",
            "service_id": service["id"],
            "effective_from": "2026-01-01",
            "recurring_fees": [{"code": "base", "name": "月額基本料", "amount": "3100"}],
            "usage_charges": [{"usage_item": item["id"], "tariff_id": tariff["id"]}],
        },
    )
    customer = api.created("/v1/customers", {"name": "境界 太郎"})
    group = api.created("/v1/groups", {"name": "境界グループ"})
    contract = api.created(
        "/v1/contracts",
        {"customer_id": customer["id"], "closing_day": "eom", "start_date": "2026-10-01"},
    )
    subscription = api.created(
        "/v1/subscriptions",
        {"contract_id": contract["id"], "price_plan_id": plan["id"], "start_date": "2026-10-01"},
    )
    assert run_closing(api, "2026-11-01")["status"] == "completed"
    receivable = api.get("/v1/receivables", params={"contract_id": contract["id"]}).json()["items"][
        0
    ]
    assert api.post(f"/v1/receivables/{receivable['id']}/finalize").status_code == 200
    return {
        "service": service,
        "item": item,
        "tariff": tariff,
        "table": table,
        "plan": plan,
        "customer": customer,
        "group": group,
        "contract": contract,
        "subscription": subscription,
        "receivable": receivable,
    }


Case = tuple[str, str, dict[str, Any], dict[tuple[str | int, ...], str]]


def _cases(w: dict[str, Any]) -> list[Case]:
    sub = w["subscription"]["id"]
    plan_body = {
        "code": code("PLAN"),
        "name": "plan",
        "service_id": w["service"]["id"],
        "effective_from": "2026-01-01",
        "recurring_fees": [{"code": "base", "name": "base", "amount": "100"}],
        "one_time_fees": [{"code": "setup", "name": "setup", "amount": "100"}],
        "usage_charges": [
            {"usage_item": w["item"]["id"], "tariff_id": w["tariff"]["id"], "allowance": "1"}
        ],
    }
    free = {("free",): "free", ("free_1",): "text"}
    return [
        (
            "POST",
            "/v1/customers",
            {"name": "山田"},
            {("name",): "text", ("address",): "text", ("birth_date",): "date", **free},
        ),
        (
            "PATCH",
            f"/v1/customers/{w['customer']['id']}",
            {"name": "山田"},
            {("name",): "text", ("birth_date",): "date", **free},
        ),
        (
            "POST",
            "/v1/customers/bulk",
            {"customers": [{"name": "山田"}]},
            {("customers", 0, "name"): "text", ("customers", 0, "birth_date"): "date"},
        ),
        (
            "POST",
            "/v1/customers/search",
            {"name": "山田"},
            {("name",): "text", ("created_from",): "timestamp", ("updated_to",): "timestamp"},
        ),
        ("POST", "/v1/groups", {"name": "g"}, {("name",): "text", **free}),
        ("PATCH", f"/v1/groups/{w['group']['id']}", {"name": "g"}, {("name",): "text", **free}),
        (
            "POST",
            "/v1/services",
            service_body(),
            {("name",): "text", ("description",): "text", **free},
        ),
        (
            "PATCH",
            f"/v1/services/{w['service']['id']}",
            {"name": "s"},
            {("name",): "text", ("description",): "text", **free},
        ),
        (
            "POST",
            "/v1/usage-items",
            usage_item_body(),
            {("unit",): "quantity", ("unit_name",): "text", ("name",): "text"},
        ),
        (
            "POST",
            "/v1/tariffs",
            tariff_body({"shape": "per_unit", "unit_price": "0.05"}),
            {("unit_price",): "money", ("effective_from",): "date", ("name",): "text"},
        ),
        (
            "POST",
            "/v1/tariffs",
            tariff_body(
                {
                    "shape": "step",
                    "bands": [{"up_to": "1", "amount": "100"}, {"up_to": None, "amount": "200"}],
                }
            ),
            {("bands", 0, "amount"): "money", ("bands", 0, "up_to"): "quantity"},
        ),
        (
            "POST",
            f"/v1/tariffs/{w['tariff']['id']}/versions",
            {"effective_from": "2027-01-01", "shape": "per_unit", "unit_price": "1"},
            {("unit_price",): "money", ("effective_from",): "date"},
        ),
        (
            "POST",
            "/v1/discount-tables",
            {"code": code("DT"), "name": "d", "kind": "fixed_amount", "amount": "100"},
            {("amount",): "money"},
        ),
        (
            "POST",
            "/v1/discount-tables",
            {"code": code("DT"), "name": "d", "kind": "fixed_rate", "rate": "10"},
            {("rate",): "money"},
        ),
        (
            "POST",
            "/v1/tax-categories/standard/rates",
            {"effective_from": "2030-01-01", "rate": "0.10"},
            {("rate",): "money", ("effective_from",): "date"},
        ),
        (
            "POST",
            "/v1/price-plans",
            plan_body,
            {
                ("recurring_fees", 0, "amount"): "money",
                ("one_time_fees", 0, "amount"): "money",
                ("usage_charges", 0, "allowance"): "quantity",
                ("effective_from",): "date",
                ("name",): "text",
            },
        ),
        (
            "POST",
            f"/v1/price-plans/{w['plan']['id']}/versions",
            {
                "effective_from": "2027-01-01",
                "recurring_fees": [{"code": "base", "name": "base", "amount": "100"}],
            },
            {("recurring_fees", 0, "amount"): "money", ("effective_from",): "date"},
        ),
        (
            "PATCH",
            "/v1/tenant",
            {"name": "t"},
            {("name",): "text", ("issuer_name",): "text", ("time_zone",): "text"},
        ),
        (
            "POST",
            "/v1/contracts",
            {"external_customer_id": "ext-1", "start_date": "2026-10-01"},
            {
                ("start_date",): "date",
                ("end_date",): "date",
                ("external_customer_id",): "text",
                ("billing_address",): "text",
                **free,
            },
        ),
        (
            "PATCH",
            f"/v1/contracts/{w['contract']['id']}",
            {"payment_method_ref": "r"},
            {("end_date",): "date", ("payment_method_ref",): "text", **free},
        ),
        (
            "POST",
            "/v1/subscriptions",
            {
                "contract_id": w["contract"]["id"],
                "price_plan_id": w["plan"]["id"],
                "start_date": "2026-12-01",
            },
            {("quantity",): "quantity_count", ("start_date",): "date", ("external_ref",): "text"},
        ),
        ("PATCH", f"/v1/subscriptions/{sub}", {"external_ref": "x"}, {("external_ref",): "text"}),
        (
            "POST",
            f"/v1/subscriptions/{sub}/quantity-changes",
            {"quantity": 2, "effective_date": "2026-12-01"},
            {("quantity",): "quantity_count", ("effective_date",): "date"},
        ),
        (
            "POST",
            f"/v1/subscriptions/{sub}/price-overrides",
            {"component_code": "base", "amount": "100", "effective_date": "2026-12-01"},
            {("amount",): "money", ("component_code",): "text", ("effective_date",): "date"},
        ),
        (
            "POST",
            f"/v1/subscriptions/{sub}/suspensions",
            {"effective_date": "2026-12-01"},
            {("effective_date",): "date"},
        ),
        (
            "POST",
            "/v1/discounts",
            {
                "contract_id": w["contract"]["id"],
                "discount_table_id": w["table"]["id"],
                "start_date": "2026-12-01",
            },
            {("start_date",): "date", ("priority",): "count"},
        ),
        (
            "POST",
            "/v1/usage-records",
            {
                "record_id": "r-1",
                "subscription_id": sub,
                "usage_item": w["item"]["code"],
                "quantity": "1",
                "used_at": "2026-12-01T00:00:00Z",
            },
            {
                ("quantity",): "raw_quantity",
                ("used_at",): "timestamp",
                ("record_id",): "text",
                ("usage_item",): "text",
            },
        ),
        (
            "POST",
            "/v1/usage-records/batch",
            {
                "records": [
                    {
                        "record_id": "r-2",
                        "subscription_id": sub,
                        "usage_item": w["item"]["code"],
                        "quantity": "1",
                        "used_at": "2026-12-01T00:00:00Z",
                    }
                ]
            },
            {("records", 0, "quantity"): "raw_quantity", ("records", 0, "used_at"): "timestamp"},
        ),
        ("POST", "/v1/closing-runs", {"closing_date": "2026-12-01"}, {("closing_date",): "date"}),
        (
            "POST",
            f"/v1/contracts/{w['contract']['id']}/adjustments",
            {"amount": "-500", "reason": "お詫び"},
            {("amount",): "record_money", ("reason",): "text"},
        ),
        (
            "POST",
            f"/v1/receivables/{w['receivable']['id']}/credit-notes",
            {"reason": "返金", "lines": [{"description": "返金", "amount": "100"}]},
            {("lines", 0, "amount"): "record_money", ("reason",): "text"},
        ),
        (
            "POST",
            f"/v1/subscriptions/{sub}/one-time-charges",
            {"code": "dev", "name": "端末", "amount": "9800", "incurred_on": "2026-12-01"},
            {
                ("amount",): "money",
                ("quantity",): "quantity",
                ("incurred_on",): "date",
                ("name",): "text",
            },
        ),
        (
            "POST",
            f"/v1/subscriptions/{sub}/top-ups",
            {
                "usage_item": w["item"]["code"],
                "quantity": "10",
                "price": "100",
                "bought_on": "2026-12-01",
            },
            {("quantity",): "quantity", ("price",): "money", ("bought_on",): "date"},
        ),
        (
            "POST",
            "/v1/simulations",
            {
                "billing_month": "2026-11",
                "hypothetical": {
                    "start_date": "2026-11-01",
                    "plan": {"recurring_fees": [{"code": "b", "name": "b", "amount": "100"}]},
                    "usage": [{"usage_item": w["item"]["code"], "quantity": "1"}],
                },
            },
            {
                ("billing_month",): "date",
                ("hypothetical", "quantity"): "quantity_count",
                ("hypothetical", "start_date"): "date",
                ("hypothetical", "usage", 0, "quantity"): "raw_quantity",
                ("hypothetical", "plan", "recurring_fees", 0, "amount"): "money",
            },
        ),
        (
            "PATCH",
            f"/v1/usage-items/{w['item']['id']}",
            {"unit_name": "packet"},
            {("unit_name",): "text", ("name",): "text", **free},
        ),
        ("PATCH", f"/v1/tariffs/{w['tariff']['id']}", {"name": "t"}, {("name",): "text"}),
        ("PATCH", f"/v1/price-plans/{w['plan']['id']}", {"name": "p"}, {("name",): "text"}),
        ("PATCH", f"/v1/discount-tables/{w['table']['id']}", {"name": "d"}, {("name",): "text"}),
        ("PATCH", "/v1/tax-categories/standard", {"name": "標準"}, {("name",): "text"}),
        (
            "POST",
            f"/v1/subscriptions/{sub}/plan-changes",
            {"price_plan_id": w["plan"]["id"], "effective_date": "2026-12-01"},
            {("price_plan_id",): "text", ("effective_date",): "date"},
        ),
        (
            "POST",
            f"/v1/subscriptions/{sub}/cancellations",
            {"effective_date": "2026-12-01"},
            {("effective_date",): "date"},
        ),
        (
            "POST",
            "/v1/receivables/finalize",
            {"billing_month": "2026-11"},
            {("billing_month",): "date"},
        ),
    ]


def test_every_bounded_field_of_every_route_refuses_hostile_values(
    api: Api, runtime: Runtime
) -> None:
    world = _world(api)
    for method, path, body, fields in _cases(world):
        before = snapshot(runtime, api.tenant_id)
        for field, kind in fields.items():
            where = "/body/" + "/".join(str(p) for p in field)
            for value in KINDS[kind]:
                response = _send(api, method, path, _with(body, field, value))
                assert_refused(response, where, f"{method} {path} {where} = {value!r:.60}")
        assert snapshot(runtime, api.tenant_id) == before, f"{method} {path} changed something"


def test_a_bounded_value_just_inside_is_accepted(api: Api) -> None:
    """The bounds are where they say: 10^12 − 1 with 6 places is money; 1900-01-01 and
    2199-12-31 are dates."""
    tariff = api.created(
        "/v1/tariffs",
        tariff_body(
            {"shape": "per_unit", "unit_price": "999999999999.999999"},
            effective_from=MIN_DATE.isoformat(),
        ),
    )
    assert tariff["versions"][0]["unit_price"] == "999999999999.999999"
    contract = api.created(
        "/v1/contracts",
        {
            "external_customer_id": "edge",
            "start_date": MIN_DATE.isoformat(),
            "end_date": MAX_DATE.isoformat(),
        },
    )
    assert contract["end_date"] == "2199-12-31"


QUERY_CASES = [
    ("/v1/receivables", "due_from", DATE),
    ("/v1/receivables", "billing_month", ["0000-01", "9999-12", "٢٠٢٦-01"]),
    ("/v1/closing-runs", "closing_date", DATE),
    ("/v1/customers", "created_from", TIMESTAMP),
    ("/v1/customers", "name", ["a\x00b", "a\x1bb"]),
    ("/v1/contracts", "external_customer_id", ["a\x00b"]),
    ("/v1/services", "code_prefix", ["a\x00b"]),
    ("/v1/usage-records", "used_from", DATE),
    ("/v1/audit-events", "resource_id", ["a\x00b"]),
]


def test_query_and_path_parameters_are_bounded_too(api: Api, runtime: Runtime) -> None:
    world = _world(api)
    sub = world["subscription"]["id"]
    cases = [
        *QUERY_CASES,
        (f"/v1/subscriptions/{sub}/current-usage", "on", DATE),
        (f"/v1/subscriptions/{sub}/state", "on", DATE),
    ]
    before = snapshot(runtime, api.tenant_id)
    for path, name, values in cases:
        for value in values:
            params = {name: value}
            if path == "/v1/usage-records":
                params["subscription_id"] = sub
            response = api.get(path, params=params)
            assert_refused(response, f"/query/{name}", f"GET {path}?{name}={value!r}")
    for path, name in (
        ("/v1/contracts/ctr%00x", "contract_id"),
        ("/v1/customers/cus%01x", "customer_id"),
    ):
        assert_refused(api.get(path), f"/path/{name}", path)
        assert_refused(api.patch(path, json={}), f"/path/{name}", path)
    form = api.client.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": "a\x00b"}
    )
    assert_refused(form, "/body/client_id", "a form field")
    assert snapshot(runtime, api.tenant_id) == before


def test_bodies_over_the_size_limit_are_413_problems_and_batches_may_be_larger(
    api: Api, runtime: Runtime
) -> None:
    before = snapshot(runtime, api.tenant_id)
    big = _dumps({"name": "山田", "free": {"pad": "x" * DEFAULT_BODY_LIMIT}})
    response = api.post("/v1/customers", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["status"] == 413

    # the batch route takes more than the default limit (and answers the records' problems)
    records = [
        {"record_id": f"r-{n}", "subscription_id": "sub_x", "usage_item": "X" * 60}
        | {"quantity": "١", "used_at": "2026-12-01T00:00:00Z"}
        for n in range(10_000)
    ]
    batch = _dumps({"records": records})
    assert DEFAULT_BODY_LIMIT < len(batch) < BATCH_BODY_LIMIT
    response = api.post(
        "/v1/usage-records/batch", content=batch, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text[:300]
    assert response.json()["errors"][0]["pointer"] == "/body/records/0/quantity"

    def chunks() -> Any:  # no Content-Length: refused while it streams in
        yield b'{"records": ['
        for _ in range(BATCH_BODY_LIMIT // (1 << 16) + 1):
            yield b" " * (1 << 16)
        yield b"]}"

    response = api.post(
        "/v1/usage-records/batch", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert snapshot(runtime, api.tenant_id) == before


def test_a_body_nested_past_the_json_parser_is_a_4xx(api: Api) -> None:
    body = b'{"name": "a", "free": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    response = api.post("/v1/customers", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


# --- the money types, property-based ------------------------------------------------------


class _Money(BaseModel):
    value: Money


class _Signed(BaseModel):
    value: SignedMoney


@given(st.one_of(st.text(max_size=30), st.floats(), st.booleans(), st.none()))
def test_money_accepts_only_plain_ascii_decimals_within_bounds(value: Any) -> None:
    try:
        parsed = _Signed(value=value).value
    except ValidationError:
        return
    assert isinstance(value, str)
    assert value.isascii()
    assert "e" not in value.lower()
    assert abs(parsed) < Decimal(10) ** AMOUNT_DIGITS
    assert Decimal(value) == parsed


@given(
    st.decimals(
        min_value=0,
        max_value=Decimal(10) ** AMOUNT_DIGITS - Decimal("0.000001"),
        places=6,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_money_in_bounds_round_trips_as_a_string(value: Decimal) -> None:
    text = format(value, "f")
    dumped = _Money(value=text).model_dump(mode="json")["value"]
    assert isinstance(dumped, str)
    assert Decimal(dumped) == value


@pytest.mark.parametrize("value", [10**12, -(10**12), "1e3", "١٢٣", 0.1])
def test_money_refuses(value: Any) -> None:
    with pytest.raises(ValidationError):
        _Signed(value=value)


# --- one money convention ----------------------------------------------------------------

MONEY_KEYS = frozenset(
    {"amount", "total", "subtotal", "tax_total", "base", "tax", "unit_price", "price"}
    | {"fixed_fee", "lower", "upper", "flat_fee", "cap"}
)


def _money_values(value: Any, where: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key in MONEY_KEYS and not isinstance(child, dict | list) and child is not None:
                found.append((f"{where}/{key}", child))
            found += _money_values(child, f"{where}/{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _money_values(child, f"{where}/{i}")
    return found


def test_every_money_answer_is_a_decimal_string_in_the_major_unit(api: Api) -> None:
    """Issue 6 §7: one money convention — never a JSON number in an answer."""
    w = _world(api)
    sub, contract, receivable = w["subscription"]["id"], w["contract"]["id"], w["receivable"]
    api.created(f"/v1/contracts/{contract}/adjustments", {"amount": "-500", "reason": "r"})
    note = api.created(
        f"/v1/receivables/{receivable['id']}/credit-notes",
        {"reason": "返金", "lines": [{"description": "返金", "amount": "100"}]},
    )
    api.created(
        f"/v1/subscriptions/{sub}/one-time-charges",
        {"code": "dev", "name": "端末", "amount": "9800", "incurred_on": "2026-12-01"},
    )
    answers = [
        api.get(f"/v1/receivables/{receivable['id']}").json(),
        api.get("/v1/receivables", params={"contract_id": contract}).json(),
        api.get("/v1/receivable-lines", params={"contract_id": contract}).json(),
        api.get(f"/v1/contracts/{contract}/adjustments").json(),
        api.get(f"/v1/credit-notes/{note['id']}").json(),
        api.get(f"/v1/subscriptions/{sub}/one-time-charges").json(),
        api.get(f"/v1/subscriptions/{sub}/current-usage", params={"on": "2026-12-05"}).json(),
        api.get(f"/v1/price-plans/{w['plan']['id']}").json(),
        api.get(f"/v1/tariffs/{w['tariff']['id']}").json(),
        _send(
            api,
            "POST",
            "/v1/simulations",
            {
                "contract_id": contract,
                "billing_month": "2026-10",
                "replace": [{"subscription_id": sub, "price_plan_id": w["plan"]["id"]}],
            },
        ).json(),
    ]
    values = [pair for answer in answers for pair in _money_values(answer)]
    assert len(values) > 30
    for where, value in values:
        assert isinstance(value, str), (where, value)
        assert Decimal(value) == Decimal(value).normalize() or value == "0", (where, value)
    assert receivable["total"] == "3410"  # 3,100 + 10 % tax, yen
    assert note["total"] == "110"


def test_amounts_of_record_carry_the_currencys_minor_unit_places(
    api: Api, runtime: Runtime
) -> None:
    contract = api.created(
        "/v1/contracts",
        {"external_customer_id": "usd", "start_date": "2026-10-01", "currency": "USD"},
    )
    adjustments = f"/v1/contracts/{contract['id']}/adjustments"
    made = api.created(adjustments, {"amount": "-10.50", "reason": "credit"})
    assert made["amount"] == "-10.5"
    before = snapshot(runtime, api.tenant_id)
    refused = api.post(adjustments, json={"amount": "10.505", "reason": "credit"})
    assert_refused(refused, "/body/amount", "three places in dollars")
    assert "USD" in refused.json()["errors"][0]["reason"]
    assert snapshot(runtime, api.tenant_id) == before
    assert [a["amount"] for a in api.get(adjustments).json()["items"]] == ["-10.5"]


def test_the_largest_values_inside_the_bounds_never_give_a_5xx(api: Api) -> None:
    """Values each inside its bound can still multiply past what a line can hold (a fee of
    almost 10^12 × 10^6 subscriptions in dollars; 10^24 rated units × a unit price of
    almost 10^12): the answer is a 4xx, never a 500."""
    item = create_usage_item(api, unit="0.000001", rating="per_total")
    tariff = create_tariff(api, {"shape": "per_unit", "unit_price": "999999999999.999999"})
    response = _send(
        api,
        "POST",
        "/v1/simulations",
        {
            "billing_month": "2026-11",
            "hypothetical": {
                "quantity": 1_000_000,
                "plan": {
                    "recurring_fees": [{"code": "b", "name": "b", "amount": "999999999999"}],
                    "usage_charges": [{"usage_item": item["code"], "tariff_id": tariff["id"]}],
                },
                "usage": [{"usage_item": item["code"], "quantity": "999999999999999999.999999"}],
            },
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "/problems/amount-too-large"
