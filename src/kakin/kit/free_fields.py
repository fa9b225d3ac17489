"""Free fields (フリー項目, seed 000): one JSON object plus ten searchable strings.

Customers, groups, contracts and masters all carry them. The strings are plain text,
not personal data, and can be searched exactly or by prefix; the JSON object holds
any keys the provider likes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, Index, Select, String
from sqlalchemy.orm import Mapped, mapped_column

FREE_STRING_COUNT = 10
FREE_STRING_LENGTH = 255
FREE_NAMES = tuple(f"free_{n}" for n in range(1, FREE_STRING_COUNT + 1))


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

    free: dict[str, Any] | None = None
    free_1: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_2: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_3: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_4: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_5: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_6: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_7: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_8: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_9: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_10: str | None = Field(None, max_length=FREE_STRING_LENGTH)


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

    free_1: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_2: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_3: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_4: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_5: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_6: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_7: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_8: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_9: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_10: str | None = Field(None, max_length=FREE_STRING_LENGTH)
    free_1_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_2_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_3_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_4_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_5_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_6_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_7_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_8_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_9_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)
    free_10_prefix: str | None = Field(None, min_length=1, max_length=FREE_STRING_LENGTH)


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
