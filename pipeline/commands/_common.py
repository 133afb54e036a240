"""What the commands share: argument types, reading the inputs, reporting problems.

Messages for the user go to standard error, so that standard output holds only a
command's result (its table or ``--json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import zoneinfo
from pathlib import Path

from pipeline.ingest import read_paths
from pipeline.ingest.checks import plural
from pipeline.model import Dataset, InputError
from pipeline.rules import StageRules

MAX_PROBLEMS_SHOWN = 5


def err(message: str) -> None:
    """A message for the user, on standard error."""
    sys.stderr.write(message + "\n")


def iso_date(text: str) -> dt.date:
    """An ``argparse`` type: a date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-12-31"
        ) from None


def timezone_name(text: str) -> str:
    """An ``argparse`` type: an IANA time zone name."""
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time zone: use an IANA name such as "
            "America/New_York or Europe/Berlin"
        ) from None
    return text


def readable_files(paths: list[str]) -> list[tuple[str, bytes]]:
    """The files that exist, as ``(name, bytes)``; each missing one reported.

    Raises
    ------
    InputError
        When none of them exists.
    """
    files = []
    for path in paths:
        try:
            files += read_paths([path])
        except InputError as exc:
            err(f"skipped: {exc}")
    if not files:
        raise InputError("none of the files exists: check the paths")
    return files


def stage_rules(path: str | None) -> StageRules:
    """The stage rules saved at ``path`` (from the app), or the defaults."""
    if path is None:
        return StageRules()
    try:
        return StageRules.from_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the rules: {exc.strerror}", file=path) from None
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"not a stage-rules file ({exc}); save one from the app or write "
            '{"rules": {"engaged_opens": {"min_count": 3, "window_days": 14}}}',
            file=path,
        ) from None


def writes_over_an_input(out: str | None, inputs: list[str]) -> bool:
    """Whether an output path is one of the inputs (inputs are never overwritten)."""
    return out is not None and any(
        Path(out).resolve() == Path(f).resolve() for f in inputs
    )


def report_problems(dataset: Dataset, limit: int = MAX_PROBLEMS_SHOWN) -> int:
    """Write each file's rejected rows and problems to standard error.

    One line per file with problems (``FILE (KIND): R of N rows rejected``), then up
    to ``limit`` problems as ``  row 39, column 'Total': message`` and a count of
    the rest. Returns the number of files with problems.
    """
    files = 0
    for report in dataset.reports:
        if not (report.rows_rejected or report.problems):
            continue
        files += 1
        err(
            f"{report.file} ({report.kind}): {report.rows_rejected:,} of "
            f"{plural(report.rows_read, 'row')} rejected"
        )
        for problem in report.problems[:limit]:
            where = ", ".join(
                part
                for part in (
                    f"row {problem.row}" if problem.row is not None else "",
                    f"column {problem.column!r}" if problem.column else "",
                )
                if part
            )
            err(f"  {where}: {problem.message}" if where else f"  {problem.message}")
        if len(report.problems) > limit:
            err(f"  … and {len(report.problems) - limit} more")
    return files
