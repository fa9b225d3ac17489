"""A generated tenant: masters, contracts with every kind of subscription event, discounts,
usage, one-time charges, top-ups and adjustments, closed over two months — all through the
API, from one seeded random generator, so the same seed always builds the same tenant.

It exists to pin what the closing writes (tests/billing/test_closing_golden.py): whatever
the code between the domains and the rating core becomes, the receivables stay the same.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from tests.factories.api import Api
from tests.factories.billing import run_closing
from tests.factories.catalog import SHAPES

_ONE_DAY = dt.timedelta(days=1)
OCT_1 = dt.date(2026, 10, 1)
NOV_30 = dt.date(2026, 11, 30)
CLOSINGS = ("2026-11-01", "2026-11-21", "2026-12-01")
"""eom closes October on Nov 1 and November on Dec 1; the 20th closes Oct 21–Nov 20."""


@dataclass
class GeneratedTenant:
    """What was built, with a stable name for every id (for comparing two builds)."""

    api: Api
    names: dict[str, str] = field(default_factory=dict)

    def name(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        self.names[body["id"]] = key
        return body


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    body: dict[str, Any] = response.json()
    return body


def _masters(g: GeneratedTenant, prefix: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Plans over every tariff shape, fee timing, interval and proration mode, and the
    discount tables of RATING.md §5."""
    api = g.api
    internet = api.created("/v1/services", {"code": f"{prefix}net", "name": "光インターネット"})
    mobile = api.created("/v1/services", {"code": f"{prefix}mob", "name": "モバイル"})
    packet = api.created(
        "/v1/usage-items",
        {"code": f"{prefix}pkt", "name": "パケット", "unit": "128", "unit_name": "packet"},
    )
    call = api.created(
        "/v1/usage-items",
        {
            "code": f"{prefix}call",
            "name": "通話",
            "unit": "30",
            "unit_name": "30秒",
            "rating": "per_record",
        },
    )
    tariffs = {}
    for shape, definition in SHAPES.items():
        tariffs[shape] = api.created(
            "/v1/tariffs",
            {"code": f"{prefix}t-{shape}", "name": f"料金 {shape}", "effective_from": "2026-01-01"}
            | definition,
        )
    # a tariff revision in the middle of October (RATING.md §4: applies from its date)
    _ok(
        api.post(
            f"/v1/tariffs/{tariffs['per_unit']['id']}/versions",
            json={"effective_from": "2026-10-16", "shape": "per_unit", "unit_price": "0.04"},
        )
    )
    plans = []
    shapes = list(SHAPES)
    for n in range(8):
        shape = shapes[n % len(shapes)]
        item = call if n % 3 == 2 else packet
        body: dict[str, Any] = {
            "code": f"{prefix}plan{n}",
            "name": f"プラン {n}",
            "service_id": (internet if n % 2 == 0 else mobile)["id"],
            "effective_from": "2026-01-01",
            "proration": "full" if n == 5 else "daily",
            "recurring_fees": [
                {
                    "code": f"base{n}",
                    "name": f"月額基本料 {n}",
                    "amount": str(1980 + 500 * n),
                    "timing": "advance" if n % 4 == 1 else "arrears",
                    "interval_months": 3 if n == 6 else 1,
                },
                {
                    "code": f"opt{n}",
                    "name": f"オプション {n}",
                    "amount": "330",
                    "tax_category": "reduced" if n == 3 else "standard",
                    "per_quantity": n % 2 == 0,
                },
            ],
            "one_time_fees": [
                {"code": f"setup{n}", "name": f"契約事務手数料 {n}", "amount": "3300"}
            ],
            "usage_charges": [
                {
                    "code": f"use{n}",
                    "name": f"従量 {n}",
                    "usage_item": item["id"],
                    "tariff_id": tariffs[shape]["id"],
                    "allowance": "50" if n == 4 else "0",
                }
            ],
        }
        if n % 3 == 0:
            body["suspension_fee"] = {"code": f"susp{n}", "name": f"休止料 {n}", "amount": "500"}
        if n % 2 == 1:
            body["minimum_term"] = {
                "months": 12,
                "early_termination": {"rule": "fixed", "amount": "9800"},
            }
        plans.append(g.name(f"plan{n}", api.created("/v1/price-plans", body)))
    # a plan revision from Oct 11 (contracts keep the old prices until then)
    revised = dict(plans[0])
    _ok(
        api.post(
            f"/v1/price-plans/{revised['id']}/versions",
            json={
                "effective_from": "2026-10-11",
                "recurring_fees": [
                    {"code": "base0", "name": "月額基本料 0 改定", "amount": "2200"},
                ],
                "usage_charges": [
                    {
                        "code": "use0",
                        "name": "従量 0",
                        "usage_item": packet["id"],
                        "tariff_id": tariffs["flat"]["id"],
                    }
                ],
            },
        )
    )
    tables = [
        api.created(
            "/v1/discount-tables",
            {"code": f"{prefix}d-rate", "name": "10%割引", "kind": "fixed_rate", "rate": "10"},
        ),
        api.created(
            "/v1/discount-tables",
            {
                "code": f"{prefix}d-amount",
                "name": "500円引き",
                "kind": "fixed_amount",
                "amount": "500",
            },
        ),
        api.created(
            "/v1/discount-tables",
            {
                "code": f"{prefix}d-campaign",
                "name": "初月半額",
                "kind": "fixed_rate",
                "rate": "50",
                "conditions": {"window": {"anchor": "start", "months": 1}},
            },
        ),
    ]
    return plans, tables


