"""``python -m pipeline report FILE... --out report.html``: client report, exports.

Writes the self-contained HTML report of the app's Leads page for the given files,
rules and date, and with ``--exports-dir`` the lead sheet and the Klaviyo, Meta and
Google upload files of one segment. ``--json`` prints what was written: rows per
file and how many leads each platform file left out for want of consent.
``--currency CODE`` picks the currency of the customer-value and attribution
sections (default: the one with the most purchases).
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pipeline import exports, report, scoring
from pipeline.clv_currency import choose_currency
from pipeline.commands._common import (
    AS_OF_DEFAULT,
    add_reading_options,
    err,
    iso_date,
    nothing_loaded,
    output_file,
    output_folder,
    readable_files,
    reading_settings,
    report_problems,
    stage_rules,
    timezone_name,
    writes_over_an_input,
)
from pipeline.ingest import load_files
from pipeline.model import InputError, json_safe
from pipeline.stages import StageEngine

log = logging.getLogger(__name__)

EXPORTERS = (
    exports.leads_csv,
    exports.klaviyo_profiles_csv,
    exports.meta_audience_csv,
    exports.google_customer_match_csv,
)
EXPORT_FILE_NAMES = tuple(
    inspect.signature(make).parameters["file_name"].default for make in EXPORTERS
)
"""The files ``--exports-dir`` receives."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="the client HTML report, and the lead and audience exports",
        description="Write one self-contained HTML report (funnel, velocity, customer "
        "value, attribution) and, with --exports-dir, the lead sheet and the "
        "Klaviyo, Meta and Google upload files of a segment.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="export files")
    parser.add_argument(
        "--out",
        required=True,
        type=output_file("report.html"),
        metavar="REPORT_HTML",
        help="where to write the HTML report (in a folder that exists)",
    )
    parser.add_argument(
        "--rules",
        metavar="RULES_JSON",
        help="stage rules as JSON (the app's preset file)",
    )
    parser.add_argument(
        "--as-of",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help=f"the day evaluated; default: {AS_OF_DEFAULT}",
    )
    parser.add_argument(
        "--timezone",
        type=timezone_name,
        metavar="TZ",
        help="the store's time zone; default: from the data",
    )
    add_reading_options(parser)
    parser.add_argument(
        "--currency",
        metavar="CODE",
        help="currency of the customer-value and attribution "
        "sections (default: the one with the most purchases; "
        "'none' for orders without a currency); other currencies "
        "are left out and named, never added",
    )
    parser.add_argument(
        "--exports-dir",
        type=output_folder,
        metavar="DIR",
        help="also write the four export files into this folder (created when "
        "new, inside a folder that exists)",
    )
    parser.add_argument(
        "--segment",
        default="open_leads",
        choices=list(exports.SEGMENTS),
        help="the leads exported (default: open_leads)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _write_exports(dataset, engine, leads, rules, as_of, segment, folder: Path) -> list:
    """The four export files of ``segment`` written into ``folder``."""
    try:
        model = scoring.fit_lead_score(
            dataset, as_of, stages_at=lambda day: engine.leads(rules, day)
        )
        scores = scoring.score_leads(model, dataset, as_of, stages=leads)
    except scoring.ScoringUnavailable as exc:
        sys.stderr.write(f"note: no lead score: {exc}\n")
        scores = None
    values, _ = scoring.predicted_values(dataset, leads, as_of=as_of)
    table = exports.segment(
        exports.lead_table(leads, dataset.people, scores, values), segment
    )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for make in EXPORTERS:
        export = make(table)
        (folder / export.file_name).write_bytes(export.data)
        written.append(export)
    return written


def run(args: argparse.Namespace) -> int:
    """Run ``report``; 0 on success, 2 when no row of any input could be used."""
    out = Path(args.out)
    if writes_over_an_input(args.out, args.files):
        sys.stderr.write(
            f"--out {args.out!r} is one of the inputs: choose another "
            "file name (inputs are never overwritten)\n"
        )
        return 2
    overwritten = [
        name
        for name in EXPORT_FILE_NAMES
        if args.exports_dir
        and writes_over_an_input(str(Path(args.exports_dir) / name), args.files)
    ]
    if overwritten:
        err(
            f"--exports-dir {args.exports_dir!r} holds the input {overwritten[0]!r}, "
            "which the exports would overwrite: choose another folder (inputs are "
            "never overwritten)"
        )
        return 2
    try:
        rules = stage_rules(args.rules)
        files = readable_files(args.files)
        dataset = load_files(files, **reading_settings(args))
    except InputError as exc:
        err(f"error: {exc}")
        return 2
    report_problems(dataset)
    reason = nothing_loaded(dataset)
    if reason:
        err(f"error: {reason}")
        return 2

    currency = getattr(args, "currency", None)
    if currency is not None:
        try:
            choose_currency(dataset, currency)
        except ValueError as exc:
            sys.stderr.write(f"error: --currency: {exc}\n")
            return 2
    engine = StageEngine(dataset)
    as_of = args.as_of or engine.default_as_of
    leads = engine.leads(rules, as_of)
    html = report.view_report(
        dataset,
        leads,
        as_of,
        tuple(name for name, _ in files),
        rules_text="",
        currency=currency,
    )
    out.write_text(html, encoding="utf-8")
    log.info("wrote the report to %s", out)

    summary: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "report": str(out),
        "exports": [],
    }
    if args.exports_dir:
        written = _write_exports(
            dataset, engine, leads, rules, as_of, args.segment, Path(args.exports_dir)
        )
        summary["exports"] = [
            {
                "file": e.file_name,
                "rows": e.rows,
                "excluded_no_consent": e.excluded_no_consent,
                "excluded_no_identifier": e.excluded_no_identifier,
            }
            for e in written
        ]
    if args.json:
        sys.stdout.write(json.dumps(json_safe(summary), allow_nan=False) + "\n")
    else:
        sys.stdout.write(f"report: {out}\n")
        for item in summary["exports"]:
            sys.stdout.write(
                f"{item['file']}: {item['rows']} people"
                f" ({item['excluded_no_consent']} without consent left out)\n"
            )
    return 0
