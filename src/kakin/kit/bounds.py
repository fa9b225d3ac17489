"""Bounds: every number, date and string the API or a file accepts, checked at the edge.

Each bound is written once here, as a named `Annotated` type the schemas use, and says
where it comes from. A value out of bounds is a 422 naming the field (kit.errors) and
nothing is stored; nothing out of bounds reaches the database, the `Decimal` context or
the date arithmetic of the rating.

Numbers. A decimal is sent as a JSON string in plain notation with ASCII digits
(`"1029"`, `"0.084"`, `"-500"`); a JSON integer is accepted too. Refused: JSON numbers
with a fraction (they pass through binary floating point: `0.1` is not 0.1), exponents
(`"1e3"`), `NaN` / `Infinity`, other Unicode digits (`"١٢٣"`, which `int()` and
`Decimal()` would take), spaces and `_`.

Money (the one convention of the API): every money value is a decimal string in the
currency's MAJOR unit (ISO 4217): `"1029"` yen, `"10.5"` dollars. Amounts of record carry
at most the currency's minor-unit places (checked where the currency is known,
`minor_units_of`), unit prices up to 6 places. Answers always carry strings, never JSON
numbers (`MoneyOut`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Request
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
)

from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.money import UNIT_PRICE_PLACES, from_minor, minor_units, to_minor

# --- numbers ------------------------------------------------------------------------------

AMOUNT_DIGITS = 12
"""Money: |x| < 10^12 in the major unit (one trillion yen; ten billion dollars is 10^12
cents). In minor units that is at most 10^14, far inside the 64-bit integers amounts are
stored in (9.2·10^18), leaving room for a receivable's sum of lines and for a fee times
a subscription's quantity (≤ 10^6, `SubscriptionQuantity`) in a zero-decimal currency;
with the 6 places of a unit price it is 18 digits, inside NUMERIC(24, 6) and far inside
the 28 digits of the `Decimal` context the rating computes in. Providers accept less
(Stripe: 8 digits of minor units per charge)."""

QUANTITY_DIGITS = 12
"""Rated quantities (allowances, band bounds, included units, quantities of a one-time
charge or a top-up): < 10^12 with up to 6 places (RATING.md §1), 18 digits as money."""

RAW_QUANTITY_DIGITS = 18
"""A usage record's raw quantity: < 10^18 with up to 6 places, what `ExactDecimal()`
(NUMERIC(24, 6)) holds (the same bound as `usage.records`)."""

QUANTITY_PLACES = 6
"""RATING.md §1: quantities and unit prices carry up to 6 decimal places."""

MAX_SUBSCRIPTION_QUANTITY = 1_000_000
"""A subscription's quantity (seats, lines, devices): 1 to 10^6, so that a fee (< 10^12)
times the quantity stays inside a 64-bit count of minor units."""

_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _digits_pattern(digits: int, places: int, signed: bool) -> str:
    sign = "-?" if signed else ""
    fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
    return rf"^{sign}[0-9]{{1,{digits}}}{fraction}$"


def parse_decimal(value: object) -> Decimal:
    """A decimal from a JSON value: a plain-notation string of ASCII digits, or an
    integer. Raises ValueError with the reason (which never quotes the value)."""
    if isinstance(value, bool):
        raise ValueError('must be a decimal string such as "12.5"')
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):  # a value the program made (never from JSON)
        if not value.is_finite():
            raise ValueError("must be a finite decimal")
        return value
    if isinstance(value, float):
        raise ValueError(
            'must be a decimal string such as "12.5" (a JSON number with a fraction '
            "passes through binary floating point and loses precision)"
        )
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "12.5"')
    if len(value) > 60 or not _PLAIN_DECIMAL.fullmatch(value):
        raise ValueError(
            'must be a decimal in plain notation with ASCII digits, such as "1029" or '
            '"0.05" (no exponent, spaces or other digits)'
        )
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError("must be a decimal") from None


def decimal_places(value: Decimal) -> int:
    """Significant decimal places (`1.50` has 1)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True)
