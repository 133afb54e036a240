"""``python -m pipeline inspect FILE... [--mapping M.json]... [--timezone TZ]``

Reads the files as an upload would and prints where every row went: per file its
detected kind, rows read, loaded, excluded, duplicate and rejected, with each
problem's row, column and message; then how many people were found and how many of
each source's people match another source. ``--json`` prints::

    {"files": [{"file", "kind", "rows_read", "rows_loaded", "rows_excluded",
                "rows_duplicate", "rows_rejected", "problems": [{"row", "column",
                "message"}]}],
     "people": n,
     "matched": [{"from", "to", "people", "matched"}]}

Notes on a whole file (a header and no rows, dates that could be day or month
first) are printed after the text table, or on standard error with ``--json``, whose
object keeps exactly the keys above.

Exit status 2 only when no row of any input could be used: no file could be read,
or none loaded a row (a header and no rows, every row rejected). The report is still
printed, each file's problems saying why it could not be used; ``--json`` then has
``"people": 0`` and no matches.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from pipeline.commands._common import (
    add_reading_options,
    err,
    nothing_loaded,
    timezone_name,
    where,
)
from pipeline.ingest import (
    load_files,
    match_rates,
    nothing_used_message,
    read_paths,
    unrecognised_files,
)
from pipeline.ingest.detect import supported_kinds
from pipeline.ingest.mapping import (
    candidates_in_upload,
    load_mapping,
    misfit_message,
    named_columns,
)
from pipeline.model import Dataset, FileReport, InputError, Problem, json_safe
from pipeline.timezones import zone_label

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` command."""
    p = subparsers.add_parser(
        "inspect",
        help="check uploads: kind, rows read/loaded/excluded/duplicate/rejected",
        description="Read export files and account for every row.",
        epilog="Kinds of file understood: " + supported_kinds() + ".",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="export files")
    p.add_argument(
        "--timezone",
        type=timezone_name,
        metavar="TZ",
        help="store time zone (default: inferred, else UTC)",
    )
    add_reading_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def readable_files(
    paths: list[str],
) -> tuple[list[tuple[str, bytes]], list[FileReport]]:
    """The files that can be read from disk, and a report for each that cannot.

    Raises
    ------
    InputError
        When no path can be read at all; its ``reports`` attribute holds the
        unreadable files' reports.
    """
    files: list[tuple[str, bytes]] = []
    missing: list[FileReport] = []
    for path in paths:
        try:
            files.extend(read_paths([path]))
        except (InputError, OSError) as exc:
            err(f"error: {exc}")
            message = "the file cannot be read: check the path and its permissions"
            missing.append(
                FileReport(
                    file=path,
                    kind="unreadable",
                    problems=[Problem(None, None, message)],
                    meta={"failed": True},
                )
            )
    if not files:
        error = InputError("none of the files given can be read: check the paths")
        error.reports = missing  # type: ignore[attr-defined]
        raise error
    return files, missing


def summary(dataset: Dataset) -> dict:
    """The ``--json`` object for a loaded dataset; each file's problems by row."""
    return json_safe(
        {
            "files": [by_row(r.to_dict()) for r in dataset.reports],
            "people": int(dataset.people["person_id"].nunique()),
            "matched": match_rates(dataset),
        }
    )


def by_row(report: dict) -> dict:
    """A report's dict with its problems sorted by row (whole-file ones first)."""
    report["problems"].sort(key=lambda p: -1 if p["row"] is None else p["row"])
    return report


def run(args: argparse.Namespace) -> int:
    """Run ``inspect``; 2 when no row of any input could be used.

    The report is printed either way: ``--json`` on standard output with the notes
    on whole files on standard error, the text table with its notes on standard
    output.
    """
    try:
        mappings = [load_mapping(path) for path in args.mapping or []]
        files, missing = readable_files(args.files)
    except InputError as exc:
        err(f"error: {exc}")
        print_report(args, failed_summary(getattr(exc, "reports", [])), None, [])
        return 2
    dayfirst = None if args.dayfirst is None else args.dayfirst == "yes"
    try:
        dataset = load_files(
            files, timezone=args.timezone, mapping=mappings, dayfirst=dayfirst
        )
    except InputError as exc:
        reports = getattr(exc, "reports", None)
        if reports is None:
            raise
        if mappings:
            explain_mapping_misfits(reports, files, mappings)
        err(f"error: {nothing_used_message(reports)}")
        notes = [f"{r.file}: {note}" for r in reports for note in r.notes]
        print_report(args, failed_summary([*missing, *reports]), None, notes)
        return 2
    dataset.reports[:0] = missing
    if mappings:
        explain_mapping_misfits(dataset.reports, files, mappings)

    excluded = {r.file: r.excluded_by for r in dataset.reports if r.excluded_by}
    print_report(args, summary(dataset), dataset.timezone, dataset.notes, excluded)
    reason = nothing_loaded(dataset, hint="")
    if reason:
        err(f"error: {reason}")
        return 2
    return 0


