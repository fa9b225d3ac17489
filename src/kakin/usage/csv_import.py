"""Loading usage records from CSV files (`kakin usage import FILE -t TENANT`).

The file format
---------------
A header line, then one usage record per line::

    record_id,subscription_id,subscription_external_ref,usage_item,quantity,used_at
    cdr-000001,sub_01JD…,,CALL_SEC,180,2026-11-01T09:30:00+09:00
    cdr-000002,,LINE-0042,PACKET,1024.5,2026-11-01T00:10:00Z

- `record_id`: your key for the record, unique in the tenant (1–64 characters).
- `subscription_id` or `subscription_external_ref`: exactly one of the two per line
  (either column may be left out of the header when the file never uses it).
- `usage_item`: the usage item's code; `quantity`: a decimal (≥ 0, up to 6 places);
  `used_at`: ISO 8601 with a UTC offset. The record belongs to the tenant-local date.
- Encoding UTF-8, with or without BOM, or CP932 (Shift_JIS, as Excel saves it).
- Bounds: a field holds at most `csv.field_size_limit()` characters (131,072) and no
  control characters (kit.bounds); the other bounds are those of the API.

Every error names its line, and its field when it has one (`line 12, quantity`).

The rules are those of the API (`usage.intake`, the same code): every bad line is listed
and then nothing is stored; a record_id registered earlier with the same content is
counted as a duplicate, with other content it fails the file. The whole file is one
transaction; it is read and validated in chunks, and on PostgreSQL each chunk is written
with `COPY`.
"""

from __future__ import annotations

import codecs
import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kakin.kit.bounds import text_problem
from kakin.kit.db import tenant_session
from kakin.kit.errors import Problem
from kakin.runtime import Runtime
from kakin.tenancy.service import get_tenant
from kakin.usage.intake import FIELDS, Locate, validate_records
from kakin.usage.service import register_batch

CHUNK_ROWS = 50_000
"""Lines validated and written at a time: set-based lookups stay large, memory small."""

SNIFF_BYTES = 1 << 20
"""Bytes read to decide the encoding (UTF-8 unless they do not decode as UTF-8)."""

REQUIRED = frozenset({"record_id", "usage_item", "quantity", "used_at"})


class ImportFailed(Exception):
    """The file was refused; nothing was stored. `errors` are (where, reason) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was stored")
        self.errors = errors


@dataclass
class ImportResult:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    elapsed: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0


def detect_encoding(path: Path) -> str:
    """UTF-8 (BOM or not) when the file's start decodes as UTF-8, else CP932."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8-sig"


def count_lines(path: Path) -> int:
    """Data lines, for the progress bar (a quoted field with a line break counts twice)."""
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


Chunk = tuple[list[dict[str, Any]], list[int], list[tuple[str, str]]]


def read_chunks(path: Path, encoding: str, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Chunks of (records as field → text, the line number of each, malformed lines)."""
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ImportFailed([("line 1", f"not readable as CSV ({exc})")]) from None
        if header is None:
            raise ImportFailed([("line 1", "the file is empty; it needs a header line")])
        names = [name.strip() for name in header]
        unknown = [n for n in names if n not in FIELDS]
        missing = sorted(REQUIRED - set(names))
        if "subscription_id" not in names and "subscription_external_ref" not in names:
            missing.append("subscription_id or subscription_external_ref")
        if unknown or missing or len(set(names)) != len(names):
            reason = "the header must name the columns " + ",".join(FIELDS)
            details = [f"unknown: {', '.join(unknown)}"] if unknown else []
            details += [f"missing: {', '.join(missing)}"] if missing else []
            raise ImportFailed([("line 1", f"{reason} ({'; '.join(details) or 'repeated'})")])
        width = len(names)
        records: list[dict[str, Any]] = []
        lines: list[int] = []
        malformed: list[tuple[str, str]] = []
        for row in _rows(reader):
            if isinstance(row, str):  # the csv module refused the line
                malformed.append((f"line {reader.line_num}", row))
                continue
            if not row:
                continue  # a blank line
            if len(row) != width:
                where = f"line {reader.line_num}"
                malformed.append((where, f"{len(row)} fields, the header has {width}"))
                continue
            record = dict(zip(names, row, strict=True))
            bad = [(n, p) for n, v in record.items() if (p := text_problem(v, single_line=True))]
            if bad:
                malformed += [(f"line {reader.line_num}, {n}", p) for n, p in bad]
                continue
            records.append(record)
            lines.append(reader.line_num)
            if len(records) >= size:
                yield records, lines, malformed
                records, lines, malformed = [], [], []
        if records or malformed:
            yield records, lines, malformed


def _rows(reader: Any) -> Iterator[list[str] | str]:
    """The reader's rows; a line the csv module cannot read gives its reason instead
    (a field over `csv.field_size_limit()`, a stray quote), and reading goes on."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            limit = csv.field_size_limit()
            reason = str(exc)
            if "field limit" in reason:
                reason = f"a field is longer than {limit} characters"
            yield f"not readable as CSV ({reason})"
            continue
        yield row


def _locate(lines: list[int]) -> Locate:
    def locate(index: int, name: str) -> str:
        return f"line {lines[index]}" + (f", {name}" if name else "")

    return locate


def _problems(exc: Problem) -> list[tuple[str, str]]:
    return [(e["pointer"], e["reason"]) for e in exc.extra.get("errors", [])] or [
        ("file", exc.detail)
    ]


def import_usage_csv(
    runtime: Runtime,
    tenant_id: str,
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate and store every record of `path` in one transaction, or none of them
    (raises `ImportFailed` listing every bad line)."""
    started = time.perf_counter()
    result = ImportResult()
    encoding = detect_encoding(path)
    try:
        with tenant_session(runtime.sessions, tenant_id) as session:
            session.info["actor"] = "cli:usage-import"
            tenant = get_tenant(session)
            for records, lines, malformed in read_chunks(path, encoding):
                result.errors.extend(malformed)
                locate = _locate(lines)
                try:
                    if result.errors:  # already failed: only find the other bad lines
                        validate_records(session, tenant.time_zone, records, locate)
                    else:
                        registered = register_batch(
                            session, tenant, records, locate, source=f"csv:{path.name}"
                        )
                        result.accepted += len(registered.stored)
                        result.duplicates += len(registered.duplicates)
                except Problem as exc:
                    result.errors.extend(_problems(exc))
                result.rows += len(records) + len(malformed)
                if progress is not None:
                    progress(len(records) + len(malformed))
            if result.errors:
                raise ImportFailed(result.errors)
    except UnicodeDecodeError as exc:
        raise ImportFailed([("file", f"not UTF-8 or CP932 text ({exc.reason})")]) from None
    result.elapsed = time.perf_counter() - started
    return result
