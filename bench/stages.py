"""Benchmark: stage recompute after a slider move, at 1M and 10M events.

Run from the repository root (not part of CI)::

    python bench/stages.py                 # 1M events/100k leads and 10M/1M
    python bench/stages.py --sizes small   # 100k/10k, a quick check

For each size it prints, in seconds: building the synthetic events
(:func:`pipeline.samplegen.synthetic_events`), registering them in the engine, the
first ``leads()`` (every rule computed), a slider move (one threshold changed: one
rule recomputed, the rest cached; the median of three moves) and a full recompute
(a new "as of" day: every rule recomputed), with the slider move's ratio to its
target (0.3 s at 1M events, 3 s at 10M on 2 cores). At 1M events it also times a
plain pandas groupby snapshot of the same rules (no entry times) as a baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import eventlayer  # noqa: E402
from pipeline.rules import StageRules  # noqa: E402
from pipeline.samplegen import synthetic_events  # noqa: E402
from pipeline.stages import StageEngine, stage_counts  # noqa: E402

SIZES = {
    "small": (10_000, 100_000, None),
    "1m": (100_000, 1_000_000, 0.3),
    "10m": (1_000_000, 10_000_000, 3.0),
}
"""Name: (leads, events, target seconds for a slider move)."""


def seconds(work) -> tuple[float, object]:
    """Wall time of ``work()`` and its result."""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def pandas_snapshot(events: pd.DataFrame, rules: StageRules, day: int) -> pd.Series:
    """The baseline: which persons each rule holds for as of ``day``, by groupby.

    A snapshot only (no entry times), as a spreadsheet-minded analyst would write it.
    """
    frame = events[events["day"] <= day]
    held = []
    for name, rule in rules.rules.items():
        recent = frame[frame["day"] > day - rule.window_days]
        if name == "intent_cart":
            last_order = frame[frame["event"] == "order"].groupby("person_id")[
                "ts_us"].max()
            carts = recent[recent["event"].isin(["add_to_cart", "checkout_started"])]
            after = carts["ts_us"] > carts["person_id"].map(last_order).fillna(-1)
            counts = carts[after].groupby("person_id").size()
        else:
            kinds = {
                "engaged_opens": ["email_open"],
                "engaged_product_views": ["product_view"],
                "engaged_product_click": ["email_click"],
                "engaged_wishlist": ["wishlist_add"],
                "intent_same_product": ["product_view"],
                "intent_sizing": ["sizing_view"],
            }[name]
            hits = recent[recent["event"].isin(kinds)]
            if name in ("engaged_product_click", "intent_same_product"):
                hits = hits[hits["product"].notna()]
            keys = ["person_id", "product"] if name == "intent_same_product" else [
                "person_id"]
            counts = hits.groupby(keys).size()
            if name == "intent_same_product":
                counts = counts.groupby(level=0).max()
        held.append(counts[counts >= rule.min_count].index.to_series())
    return pd.concat(held)


def run_size(name: str) -> None:
    """Time one size and print its figures."""
    n_leads, n_events, target = SIZES[name]
    print(f"\n== {n_events:,} events, {n_leads:,} leads ==")
    build, data = seconds(lambda: synthetic_events(n_leads, n_events, seed=1))
    print(f"synthetic events          {build:7.2f} s")
    setup, engine = seconds(lambda: StageEngine(data))
    print(f"engine set-up (register)  {setup:7.2f} s")

    rules = StageRules()
    as_of = engine.default_as_of
    first, leads = seconds(lambda: engine.leads(rules, as_of))
    print(f"first leads(), all rules  {first:7.2f} s   {stage_counts(leads)}")

    moves = []
    for count in (4, 5, 6):
        moved = rules.with_rule("engaged_opens", min_count=count)
        took, _ = seconds(lambda moved=moved: engine.leads(moved, as_of))
        moves.append(took)
    move = statistics.median(moves)
    ratio = f"   {move / target:5.2f} × target {target} s" if target else ""
    print(f"slider move (1 rule)      {move:7.2f} s{ratio}")

    full_times = []
    for back in (1, 2, 3):
        day = as_of - dt.timedelta(days=back)
        took, _ = seconds(lambda day=day: engine.leads(rules, day))
        full_times.append(took)
    full = statistics.median(full_times)
    ratio = f"   {full / target:5.2f} × target {target} s" if target else ""
    print(f"full recompute (new day)  {full:7.2f} s{ratio}")

    if name in ("1m", "small"):
        frame = eventlayer.event_frame(data.events, data.timezone)
        day = eventlayer.date_to_day(as_of)
        base, held = seconds(lambda: pandas_snapshot(frame, rules, day))
        print(f"pandas groupby snapshot   {base:7.2f} s   "
              f"(engine full recompute ÷ pandas = {full / base:4.2f}; "
              f"slider move ÷ pandas = {move / base:4.2f})")
        # The engine's per-rule "holds" flags (cached by the recompute above).
        engine_held = sum(
            int(np.count_nonzero(holds))
            for _, holds in engine._rule_arrays(rules, day).values()
        )
        assert engine_held == len(held), (engine_held, len(held))
        print(f"  (both find {len(held):,} person-rule pairs holding)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,10m",
                        help="comma-separated: small, 1m, 10m (default 1m,10m)")
    args = parser.parse_args()
    for name in args.sizes.split(","):
        run_size(name.strip())


if __name__ == "__main__":
    main()
