"""Free fields (フリー項目, seed 000): one JSON object plus ten searchable strings.

Customers, groups, contracts and masters all carry them. The strings are plain text,
not personal data, and can be searched exactly or by prefix; the JSON object holds
any keys the provider likes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import JSON, Index, Select, String
from sqlalchemy.orm import Mapped, mapped_column

from kakin.kit.bounds import SingleLine

FREE_STRING_COUNT = 10
FREE_STRING_LENGTH = 255
FREE_NAMES = tuple(f"free_{n}" for n in range(1, FREE_STRING_COUNT + 1))

FREE_JSON_DEPTH = 16
"""`free` nests at most 16 levels (an object of objects … of 16): room for any record a
provider keeps beside a customer, while a walk, a copy or a JSON encoder of it never nears
Python's recursion limit (a body 900 levels deep failed there)."""

FREE_JSON_BYTES = 16 * 1024
"""`free` is at most 16 KiB as compact UTF-8 JSON: it is stored on every row and copied
into every audit event of the row (Stripe's metadata: 50 keys of 500 characters)."""


def _json_depth(value: Any) -> int:
    """How many levels of objects and arrays `value` nests (iteratively)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > FREE_JSON_DEPTH:
            break
    return deepest


_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""One encoder for every check (json.dumps with options builds a new one per call)."""


def check_free_json(value: Any) -> Any:
    """Refuse a `free` object deeper than `FREE_JSON_DEPTH` or larger than
    `FREE_JSON_BYTES` (before it is validated any further)."""
    if value is None or not isinstance(value, dict):
        return value  # not an object: the type check answers it
    if not value:
        return value
    if _json_depth(value) > FREE_JSON_DEPTH:
        raise ValueError(f"nests deeper than {FREE_JSON_DEPTH} levels")
    try:
        size = len(_COMPACT_JSON.encode(value).encode())
    except (TypeError, ValueError, RecursionError):
        raise ValueError("must be a JSON object") from None
    if size > FREE_JSON_BYTES:
        raise ValueError(f"must be at most {FREE_JSON_BYTES} bytes as JSON")
    return value


FreeJson = Annotated[dict[str, Any], BeforeValidator(check_free_json)]
"""The `free` object on input: any JSON object within `FREE_JSON_DEPTH` and
`FREE_JSON_BYTES` (its strings and keys are text without control characters, checked for
the whole body by `kit.bounds.check_request_values`)."""
FreeString = Annotated[SingleLine, Field(max_length=FREE_STRING_LENGTH)]


class FreeFieldsColumns:
    """Mixin for a table: `free` (JSON) and `free_1` … `free_10` (indexed strings)."""

    free: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    free_1: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_2: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_3: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_4: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_5: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_6: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_7: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_8: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_9: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))
    free_10: Mapped[str | None] = mapped_column(String(FREE_STRING_LENGTH))


def free_field_indexes(table: str, names: tuple[str, ...] = FREE_NAMES) -> tuple[Index, ...]:
    """One `(tenant_id, free_n)` index per searchable string, for `__table_args__`."""
    return tuple(Index(f"ix_{table}_{name}", "tenant_id", name) for name in names)


class FreeFieldsIn(BaseModel):
    """Free fields on input (create: all optional; change: only those sent are changed)."""

    free: FreeJson | None = Field(
        None,
        description=f"any JSON object, at most {FREE_JSON_DEPTH} levels deep and "
        f"{FREE_JSON_BYTES} bytes",
    )
    free_1: FreeString | None = None
    free_2: FreeString | None = None
    free_3: FreeString | None = None
    free_4: FreeString | None = None
    free_5: FreeString | None = None
    free_6: FreeString | None = None
    free_7: FreeString | None = None
    free_8: FreeString | None = None
    free_9: FreeString | None = None
    free_10: FreeString | None = None


class FreeFieldsOut(BaseModel):
    free: dict[str, Any] = Field(default_factory=dict)
    free_1: str | None = None
    free_2: str | None = None
    free_3: str | None = None
    free_4: str | None = None
    free_5: str | None = None
    free_6: str | None = None
    free_7: str | None = None
    free_8: str | None = None
    free_9: str | None = None
    free_10: str | None = None


class FreeFieldsFilter(BaseModel):
    """Query parameters: `free_n` matches exactly, `free_n_prefix` by prefix.

    Use as `Annotated[SomeFilter, Query()]`, SomeFilter subclassing this one.
    """

    free_1: FreeString | None = None
    free_2: FreeString | None = None
    free_3: FreeString | None = None
    free_4: FreeString | None = None
    free_5: FreeString | None = None
    free_6: FreeString | None = None
    free_7: FreeString | None = None
    free_8: FreeString | None = None
    free_9: FreeString | None = None
    free_10: FreeString | None = None
    free_1_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_2_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_3_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_4_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_5_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_6_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_7_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_8_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_9_prefix: Annotated[FreeString, Field(min_length=1)] | None = None
    free_10_prefix: Annotated[FreeString, Field(min_length=1)] | None = None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_free_fields(
    statement: Select[Any], model: type, filters: FreeFieldsFilter
) -> Select[Any]:
    """Apply the `free_n` (exact) and `free_n_prefix` (prefix) conditions of `filters`."""
    params = filters.model_dump(exclude_none=True)
    for name in FREE_NAMES:
        column = getattr(model, name)
        if params.get(name) is not None:
            statement = statement.where(column == params[name])
        prefix = params.get(f"{name}_prefix")
        if prefix is not None:
            statement = statement.where(column.like(_escape_like(prefix) + "%", escape="\\"))
    return statement
