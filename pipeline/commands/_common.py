"""What the commands share: argument types, reading the inputs, reporting problems.

Messages for the user go to standard error, so that standard output holds only a
command's result (its table or ``--json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import zoneinfo
from collections.abc import Callable
from pathlib import Path

from pipeline.data_check import where, why_no_row_loaded
from pipeline.ingest import read_paths
from pipeline.ingest.checks import plural
from pipeline.ingest.mapping import load_mapping
from pipeline.model import Dataset, FileReport, InputError
from pipeline.rules import StageRules

MAX_PROBLEMS_SHOWN = 5
MAX_FILES_NAMED = 5

AS_OF_DEFAULT = (
    "the latest day, in the store's time zone, of any dated event, order or "
    "sign-up not after today (today when nothing is dated)"
)
"""What ``--as-of`` is when not given: ``StageEngine.default_as_of``."""


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


def number_in_range(
    cast: type[int] | type[float],
    allowed: Callable[[float], bool],
    wanted: str,
    example: str,
) -> Callable[[str], float]:
    """An ``argparse`` type: a number that ``allowed`` accepts.

    Parameters
    ----------
    cast
        ``int`` for a whole number, ``float`` for any finite number.
    allowed
        Whether a parsed value is in range.
    wanted
        What the option takes, for the message: ``"a number of days, 1 or more"``.
    example
        A value that is allowed, for the message.

    Returns
    -------
    callable
        The type function; its errors say what was given, what the option takes
        and an example (``argparse`` puts the option's name in front).
    """

    def parse(text: str) -> float:
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not allowed(value):
            raise argparse.ArgumentTypeError(
                f"{text!r} cannot be used: give {wanted}, e.g. {example}"
            )
        return value

    return parse


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


def output_file(example: str) -> Callable[[str], str]:
    """An ``argparse`` type: a file to write, in a folder that exists.

    Checked when the options are parsed, before any input is read, so that a
    path that cannot be written stops the run at once (status 2) with the option
    named, never with a traceback after the whole analysis.

    Parameters
    ----------
    example
        A file name the option takes, for the message: ``"report.html"``.
    """

    def parse(text: str) -> str:
        path = Path(text)
        if path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{text!r} is a folder: give a file name in it, e.g. "
                f"{str(path / example)!r}"
            )
        _check_writable(path.parent, text, "write into a folder that exists")
        return text

    return parse


def output_folder(text: str) -> str:
    """An ``argparse`` type: a folder to write files into.

    It may exist (as a folder, not a file), or be new inside a folder that
    exists, and is then created; checked before any input is read.
    """
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a file, not a folder: give a folder to write into (a new "
            "one is created)"
        )
    folder = path if path.is_dir() else path.parent
    _check_writable(folder, text, "give a folder inside one that exists")
    return text


def _check_writable(folder: Path, text: str, instead: str) -> None:
    """Raise ``argparse``'s error when ``folder`` (of the path ``text``) does not
    exist, with what to do ``instead``, or cannot be written into."""
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"the folder {str(folder)!r} of {text!r} does not exist: create it "
            f"first, or {instead}"
        )
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(
            f"cannot write into the folder {str(folder)!r}: choose a folder you "
            "may write to"
        )


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


def add_reading_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how to read the inputs: ``--mapping`` and ``--dayfirst``.

    Every command that reads exports takes them, so that a table of no known kind,
    or a column of dates no value can order, is read the same way by ``inspect``
    and by the analyses.
    """
    parser.add_argument(
        "--mapping",
        metavar="MAPPING_JSON",
        action="append",
        help="column mapping JSON for tables of no known kind, e.g. "
        '{"person": "Email", "timestamp": "Date", "event": "=order"}; give it once '
        "per layout: each table is read with the first mapping whose columns it has",
    )
    parser.add_argument(
        "--dayfirst",
        choices=("yes", "no"),
        help="how a/b/yyyy dates are written when the values cannot tell",
    )


def reading_settings(args: argparse.Namespace) -> dict:
    """``load_files``' keywords from the command's options (time zone, mapping, day
    order).

    Raises
    ------
    InputError
        When the mapping file cannot be read.
    """
    dayfirst = getattr(args, "dayfirst", None)
    paths = getattr(args, "mapping", None) or []
    return {
        "timezone": args.timezone,
        "mapping": [load_mapping(path) for path in paths] or None,
        "dayfirst": None if dayfirst is None else dayfirst == "yes",
    }


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
    """Write each file's rejected rows, problems and notes to standard error.

    One line per file with problems (``FILE (KIND): R of N rows rejected``), then up
    to ``limit`` problems as ``  row 39, column 'Total': message`` and a count of
    the rest; then each file's notes on the whole file as ``note: FILE: note`` (a
    header and no rows, dates that could be day or month first). Returns the number
    of files with problems.
    """
    files = 0
    for report in dataset.reports:
        if report.rows_rejected or report.problems:
            files += 1
            file_problems(report, limit)
        for note in report.notes:
            err(f"note: {report.file}: {note}")
    return files


def file_problems(report: FileReport, limit: int) -> None:
    """Write one file's rejected-row count and its first ``limit`` problems."""
    err(
        f"{report.file} ({report.kind}): {report.rows_rejected:,} of "
        f"{plural(report.rows_read, 'row')} rejected"
    )
    for problem in report.problems[:limit]:
        err(f"  {where(problem.row, problem.column)}{problem.message}")
    if len(report.problems) > limit:
        err(f"  … and {len(report.problems) - limit} more")


INSPECT_HINT = "`python -m pipeline inspect FILE...` shows where every row went."
"""What the analysing commands add when nothing loaded."""


def nothing_loaded(dataset: Dataset, hint: str = INSPECT_HINT) -> str | None:
    """Why no row of any file could be used; ``None`` when some row loaded.

    A file read without rows (only a header, or a report cut inside its header)
    or with every row rejected, excluded or a duplicate loads nothing; when no file
    loaded a row there is nothing to analyse, and the commands exit with status 2.
    Each file's reason says what to do; ``hint`` ends the message (``inspect``
    itself has already shown every row).
    """
    if any(report.rows_loaded for report in dataset.reports):
        return None
    reasons = [
        f"{report.file}: {why_no_row_loaded(report).rstrip('.')}."
        for report in dataset.reports[:MAX_FILES_NAMED]
    ]
    more = len(dataset.reports) - MAX_FILES_NAMED
    if more > 0:
        reasons.append(f"And {plural(more, 'more file')}.")
    return " ".join(["no row of any file could be used.", *reasons, hint]).strip()
