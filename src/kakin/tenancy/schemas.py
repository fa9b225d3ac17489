"""Pydantic shapes of the tenancy API."""

from __future__ import annotations

import datetime as dt
import enum
import re
import zoneinfo
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from kakin.kit.money import RoundingMode


class Function(enum.StrEnum):
    """Function switches (seed 000: 必要な機能だけをご利用いただくことが可能)."""

    CUSTOMERS = "customers"
    CONTRACTS = "contracts"
    RATING = "rating"


ALL_FUNCTIONS = [f.value for f in Function]

CLOSING_DAYS = ("5", "10", "15", "20", "25", "eom")
"""RATING.md §2: a contract closes on the 5th, 10th, 15th, 20th, 25th or end of month."""


def check_registration_number(value: str) -> str:
    """A qualified-invoice registration number: `T` + 13 digits whose first is a check digit.

    The check digit of a corporate number (法人番号, 国税庁): 9 − (Σ Pn·Qn mod 9) over the
    12 digits after it, Pn the n-th digit counted from the right, Qn = 1 for odd n and 2
    for even n.
    """
    if not re.fullmatch(r"T\d{13}", value):
        raise ValueError("must be 'T' followed by 13 digits")
    digits = value[1:]
    body = digits[1:]
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(body), start=1))
    if int(digits[0]) != 9 - total % 9:
        raise ValueError("check digit does not match")
    return value


def check_time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown IANA time zone") from None
    return value


RegistrationNumber = Annotated[str, AfterValidator(check_registration_number)]
TimeZone = Annotated[str, AfterValidator(check_time_zone)]
Currency = Literal["JPY", "KRW", "USD", "EUR", "GBP", "CNY", "TWD"]
"""The currencies of kit.money.MINOR_UNITS (a test keeps the two in step)."""


def _closing_day_text(value: object) -> object:
    """`20` and `"20"` name the same closing day; kakin stores and answers the text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


ClosingDay = Annotated[
    Literal["5", "10", "15", "20", "25", "eom"],
    BeforeValidator(_closing_day_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "enum": [5, 10, 15, 20, 25]},
                {"type": "string", "enum": list(CLOSING_DAYS)},
            ],
            "description": "RATING.md §2: the 5th, 10th, 15th, 20th, 25th or end of month "
            '(`"eom"`); a day as a number (`20`) or a string (`"20"`)',
        },
        mode="validation",
    ),
]


class TenantSettingsIn(BaseModel):
    """The settings a tenant may change (every field optional on PATCH)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    time_zone: TimeZone | None = None
    currency: Currency | None = None
    default_closing_day: ClosingDay | None = None
    line_rounding: RoundingMode | None = None
    tax_rounding: RoundingMode | None = None
    tax_mode: Literal["exclusive", "inclusive"] | None = None
    language: Literal["ja", "en"] | None = None
    issuer_name: str | None = Field(None, max_length=200)
    registration_number: RegistrationNumber | None = None
    functions: list[Function] | None = None

    @model_validator(mode="after")
    def _no_nulls_where_a_value_is_required(self) -> TenantSettingsIn:
        nullable = {"issuer_name", "registration_number"}
        for name in self.model_fields_set - nullable:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        if self.functions is not None:
            self.functions = list(dict.fromkeys(self.functions))
        return self

    @model_validator(mode="after")
    def _rating_needs_contracts(self) -> TenantSettingsIn:
        functions = self.functions or []
        if Function.RATING in functions and Function.CONTRACTS not in functions:
            raise ValueError("the rating function requires the contracts function")
        return self


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tenant_id: str
    name: str
    region: str
    functions: list[str]
    time_zone: str
    currency: str
    default_closing_day: str
    line_rounding: str
    tax_rounding: str
    tax_mode: str
    language: str
    issuer_name: str | None
    registration_number: str | None
    limit_customers: int
    limit_contract_items: int
    limit_receivable_lines: int
    created_at: dt.datetime
    updated_at: dt.datetime


class TokenOut(BaseModel):
    """RFC 6749 §5.1 successful response."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the RFC 6750 token type
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error response: the token endpoint answers in OAuth's own shape."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str | None = None


class ClientCredentials(BaseModel):
    tenant_id: str
    client_id: str
    client_secret: str
    scopes: list[str]
