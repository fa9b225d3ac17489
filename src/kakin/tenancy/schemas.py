"""Pydantic shapes of the tenancy API."""

from __future__ import annotations

import datetime as dt
import enum
import re
import zoneinfo
from typing import Annotated, Literal

import jaconv
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from kakin.kit.bounds import SingleLine
from kakin.kit.money import RoundingMode


class Function(enum.StrEnum):
    """Function switches (seed 000: 必要な機能だけをご利用いただくことが可能)."""

    CUSTOMERS = "customers"
    CONTRACTS = "contracts"
    RATING = "rating"


ALL_FUNCTIONS = [f.value for f in Function]

ADMIN_SCOPE = "admin"
"""The scope of the tenant's own settings, function switches, test clock and audit trail
(which shows billing amounts): apart from the function scopes, so a `customers` client
can neither switch rating back on nor change the tax mode."""

ALL_SCOPES = [*ALL_FUNCTIONS, ADMIN_SCOPE]
"""What a client may be granted: one scope per function, and `admin`."""

CLOSING_DAYS = ("5", "10", "15", "20", "25", "eom")
"""RATING.md §2: a contract closes on the 5th, 10th, 15th, 20th, 25th or end of month."""


def check_registration_number(value: str) -> str:
    """A qualified-invoice registration number: `T` + 13 digits whose first is a check digit.

    The check digit of a corporate number (法人番号, 国税庁): 9 − (Σ Pn·Qn mod 9) over the
    12 digits after it, Pn the n-th digit counted from the right, Qn = 1 for odd n and 2
    for even n.
    """
    if not re.fullmatch(r"T[0-9]{13}", value):
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


RegistrationNumber = Annotated[str, Field(max_length=14), AfterValidator(check_registration_number)]
TimeZone = Annotated[SingleLine, Field(max_length=64), AfterValidator(check_time_zone)]
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


_HOLDER_KANA = re.compile(r"[\u30A1-\u30FC\u3000（）．，－／Ａ-Ｚ０-９]+")
"""Zengin's characters for an account holder (口座名義), folded to full width: katakana,
the long-vowel mark, space, （）．，－／, Latin capitals and digits."""


def check_holder_kana(value: str) -> str:
    """口座名義カナ as full-width katakana: half-width kana and hiragana are folded."""
    kana = jaconv.hira2kata(jaconv.h2z(value.strip(), kana=True, ascii=True, digit=True))
    if not _HOLDER_KANA.fullmatch(kana):
        raise ValueError("must be the account holder's name in katakana (口座名義カナ)")
    return kana


HolderKana = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_holder_kana)]
BankAccountType = Literal["ordinary", "current", "savings"]
"""普通 (futsū), 当座 (tōza), 貯蓄 (chochiku): the account types of Japanese banks."""


class BankAccount(BaseModel):
    """The tenant's account customers pay into by bank transfer (振込先), printed on
    invoices with 「お振込みください」. `number` is the 7-digit Zengin account number,
    `holder_kana` the holder's name in katakana as the bank registers it (口座名義)."""

    model_config = ConfigDict(extra="forbid")

    bank_name: str = Field(min_length=1, max_length=60, examples=["カキン銀行"])
    branch_name: str = Field(min_length=1, max_length=60, examples=["本店営業部"])
    account_type: BankAccountType = "ordinary"
    number: str = Field(pattern=r"^[0-9]{7}$", examples=["1234567"])
    holder_kana: HolderKana = Field(examples=["カ）カキンツウシン"])


class TenantSettingsIn(BaseModel):
    """The settings a tenant may change (every field optional on PATCH)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[SingleLine, Field(min_length=1, max_length=200)] | None = None
    time_zone: TimeZone | None = None
    currency: Currency | None = None
    default_closing_day: ClosingDay | None = None
    line_rounding: RoundingMode | None = None
    tax_rounding: RoundingMode | None = None
    tax_mode: Literal["exclusive", "inclusive"] | None = None
    language: Literal["ja", "en"] | None = None
    issuer_name: Annotated[SingleLine, Field(max_length=200)] | None = None
    registration_number: RegistrationNumber | None = None
    issuer_address: str | None = Field(None, min_length=1, max_length=300)
    issuer_phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 ()\-]{5,38}$")
    bank_account: BankAccount | None = None
    functions: list[Function] | None = None

    @model_validator(mode="after")
    def _no_nulls_where_a_value_is_required(self) -> TenantSettingsIn:
        nullable = {
            "issuer_name",
            "registration_number",
            "issuer_address",
            "issuer_phone",
            "bank_account",
        }
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
    issuer_address: str | None = None
    issuer_phone: str | None = None
    bank_account: BankAccount | None = None
    sandbox: bool
    limit_customers: int
    limit_contract_items: int
    limit_receivable_lines: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ClockIn(BaseModel):
    """Move a sandbox tenant's clock forward to `date` (its new today)."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date


class ClockOut(BaseModel):
    """The tenant's today: its time zone's date, moved forward on a sandbox tenant."""

    date: dt.date
    time_zone: str
    sandbox: bool
    offset_days: int = Field(description="days the clock is ahead of the real date")


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
