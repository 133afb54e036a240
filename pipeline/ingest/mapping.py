"""Any other table, read through a user's column mapping.

A mapping names the table's columns for the model's fields, or gives a constant::

    {"person": "Email", "timestamp": "Signup date", "event": "=signup",
     "channel": "Source", "value": "=0"}

``person``, ``timestamp`` and ``event`` are required; ``channel``, ``source``,
``medium``, ``campaign``, ``product``, ``order_id``, ``value`` and ``currency`` are
optional. A value that starts with ``=`` is a constant for every row; for ``event``,
an event type that is not a column of the table is a constant too. Column names
match case-insensitively. The app's column-mapping step builds the mapping from
:func:`mapping_candidates`; the command line reads it from ``--mapping FILE.json``.
A run may hold one mapping per layout (``--mapping`` given more than once): each
table is read with the first mapping whose columns it has.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.ingest.containers import unpack_members
from pipeline.ingest.events_csv import FIELDS, REQUIRED, events_from_table
from pipeline.model import EVENT_TYPES, FileReport, InputError

logger = logging.getLogger(__name__)

EXAMPLE = '{"person": "Email", "timestamp": "Date", "event": "=order"}'
"""A whole mapping, as messages show it: two columns and a constant event."""

MAX_COLUMNS_NAMED = 20
"""How many of a table's columns a message lists."""


def mapping_candidates(source: SourceFile) -> list[str]:
    """The columns a mapping can name for this file, in the file's order."""
    return [str(c) for c in raw.peek(source, rows=5).columns]


def candidates_in_upload(files: list[tuple[str, bytes]], name: str) -> list[str]:
    """The mappable columns of the file ``name`` (``archive.zip/inner.csv`` too).

    Returns an empty list when no upload holds a readable table of that name. The
    members of an archive are read one by one, so a member that cannot be read
    does not hide the others.
    """
    for upload, data in files:
        if (
            name != upload
            and not name.startswith(upload + "/")
            and not name.startswith(upload + "[")
        ):
            continue
        try:
            sources, _ = unpack_members(upload, data)
        except InputError:
            return []
        for source in sources:
            if source.name == name:
                return mapping_candidates(source)
    return []


def load_mapping(path: str) -> dict:
    """Read a mapping from a JSON file.

    Raises
    ------
    InputError
        When the file is missing, is not JSON, or is not an object of strings.
    """
    try:
        mapping = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            f"the mapping cannot be read ({exc}): write it as a JSON object such as "
            f"{EXAMPLE} (a value starting with = is a constant)",
            file=path,
        ) from exc
    validate_mapping(mapping, file=path)
    return mapping


def validate_mapping(mapping: object, file: str | None = None) -> None:
    """Check a mapping's shape: an object of strings naming the required fields."""
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise InputError(
            "the mapping must be a JSON object of field names to column names",
            file=file,
        )
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise InputError(
            f"the mapping names unknown fields {unknown}: use {', '.join(FIELDS)}",
            file=file,
        )
    missing = [f for f in REQUIRED if f not in mapping]
    if missing:
        raise InputError(
            f"the mapping needs {', '.join(missing)}: name a column (or a constant "
            'such as "event": "=order")',
            file=file,
        )


def named_columns(mapping: dict) -> dict[str, str]:
    """The columns a mapping names, by field; constants left out.

    A value starting with ``=`` is a constant, and so is an event type given for
    ``event`` (the same test :func:`pipeline.ingest.detect.detect` applies when it
    hands a table to the mapping).
    """
    return {
        field: target
        for field, target in mapping.items()
        if isinstance(target, str)
        and not target.startswith("=")
        and not (field == "event" and target in EVENT_TYPES)
    }


def misfit_message(
    mapping: dict, columns: list[str], fitted: list[str] | None = None
) -> str | None:
    """Why a mapping does not fit a table with ``columns``, and what to do.

    Parameters
    ----------
    mapping
        The user's mapping.
    columns
        The table's columns, as its header writes them.
    fitted
        The files the run's mappings did fit, if any: a table of another layout
        needs a mapping of its own, given beside them.

    Returns
    -------
    str or None
        ``"the mapping's column 'Emial' (person) is not in the file; its columns
        are: Email, Joined. ..."``; ``None`` when every named column is there.
    """
    have = {c.strip().lower() for c in columns}
    absent = [
        f"{target!r} ({field})"
        for field, target in named_columns(mapping).items()
        if target.strip().lower() not in have
    ]
    if not absent:
        return None
    shown = ", ".join(columns[:MAX_COLUMNS_NAMED]) + (
        f" and {len(columns) - MAX_COLUMNS_NAMED} more"
        if len(columns) > MAX_COLUMNS_NAMED
        else ""
    )
    head = (
        f"the mapping's column {absent[0]} is not in the file"
        if len(absent) == 1
        else f"the mapping's columns {', '.join(absent)} are not in the file"
    )
    if fitted:
        todo = (
            f"The mapping fits {fitted[0]}"
            + (f" and {len(fitted) - 1} more" if len(fitted) > 1 else "")
            + ": give this file's layout a mapping of its own, naming its columns, "
            "with another --mapping (one per layout)"
        )
    else:
        todo = (
            "Correct the mapping to name the file's own columns (case does not "
            "matter; a value starting with = is a constant, such as "
            '"event": "=signup") and run again'
        )
    return f"{head}; its columns are: {shown}. {todo}"


def split_mapping(
    mapping: dict, columns: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """A mapping's column references (resolved to the table's own names) and constants.

    Raises
    ------
    InputError
        When a named column is not in the table.
    """
    lower = {c.strip().lower(): c for c in columns}
    refs: dict[str, str] = {}
    constants: dict[str, str] = {}
    for name, target in mapping.items():
        if target.startswith("="):
            constants[name] = target[1:]
        elif target.strip().lower() in lower:
            refs[name] = lower[target.strip().lower()]
        elif name == "event" and target.strip().lower() in EVENT_TYPES:
            constants[name] = target.strip().lower()
        else:
            raise InputError(
                f"the mapping names the column {target!r} for {name}, but the file has "
                f"no such column (it has: {', '.join(columns)})",
                column=target,
            )
    return refs, constants


def score(source: SourceFile) -> float:
    """Mapped tables are chosen by the mapping, never by a score."""
    return 0.0


def read(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a table through the context's mapping."""
    if not context.mapping:
        raise InputError(
            "no column mapping given: map the person, timestamp and event columns",
            file=source.name,
        )
    validate_mapping(context.mapping, file=source.name)
    frame = raw.read_table(source)
    refs, constants = split_mapping(context.mapping, [str(c) for c in frame.columns])
    report = FileReport(file=source.name, kind="mapped")
    report.rows_read = raw.rows_read(frame)
    report.problems.extend(raw.table_problems(frame))
    report.rows_rejected += len(report.problems)
    report.meta["mapping"] = dict(context.mapping)
    return events_from_table(frame, refs, constants, report, context, source.name)


register("mapped", score, read, "any table, with a column mapping")
