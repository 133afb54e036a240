"""Benchmark: RFM summary + BG/NBD + Gamma-Gamma + 12-month CLV, ours vs lifetimes.

Run ``python bench/clv.py [--customers 1000000]``. Transactions are drawn from the
models themselves (:func:`pipeline.clv_simulate.simulate_transactions`, seeded);
both sides start from the same transactions table and do the same steps:

- ours: the event layer's per-customer summary (ibis on DuckDB), BG/NBD and
  Gamma-Gamma fitted on compressed rows, CLV per distinct (x, t_x, T);
- lifetimes: ``summary_data_from_transaction_data``, ``BetaGeoFitter``,
  ``GammaGammaFitter`` and ``customer_lifetime_value`` (12 months of 30 days).

It prints each step's seconds (the best of ``--repeat`` interleaved runs, since the
machine may be shared), the ratio lifetimes / ours, and how far the two sides'
parameters and total CLV differ. The target is a ratio of at least 3.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import clv_fit  # noqa: E402 - after the path set-up
from pipeline.clv import purchase_summary  # noqa: E402
from pipeline.clv_simulate import (  # noqa: E402
    simulate_transactions,
    transactions_dataset,
)
from pipeline.eventlayer import connect  # noqa: E402

BGNBD_TRUE = (0.75, 40.0, 0.6, 3.0)  # r, alpha (days), a, b
SPEND_TRUE = (6.0, 4.0, 20.0)  # p, q, v
END = "2024-12-31"
MONTHLY_DISCOUNT = 0.01
ANNUAL_DISCOUNT = (1 + MONTHLY_DISCOUNT) ** (365.25 / 30) - 1


def timed(label: str, times: dict, step):
    """Run ``step()``, record its seconds under ``label`` and return its result."""
    start = time.perf_counter()
    result = step()
    times[label] = time.perf_counter() - start
    print(f"  {label:<28} {times[label]:8.2f} s", flush=True)
    return result


def ours(transactions: pd.DataFrame) -> tuple[dict, dict, float]:
    """Our steps; returns the times, the parameters and the total CLV."""
    times: dict[str, float] = {}
    dataset = timed("dataset", times, lambda: transactions_dataset(transactions))
    summary = timed("RFM summary (event layer)", times,
                    lambda: purchase_summary(dataset, END, time_unit="days"))
    fits = timed("BG/NBD + Gamma-Gamma", times, lambda: clv_fit.fit_models(summary))
    table = timed(
        "12-month CLV", times,
        lambda: clv_fit.customer_table(summary, fits, 360, ANNUAL_DISCOUNT, 1.0),
    )
    params = {**fits.bgnbd.params, **fits.gamma_gamma.params}
    return times, params, float(table["clv"].sum())


def peer(transactions: pd.DataFrame) -> tuple[dict, dict, float]:
    """The same steps in plain lifetimes."""
    import lifetimes
    from lifetimes.utils import summary_data_from_transaction_data

    times: dict[str, float] = {}
    frame = transactions.assign(ts=transactions["ts"].dt.tz_localize(None))
    summary = timed(
        "RFM summary", times,
        lambda: summary_data_from_transaction_data(
            frame, "customer_id", "ts", "value", observation_period_end=END
        ),
    )

    def fit():
        bgf = lifetimes.BetaGeoFitter().fit(
            summary["frequency"], summary["recency"], summary["T"]
        )
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        ggf = lifetimes.GammaGammaFitter().fit(
            repeat["frequency"], repeat["monetary_value"]
        )
        return bgf, ggf

    bgf, ggf = timed("BG/NBD + Gamma-Gamma", times, fit)
    clv = timed(
        "12-month CLV", times,
        lambda: ggf.customer_lifetime_value(
            bgf, summary["frequency"], summary["recency"], summary["T"],
            summary["monetary_value"], time=12, discount_rate=MONTHLY_DISCOUNT,
            freq="D",
        ),
    )
    params = {**bgf.params_.to_dict(), **ggf.params_.to_dict()}
    return times, params, float(clv.sum())


def _best(best: dict[str, float], times: dict[str, float]) -> dict[str, float]:
    """The smaller time per step of two runs."""
    return {k: min(v, best.get(k, v)) for k, v in times.items()}


def main() -> int:
    """Run the benchmark and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--repeat", type=int, default=3,
                        help="interleaved runs of each side; the best time per step "
                        "is reported (default 3)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    start = time.perf_counter()
    transactions = simulate_transactions(
        args.customers, BGNBD_TRUE, SPEND_TRUE, END, seed=args.seed
    )
    print(
        f"{args.customers:,} customers, {len(transactions):,} transactions "
        f"(drawn in {time.perf_counter() - start:.1f} s)"
    )
    connect()  # import the DuckDB backend once, outside the timings
    our_times: dict[str, float] = {}
    peer_times: dict[str, float] = {}
    for run in range(1, args.repeat + 1):
        print(f"run {run} of {args.repeat}, ours:")
        times, our_params, our_clv = ours(transactions)
        our_times = _best(our_times, times)
        print(f"run {run} of {args.repeat}, lifetimes 0.11.3:")
        times, peer_params, peer_clv = peer(transactions)
        peer_times = _best(peer_times, times)
    print(f"best of {args.repeat} interleaved runs per step (the machine is shared):")
    for label, seconds in our_times.items():
        print(f"  ours      {label:<28} {seconds:8.2f} s")
    for label, seconds in peer_times.items():
        print(f"  lifetimes {label:<28} {seconds:8.2f} s")

    peer_total = sum(peer_times.values())
    steps_total = sum(v for k, v in our_times.items() if k != "dataset")
    ours_total = steps_total + our_times["dataset"]
    print(f"total: ours {steps_total:.2f} s for summary + fits + CLV "
          f"({ours_total:.2f} s with building the dataset), "
          f"lifetimes {peer_total:.2f} s")
    print(f"ratio lifetimes / ours: {peer_total / steps_total:.1f}x for summary + fits "
          f"+ CLV, {peer_total / ours_total:.1f}x with the dataset (target >= 3x)")
    for name in ("r", "alpha", "a", "b", "p", "q", "v"):
        diff = abs(our_params[name] - peer_params[name]) / abs(peer_params[name])
        print(f"  {name:<6} ours {our_params[name]:12.6g}  lifetimes "
              f"{peer_params[name]:12.6g}  rel. diff {diff:.1e}")
    print(f"total CLV: ours {our_clv:,.2f}, lifetimes {peer_clv:,.2f} "
          f"(rel. diff {abs(our_clv - peer_clv) / abs(peer_clv):.1e})")
    print("true parameters: r, alpha, a, b =", BGNBD_TRUE, "; p, q, v =", SPEND_TRUE)
    return 0 if np.isfinite(ours_total) else 1


if __name__ == "__main__":
    raise SystemExit(main())
