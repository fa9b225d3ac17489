"""HTTP routes of usage records (利用実績), under the `rating` scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status

from kakin.contracts.errors import PeriodClosed
from kakin.kit.bounds import Date
from kakin.kit.concurrency import check_if_match, set_etag
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from kakin.tenancy.deps import Rating
from kakin.usage import service
from kakin.usage.errors import (
    UsageRecordConflict,
    UsageRecordNotFound,
    UsageRecordsInvalid,
)
from kakin.usage.records import MAX_BATCH
from kakin.usage.schemas import (
    BatchResult,
    RecordStatus,
    UsageRecordBatchIn,
    UsageRecordIn,
    UsageRecordOut,
    UsageRecordRegistered,
    request_body_schema,
)

router = APIRouter(prefix="/v1/usage-records", tags=["usage records"])

_REGISTER_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": UsageRecordConflict.title},
    422: {"description": UsageRecordsInvalid.title},
}

JsonBody = Annotated[Any, Body()]


RECORD_VERSION = 1
"""Usage records never change (append-only): every record is at its first version."""


def _one(index: int, name: str) -> str:
    del index
    return pointer("body", name) if name else "/body"


def _in_batch(index: int, name: str) -> str:
    return pointer("body", "records", index, name) if name else pointer("body", "records", index)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UsageRecordRegistered,
    responses=_REGISTER_ERRORS,
    openapi_extra=request_body_schema(UsageRecordIn),
    summary="Register a usage record",
)
def register_usage_record(ctx: Rating, response: Response, body: JsonBody) -> UsageRecordRegistered:
    """201 with the record; a repeat of a registered `record_id` with the same content
    answers 200 with `duplicate: true` and stores nothing; with other content, 409."""
    if not isinstance(body, dict):
        raise UsageRecordsInvalid([("/body", "a usage record object")])
    out, duplicate = service.register_one(ctx.session, ctx.tenant, body, _one)
    if duplicate:
        response.status_code = status.HTTP_200_OK
    else:
        response.headers["Location"] = f"/v1/usage-records/{out.record_id}"
    set_etag(response, RECORD_VERSION)
    return UsageRecordRegistered(**out.model_dump(), duplicate=duplicate)


@router.post(
    "/batch",
    response_model=BatchResult,
    responses=_REGISTER_ERRORS,
    openapi_extra=request_body_schema(UsageRecordBatchIn),
    summary=f"Register up to {MAX_BATCH:,} usage records, all or nothing",
    operation_id="createUsageRecordBatch",
)
def register_usage_batch(ctx: Rating, body: JsonBody) -> BatchResult:
    """Any invalid record and nothing is stored: the 422 lists every bad record with its
    index (`/body/records/<index>/<field>`) and reason. A record_id registered earlier
    with the same content is a duplicate (counted, listed, not stored again); with other
    content the whole batch is a 409 listing them."""
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        raise InvalidRequest([("/body/records", "required, a list of usage records")])
    if extra := sorted(set(body) - {"records"}):
        raise InvalidRequest([(pointer("body", name), "unknown field") for name in extra])
    if len(records) > MAX_BATCH:
        raise InvalidRequest([("/body/records", f"at most {MAX_BATCH:,} records per request")])
    result = service.register_batch(ctx.session, ctx.tenant, records, _in_batch)
    return BatchResult(
        accepted=result.accepted,
        duplicates=len(result.duplicates),
        records=[
            RecordStatus(index=index, record_id=record_id, status="duplicate")
            for index, record_id in result.duplicates
        ],
    )


@router.get("", response_model=Page[UsageRecordOut], summary="Search usage records")
def list_usage_records(
    ctx: Rating,
    subscription_id: str | None = None,
    subscription_external_ref: str | None = None,
    usage_item: Annotated[str | None, Query(description="a usage item's code or id")] = None,
    used_from: Annotated[Date | None, Query(description="first local day")] = None,
    used_to: Annotated[Date | None, Query(description="last local day")] = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[UsageRecordOut]:
    filters = service.UsageFilter(
        subscription_id, subscription_external_ref, usage_item, used_from, used_to
    )
    return service.search_records(ctx.session, filters, cursor, limit)


@router.get(
    "/{record_id}",
    response_model=UsageRecordOut,
    responses={404: {"description": UsageRecordNotFound.title}},
)
def get_usage_record(record_id: str, ctx: Rating, response: Response) -> UsageRecordOut:
    out = service.get_record(ctx.session, record_id)
    set_etag(response, RECORD_VERSION)
    return out


@router.delete(
    "/{record_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {"description": UsageRecordNotFound.title},
        409: {"description": PeriodClosed.title},
        412: {"description": "If-Match does not name the record's ETag"},
    },
)
def delete_usage_record(
    record_id: str, ctx: Rating, if_match: Annotated[str | None, Header()] = None
) -> Response:
    """Only while the record's billing period is not closed; afterwards a correction is an
    adjustment."""
    check_if_match(if_match, RECORD_VERSION)
    service.delete_record(ctx.session, record_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