class DecimalBound:
    """|x| < 10^digits, at most `places` decimal places, and x ≥ 0 (or x > 0) unless
    `signed`."""

    digits: int
    places: int
    signed: bool = False
    positive: bool = False

    def __call__(self, value: object) -> Decimal:
        number = parse_decimal(value)
        if not self.signed and number < 0:
            raise ValueError("must not be negative")
        if self.positive and number <= 0:
            raise ValueError("must be greater than 0")
        if abs(number) >= Decimal(10) ** self.digits:
            raise ValueError(f"must be less than 10^{self.digits} in magnitude")
        if decimal_places(number) > self.places:
            raise ValueError(f"at most {self.places} decimal places")
        return number

    def json_schema(self, description: str) -> dict[str, Any]:
        limit = 10**self.digits - 1
        return {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": _digits_pattern(self.digits, self.places, self.signed),
                },
                {
                    "type": "integer",
                    "minimum": -limit if self.signed else (1 if self.positive else 0),
                    "maximum": limit,
                },
            ],
            "description": description,
        }


def plain_decimal(value: Decimal) -> str:
    """A decimal in JSON: plain notation without trailing zeros, the same on every database
    (PostgreSQL's NUMERIC answers `0.100000` where SQLite's text answers `0.10`)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


_AS_STRING = PlainSerializer(plain_decimal, return_type=str, when_used="json")

DecimalOut = Annotated[Decimal, _AS_STRING]
"""A decimal that is not money in an answer (a quantity, a rate): a plain string."""


def _money_json(bound: DecimalBound, description: str) -> WithJsonSchema:
    return WithJsonSchema(bound.json_schema(description), mode="validation")


MONEY = DecimalBound(AMOUNT_DIGITS, UNIT_PRICE_PLACES)
SIGNED_MONEY = DecimalBound(AMOUNT_DIGITS, UNIT_PRICE_PLACES, signed=True)
POSITIVE_MONEY = DecimalBound(AMOUNT_DIGITS, UNIT_PRICE_PLACES, positive=True)
QUANTITY = DecimalBound(QUANTITY_DIGITS, QUANTITY_PLACES)
POSITIVE_QUANTITY = DecimalBound(QUANTITY_DIGITS, QUANTITY_PLACES, positive=True)
RAW_QUANTITY = DecimalBound(RAW_QUANTITY_DIGITS, QUANTITY_PLACES)
PERCENT = DecimalBound(3, 4)
FRACTION = DecimalBound(1, 4)

_MONEY_TEXT = (
    'money: a decimal string in the currency\'s major unit (ISO 4217), e.g. "1029" yen or '
    '"10.50" dollars; less than 10^12, at most 6 decimal places'
)
_STRING_OUT = WithJsonSchema({"type": "string"}, mode="serialization")

Money = Annotated[
    Decimal,
    BeforeValidator(MONEY),
    _money_json(MONEY, _MONEY_TEXT + ", not negative"),
    _STRING_OUT,
    _AS_STRING,
]
"""A money value on input (a fee, a price, a unit price): 0 ≤ x < 10^12, ≤ 6 places."""
SignedMoney = Annotated[
    Decimal,
    BeforeValidator(SIGNED_MONEY),
    _money_json(SIGNED_MONEY, _MONEY_TEXT + ", signed"),
    _STRING_OUT,
    _AS_STRING,
]
"""A signed money value on input (an adjustment): |x| < 10^12."""
PositiveMoney = Annotated[
    Decimal,
    BeforeValidator(POSITIVE_MONEY),
    _money_json(POSITIVE_MONEY, _MONEY_TEXT + ", greater than 0"),
    _STRING_OUT,
    _AS_STRING,
]
"""A money value that must be above 0 (a credit note line)."""
Quantity = Annotated[
    Decimal,
    BeforeValidator(QUANTITY),
    _money_json(QUANTITY, "a quantity: a decimal string, 0 ≤ x < 10^12, at most 6 places"),
    _STRING_OUT,
    _AS_STRING,
]
"""A quantity in rated units on input: 0 ≤ q < 10^12, ≤ 6 places."""
PositiveQuantity = Annotated[
    Decimal,
    BeforeValidator(POSITIVE_QUANTITY),
    _money_json(POSITIVE_QUANTITY, "a quantity: a decimal string, 0 < x < 10^12, at most 6 places"),
    _STRING_OUT,
    _AS_STRING,
]
"""A quantity that must be above 0 (a usage item's unit, a top-up): 0 < q < 10^12."""
RawQuantity = Annotated[
    Decimal,
    BeforeValidator(RAW_QUANTITY),
    _money_json(
        RAW_QUANTITY, "a raw usage quantity: a decimal string, 0 ≤ x < 10^18, at most 6 places"
    ),
    _STRING_OUT,
    _AS_STRING,
]
"""A usage quantity in the usage item's raw unit, as a usage record carries it."""
Fraction = Annotated[
    Decimal,
    BeforeValidator(FRACTION),
    Field(lt=1),
    _money_json(FRACTION, "a fraction: a decimal string, 0 ≤ x < 1, at most 4 places"),
    _STRING_OUT,
    _AS_STRING,
]
"""A tax rate as a fraction (`"0.10"` is 10 %): 0 ≤ r < 1 with up to 4 places."""

SubscriptionQuantity = Annotated[int, Field(ge=1, le=MAX_SUBSCRIPTION_QUANTITY, strict=True)]
"""A subscription's quantity: an integer, 1 to 10^6 (`MAX_SUBSCRIPTION_QUANTITY`)."""

Percent = Annotated[
    Decimal,
    BeforeValidator(PERCENT),
    Field(le=100),
    _money_json(PERCENT, "a percentage: a decimal string, 0 to 100, at most 4 places"),
    _STRING_OUT,
    _AS_STRING,
]
"""A rate in percent (RATING.md §5): 0 to 100 with up to 4 places (12.3456 %)."""


def _stored_money(value: object, info: ValidationInfo) -> Decimal:
    """An answer's money value: a Decimal (major unit) as it is, or an integer of minor
    units (as amounts of record are stored) converted with the currency of the validation
    context (`in_currency`) or of the object's own `currency` field."""
    if isinstance(value, bool):
        raise ValueError("not a money value")
    if isinstance(value, int):
        currency = (info.context or {}).get("currency") or (info.data or {}).get("currency")
        if not currency:
            raise ValueError("an amount in minor units needs its currency")
        return from_minor(value, currency)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return parse_decimal(value)
    raise ValueError("not a money value")


MoneyOut = Annotated[
    Decimal,
    BeforeValidator(_stored_money),
    PlainSerializer(plain_decimal, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
            "description": "money: a decimal string in the currency's major unit (ISO 4217)",
            "examples": ["1029"],
        }
    ),
]
"""A money value in an answer: always a JSON string in the major unit, without trailing
zeros ("1029" yen, "10.5" dollars). Built from a Decimal in the major unit, or from the
stored integer of minor units together with its currency (`in_currency`)."""


