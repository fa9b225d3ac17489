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
counted as a duplicate, with other content it fails the file.

How it is fast and still all or nothing
---------------------------------------
The whole file is one transaction, written by this process: each chunk of lines goes to
`intake.store` as COPY text (on PostgreSQL two `COPY`s, the key of `usage_record_ids`
being the duplicate check). Parsing, checking and rendering the lines — most of the
Python time — is done by `os.cpu_count()` forked worker processes, each on byte ranges
of the file (split at line ends), with their own read-only sessions for the lookups;
they run while the database writes the chunks before, and the writer takes their chunks
in file order. A file holding a quote character (a quoted field may span lines, so a
range could not be cut at any line end) or too small to be worth the processes is read
the same way in this process. Writes from several transactions (one per worker) would be
faster still on two cores but could not commit as one without two-phase commit
(`max_prepared_transactions` is 0 by default), so the database side stays one
transaction.
"""

from __future__ import annotations

import codecs
import csv
import io
import multiprocessing
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kakin.kit.bounds import MAX_TEXT_LENGTH, text_problem
from kakin.kit.db import make_session_factory, tenant_session, utcnow
from kakin.kit.errors import Problem
from kakin.runtime import Runtime
from kakin.tenancy.service import get_tenant
from kakin.usage.intake import FIELDS, Lookups, Prepared, Raw, Registration, prepare, store
from kakin.usage.service import audit_batch

RANGE_BYTES = 1 << 20
"""Bytes of the file per chunk (about 12,000 lines): lookups stay set-based, the writer
starts soon and memory stays small."""

CHUNK_ROWS = 50_000
"""Lines per chunk when the file is read in this process."""

PARALLEL_BYTES = 8 << 20
"""Files from this size on are read by worker processes (below, forking costs more)."""

SNIFF_BYTES = 1 << 20
"""Bytes read to decide the encoding (UTF-8 unless they do not decode as UTF-8)."""

REQUIRED = frozenset({"record_id", "usage_item", "quantity", "used_at"})

_SUSPECT = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""A character `text_problem` refuses in a one-line field (line ends aside): a range of
lines without any needs no check field by field."""


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


def locate(line: int, name: str) -> str:
    """Where a record is: its line (the position `intake` is given), and field."""
    return f"line {line}" + (f", {name}" if name else "")


def _header(row: list[str] | None) -> list[str]:
    if row is None:
        raise ImportFailed([("line 1", "the file is empty; it needs a header line")])
    names = [name.strip() for name in row]
    unknown = [n for n in names if n not in FIELDS]
    missing = sorted(REQUIRED - set(names))
    if "subscription_id" not in names and "subscription_external_ref" not in names:
        missing.append("subscription_id or subscription_external_ref")
    if unknown or missing or len(set(names)) != len(names):
        reason = "the header must name the columns " + ",".join(FIELDS)
        details = [f"unknown: {', '.join(unknown)}"] if unknown else []
        details += [f"missing: {', '.join(missing)}"] if missing else []
        raise ImportFailed([("line 1", f"{reason} ({'; '.join(details) or 'repeated'})")])
    return names


def _read_header(reader: Any) -> list[str]:
    try:
        return _header(next(reader, None))
    except csv.Error as exc:
        raise ImportFailed([("line 1", f"not readable as CSV ({exc})")]) from None


@dataclass
class _Lines:
    """Lines of the file as records: (line number, values in `FIELDS` order)."""

    raws: list[tuple[int, Raw]] = field(default_factory=list)
    malformed: list[tuple[str, str]] = field(default_factory=list)
    count: int = 0
    """Lines read, blank ones aside."""


def _read_lines(
    reader: Any, names: list[str], before: int, checked: bool, size: int | None = None
) -> Iterator[_Lines]:
    """The reader's lines (numbered from `before` + 1) in chunks of `size` records; unless
    `checked` (their text holds no `_SUSPECT` character), every field is checked."""
    width = len(names)
    # A column the header leaves out reads as the blank cell appended to each row.
    values = itemgetter(*(names.index(n) if n in names else width for n in FIELDS))
    chunk = _Lines()
    for row in _rows(reader):
        line = before + reader.line_num
        if isinstance(row, str):  # the csv module refused the line
            chunk.malformed.append((f"line {line}", row))
            chunk.count += 1
            continue
        if not row:
            continue  # a blank line
        chunk.count += 1
        if len(row) != width:
            chunk.malformed.append((f"line {line}", f"{len(row)} fields, the header has {width}"))
            continue
        if not checked or max(map(len, row)) > MAX_TEXT_LENGTH:
            bad = [
                (n, p)
                for n, v in zip(names, row, strict=True)
                if (p := text_problem(v, single_line=True))
            ]
            if bad:
                chunk.malformed += [(f"line {line}, {n}", p) for n, p in bad]
                continue
        row.append("")
        chunk.raws.append((line, values(row)))
        if size is not None and len(chunk.raws) >= size:
            yield chunk
            chunk = _Lines()
    if chunk.count:
        yield chunk


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


def _problems(exc: Problem) -> list[tuple[str, str]]:
    return [(e["pointer"], e["reason"]) for e in exc.extra.get("errors", [])] or [
        ("file", exc.detail)
    ]


@dataclass
class _Chunk:
    """A chunk of the file, checked: its records ready to store, or its problems."""

    count: int
    prepared: Prepared | None
    errors: list[tuple[str, str]]


def _check(
    session: Session, time_zone: str, lines: _Lines, lookups: Lookups, created_at: Any
) -> _Chunk:
    try:
        prepared = prepare(
            session,
            time_zone,
            lines.raws,
            locate,
            lookups=lookups,
            errors=list(lines.malformed),
            created_at=created_at,
        )
    except Problem as exc:
        return _Chunk(lines.count, None, _problems(exc))
    return _Chunk(lines.count, prepared, [])


