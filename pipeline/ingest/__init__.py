"""Readers: every export our users have, into :mod:`pipeline.model`'s tables.

:func:`load_files` is the one entry point: it unpacks each upload
(:mod:`~pipeline.ingest.raw`), detects its kind (:mod:`~pipeline.ingest.detect`),
hands it to the registered reader, and merges what the readers return into one
:class:`~pipeline.model.Dataset` (:mod:`~pipeline.ingest.merge`): orders deduplicated
across files, people merged by their ``person_id`` (:mod:`~pipeline.ingest.identity`),
the store's time zone inferred, coverage gaps noted.

Writing a reader
----------------
A reader module calls :func:`pipeline.ingest.base.register` at import time with its
kind, a scorer (``SourceFile -> float`` in [0, 1], from the header and values) and a
read function (``(SourceFile, ReadContext) -> ReadResult``), and is listed in
:data:`READER_MODULES`. Tables it returns follow :mod:`pipeline.model`'s columns, with
these optional extras that the merge understands:

- ``orders["_rows"]``: how many rows of the file made up the order (line items), so
  that a duplicate order moves that many rows to ``rows_duplicate``; 1 when absent.
- ``people["alias"]``: another key of the same person (``shopify:123``,
  ``ga4:abc``, ``tel:+1...``) that links to the row's ``person_id``.
- ``report.meta["utc_offsets"]``: ``{offset_minutes: count}`` seen in the file's
  timestamps, used to infer the store's time zone.
"""

from __future__ import annotations

import importlib
import logging
import mmap
import re
from dataclasses import replace
from pathlib import Path

from pipeline.ingest.base import REGISTRY, ReadContext, ReadResult, SourceFile
from pipeline.ingest.checks import note_header_only
from pipeline.ingest.containers import MAX_BYTES, unpack_members
from pipeline.ingest.detect import (
    UNRECOGNISED,
    detect,
    fitting_mapping,
    mapping_list,
    supported_kinds,
)
from pipeline.ingest.merge import match_matrix, match_rates, merge
from pipeline.ingest.raw import read_table, rows_read
from pipeline.model import Dataset, FileReport, InputError, Problem

logger = logging.getLogger(__name__)

READER_MODULES: tuple[str, ...] = (
    "pipeline.ingest.shopify",
    "pipeline.ingest.events_csv",
    "pipeline.ingest.transactions",
    "pipeline.ingest.mapping",
    "pipeline.ingest.ga4",
    "pipeline.ingest.klaviyo",
    "pipeline.ingest.ads",
    "pipeline.attribution.paths",
)
"""Modules that register readers; one not written yet is skipped."""


def _import_readers() -> None:
    for name in READER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            logger.debug("reader module %s not available", name)


_import_readers()

SUPPORTED_KINDS: str = supported_kinds()
"""The kinds of file understood, as one sentence for messages."""

__all__ = [
    "SUPPORTED_KINDS",
    "load_files",
    "match_matrix",
    "match_rates",
    "read_paths",
    "read_source",
    "unrecognised_files",
]


MAP_BYTES = 64 * 1024 * 1024
"""Size from which :func:`read_paths` maps a file instead of copying it."""


def read_paths(paths: list[str]) -> list[tuple[str, bytes]]:
    """Read files from disk as ``(name, bytes)`` for :func:`load_files` (never writes).

    A file of :data:`MAP_BYTES` or more is mapped read-only (:class:`mmap.mmap`, a
    bytes-like object): its pages are read from the system's file cache as the
    reader reaches them, so a 1 GB events CSV costs no copy of 1 GB up front. The
    file must not be cut short while it is read.

    Raises
    ------
    InputError
        When a path does not exist or is a folder.
    """
    files = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            raise InputError(
                "this is a folder: give the files in it (folder/*.csv)", file=str(path)
            )
        if not p.is_file():
            raise InputError("no such file: check the path", file=str(path))
        files.append((p.name, _file_bytes(p)))
    return files


def _file_bytes(path: Path) -> bytes:
    """The file's bytes: a read-only map of a large file, a copy of a small one."""
    size = path.stat().st_size
    if size < MAP_BYTES or not size:  # (an empty file cannot be mapped)
        return path.read_bytes()
    with path.open("rb") as file:
        # (the map keeps its own handle: closing the file leaves it open)
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def read_source(source: SourceFile, context: ReadContext) -> ReadResult:
    """Detect one decoded file's kind and read it; a failure becomes its report.

    Never raises: a file that cannot be read returns a result with no tables and a
    report holding the problem, every row it could count rejected. A table taken by
    a column mapping is read with the first of ``context.mappings`` that fits it
    (``context.mapping`` when no list is given), and its reader sees that one only.
    """
    kind = "unknown"
    try:
        mappings = context.mappings or mapping_list(context.mapping)
        kind = detect(source, mappings)
        if kind == "mapped":
            context = replace(context, mapping=fitting_mapping(source, mappings))
        result = REGISTRY[kind].read(source, context)
        result.report.kind = result.report.kind or kind
        result.report.check()
        note_header_only(result.report)  # (whichever reader read it)
        return result
    except InputError as exc:
        message = exc.reason
        column = exc.column
        row = exc.row
    except Exception as exc:  # noqa: BLE001 - one file must never stop the upload
        logger.exception("reading a file as %s failed", kind)
        message = (
            f"the file could not be read as {kind} ({type(exc).__name__}: {exc}); "
            "please report this with the file's first rows"
        )
        column = row = None
    return ReadResult(_failed_report(source, kind, message, row, column))