def in_currency(currency: str) -> dict[str, str]:
    """The validation context that converts stored minor units: `X.model_validate(row,
    context=in_currency(row.currency))`."""
    return {"currency": currency}


def minor_units_of(amount: Decimal, currency: str, at: str) -> int:
    """An amount of record (major unit) as the integer of minor units it is stored as;
    more places than the currency has (`"10.505"` dollars, `"10.5"` yen) is a 422 at
    pointer `at`."""
    places = minor_units(currency)
    if decimal_places(amount) > places:
        raise InvalidRequest([(at, f"{currency} amounts carry at most {places} decimal places")])
    return to_minor(amount.quantize(Decimal(1).scaleb(-places)), currency)


MAX_STORED_MINOR = 2**63 - 1
"""The largest count of minor units an amount column (64-bit integer) holds."""


class AmountTooLarge(InvalidRequest):
    """Amounts each inside their bounds that multiply past what a line or a total can hold
    (a fee near 10^12 × 10^6 subscriptions; 10^24 rated units × a unit price)."""

    slug = "amount-too-large"
    title = "The amounts are too large to bill"


def storable_minor(amount: Decimal, currency: str) -> int:
    """`amount` (already rounded) in minor units, refused with `AmountTooLarge` when it
    does not fit the 64-bit integer columns amounts are stored in."""
    minor = to_minor(amount, currency)
    if abs(minor) > MAX_STORED_MINOR:
        raise AmountTooLarge(
            [("/body", f"an amount of {currency} exceeds {MAX_STORED_MINOR} minor units")]
        )
    return minor


