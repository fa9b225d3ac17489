"""Use cases of tariffs (料金表) and their dated versions — RATING.md §4.

What makes a tariff definition valid is `kakin.rating.tariffs.validate_tariff` (the one
definition, shared with the rating core); this module turns its problems into 422s with
JSON pointers into the request body. A version is immutable: a revision is a new version
from its date, so what was rated before that date never changes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.catalog.errors import VersionDateTaken
from kakin.catalog.models import Tariff, TariffVersion
from kakin.catalog.repository import ensure_code_free, flush_master, version_on, versions_for
from kakin.catalog.tariff_schemas import (
    BandOut,
    TariffDefinitionIn,
    TariffIn,
    TariffOut,
    TariffVersionOut,
)
from kakin.kit.concurrency import check_if_match
from kakin.kit.db import utcnow
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.ids import new_id
from kakin.kit.money import stored_decimal
from kakin.rating import tariffs as rating
from kakin.rating.versions import version_runs

_SCALARS = ("fixed_fee", "unit_price", "included", "lower", "upper")
_BAND_FIELDS = ("up_to", "amount", "unit_price", "flat_fee")
_PATH_PART = re.compile(r"^(?P<name>[a-z_]+)(?:\[(?P<index>\d+)\])?$")


def _text(value: Decimal) -> str:
    """A decimal as stored in JSON: plain notation, never an exponent."""
    return format(value, "f")


def problem_pointer(field_path: str, *prefix: str | int) -> str:
    """`bands[1].up_to` (a `TariffProblem.field`) → `/body/bands/1/up_to`."""
    parts: list[str | int] = list(prefix)
    for piece in field_path.split("."):
        match = _PATH_PART.match(piece)
        if match is None:
            parts.append(piece)
            continue
        parts.append(match["name"])
        if match["index"] is not None:
            parts.append(int(match["index"]))
    return pointer(*parts)


def definition_of(data: TariffDefinitionIn) -> rating.Tariff:
    """The request's definition as the rating core's `Tariff` (not yet validated)."""
    return rating.Tariff(
        shape=data.shape,
        fixed_fee=data.fixed_fee,
        unit_price=data.unit_price,
        included=data.included,
        lower=data.lower,
        upper=data.upper,
        bands=tuple(
            rating.Band(b.up_to, b.amount, b.unit_price, b.flat_fee) for b in data.bands or ()
        ),
        mode=data.mode,
    )


def check_definition(data: TariffDefinitionIn) -> rating.Tariff:
    """RATING.md §4 validation by `validate_tariff`; every problem is a 422 entry naming
    its field (`/body/bands/2/up_to`)."""
    tariff = definition_of(data)
    problems = rating.validate_tariff(tariff)
    if data.bands is not None and not data.bands and not any(p.field == "bands" for p in problems):
        reason = f"is not used by {data.shape}"
        if data.shape in rating.BAND_FIELDS:
            reason = f"is required by {data.shape}"
        problems.append(rating.TariffProblem("bands", reason))
    if problems:
        raise InvalidRequest([(problem_pointer(p.field, "body"), p.reason) for p in problems])
    return tariff


def parameters_of(tariff: rating.Tariff) -> dict[str, Any]:
    """The JSON stored for a valid definition: only the parameters present, decimals as
    strings; a graduated tariff always records its mode."""
    parameters: dict[str, Any] = {}
    for name in _SCALARS:
        value: Decimal | None = getattr(tariff, name)
        if value is not None:
            parameters[name] = _text(value)
    if tariff.bands:
        parameters["bands"] = [
            {
                name: None if getattr(band, name) is None else _text(getattr(band, name))
                for name in _BAND_FIELDS
                if name == "up_to" or getattr(band, name) is not None
            }
            for band in tariff.bands
        ]
    if tariff.shape is rating.TariffShape.GRADUATED:
        parameters["mode"] = (tariff.mode or rating.GraduatedMode.GRADUATED).value
    return parameters


def negotiation_problem(session: Session, tariff_id: str, on: dt.date) -> str | None:
    """Why a negotiated amount from `on` cannot replace the amount of `tariff_id`: a
    version in force on or after `on` has no single amount (None: it can)."""
    versions = versions_for(session, TariffVersion, [tariff_id])[tariff_id]
    for run in version_runs(versions, on, None):
        version = run.version
        if rating.TariffShape(version.shape) not in rating.NEGOTIABLE_AMOUNT:
            return (
                f"its tariff is {version.shape} from {version.effective_from}: a negotiated"
                " price replaces the one amount of a flat or per_unit tariff"
            )
    return None


def version_out(version: TariffVersion) -> TariffVersionOut:
    p = version.parameters
    bands = p.get("bands")
    return TariffVersionOut(
        id=version.id,
        effective_from=version.effective_from,
        shape=rating.TariffShape(version.shape),
        fixed_fee=stored_decimal(p.get("fixed_fee")),
        unit_price=stored_decimal(p.get("unit_price")),
        included=stored_decimal(p.get("included")),
        lower=stored_decimal(p.get("lower")),
        upper=stored_decimal(p.get("upper")),
        bands=[BandOut.model_validate(b) for b in bands] if bands is not None else None,
        mode=rating.GraduatedMode(p["mode"]) if p.get("mode") else None,
        created_at=version.created_at,
    )


def tariff_versions_for(
    session: Session, tariff_ids: Sequence[str]
) -> dict[str, list[TariffVersion]]:
    """Every version of each tariff, oldest first, in one query (for lists and batches)."""
    return versions_for(session, TariffVersion, tariff_ids)


def tariffs_out(session: Session, rows: Sequence[Tariff]) -> list[TariffOut]:
    versions = tariff_versions_for(session, [row.id for row in rows])
    return [tariff_out(row, versions[row.id]) for row in rows]


def tariff_out(row: Tariff, versions: Sequence[TariffVersion]) -> TariffOut:
    data = {name: getattr(row, name) for name in TariffOut.model_fields if name != "versions"}
    return TariffOut.model_validate({**data, "versions": [version_out(v) for v in versions]})


def tariff_version_on(session: Session, tariff_id: str, on: dt.date) -> TariffVersion | None:
    """The version of a tariff in force on `on` (None before the first version)."""
    return version_on(session, TariffVersion, tariff_id, on)


def _add_version(session: Session, tariff: Tariff, data: TariffDefinitionIn) -> TariffVersion:
    definition = check_definition(data)
    taken = session.scalar(
        select(TariffVersion.id).where(
            TariffVersion.tariff_id == tariff.id,
            TariffVersion.effective_from == data.effective_from,
        )
    )
    if taken is not None:
        raise VersionDateTaken("tariff", data.effective_from.isoformat())
    version = TariffVersion(
        id=new_id("tfv"),
        tariff_id=tariff.id,
        effective_from=data.effective_from,
        shape=definition.shape.value,
        parameters=parameters_of(definition),
    )
    session.add(version)
    return version


def create_tariff(session: Session, data: TariffIn) -> tuple[Tariff, list[TariffVersion]]:
    check_definition(data)
    ensure_code_free(session, Tariff, data.code)
    identity = data.model_dump(
        include={"code", "name", "free", *(f"free_{n}" for n in range(1, 11))},
        exclude_none=True,
    )
    row = Tariff(id=new_id("trf"), **identity)
    session.add(row)
    flush_master(session, Tariff, data.code)
    version = _add_version(session, row, data)
    session.flush()
    record(session, "create", "tariff", row.id, None, tariff_out(row, [version]))
    return row, [version]


def add_tariff_version(
    session: Session, row: Tariff, data: TariffDefinitionIn, if_match: str | None
) -> list[TariffVersion]:
    """A revision from `data.effective_from`; the existing versions are left as they are."""
    check_if_match(if_match, row.version)
    before = tariffs_out(session, [row])[0]
    _add_version(session, row, data)
    row.updated_at = utcnow()  # the tariff changed: a new ETag
    try:
        session.flush()
    except IntegrityError:  # a concurrent revision from the same date
        raise VersionDateTaken("tariff", data.effective_from.isoformat()) from None
    versions = tariff_versions_for(session, [row.id])[row.id]
    after = tariff_out(row, versions)
    record(session, "create_version", "tariff", row.id, before, after)
    return versions