# --- the file read in this process -------------------------------------------------------


def _chunks_here(
    session: Session, time_zone: str, path: Path, encoding: str, created_at: Any
) -> Iterator[_Chunk]:
    lookups = Lookups()
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        names = _read_header(reader)
        for lines in _read_lines(reader, names, 0, checked=False, size=CHUNK_ROWS):
            yield _check(session, time_zone, lines, lookups, created_at)


# --- the file read by worker processes ---------------------------------------------------


@dataclass
class _Job:
    """What every worker of one import knows (inherited by fork, never pickled)."""

    engine: Engine
    tenant_id: str
    time_zone: str
    path: Path
    encoding: str
    names: list[str]
    created_at: Any
    sessions: sessionmaker[Session] | None = None
    lookups: Lookups = field(default_factory=Lookups)


_job: _Job | None = None
"""This worker process's job (set by `_start_worker`)."""


def _start_worker(job: _Job) -> None:
    global _job  # noqa: PLW0603 - the one state of a worker process
    # The parent's pooled connections are the parent's: forget them without closing.
    job.engine.dispose(close=False)
    job.sessions = make_session_factory(job.engine)
    _job = job


def _check_range(start: int, end: int, before: int) -> _Chunk:
    """A worker's task: the lines in bytes [start, end) of the file, numbered after
    `before`."""
    job = _job
    assert job is not None  # noqa: S101 - set by _start_worker
    assert job.sessions is not None  # noqa: S101
    with job.path.open("rb") as f:
        f.seek(start)
        data = f.read(end - start)
    try:
        text = data.decode(job.encoding)
    except UnicodeDecodeError as exc:
        return _Chunk(0, None, [("file", f"not UTF-8 or CP932 text ({exc.reason})")])
    reader = csv.reader(io.StringIO(text, newline=""))
    checked = _SUSPECT.search(text) is None
    lines = next(_read_lines(reader, job.names, before, checked), _Lines())
    with tenant_session(job.sessions, job.tenant_id) as session:
        return _check(session, job.time_zone, lines, job.lookups, job.created_at)


def _ranges(path: Path) -> tuple[bytes, list[tuple[int, int, int]]] | None:
    """The header line and (start, end, lines before) of each range of the file, cut at
    line ends; None if the file holds a quote (a quoted field may span lines)."""
    ranges: list[tuple[int, int, int]] = []
    with path.open("rb") as f:
        header = f.readline()
        start, lines = f.tell(), 1
        carry = b""
        while block := f.read(RANGE_BYTES):
            block = carry + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                carry = block
                continue
            body, carry = block[:cut], block[cut:]
            if b'"' in body or b'"' in header:
                return None
            ranges.append((start, start + len(body), lines))
            # csv counts a lone carriage return as a line end too
            lines += body.count(b"\n") + body.count(b"\r") - body.count(b"\r\n")
            start += len(body)
        if carry:
            if b'"' in carry:
                return None
            ranges.append((start, start + len(carry), lines))
    return header, ranges


def _chunks_by_workers(
    job: _Job, ranges: list[tuple[int, int, int]], workers: int
) -> Iterator[_Chunk]:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(job,)) as pool:
        pending: deque[Future[_Chunk]] = deque()
        todo = iter(ranges)
        # A few ranges ahead of the writer, no more: memory stays a few chunks.
        for start, end, before in todo:
            pending.append(pool.submit(_check_range, start, end, before))
            if len(pending) > workers + 1:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chunks(
    runtime: Runtime, session: Session, time_zone: str, path: Path, encoding: str, created_at: Any
) -> Iterator[_Chunk]:
    workers = os.cpu_count() or 1
    if (
        workers > 1
        and "fork" in multiprocessing.get_all_start_methods()
        and path.stat().st_size >= PARALLEL_BYTES
        and (split := _ranges(path)) is not None
    ):
        header, ranges = split
        try:
            text = header.decode(encoding)
        except UnicodeDecodeError:
            text = None
        if text is not None:
            names = _header(next(csv.reader([text.rstrip("\r\n")]), None))
            job = _Job(
                runtime.engine,
                session.info["tenant_id"],
                time_zone,
                path,
                encoding,
                names,
                created_at,
            )
            yield from _chunks_by_workers(job, ranges, workers)
            return
    yield from _chunks_here(session, time_zone, path, encoding, created_at)


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
    stored = Registration()
    try:
        with tenant_session(runtime.sessions, tenant_id) as session:
            session.info["actor"] = "cli:usage-import"
            tenant = get_tenant(session)
            created_at = utcnow()
            for chunk in _chunks(runtime, session, tenant.time_zone, path, encoding, created_at):
                result.rows += chunk.count
                result.errors.extend(chunk.errors)
                if chunk.prepared is not None and not result.errors:
                    try:
                        _add(stored, store(session, chunk.prepared, locate))
                    except Problem as exc:
                        result.errors.extend(_problems(exc))
                if progress is not None:
                    progress(chunk.count)
            if result.errors:
                raise ImportFailed(result.errors)
            audit_batch(session, stored, source=f"csv:{path.name}")
    except UnicodeDecodeError as exc:
        raise ImportFailed([("file", f"not UTF-8 or CP932 text ({exc.reason})")]) from None
    result.accepted, result.duplicates = stored.accepted, len(stored.duplicates)
    result.elapsed = time.perf_counter() - started
    return result


def _add(total: Registration, chunk: Registration) -> None:
    total.accepted += chunk.accepted
    total.duplicates += chunk.duplicates
    if chunk.accepted:
        total.first_record_id = total.first_record_id or chunk.first_record_id
        total.last_record_id = chunk.last_record_id