# --- dates and times -------------------------------------------------------------------------

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
"""Dates and timestamps lie in 1900-01-01 … 2199-12-31: wide enough for any birth date and
any contract, and far from the ends of Python's calendar (0001-01-01, 9999-12-31) where
adding a billing month, a day or a time-zone offset overflows."""


BILLING_MONTH_PATTERN = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$"
"""A billing month `YYYY-MM` (ASCII digits) in the years of `MIN_DATE` … `MAX_DATE`."""


def _check_date(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"must lie between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return value


def check_date_range(value: dt.date) -> str | None:
    """The reason `value` (a date or a timestamp) is out of range, or None."""
    try:
        _check_date(value)
    except ValueError as exc:
        return str(exc)
    return None


_DATE_RANGE = f"between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}"
Date = Annotated[dt.date, AfterValidator(_check_date), Field(description=f"a date {_DATE_RANGE}")]
"""A date in 1900-01-01 … 2199-12-31 (`MIN_DATE`, `MAX_DATE`)."""
DateTime = Annotated[
    dt.datetime, AfterValidator(_check_date), Field(description=f"a timestamp {_DATE_RANGE}")
]
"""A timestamp whose date lies in 1900-01-01 … 2199-12-31."""

# --- text -----------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""Control characters (C0 but TAB, LF and CR; DEL; C1) and lone surrogates: PostgreSQL
refuses NUL in text, a lone surrogate cannot be encoded as UTF-8, and none of them belong
in a name or a document."""

_LINE_BREAK = re.compile(r"[\t\n\r]")

MAX_TEXT_LENGTH = 10_000
"""No string anywhere in a request is longer (free JSON included); fields set less."""


def text_problem(value: str, single_line: bool = False) -> str | None:
    """Why `value` is not acceptable text, or None."""
    if len(value) > MAX_TEXT_LENGTH:
        return f"at most {MAX_TEXT_LENGTH} characters"
    if _CONTROL.search(value):
        return "must not contain control characters"
    if single_line and _LINE_BREAK.search(value):
        return "must be one line (no tab or line break)"
    return None


def _single_line(value: str) -> str:
    problem = text_problem(value, single_line=True)
    if problem:
        raise ValueError(problem)
    return value


def _multi_line(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


SingleLine = Annotated[str, AfterValidator(_single_line)]
"""Text on one line without control characters; give its length with `Field`:
`Annotated[SingleLine, Field(min_length=1, max_length=200)]`."""
MultiLine = Annotated[str, AfterValidator(_multi_line)]
"""Text without control characters; tabs and line breaks allowed."""

Ident = Annotated[SingleLine, Field(min_length=1, max_length=100)]
"""An id or a code naming another resource: 1 … 100 characters."""


# --- JSON values -----------------------------------------------------------------------------

MAX_JSON_DEPTH = 32
"""A request body nests at most 32 levels (the deepest schema needs 6; free JSON 16)."""


_RAW_CONTROLS = tuple(bytes([b]) for b in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
_RAW_ESCAPE = re.compile(rb"\\(?:u00[01]|u007[fF]|u00[89]|u[dD][89a-fA-F]|[bfnrt])")
_RAW_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")  # json.loads decodes with surrogatepass


def _raw_is_plain(raw: bytes) -> bool:
    """No parsed string of the JSON text `raw` can hold a control character, a line break
    or a lone surrogate: no escape of one, no raw C0 or DEL byte, no C1 character, no
    UTF-8-encoded surrogate. Each test is a scan of the bytes in C (each pattern starts
    with a fixed byte); an escaped backslash before `u0000` also matches, which only
    costs the exact walk."""
    return not (
        any(c in raw for c in _RAW_CONTROLS)
        or _RAW_ESCAPE.search(raw)
        or _RAW_C1.search(raw)
        or _RAW_SURROGATE.search(raw)
    )


def _shallow_and_short(value: Any, max_depth: int) -> bool:
    """Nothing nests deeper than `max_depth` and no string or key is longer than
    `MAX_TEXT_LENGTH` (a walk without paths: 10,000 usage records in ~10 ms)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if depth >= max_depth:
            return False
        if type(item) is dict:
            if max(map(len, item), default=0) > MAX_TEXT_LENGTH:
                return False
            children = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth + 1))
            elif kind is str and len(child) > MAX_TEXT_LENGTH:
                return False
    return True