def failed_summary(reports: list[FileReport]) -> dict:
    """The ``--json`` object of a run that could use no file: each file's report
    (its problems say why), no people and no matches."""
    return json_safe(
        {
            "files": [by_row(r.to_dict()) for r in reports],
            "people": 0,
            "matched": [],
        }
    )


def print_report(
    args: argparse.Namespace,
    out: dict,
    timezone: str | None,
    notes: list[str],
    excluded: dict[str, dict[str, int]] | None = None,
) -> None:
    """Print the report: JSON on standard output and the notes on standard error,
    or the text table with its notes, and why rows were excluded, on standard
    output (none without files)."""
    if args.json:
        sys.stdout.write(json.dumps(out, indent=2, allow_nan=False) + "\n")
        for note in notes:
            err(f"note: {note}")
    elif out["files"]:
        sys.stdout.write(readable(out, timezone, notes, excluded or {}) + "\n")


def explain_mapping_misfits(
    reports: list[FileReport], files: list[tuple[str, bytes]], mappings: list[dict]
) -> None:
    """Say, in each table of no known kind, which of the mapping's columns it lacks.

    Such a table is one a mapping was meant for, or one of another layout when the
    mappings fitted other files; its problem then names the columns missing from
    the mapping that comes closest (fewest missing) and the file's own, instead of
    offering a mapping that was given.
    """
    fitted = [r.file for r in reports if r.kind == "mapped"]
    unknown = set(unrecognised_files(reports))
    for report in reports:
        if report.file not in unknown:
            continue
        columns = candidates_in_upload(files, report.file)
        if not columns:
            continue
        closest = min(mappings, key=lambda m: missing_count(m, columns))
        message = misfit_message(closest, columns, fitted)
        if message:
            report.problems[0] = Problem(None, None, message)


def missing_count(mapping: dict, columns: list[str]) -> int:
    """How many of the columns a mapping names a table with ``columns`` lacks."""
    have = {c.strip().lower() for c in columns}
    return sum(c.strip().lower() not in have for c in named_columns(mapping).values())


def readable(
    out: dict,
    timezone: str | None,
    notes: list[str],
    excluded: dict[str, dict[str, int]] | None = None,
) -> str:
    """A plain-text table of the summary, for people: each file's problems and the
    rules that excluded its rows; no time zone when no file was used."""
    head = ("kind", "read", "loaded", "excluded", "duplicate", "rejected", "file")
    rows = [head]
    for f in out["files"]:
        rows.append(
            (
                f["kind"],
                str(f["rows_read"]),
                str(f["rows_loaded"]),
                str(f["rows_excluded"]),
                str(f["rows_duplicate"]),
                str(f["rows_rejected"]),
                f["file"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    ]
    for f in out["files"]:
        for p in f["problems"][:20]:
            lines.append(f"  {f['file']}: {where(p['row'], p['column'])}{p['message']}")
        if len(f["problems"]) > 20:
            lines.append(f"  {f['file']}: ... {len(f['problems']) - 20} more problems")
        rules = {k: n for k, n in (excluded or {}).get(f["file"], {}).items() if n}
        if rules:
            why = ", ".join(f"{n:,} {rule}" for rule, n in rules.items())
            lines.append(f"  {f['file']}: excluded by a rule: {why}")
    zone = f"   store time zone: {zone_label(timezone)}" if timezone else ""
    lines.append(f"people: {out['people']:,}{zone}")
    for m in out["matched"]:
        lines.append(
            f"  {m['from']} -> {m['to']}: {m['matched']:,} of {m['people']:,} people"
        )
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines)