def _events(g: GeneratedTenant, rng: random.Random, sub: dict[str, Any], plans: list[Any]) -> None:
    """Some of: a quantity change, a price override (of the starting plan), then a plan
    change, a suspension and resumption, a cancellation — dated in October or November."""
    api, sid = g.api, sub["id"]
    start = dt.date.fromisoformat(sub["start_date"])
    first = max(start, OCT_1) + _ONE_DAY
    path = f"/v1/subscriptions/{sid}"

    def day(lo: dt.date, hi: dt.date) -> dt.date:
        return lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))

    if rng.random() < 0.3:
        when = day(first, dt.date(2026, 11, 20))
        quantity = rng.randint(2, 4)
        _ok(
            api.post(
                f"{path}/quantity-changes",
                json={"effective_date": str(when), "quantity": quantity},
            )
        )
    if rng.random() < 0.3:
        when = day(first, dt.date(2026, 11, 5))
        amount = str(rng.choice([1000, 1500, 2750]))
        plan_no = g.names[sub["price_plan_id"]][4:]
        code = "base" if plan_no == "0" else rng.choice(["base", "opt"])
        first = when + _ONE_DAY
        _ok(
            api.post(
                f"{path}/price-overrides",
                json={
                    "effective_date": str(when),
                    "component_code": f"{code}{plan_no}",
                    "amount": amount,
                },
            )
        )
    if rng.random() < 0.3 and first <= dt.date(2026, 11, 10):
        when = day(first, dt.date(2026, 11, 10))
        new_plan = rng.choice(plans)["id"]
        _ok(
            api.post(
                f"{path}/plan-changes",
                json={"effective_date": str(when), "price_plan_id": new_plan},
            )
        )
    last = dt.date(2026, 11, 20)
    if rng.random() < 0.25:
        since = day(first, dt.date(2026, 11, 10))
        _ok(api.post(f"{path}/suspensions", json={"effective_date": str(since)}))
        if rng.random() < 0.7:
            back = since + dt.timedelta(days=rng.randint(3, 15))
            _ok(api.post(f"{path}/resumptions", json={"effective_date": str(back)}))
            last = max(last, back)
    if rng.random() < 0.2:
        when = day(last + _ONE_DAY, NOV_30)
        _ok(api.post(f"{path}/cancellations", json={"effective_date": str(when)}))


def _usage(
    g: GeneratedTenant, rng: random.Random, sub: dict[str, Any], items: list[str], tag: str
) -> list[dict[str, Any]]:
    """Usage on days of October and November the subscription had started."""
    start = max(dt.date.fromisoformat(sub["start_date"]), OCT_1)
    records = []
    for n in range(rng.randint(0, 12)):
        used_on = start + dt.timedelta(days=rng.randrange((NOV_30 - start).days + 1))
        records.append(
            {
                "record_id": f"{tag}-{sub['id']}-{n}",
                "subscription_id": sub["id"],
                "usage_item": rng.choice(items),
                "quantity": str(rng.choice([128, 1000, 12800, 64000, 3_200_000])),
                "used_at": f"{used_on}T{rng.randint(0, 23):02d}:30:00+09:00",
            }
        )
    return records


