"""``python -m pipeline stages FILE...``: every lead's stage as of a day.

Prints the stage counts (``--json``: one object for other tools, see :func:`summary`)
and can write every lead's stage, rule and entry times to a CSV (``--leads-out``).
Problems with single files or rows go to standard error and the run goes on; the
exit status is 2 only when no input could be used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import zoneinfo
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.data_coverage import coverage_warnings
from pipeline.ingest import load_files, read_paths
from pipeline.ingest.checks import plural
from pipeline.model import Dataset, InputError, json_safe
from pipeline.rules import StageRules
from pipeline.stages import COUNT_KEYS, StageEngine, stage_counts

log = logging.getLogger(__name__)

MAX_PROBLEMS_SHOWN = 5


def _err(message: str) -> None:
    """A message for the user, on standard error."""
    sys.stderr.write(message + "\n")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-12-31"
        ) from None


def _timezone(text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time zone: use an IANA name such as "
            "America/New_York or Europe/Berlin"
        ) from None
    return text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``stages`` command."""
    parser = subparsers.add_parser(
        "stages",
        help="each lead's pipeline stage as of a day",
        description="Read exports and print how many leads are in each stage "
        "(awareness, captured, engaged, purchase intent, customer) as of a day.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="export files")
    parser.add_argument(
        "--rules", metavar="RULES_JSON",
        help="stage rules as JSON (the app's preset file); defaults otherwise",
    )
    parser.add_argument(
        "--as-of", type=_date, metavar="YYYY-MM-DD",
        help="the day evaluated (store time zone); default: the latest event's day",
    )
    parser.add_argument(
        "--timezone", type=_timezone, metavar="TZ",
        help="the store's time zone; default: from Shopify's offsets, else UTC",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--leads-out", metavar="LEADS_CSV", help="write every lead's stage to a CSV"
    )
    parser.set_defaults(run=run)


def summary(dataset: Dataset, leads: pd.DataFrame, as_of: dt.date) -> dict[str, Any]:
    """The ``--json`` object: as of, leads, stage counts and one report per file.

    ``leads`` equals the sum of the five stages and ``customer`` equals
    ``customer_first + customer_repeat``; no value is NaN.
    """
    counts = stage_counts(leads)
    return json_safe(
        {
            "as_of": as_of.isoformat(),
            "leads": int(len(leads)),
            "stages": {key: counts[key] for key in COUNT_KEYS},
            "files": [report.to_dict() for report in dataset.reports],
        }
    )


def _readable(paths: list[str]) -> list[tuple[str, bytes]]:
    """The files that exist, each missing one reported on standard error."""
    files = []
    for path in paths:
        try:
            files += read_paths([path])
        except InputError as exc:
            _err(f"skipped: {exc}")
    return files


def _report_problems(dataset: Dataset) -> None:
    """Each file's rejected rows and the data's coverage gaps, on standard error."""
    for report in dataset.reports:
        if report.rows_rejected or report.problems:
            _err(
                f"{report.file} ({report.kind}): {report.rows_rejected:,} of "
                f"{plural(report.rows_read, 'row')} rejected"
            )
        for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
            where = ", ".join(
                part for part in (
                    f"row {problem.row}" if problem.row is not None else "",
                    f"column {problem.column!r}" if problem.column else "",
                ) if part
            )
            _err(f"  {where}: {problem.message}" if where else f"  {problem.message}")
        if len(report.problems) > MAX_PROBLEMS_SHOWN:
            _err(f"  … and {len(report.problems) - MAX_PROBLEMS_SHOWN} more")
    for note in coverage_warnings(dataset):
        _err(f"note: {note}")


def _rules(path: str | None) -> StageRules:
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


def _table(as_of: dt.date, counts: dict[str, int], total: int) -> str:
    lines = [f"Stages as of {as_of.isoformat()} ({total} leads)"]
    for key in COUNT_KEYS:
        label = key.replace("_", " ")
        if key.startswith("customer_"):
            label = "  " + label.replace("customer ", "")
        share = f"{counts[key] / total:6.1%}" if total else "     -"
        lines.append(f"  {label:<18}{counts[key]:>9}  {share}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``stages``; 0 on success, 2 when no input could be used."""
    if args.leads_out and any(
        Path(args.leads_out).resolve() == Path(f).resolve() for f in args.files
    ):
        _err(f"--leads-out {args.leads_out!r} is one of the inputs: choose another "
              "file name (inputs are never overwritten)")
        return 2
    try:
        rules = _rules(args.rules)
        files = _readable(args.files)
        if not files:
            raise InputError("none of the files exists: check the paths")
        dataset = load_files(files, timezone=args.timezone)
    except InputError as exc:
        _err(f"error: {exc}")
        return 2
    _report_problems(dataset)

    engine = StageEngine(dataset)
    as_of = args.as_of or engine.default_as_of
    leads = engine.leads(rules, as_of)
    if args.leads_out:
        leads.to_csv(args.leads_out, index=False)
        log.info("wrote %d leads to %s", len(leads), args.leads_out)

    if args.json:
        sys.stdout.write(json.dumps(summary(dataset, leads, as_of), allow_nan=False))
    else:
        sys.stdout.write(_table(as_of, stage_counts(leads), len(leads)))
    sys.stdout.write("\n")
    return 0