def _failed_report(
    source: SourceFile, kind: str, message: str, row: int | None, column: str | None
) -> FileReport:
    """A report for a file no reader could use: every countable row rejected."""
    try:
        count = rows_read(read_table(source))
    except Exception:  # noqa: BLE001 - a file we cannot even split has 0 rows
        count = 0
    return FileReport(
        file=source.name,
        kind=kind,
        rows_read=count,
        rows_rejected=count,
        problems=[Problem(row, column, message)],
        meta={"failed": True},
    )


def load_files(
    files: list[tuple[str, bytes]],
    timezone: str | None = None,
    mapping: dict | list[dict] | None = None,
    dayfirst: bool | None = None,
) -> Dataset:
    """Read uploaded files into one dataset, accounting for every row.

    Parameters
    ----------
    files
        ``(name, bytes)`` per upload; ``.zip`` members become separate files named
        ``archive.zip/inner.csv``.
    timezone
        The store's time zone (IANA name); ``None`` infers it from Shopify's UTC
        offsets, else UTC.
    mapping
        A column mapping for tables of no known kind (see
        :mod:`pipeline.ingest.mapping`), or a list of them, one per layout: each
        such table is read with the first mapping whose columns it has.
    dayfirst
        How ``a/b/yyyy`` dates are written; ``None`` infers it from the values.

    Returns
    -------
    Dataset
        The merged tables, one :class:`~pipeline.model.FileReport` per file (each
        satisfying :meth:`~pipeline.model.FileReport.check`) and notes on coverage.

    Raises
    ------
    InputError
        Only when no file at all could be used: its message names each file with
        the first clause of its problem (:func:`nothing_used_message`) and its
        ``reports`` attribute holds every file's report. A member of a ``.zip``
        that cannot be used is a failed report beside the members that load.
    """
    context = ReadContext(
        timezone=timezone, dayfirst=dayfirst, mappings=mapping_list(mapping)
    )
    results: list[ReadResult] = []
    for name, data in _unique_names(files):
        try:
            sources, member_errors = unpack_members(name, data, max_bytes=MAX_BYTES)
        except InputError as exc:
            member_errors, sources = [exc], []
        for source in sources:
            results.append(read_source(source, context))
            source._cache.clear()
        del sources
        # an upload, or an archive's member, that cannot be used is reported as
        # failed; the archive's other members still load
        for exc in member_errors:
            report = FileReport(
                file=exc.file or name,
                kind="unreadable",
                problems=[Problem(exc.row, exc.column, exc.reason)],
                meta={"failed": True},
            )
            results.append(ReadResult(report))

    used = [r for r in results if _used(r)]
    if not used:
        error = InputError(nothing_used_message([r.report for r in results]))
        error.reports = [r.report for r in results]  # type: ignore[attr-defined]
        raise error
    return merge(results, timezone=timezone)


def nothing_used_message(reports: list[FileReport]) -> str:
    """One sentence naming the files none of which could be used, and what to do.

    One file gets its whole reason, which says what to do; several get the first
    clause of each, and the column-mapping step is offered when one of them is a
    table of no known kind. The kinds understood are listed by
    ``python -m pipeline inspect --help``, not here.
    """
    if len(reports) == 1 and reports[0].problems:
        head = f"{reports[0].file}: {reports[0].problems[0].message}"
    else:
        reasons = [
            f"{r.file}: {_first_clause(r.problems[0].message)}" if r.problems
            else r.file
            for r in reports
        ]
        shown = "; ".join(reasons[:5]) + (
            f"; and {len(reasons) - 5} more" if len(reasons) > 5 else ""
        )
        head = f"none of the {len(reports)} files could be used ({shown})"
    unknown = len(reports) > 1 and bool(unrecognised_files(reports))
    return f"{head.rstrip('.')}." + (
        " Upload exports from Shopify, Klaviyo, GA4 or an ad platform, or an events "
        "CSV; for any other table, map its columns (the 'Map columns' step, or "
        "--mapping on the command line)."
        if unknown
        else ""
    )


def unrecognised_files(reports: list[FileReport]) -> list[str]:
    """The files whose kind could not be recognised: tables a column mapping could
    read (an empty, damaged or binary file could not be mapped)."""
    return [
        r.file for r in reports if r.problems and UNRECOGNISED in r.problems[0].message
    ]


def _first_clause(message: str) -> str:
    """A problem's first clause, without its parenthesised lists."""
    return re.sub(r"\s*\([^)]*\)", "", message.split(":")[0]).strip()


def _unique_names(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Uploads with repeated names told apart (``orders.csv``, ``orders (2).csv``)."""
    seen: dict[str, int] = {}
    out = []
    for name, data in files:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem} ({seen[name]}).{ext}" if dot else f"{name} ({seen[name]})"
        out.append((name, data))
    return out


def _used(result: ReadResult) -> bool:
    """Whether a file was read (an empty report table counts as read)."""
    return not result.report.meta.get("failed", False)
