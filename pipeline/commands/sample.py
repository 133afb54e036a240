"""``python -m pipeline sample``: write the sample brand, or a synthetic events CSV.

``--out DIR`` receives the six export files and ``truth/`` (stages, Klaviyo claims,
channel effects). With ``--events N`` it writes ``synthetic_events.csv`` instead:
N events in the generic events CSV layout, for benchmarks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path

from pipeline.commands._common import (
    err,
    iso_date,
    number_in_range,
    output_folder,
    timezone_name,
)
from pipeline.model import InputError
from pipeline.samplegen import generate, synthetic_events

log = logging.getLogger(__name__)

MIN_BRAND_LEADS = 10
"""The fewest leads the sample brand's simulation takes."""

COUNT = number_in_range(int, lambda v: v >= 1, "a whole number, 1 or more", "3000")
SEED = number_in_range(int, lambda v: v >= 0, "a whole number, 0 or more", "7")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``sample`` command."""
    p = subparsers.add_parser(
        "sample",
        help="write the sample brand (or a synthetic events CSV) to a folder",
        description="Generate the fictional sample store: Shopify, Klaviyo and GA4 "
        "exports plus its ground truth under truth/.",
    )
    p.add_argument(
        "--out",
        required=True,
        type=lambda text: Path(output_folder(text)),
        metavar="DIR",
        help="folder to write into (created when new, inside a folder that exists)",
    )
    p.add_argument(
        "--leads",
        type=COUNT,
        default=3000,
        metavar="N",
        help=f"identified leads, {MIN_BRAND_LEADS} or more for the brand (3000)",
    )
    p.add_argument("--seed", type=SEED, default=7, help="random seed (7)")
    p.add_argument(
        "--end-date",
        type=iso_date,
        default=dt.date(2026, 11, 30),
        metavar="YYYY-MM-DD",
        help="last simulated day (2026-11-30)",
    )
    p.add_argument(
        "--timezone",
        type=timezone_name,
        default="America/New_York",
        metavar="TZ",
        help="store time zone (America/New_York)",
    )
    p.add_argument(
        "--events",
        type=COUNT,
        metavar="N",
        default=None,
        help="write synthetic_events.csv with this many events (benchmarks) "
        "instead of the sample brand",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the files; return 0, or 2 when the arguments cannot be used."""
    if args.events is None and args.leads < MIN_BRAND_LEADS:
        err(
            f"error: --leads {args.leads}: the sample brand needs at least "
            f"{MIN_BRAND_LEADS} leads (n_leads); with --events fewer are allowed"
        )
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if args.events is not None:
            path = _write_events(args)
            log.info("wrote %s", path)
            return 0
        end = args.end_date.isoformat()
        brand = generate(args.leads, args.seed, end, args.timezone)
        brand.write(args.out)
    except (InputError, ValueError, OSError) as exc:
        err(f"error: {exc}")
        return 2
    return 0


def _write_events(args: argparse.Namespace) -> Path:
    """The synthetic events as the generic events CSV (UTC timestamps)."""
    data = synthetic_events(args.leads, args.events, args.seed, args.timezone)
    frame = data.events.rename(columns={"person_id": "person", "ts": "timestamp"})
    frame = frame[
        [
            "person",
            "timestamp",
            "event",
            "channel",
            "campaign",
            "product",
            "order_id",
            "value",
            "source",
            "medium",
        ]
    ]
    path = args.out / "synthetic_events.csv"
    frame.to_csv(
        path, index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S.%fZ"
    )
    return path
