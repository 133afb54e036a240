"""``python -m pipeline sample``: write the sample brand, or a synthetic events CSV.

``--out DIR`` receives the six export files and ``truth/`` (stages, Klaviyo claims,
channel effects). With ``--events N`` it writes ``synthetic_events.csv`` instead:
N events in the generic events CSV layout, for benchmarks.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipeline.model import InputError
from pipeline.samplegen import generate, synthetic_events

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``sample`` command."""
    p = subparsers.add_parser(
        "sample",
        help="write the sample brand (or a synthetic events CSV) to a folder",
        description="Generate the fictional sample store: Shopify, Klaviyo and GA4 "
        "exports plus its ground truth under truth/.",
    )
    p.add_argument("--out", required=True, type=Path, help="folder to write into")
    p.add_argument("--leads", type=int, default=3000, help="identified leads (3000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (7)")
    p.add_argument("--end-date", default="2026-11-30", help="last simulated day")
    p.add_argument("--timezone", default="America/New_York", help="store time zone")
    p.add_argument(
        "--events",
        type=int,
        default=None,
        help="write synthetic_events.csv with this many events (benchmarks) "
        "instead of the sample brand",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the files; return 0, or 2 when the arguments cannot be used."""
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if args.events is not None:
            path = _write_events(args)
            log.info("wrote %s", path)
            return 0
        brand = generate(args.leads, args.seed, args.end_date, args.timezone)
        brand.write(args.out)
    except (InputError, ValueError) as exc:
        log.error("sample: %s", exc)
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
