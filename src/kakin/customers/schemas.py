"""Pydantic shapes of the customers API (customers and groups).

Personal values are normalised here (see `normalise`); the messages of every check
leave the value out, so a 422 never echoes personal data.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from kakin.customers import normalise
from kakin.kit.bounds import Date, DateTime, SingleLine
from kakin.kit.free_fields import FreeFieldsFilter, FreeFieldsIn, FreeFieldsOut
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT

BULK_MAX = 1_000
"""Seed 000 bulk registration: at most 1,000 customers in one all-or-nothing request."""

Gender = Literal["male", "female", "other", "unknown"]
CustomerKind = Literal["individual", "corporate"]
"""A person (addressed 「様」 on documents) or an organisation (「御中」), BRIEF.md."""
CustomerStatus = Literal["active", "deleted"]
Name = Annotated[str, Field(max_length=1_000), AfterValidator(normalise.normalise_name)]
Kana = Annotated[str, Field(max_length=1_000), AfterValidator(normalise.normalise_kana)]
Nationality = Annotated[
    str, Field(max_length=2, examples=["JP"]), AfterValidator(normalise.normalise_nationality)
]
BirthDate = Annotated[Date, AfterValidator(normalise.check_birth_date)]
PostalCode = Annotated[
    str,
    Field(max_length=20, examples=["100-0001"]),
    AfterValidator(normalise.normalise_postal_code),
]
Address = Annotated[str, Field(max_length=2_000), AfterValidator(normalise.normalise_address)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(normalise.normalise_phone)]
Email = Annotated[
    str,
    Field(max_length=normalise.EMAIL_MAX + 20, examples=["taro@example.com"]),
    AfterValidator(normalise.normalise_email),
]
GroupName = Annotated[SingleLine, Field(min_length=1, max_length=200)]
Organisation = Annotated[
    SingleLine,
    Field(max_length=200, examples=["株式会社ミライ"]),
    AfterValidator(normalise.normalise_name),
]

PERSONAL_FIELDS = (
    "name",
    "name_kana",
    "nationality",
    "gender",
    "birth_date",
    "postal_code",
    "address",
    "phone",
    "email",
    "company_name",
    "department",
)
"""Every personal field of a customer: each is stored encrypted (seed 000 暗号化対象).

A corporate customer's company and department are encrypted like the rest: with its
contact's name they identify a person, and a sole proprietor's trade name is one."""

COMPANY_REQUIRED = "a corporate customer needs its company_name"


class _Corporate(BaseModel):
    """`kind` with the organisation it names: `company_name` (会社名) and `department`
    (部署). A corporate customer's `name` is its contact person."""

    kind: CustomerKind | None = None
    company_name: Organisation | None = None
    department: Organisation | None = None


class CustomerIn(_Corporate, FreeFieldsIn):
    """A customer to register. Only `name` is required (and `company_name` for a
    corporate customer)."""

    model_config = ConfigDict(extra="forbid")

    kind: CustomerKind = "individual"
    name: Name
    name_kana: Kana | None = None
    nationality: Nationality | None = None
    gender: Gender | None = None
    birth_date: BirthDate | None = None
    postal_code: PostalCode | None = None
    address: Address | None = None
    phone: Phone | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _a_company_names_its_company(self) -> CustomerIn:
        if self.kind == "corporate" and not self.company_name:
            raise ValueError(COMPANY_REQUIRED)
        return self


class CustomerChange(_Corporate, FreeFieldsIn):
    """The fields to change; those left out keep their value, `null` clears one."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    name_kana: Kana | None = None
    nationality: Nationality | None = None
    gender: Gender | None = None
    birth_date: BirthDate | None = None
    postal_code: PostalCode | None = None
    address: Address | None = None
    phone: Phone | None = None
    email: Email | None = None

    @field_validator("name", "kind")
    @classmethod
    def _name_cannot_be_cleared(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("cannot be cleared")
        return value


class CustomersBulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customers: list[CustomerIn] = Field(min_length=1, max_length=BULK_MAX)


class CustomerOut(FreeFieldsOut):
    id: str
    kind: CustomerKind = "individual"
    company_name: str | None = None
    department: str | None = None
    name: str
    name_kana: str | None = None
    nationality: str | None = None
    gender: Gender | None = None
    birth_date: dt.date | None = None
    postal_code: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    status: CustomerStatus
    deleted_at: dt.datetime | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomersBulkOut(BaseModel):
    items: list[CustomerOut]


class CustomerFilter(FreeFieldsFilter):
    """Search conditions, all combined with AND.

    `name`, `name_kana`, `phone` and `email` match exactly after normalisation (kana in
    hiragana or half-width finds the full-width record; a phone matches on its digits;
    e-mail ignores case). Times are UTC unless they carry an offset; `*_from` is
    inclusive and `*_to` exclusive.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=1_000)
    name_kana: str | None = Field(None, min_length=1, max_length=1_000)
    phone: str | None = Field(None, min_length=1, max_length=40)
    email: str | None = Field(None, min_length=1, max_length=300)
    created_from: DateTime | None = None
    created_to: DateTime | None = None
    updated_from: DateTime | None = None
    updated_to: DateTime | None = None
    include_deleted: bool = False


class CustomerSearch(CustomerFilter):
    """A search with its page: the query of `GET /v1/customers` and the body of
    `POST /v1/customers/search` (which keeps personal values out of URLs and access logs).

    `cursor` and `limit` live here because a query-parameter model with `extra="forbid"`
    refuses every query parameter it does not declare.
    """

    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class GroupIn(FreeFieldsIn):
    model_config = ConfigDict(extra="forbid")

    name: GroupName


class GroupChange(FreeFieldsIn):
    model_config = ConfigDict(extra="forbid")

    name: GroupName | None = None

    @field_validator("name")
    @classmethod
    def _name_cannot_be_cleared(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("name cannot be cleared")
        return value


class GroupOut(FreeFieldsOut):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime


class GroupSearch(FreeFieldsFilter):
    """`name` matches exactly, `name_prefix` by prefix; with the page to read."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    name_prefix: str | None = Field(None, min_length=1, max_length=200)
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class GroupMemberOut(BaseModel):
    group_id: str
    customer_id: str
    added_at: dt.datetime


def change_values(change: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body sent (explicit nulls included), free JSON `null` as {}."""
    values = change.model_dump(exclude_unset=True)
    if "free" in values and values["free"] is None:
        values["free"] = {}
    return values
