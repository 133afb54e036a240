"""``python -m pipeline attribution FILE...``: every attribution model, side by side.

Prints ``{"conversions", "revenue", "coverage", "models", "revenue_models",
"intervals", "klaviyo"}`` with ``--json`` (``klaviyo`` only when email or SMS
events exist), else a table. Aggregated path files
(``path;total_conversions;...``) are analysed as paths; models that need touch
times are left out for them.

Revenue is never added across currencies: conversions and revenue are those of the
purchases in one currency (``--currency``, default the one with the most
purchases); the others are counted and named on standard error. When orders were
analysed the JSON object also has a top-level ``currency`` key (``null`` for orders
without one); path files have no currency and no such key.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import pandas as pd

from pipeline.attribution.analysis import Analysis, analyse_dataset, analyse_paths
from pipeline.attribution.journeys import JourneySettings
from pipeline.attribution.klaviyo import Overstatement
from pipeline.attribution.models import MODEL_NAMES, ModelSettings
from pipeline.clv_currency import CurrencyChoice, in_one_currency
from pipeline.commands._common import (
    add_reading_options,
    err,
    nothing_loaded,
    number_in_range,
    readable_files,
    reading_settings,
    report_problems,
    timezone_name,
)
from pipeline.ingest import load_files
from pipeline.model import InputError

log = logging.getLogger(__name__)

LOOKBACK_DAYS = number_in_range(
    float, lambda v: v >= 1, "a number of days, 1 or more", "30"
)
HALF_LIFE_DAYS = number_in_range(
    float, lambda v: v > 0, "a number of days above 0", "7"
)
REPLICATES = number_in_range(
    int, lambda v: v >= 0, "a whole number, 0 (no intervals) or more", "100"
)
SEED = number_in_range(int, lambda v: v >= 0, "a whole number, 0 or more", "0")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``attribution`` command."""
    p = subparsers.add_parser(
        "attribution",
        help="credit conversions and revenue to channels with every model",
        description="First/last/last non-direct click, linear, time decay, position "
        "based, exact Markov removal effects and exact Shapley values, with "
        "bootstrap intervals and Klaviyo's overstatement.",
    )
    p.add_argument(
        "files", nargs="+", metavar="FILE", help="export files or path files"
    )
    p.add_argument(
        "--lookback-days",
        type=LOOKBACK_DAYS,
        default=30.0,
        metavar="DAYS",
        help="touches this many days before a conversion count, 1 or more (30)",
    )
    p.add_argument(
        "--models",
        nargs="+",
        choices=MODEL_NAMES,
        default=None,
        metavar="MODEL",
        help=f"models to run: {', '.join(MODEL_NAMES)}",
    )
    p.add_argument(
        "--timezone",
        type=timezone_name,
        default=None,
        metavar="TZ",
        help="the store's IANA time zone",
    )
    add_reading_options(p)
    p.add_argument("--opens", action="store_true", help="count email opens as touches")
    p.add_argument(
        "--first-purchase-only",
        action="store_true",
        help="only each person's first purchase converts",
    )
    p.add_argument(
        "--collapse-repeats",
        action="store_true",
        help="merge runs of one channel into one touch",
    )
    p.add_argument(
        "--markov-order",
        type=int,
        default=1,
        choices=(1, 2, 3),
        help="states remember this many previous channels (default 1)",
    )
    p.add_argument(
        "--half-life-days",
        type=HALF_LIFE_DAYS,
        default=7.0,
        metavar="DAYS",
        help="time decay: a touch this many days before the order gets half the "
        "weight of one at the order (default 7)",
    )
    p.add_argument(
        "--currency",
        metavar="CODE",
        help="analyse the purchases in this currency (ISO code, or 'none' for "
        "orders without one); default: the currency with the most purchases",
    )
    p.add_argument(
        "--bootstrap",
        type=REPLICATES,
        default=100,
        metavar="N",
        help="bootstrap replicates for intervals (0: none; default 100)",
    )
    p.add_argument(
        "--seed", type=SEED, default=0, help="bootstrap random seed (default 0)"
    )
    p.add_argument(
        "--reference",
        default="markov",
        choices=MODEL_NAMES,
        help="model that Klaviyo's claim is compared with",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def analysis_of(
    args: argparse.Namespace,
) -> tuple[Analysis | None, CurrencyChoice | None]:
    """Load the files and run the analysis on one currency's purchases.

    Returns the analysis (``None`` when nothing could be used) and the currency
    choice (``None`` when aggregated paths were analysed). Each file's problems
    and the currencies left out are written to standard error.

    Raises
    ------
    InputError
        When no file could be read, or no row of any file loaded.
    """
    dataset = load_files(readable_files(args.files), **reading_settings(args))
    report_problems(dataset)
    reason = nothing_loaded(dataset)
    if reason:
        raise InputError(reason)
    settings = ModelSettings(
        half_life_days=args.half_life_days,
        markov_order=args.markov_order,
        collapse_repeats=args.collapse_repeats,
    )
    models = tuple(args.models) if args.models else None
    path_tables = [
        r.meta["paths"]
        for r in dataset.reports
        if isinstance(r.meta.get("paths"), pd.DataFrame)
    ]
    if len(dataset.purchases()) or (dataset.events["event"] == "order").any():
        dataset, choice = in_one_currency(dataset, getattr(args, "currency", None))
        for line in choice.warnings():
            err(f"note: {line}")
        journeys = JourneySettings(
            lookback_days=args.lookback_days,
            opens_as_touches=args.opens,
            first_purchase_only=args.first_purchase_only,
        )
        analysis = analyse_dataset(
            dataset,
            journeys,
            models,
            settings,
            args.bootstrap,
            args.seed,
            args.reference,
        )
        return analysis, choice
    if path_tables:
        frame = pd.concat(path_tables, ignore_index=True)
        analysis = analyse_paths(frame, models, settings, args.bootstrap, args.seed)
        return analysis, None
    return None, None


def run(args: argparse.Namespace) -> int:
    """Run the command; exit status 2 when no input could be used: no row of any
    file loaded, or no purchase and no conversion path."""
    try:
        analysis, choice = analysis_of(args)
    except (InputError, ValueError) as exc:
        err(f"error: {exc}")
        return 2
    if analysis is None:
        err(
            "error: no purchases and no conversion paths in the files; upload Shopify "
            "orders with GA4/Klaviyo events, or a path;total_conversions file"
        )
        return 2
    out = analysis.to_json()
    if choice is not None and not (analysis.coverage > 0):
        sys.stderr.write(
            f"note: none of the {out['conversions']:,} orders has a touch in the "
            "lookback window: add GA4 sessions or Klaviyo events (or an aggregated "
            "paths file) to attribute them\n"
        )
    if choice is not None:
        out["currency"] = choice.code
    if args.json:
        json.dump(out, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    table = analysis.attribution.conversions.round(1)
    sys.stdout.write(
        f"{out['conversions']:,.0f} conversions, revenue {out['revenue']:,.2f}"
        f"{' ' + out['currency'] if out.get('currency') else ''}, "
        f"coverage {out['coverage'] or 0:.1%}\n\n{table.to_string()}\n"
    )
    if analysis.klaviyo is not None:
        sys.stdout.write(f"\n{klaviyo_line(out['klaviyo'], analysis.klaviyo)}\n")
    return 0


def klaviyo_line(claim: dict, klaviyo: Overstatement) -> str:
    """Klaviyo's claim in one sentence, and its overstatement against the reference
    model: "not measured" when that model credits no revenue to Email or SMS."""
    ratio = claim["overstatement"]
    reference = klaviyo.reference_model
    overstated = (
        f"overstatement x{ratio:.2f} against the {reference} model"
        if ratio is not None
        else f"overstatement not measured: the {reference} model credits no revenue "
        "to Email or SMS"
    )
    return (
        f"Klaviyo claims {claim['claimed_revenue']:,.2f} of "
        f"{claim['total_revenue']:,.2f} ({claim['claimed_opens_only_revenue']:,.2f} "
        f"on opens alone); {overstated}"
    )