def _post_usage(api: Api, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Post records; the ones outside a subscription's life come back as errors and are
    left out (the generator does not track every cancellation)."""
    kept = []
    for record in records:
        response = api.post("/v1/usage-records/batch", json={"records": [record]})
        if response.status_code in (200, 201):
            kept.append(record)
        else:
            assert response.status_code in (409, 422), response.text
    return kept


def close_cleanly(api: Api, closing_date: str) -> dict[str, Any]:
    """A closing run that must complete with no contract failed."""
    run = run_closing(api, closing_date)
    assert run["status"] == "completed", run
    assert run["contracts_failed"] == 0, run["errors"]
    return run


def build_and_close(api: Api, seed: int = 7, contracts: int = 40) -> GeneratedTenant:
    """Build the tenant from `seed` and run its closings: October (eom, and the 20th),
    October finalised, late October usage and a November change recorded, then November."""
    rng = random.Random(seed)
    g = GeneratedTenant(api)
    prefix = f"g{seed}-"
    plans, tables = _masters(g, prefix)
    item_codes = [f"{prefix}pkt", f"{prefix}call"]
    subscriptions = []
    for c in range(contracts):
        customer = api.created("/v1/customers", {"name": f"生成 {c}", "name_kana": "セイセイ"})
        contract_start = dt.date(2026, 10, 1) - dt.timedelta(days=rng.choice([0, 0, 40, 400]))
        contract = g.name(
            f"contract{c}",
            api.created(
                "/v1/contracts",
                {
                    "customer_id": customer["id"],
                    "closing_day": "20" if c % 5 == 4 else "eom",
                    "start_date": str(contract_start),
                },
            ),
        )
        for s in range(1 + (c % 3 == 0)):
            sub_start = max(contract_start, OCT_1 - dt.timedelta(days=rng.choice([0, 30, 200])))
            if rng.random() < 0.4:
                sub_start = OCT_1 + dt.timedelta(days=rng.randrange(25))
            sub = g.name(
                f"contract{c}.sub{s}",
                api.created(
                    "/v1/subscriptions",
                    {
                        "contract_id": contract["id"],
                        "price_plan_id": rng.choice(plans)["id"],
                        "start_date": str(sub_start),
                        "quantity": rng.choice([1, 1, 2]),
                    },
                ),
            )
            _events(g, rng, sub, plans)
            subscriptions.append(sub)
        if rng.random() < 0.3:
            table = rng.choice(tables)
            g.name(
                f"contract{c}.discount",
                api.created(
                    "/v1/discounts",
                    {
                        "contract_id": contract["id"],
                        "discount_table_id": table["id"],
                        "start_date": str(OCT_1 + dt.timedelta(days=rng.randrange(20))),
                    },
                ),
            )
        if rng.random() < 0.2:
            g.name(
                f"contract{c}.adjustment",
                api.created(
                    f"/v1/contracts/{contract['id']}/adjustments",
                    {"amount": str(rng.choice([-800, 1200])), "reason": f"調整 {c}"},
                ),
            )
    for n, sub in enumerate(subscriptions):
        if n % 7 == 3:
            g.name(
                f"{g.names[sub['id']]}.charge",
                api.created(
                    f"/v1/subscriptions/{sub['id']}/one-time-charges",
                    {
                        "code": f"work{n}",
                        "name": f"工事費 {n}",
                        "amount": "5500",
                        "incurred_on": str(max(dt.date.fromisoformat(sub["start_date"]), OCT_1)),
                    },
                ),
            )
        if n % 9 == 4 and sub["start_date"] <= "2026-10-26":
            g.name(
                f"{g.names[sub['id']]}.top_up",
                api.created(
                    f"/v1/subscriptions/{sub['id']}/top-ups",
                    {
                        "usage_item": f"{prefix}pkt",
                        "quantity": "1000",
                        "price": "550",
                        "bought_on": "2026-10-26",
                    },
                ),
            )
        _post_usage(api, _usage(g, rng, sub, item_codes, "u"))
    close_cleanly(api, CLOSINGS[0])
    close_cleanly(api, CLOSINGS[1])
    _ok(api.post("/v1/receivables/finalize", json={"billing_month": "2026-10"}))
    # RATING.md §8: usage of a closed month arriving late is billed on the next receivable
    late = [
        r
        for sub in subscriptions[::4]
        for r in _usage(g, rng, sub, item_codes, "late")
        if r["used_at"] < "2026-10-31T"
    ]
    _post_usage(api, late)
    close_cleanly(api, CLOSINGS[2])
    return g
