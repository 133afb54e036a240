"""``python -m pipeline stages FILE...``: every lead's stage as of a day.

Prints the stage counts (``--json``: one object for other tools, see :func:`summary`)
and can write every lead's stage, rule and entry times to a CSV (``--leads-out``).
Problems with single files or rows go to standard error and the run goes on; the
exit status is 2 only when no row of any input could be used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from typing import Any

import pandas as pd

from pipeline.commands._common import (
    AS_OF_DEFAULT,
    add_reading_options,
    err,
    iso_date,
    nothing_loaded,
    output_file,
    readable_files,
    reading_settings,
    report_problems,
    stage_rules,
    timezone_name,
    writes_over_an_input,
)
from pipeline.data_coverage import coverage_warnings
from pipeline.ingest import load_files
from pipeline.model import Dataset, InputError, json_safe
from pipeline.stages import COUNT_KEYS, StageEngine, stage_counts

log = logging.getLogger(__name__)


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
        "--rules",
        metavar="RULES_JSON",
        help="stage rules as JSON (the app's preset file); defaults otherwise",
    )
    parser.add_argument(
        "--as-of",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help=f"the day evaluated (store time zone); default: {AS_OF_DEFAULT}",
    )
    parser.add_argument(
        "--timezone",
        type=timezone_name,
        metavar="TZ",
        help="the store's time zone; default: from Shopify's offsets, else UTC",
    )
    add_reading_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--leads-out",
        type=output_file("leads.csv"),
        metavar="LEADS_CSV",
        help="write every lead's stage to a CSV (in a folder that exists)",
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
    """Run ``stages``; 0 on success, 2 when no row of any input could be used."""
    if writes_over_an_input(args.leads_out, args.files):
        err(
            f"--leads-out {args.leads_out!r} is one of the inputs: choose another "
            "file name (inputs are never overwritten)"
        )
        return 2
    try:
        rules = stage_rules(args.rules)
        dataset = load_files(readable_files(args.files), **reading_settings(args))
    except InputError as exc:
        err(f"error: {exc}")
        return 2
    report_problems(dataset)
    reason = nothing_loaded(dataset)
    if reason:
        err(f"error: {reason}")
        return 2
    for note in coverage_warnings(dataset):
        err(f"note: {note}")

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
