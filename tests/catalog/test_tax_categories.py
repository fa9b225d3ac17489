"""Tax categories with dated rates — RATING.md §7."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from kakin.catalog.models import TaxCategory as TaxCategoryRow
from kakin.catalog.service import list_tax_categories, tax_category_codes, tax_rates
from kakin.kit.db import tenant_session, unscoped_session
from kakin.rating.tax import TaxCategory, tax_rate_on
from kakin.runtime import Runtime
from kakin.tenancy.service import create_tenant
from tests.factories.api import Api


def test_every_tenant_has_the_four_categories_with_the_japanese_rates(api: Api) -> None:
    response = api.get("/v1/tax-categories")
    assert response.status_code == 200
    categories = {c["code"]: c for c in response.json()["items"]}
    assert list(categories) == ["standard", "reduced", "exempt", "out_of_scope"]
    assert categories["standard"]["rates"][-1] == {"effective_from": "2019-10-01", "rate": "0.1"}
    assert categories["reduced"]["rates"] == [{"effective_from": "2019-10-01", "rate": "0.08"}]
    assert [r["rate"] for r in categories["exempt"]["rates"]] == ["0"]
    assert [r["rate"] for r in categories["out_of_scope"]["rates"]] == ["0"]
    assert categories["standard"]["id"].startswith("txc_")


def test_reading_the_tax_master_writes_nothing(runtime: Runtime) -> None:
    """The tax master is seeded when a tenant is opened (`kakin.onboarding`); reading it
    only reads: a bare tenant row, made without it, stays without one."""
    with unscoped_session(runtime.sessions) as session:
        tenant_id = create_tenant(session, "bare", runtime.keyring.new_wrapped_key()).tenant_id
    with tenant_session(runtime.sessions, tenant_id) as session:
        assert tax_rates(session) == ()
        assert list_tax_categories(session) == []
        assert tax_category_codes(session) == set()
    with tenant_session(runtime.sessions, tenant_id) as session:
        assert session.scalar(select(func.count(TaxCategoryRow.id))) == 0


def test_a_future_rate_is_a_new_dated_row(api: Api, runtime: Runtime) -> None:
    etag = api.get("/v1/tax-categories/standard").headers["ETag"]
    response = api.post(
        "/v1/tax-categories/standard/rates",
        json={"effective_from": "2031-04-01", "rate": "0.12"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] != etag
    assert response.json()["rates"][-1] == {"effective_from": "2031-04-01", "rate": "0.12"}
    with tenant_session(runtime.sessions, api.tenant_id) as session:
        rates = tax_rates(session)
    standard = TaxCategory.STANDARD
    assert tax_rate_on(rates, standard, dt.date(2031, 3, 31)) == Decimal("0.10")
    assert tax_rate_on(rates, standard, dt.date(2031, 4, 1)) == Decimal("0.12")


def test_a_second_rate_from_the_same_date_is_409(api: Api) -> None:
    response = api.post(
        "/v1/tax-categories/reduced/rates", json={"effective_from": "2019-10-01", "rate": "0.05"}
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/tax-rate-date-taken"


def test_exempt_and_out_of_scope_never_carry_tax(api: Api) -> None:
    for code in ("exempt", "out_of_scope"):
        response = api.post(
            f"/v1/tax-categories/{code}/rates", json={"effective_from": "2030-01-01", "rate": "0.1"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "/body/rate"


def test_rates_are_fractions_below_one(api: Api) -> None:
    for rate in ("10", "-0.01", "0.12345"):
        response = api.post(
            "/v1/tax-categories/standard/rates", json={"effective_from": "2030-01-01", "rate": rate}
        )
        assert response.status_code == 422, rate
        assert response.json()["errors"][0]["pointer"] == "/body/rate"


def test_an_unknown_category_is_404(api: Api) -> None:
    assert api.get("/v1/tax-categories/luxury").status_code == 404
    response = api.post(
        "/v1/tax-categories/luxury/rates", json={"effective_from": "2030-01-01", "rate": "0.2"}
    )
    assert response.status_code == 404


def test_a_category_can_be_renamed(api: Api) -> None:
    response = api.patch("/v1/tax-categories/reduced", json={"name": "軽減税率(8%)", "free_1": "※"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["free_1"]) == ("軽減税率(8%)", "※")


def test_tenants_rates_are_their_own(api: Api, other_api: Api) -> None:
    api.post(
        "/v1/tax-categories/standard/rates", json={"effective_from": "2031-04-01", "rate": "0.12"}
    )
    theirs = other_api.get("/v1/tax-categories/standard").json()
    assert "2031-04-01" not in [r["effective_from"] for r in theirs["rates"]]
