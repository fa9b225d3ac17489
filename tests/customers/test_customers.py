"""Customers: register, read, change, delete logically; ETags; tenant isolation."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from kakin.runtime import Runtime
from tests.factories.api import Api, new_tenant_api
from tests.factories.customers import create_customer, customer_body


def test_registered_customer_is_returned_with_etag_and_location(api: Api) -> None:
    response = api.post(
        "/v1/customers",
        json=customer_body(name="佐藤 花子", free={"rank": "gold"}, free_1="id001"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("cus_")
    assert body["name"] == "佐藤 花子"
    assert body["free"] == {"rank": "gold"}
    assert body["free_1"] == "id001"
    assert body["status"] == "active"
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/customers/{body['id']}"
    read = api.get(f"/v1/customers/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body
    assert read.headers["ETag"] == '"1"'


def test_only_name_is_required(api: Api) -> None:
    body = api.created("/v1/customers", {"name": "Jane Doe"})
    assert body["email"] is None
    assert body["free"] == {}
    missing = api.post("/v1/customers", json={"email": "a@example.com"})
    assert missing.status_code == 422
    assert [e["pointer"] for e in missing.json()["errors"]] == ["/body/name"]


def test_input_is_normalised(api: Api) -> None:
    body = api.created(
        "/v1/customers",
        {
            "name": "  山田　　太郎 ",
            "name_kana": "やまだ　ﾀﾛｳ",
            "nationality": "jp",
            "postal_code": "１０００００１",
            "phone": "０３－１２３４－５６７８",
            "email": " Taro@Example.COM ",
        },
    )
    assert body["name"] == "山田 太郎"
    assert body["name_kana"] == "ヤマダ\u3000タロウ"
    assert body["nationality"] == "JP"
    assert body["postal_code"] == "100-0001"
    assert body["phone"] == "03-1234-5678"
    assert body["email"] == "Taro@Example.COM"


def test_bad_values_are_422_naming_each_field(api: Api) -> None:
    tomorrow_everywhere = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date()
    response = api.post(
        "/v1/customers",
        json=customer_body(
            name_kana="Yamada",
            nationality="XX",
            gender="man",
            birth_date=tomorrow_everywhere.isoformat(),
            postal_code="12-345",
            phone="12",
            email="not-an-address",
            colour="red",
        ),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {
        "/body/name_kana",
        "/body/nationality",
        "/body/gender",
        "/body/birth_date",
        "/body/postal_code",
        "/body/phone",
        "/body/email",
        "/body/colour",
    }


def test_a_422_never_echoes_the_personal_value(api: Api) -> None:
    secret_email = "kakushi-no-address@@example"
    secret_kana = "ヒミツtarou"
    response = api.post(
        "/v1/customers",
        json=customer_body(email=secret_email, name_kana=secret_kana, phone="himitsu-phone"),
    )
    assert response.status_code == 422
    text = response.text
    for secret in (secret_email, "kakushi", secret_kana, "ヒミツ", "himitsu"):
        assert secret not in text


def test_change_keeps_fields_left_out_and_clears_nulls(api: Api) -> None:
    customer = create_customer(api, free_2="before")
    response = api.patch(
        f"/v1/customers/{customer['id']}",
        json={"email": "new@example.com", "address": None, "free_2": "after"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "new@example.com"
    assert body["address"] is None
    assert body["free_2"] == "after"
    assert body["name"] == customer["name"]
    assert body["phone"] == customer["phone"]
    assert response.headers["ETag"] == '"2"'
    found = api.get("/v1/customers", params={"email": "NEW@example.com"}).json()["items"]
    assert [c["id"] for c in found] == [customer["id"]]
    assert api.get("/v1/customers", params={"email": customer["email"]}).json()["items"] == []


def test_name_cannot_be_cleared(api: Api) -> None:
    customer = create_customer(api)
    response = api.patch(f"/v1/customers/{customer['id']}", json={"name": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/name"


def test_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    customer = create_customer(api)
    api.patch(f"/v1/customers/{customer['id']}", json={"free_1": "x"})
    response = api.patch(
        f"/v1/customers/{customer['id']}", json={"free_1": "y"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 412
    assert api.get(f"/v1/customers/{customer['id']}").json()["free_1"] == "x"
    delete = api.delete(f"/v1/customers/{customer['id']}", headers={"If-Match": '"1"'})
    assert delete.status_code == 412
    assert api.get(f"/v1/customers/{customer['id']}").json()["status"] == "active"


def test_deletion_is_logical_and_hides_the_customer_from_search(api: Api) -> None:
    customer = create_customer(api, free_3="to-delete")
    assert api.delete(f"/v1/customers/{customer['id']}").status_code == 204
    read = api.get(f"/v1/customers/{customer['id']}").json()
    assert read["status"] == "deleted"
    assert read["deleted_at"] is not None
    assert read["name"] == customer["name"]
    assert api.get("/v1/customers", params={"free_3": "to-delete"}).json()["items"] == []
    with_deleted = api.get(
        "/v1/customers", params={"free_3": "to-delete", "include_deleted": "true"}
    ).json()["items"]
    assert [c["id"] for c in with_deleted] == [customer["id"]]
    assert api.delete(f"/v1/customers/{customer['id']}").status_code == 204
    change = api.patch(f"/v1/customers/{customer['id']}", json={"free_1": "x"})
    assert change.status_code == 409
    assert change.json()["type"] == "/problems/customer-deleted"


def test_unknown_customer_is_404(api: Api) -> None:
    for response in (
        api.get("/v1/customers/cus_NOPE"),
        api.patch("/v1/customers/cus_NOPE", json={"free_1": "x"}),
        api.delete("/v1/customers/cus_NOPE"),
    ):
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/customer-not-found"


def test_another_tenant_cannot_read_change_delete_or_find_a_customer(
    api: Api, other_api: Api
) -> None:
    customer = create_customer(api, free_4="isolated")
    path = f"/v1/customers/{customer['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, json={"free_1": "stolen"}).status_code == 404
    assert other_api.delete(path).status_code == 404
    for params in (
        {"free_4": "isolated"},
        {"name": customer["name"]},
        {"email": customer["email"]},
        {"phone": customer["phone"]},
        {"name_kana": customer["name_kana"]},
    ):
        assert other_api.get("/v1/customers", params=params).json()["items"] == []
    assert api.get(path).json()["free_1"] is None
    assert api.get(path).json()["status"] == "active"


def test_customers_need_the_customers_scope(client: TestClient, runtime: Runtime) -> None:
    limited = new_tenant_api(client, runtime, scopes=["contracts"])
    response = limited.post("/v1/customers", json=customer_body())
    assert response.status_code == 403