def json_is_plain(raw: bytes, value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """The quick pass of `check_request_values` over a body (its bytes and its parsed
    value); only a body it doubts is walked again by `check_json` to name the field."""
    if isinstance(value, str):
        return text_problem(value) is None
    if not isinstance(value, dict | list):
        return True
    return _raw_is_plain(raw) and _shallow_and_short(value, max_depth)


def check_json(value: Any, at: tuple[str | int, ...], max_depth: int = MAX_JSON_DEPTH) -> None:
    """Walk a parsed JSON value (iteratively: no recursion however deep it is) and raise
    `InvalidRequest` naming the first string or key that is not acceptable text, or the
    first level past `max_depth`."""
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(value, at, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise InvalidRequest([(pointer(*where), problem)])
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise InvalidRequest([(pointer(*where), f"nests deeper than {max_depth} levels")])
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = text_problem(str(key), single_line=True)
                    if problem:
                        raise InvalidRequest([(pointer(*where, str(key)), "key " + problem)])
                    stack.append((child, (*where, str(key)), depth + 1))
            else:
                stack.extend((child, (*where, i), depth + 1) for i, child in enumerate(item))


async def check_request_values(request: Request) -> None:
    """A dependency of every route (`FastAPI(dependencies=…)`): the path and query
    parameters and the parsed JSON body hold no control characters and no string longer
    than `MAX_TEXT_LENGTH`, and the body nests at most `MAX_JSON_DEPTH` levels. The
    schemas bound each field further; this is the net under all of them."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and (problem := text_problem(value, single_line=True)):
            raise InvalidRequest([(pointer("path", name), problem)])
    for name, value in request.query_params.multi_items():
        problem = text_problem(name, single_line=True) or text_problem(value, single_line=True)
        if problem:
            raise InvalidRequest([(pointer("query", name), problem)])
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        for name, value in (await request.form()).multi_items():
            if isinstance(value, str) and (problem := text_problem(value, single_line=True)):
                raise InvalidRequest([(pointer("body", name), problem)])
        return
    if "json" not in content_type:
        return
    try:
        # FastAPI has parsed the body already (Starlette keeps it); the routes that read
        # their body themselves get it from the same cache.
        body = await request.json()
    except RecursionError:
        raise InvalidRequest([("/body", f"nests deeper than {MAX_JSON_DEPTH} levels")]) from None
    except ValueError:
        return  # not JSON: the route's own parsing answers it
    if not json_is_plain(await request.body(), body):
        check_json(body, ("body",))
