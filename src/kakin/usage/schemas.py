"""Request and response bodies of the usage-record API.

The request models document the bodies (OpenAPI); the bodies themselves are checked by
`usage.intake`, the one validator the API and the CSV import share, which reports every bad
record of a batch at once (a batch of 10,000 is checked in milliseconds).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kakin.usage.models import RECORD_ID_LENGTH
from kakin.usage.records import MAX_BATCH

QUANTITY_PATTERN = r"^[0-9]{1,18}(\.[0-9]{1,6})?$"


class UsageRecordIn(BaseModel):
    """One usage record. Give `subscription_id` or `subscription_external_ref`."""

    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(
        min_length=1,
        max_length=RECORD_ID_LENGTH,
        description="your key for this record, unique in the tenant: a repeat with the same "
        "content is accepted once and reported as a duplicate, with other content it is a 409",
    )
    subscription_id: str | None = Field(None, description="the subscription's id")
    subscription_external_ref: str | None = Field(
        None, description="or the subscription's external reference"
    )
    usage_item: str = Field(description="the usage item's code or id")
    quantity: str = Field(
        pattern=QUANTITY_PATTERN,
        description="the raw quantity in the usage item's raw unit, a decimal string "
        "(≥ 0, up to 6 decimal places)",
        examples=["1024", "12.5"],
    )
    used_at: AwareDatetime = Field(
        description="when it was used, ISO 8601 with a UTC offset, between 1900-01-01 and "
        "2199-12-31 (kit.bounds); the record belongs to the tenant-local date of this instant"
    )


class UsageRecordBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[UsageRecordIn] = Field(min_length=1, max_length=MAX_BATCH)


def request_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An `openapi_extra` request body for a route that reads its body as plain JSON."""
    if model is UsageRecordBatchIn:
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "required": ["records"],
            "properties": {
                "records": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH,
                    "items": UsageRecordIn.model_json_schema(),
                }
            },
        }
    else:
        schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


class UsageRecordOut(BaseModel):
    record_id: str
    subscription_id: str
    usage_item_id: str
    usage_item: str = Field(description="the usage item's code")
    quantity: Decimal
    used_at: dt.datetime
    used_on: dt.date = Field(description="the tenant-local date the record belongs to")
    created_at: dt.datetime


class UsageRecordRegistered(UsageRecordOut):
    duplicate: bool = Field(
        description="true when this record_id was already registered with the same content"
    )


class RecordStatus(BaseModel):
    index: int
    record_id: str
    status: Literal["duplicate"]


class BatchResult(BaseModel):
    accepted: int = Field(description="records stored by this request")
    duplicates: int = Field(description="records already registered with the same content")
    records: list[RecordStatus] = Field(description="the status of each duplicate")
