"""Customer lifetime value (BG/NBD and Gamma-Gamma) of the purchases in FILE...

Amounts are never added across currencies: the purchases of one currency are
analysed (``--currency``, default the one with the most purchases) and the others
are counted and named on standard error.

With ``--calibration-end`` the purchases after it, up to ``--holdout-end``
(inclusive), are the holdout: not used in the fit, compared with the model's
prediction. ``--json`` prints at least::

    {"customers": n, "repeat_customers": n, "time_unit": "days",
     "bgnbd": {"r": x, "alpha": x, "a": x, "b": x},
     "gamma_gamma": {"p": x, "q": x, "v": x},
     "holdout": {"predicted": x, "actual": n, "error_pct": x},
     "currency": "USD"}

``customers`` and ``holdout`` count the calibration customers only; ``holdout`` is in
repeat purchase-days and ``null`` without ``--calibration-end``; a model that was not
fitted has ``null`` parameters and its reason in ``status``. Exit status 2 only when
no input could be used: no row of any file loaded, or no purchase with a customer.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipeline.clv import TIME_UNITS, purchase_summary
from pipeline.clv_currency import in_one_currency
from pipeline.clv_fit import ClvModels, customer_table, fit_models, population_figures
from pipeline.clv_models import BGNBD_PARAMS, GG_PARAMS
from pipeline.clv_validation import holdout_report
from pipeline.commands._common import (
    add_reading_options,
    err,
    iso_date,
    nothing_loaded,
    number_in_range,
    output_file,
    readable_files,
    reading_settings,
    report_problems,
    timezone_name,
    writes_over_an_input,
)
from pipeline.ingest import load_files
from pipeline.model import InputError, json_safe

log = logging.getLogger(__name__)

HORIZON_DAYS = number_in_range(
    float, lambda v: v > 0, "a number of days above 0", "365"
)
DISCOUNT_RATE = number_in_range(
    float,
    lambda v: 0 <= v < 1,
    "an annual rate as a fraction, from 0 up to (not including) 1",
    "0.10 for 10 %",
)
MARGIN = number_in_range(
    float,
    lambda v: 0 < v <= 1,
    "the share of spend kept as profit, above 0 and at most 1",
    "0.35 for 35 %",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``clv`` command."""
    p = subparsers.add_parser(
        "clv",
        help="customer lifetime value (BG/NBD + Gamma-Gamma) with holdout validation",
        description=" ".join(__doc__.split("\n\n")[:2]).replace("``", ""),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="orders or transactions")
    p.add_argument(
        "--calibration-end",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="last day of the fit (inclusive, store's time zone); later "
        "purchases form the holdout",
    )
    p.add_argument(
        "--holdout-end",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="last day of the holdout (inclusive); default the last purchase",
    )
    p.add_argument(
        "--time-unit",
        choices=sorted(TIME_UNITS),
        default="days",
        help="unit of recency, age and the rate parameter (weeks = days/7)",
    )
    p.add_argument(
        "--timezone",
        type=timezone_name,
        metavar="TZ",
        help="store time zone, e.g. America/Los_Angeles (default: inferred)",
    )
    add_reading_options(p)
    p.add_argument(
        "--horizon-days",
        type=HORIZON_DAYS,
        metavar="DAYS",
        default=365.0,
        help="horizon of expected purchases and CLV (default 365)",
    )
    p.add_argument(
        "--discount-rate",
        type=DISCOUNT_RATE,
        metavar="RATE",
        default=0.10,
        help="annual discount rate for CLV, 0 to below 1 (default 0.10)",
    )
    p.add_argument(
        "--margin",
        type=MARGIN,
        metavar="SHARE",
        default=1.0,
        help="profit margin applied to spend, above 0 and at most 1 "
        "(default 1.0 = revenue)",
    )
    p.add_argument(
        "--currency",
        metavar="CODE",
        help="analyse the purchases in this "
        "currency (ISO code, or 'none' for orders without one); default: "
        "the currency with the most purchases",
    )
    p.add_argument("--json", action="store_true", help="print JSON to standard output")
    p.add_argument(
        "--out",
        type=output_file("customers.csv"),
        metavar="CSV",
        help="write the customer table to this file (in a folder that exists)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; 0 on success, 2 when no input could be used: no row of any
    file loaded, or no purchase with a customer."""
    if writes_over_an_input(args.out, args.files):
        err(
            f"--out {args.out!r} is one of the inputs: choose another file name "
            "(inputs are never overwritten)"
        )
        return 2
    try:
        dataset = load_files(readable_files(args.files), **reading_settings(args))
    except (InputError, ValueError) as exc:
        err(f"error: {exc}")
        return 2
    report_problems(dataset)
    reason = nothing_loaded(dataset)
    if reason:
        err(f"error: {reason}")
        return 2
    try:
        dataset, choice = in_one_currency(dataset, args.currency)
        for line in choice.warnings():
            err(f"note: {line}")
        summary = purchase_summary(
            dataset, args.calibration_end, args.holdout_end, args.time_unit
        )
    except (InputError, ValueError) as exc:
        err(f"error: {exc}")
        return 2

    fits = fit_models(summary)
    table = customer_table(
        summary, fits, args.horizon_days, args.discount_rate, args.margin
    )
    holdout = holdout_report(table) if summary.holdout_end is not None else None
    figures = population_figures(
        summary, fits, args.horizon_days, args.discount_rate, args.margin
    )
    result = result_dict(summary, fits, holdout, figures)
    result["currency"] = choice.code
    result["currencies_left_out"] = choice.left_out
    result["settings"] = {
        "horizon_days": args.horizon_days,
        "discount_rate": args.discount_rate,
        "margin": args.margin,
        "timezone": dataset.timezone,
    }
    if args.out:
        table.sort_values("person_id").to_csv(Path(args.out), index=False)
        log.info("wrote %d customers to %s", len(table), args.out)

    if args.json:
        sys.stdout.write(json.dumps(json_safe(result), indent=2, allow_nan=False))
    else:
        sys.stdout.write(text_report(result))
    sys.stdout.write("\n")
    return 0


def result_dict(summary, fits: ClvModels, holdout, figures) -> dict:
    """The JSON object of the command (see the module docstring)."""
    c = summary.customers

    def params(fit, names):
        if not fit.converged:
            return dict.fromkeys(names)
        return {k: round(fit.params[k], 6) for k in names}

    def detail(fit):
        return {
            "converged": fit.converged,
            "penalizer": fit.penalizer if fit.converged else None,
            "log_likelihood": round(fit.log_likelihood, 4),
            "standard_errors": {
                k: round(v, 6) for k, v in fit.standard_errors().items()
            },
            "reason": fit.reason or None,
        }

    return {
        "customers": len(c),
        "repeat_customers": int((c["frequency"] > 0).sum()),
        "time_unit": summary.time_unit,
        "rate_unit": f"purchases per {summary.time_unit[:-1]}",
        "calibration_end": summary.calibration_end.isoformat(),
        "holdout_end": summary.holdout_end.isoformat() if summary.holdout_end else None,
        "bgnbd": params(fits.bgnbd, BGNBD_PARAMS),
        "gamma_gamma": params(fits.gamma_gamma, GG_PARAMS),
        "holdout": holdout.to_dict() if holdout is not None else None,
        "holdout_by_frequency": (
            holdout.by_frequency.to_dict(orient="records") if holdout else None
        ),
        "fit": {"bgnbd": detail(fits.bgnbd), "gamma_gamma": detail(fits.gamma_gamma)},
        "spend_model_customers": fits.spend_counts,
        "counts": summary.counts,
        "population": figures.to_dict(orient="records"),
        "status": fits.status(),
    }


def text_report(result: dict) -> str:
    """A short human-readable summary of :func:`result_dict`."""
    lines = [
        f"Customers (calibration to {result['calibration_end']}): "
        f"{result['customers']:,}, of whom {result['repeat_customers']:,} bought again",
        f"Time unit: {result['time_unit']}",
        f"Currency: {result.get('currency') or 'not given in the files'}",
        *result["status"],
    ]
    for name, key in (("BG/NBD", "bgnbd"), ("Gamma-Gamma", "gamma_gamma")):
        params = result[key]
        if None not in params.values():
            values = ", ".join(f"{k} = {v:.4g}" for k, v in params.items())
            lines.append(f"{name}: {values}")
    for row in result["population"]:
        unit = row["unit"]
        if unit == "currency":
            unit = result.get("currency") or "(currency not given)"
        lines.append(
            f"{row['figure']}: {row['value']:,.1f} "
            f"(95% {row['low']:,.1f} to {row['high']:,.1f}) {unit}"
        )
    holdout = result["holdout"]
    if holdout:
        error = holdout["error_pct"]
        lines.append(
            f"Holdout to {result['holdout_end']}: "
            f"predicted {holdout['predicted']:,.1f}, "
            f"actual {holdout['actual']:,} repeat purchase-days"
            + (f" (error {error:+.1f}%)" if error is not None else "")
        )
    merged = result["counts"].get("same_day_orders_merged", 0)
    lines.append(f"Same-day orders merged into one purchase: {merged:,}")
    return "\n".join(lines)
