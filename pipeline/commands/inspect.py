"""``python -m pipeline inspect FILE... [--mapping M.json] [--timezone TZ] [--json]``

Reads the files as an upload would and prints where every row went: per file its
detected kind, rows read, loaded, excluded, duplicate and rejected, with each
problem's row, column and message; then how many people were found and how many of
each source's people match another source. ``--json`` prints::

    {"files": [{"file", "kind", "rows_read", "rows_loaded", "rows_excluded",
                "rows_duplicate", "rows_rejected", "problems": [{"row", "column",
                "message"}]}],
     "people": n,
     "matched": [{"from", "to", "people", "matched"}]}

Exit status 2 only when no input could be used; ``--json`` then still prints the
object above, with each file's report (its problems say why it could not be used),
``"people": 0`` and no matches.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from pipeline.ingest import load_files, match_rates, read_paths
from pipeline.ingest.detect import supported_kinds
from pipeline.ingest.mapping import load_mapping
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
    p.add_argument("--mapping", help="column mapping JSON for tables of no known kind")
    p.add_argument("--timezone", help="store time zone (default: inferred, else UTC)")
    p.add_argument(
        "--dayfirst",
        choices=("yes", "no"),
        help="how a/b/yyyy dates are written when the values cannot tell",
    )
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
            sys.stderr.write(f"error: {exc}\n")
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
    """Run ``inspect``; 2 when no input could be used."""
    missing: list[FileReport] = []
    try:
        mapping = load_mapping(args.mapping) if args.mapping else None
        files, missing = readable_files(args.files)
        dayfirst = None if args.dayfirst is None else args.dayfirst == "yes"
        dataset = load_files(
            files, timezone=args.timezone, mapping=mapping, dayfirst=dayfirst
        )
    except InputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        if args.json:
            # still account for every file, so tools reading the JSON see why
            reports = [*missing, *getattr(exc, "reports", [])]
            failed = json_safe(
                {
                    "files": [by_row(r.to_dict()) for r in reports],
                    "people": 0,
                    "matched": [],
                }
            )
            sys.stdout.write(json.dumps(failed, indent=2, allow_nan=False) + "\n")
        return 2
    dataset.reports[:0] = missing

    out = summary(dataset)
    if args.json:
        sys.stdout.write(json.dumps(out, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(readable(out, dataset) + "\n")
    return 0


def readable(out: dict, dataset: Dataset) -> str:
    """A plain-text table of the summary, for people."""
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
            where = ", ".join(
                x
                for x in (
                    f"row {p['row']}" if p["row"] is not None else "",
                    f"column {p['column']!r}" if p["column"] else "",
                )
                if x
            )
            lines.append(
                f"  {f['file']}: {where + ': ' if where else ''}{p['message']}"
            )
        if len(f["problems"]) > 20:
            lines.append(f"  {f['file']}: ... {len(f['problems']) - 20} more problems")
    zone = zone_label(dataset.timezone)
    lines.append(f"people: {out['people']:,}   store time zone: {zone}")
    for m in out["matched"]:
        lines.append(
            f"  {m['from']} -> {m['to']}: {m['matched']:,} of {m['people']:,} people"
        )
    lines.extend(f"note: {n}" for n in dataset.notes)
    return "\n".join(lines)
