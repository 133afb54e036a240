"""Benchmark: every path-based model on 1M aggregated paths, against ChannelAttribution.

Run: ``python bench/attribution.py [--paths 1000000] [--channels 20 5] [--no-peer]``.

For each channel count it makes a seeded table of aggregated paths (lengths 1 to 8,
channel popularity falling off like Zipf's law, conversions and nulls per path),
then times, in one process: parsing the path strings, the five time-free rule-based
models, order-1 Markov (exact) and Shapley (exact over 12 channels, the rest grouped).
Peak memory is the process's peak resident set before the peer runs. Then
ChannelAttribution 2.2.5 runs its heuristics and its simulated order-1 Markov on the
same table, and the ratio (peer time ÷ ours) is printed. Target: at most 5 s and
under 1 GB for ours.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.attribution.models import ModelSettings, attribute  # noqa: E402
from pipeline.attribution.paths import path_set_from_frame  # noqa: E402

MODELS = (
    "first_click",
    "last_click",
    "last_non_direct",
    "linear",
    "position_based",
    "markov",
    "shapley",
)


def make_paths(n_paths: int, n_channels: int, seed: int = 0) -> pd.DataFrame:
    """A seeded aggregated path table like ChannelAttribution's sample data."""
    rng = np.random.default_rng(seed)
    names = np.array([f"ch{i:02d}" for i in range(n_channels)], dtype=object)
    popularity = 1.0 / np.arange(1, n_channels + 1)
    popularity /= popularity.sum()
    lengths = np.minimum(rng.geometric(0.4, n_paths), 8)
    touches = rng.choice(n_channels, size=int(lengths.sum()), p=popularity)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    flat = names[touches]
    paths = [" > ".join(flat[a:b]) for a, b in zip(starts, ends, strict=True)]
    conversions = rng.poisson(0.4 + 0.15 * lengths)
    nulls = rng.poisson(2.0, n_paths) + (conversions == 0)
    value = conversions * rng.gamma(2.0, 20.0, n_paths)
    return pd.DataFrame(
        {
            "path": paths,
            "total_conversions": conversions,
            "total_conversion_value": value.round(3),
            "total_null": nulls,
        }
    )


def peak_mb() -> float:
    """Peak resident set of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(frame: pd.DataFrame) -> tuple[float, float, dict]:
    start = time.perf_counter()
    paths = path_set_from_frame(frame)
    parsed = time.perf_counter()
    result = attribute(paths, MODELS, ModelSettings())
    done = time.perf_counter()
    sums = result.conversions.sum().round(3).to_dict()
    return parsed - start, done - parsed, sums


def peer(frame: pd.DataFrame) -> float | None:
    try:
        import ChannelAttribution as ca
    except ImportError:
        return None
    start = time.perf_counter()
    ca.heuristic_models(
        frame,
        "path",
        "total_conversions",
        var_value="total_conversion_value",
        flg_pro=False,
    )
    ca.markov_model(
        frame,
        "path",
        "total_conversions",
        var_value="total_conversion_value",
        var_null="total_null",
        order=1,
        verbose=0,
        flg_pro=False,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, nargs="+", default=[20, 5])
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()

    for n_channels in args.channels:
        frame = make_paths(args.paths, n_channels)
        parse_s, model_s, sums = ours(frame)
        total = parse_s + model_s
        memory = peak_mb()
        print(
            f"{args.paths:,} paths x {n_channels} channels "
            f"({frame['total_conversions'].sum():,} conversions)"
        )
        print(
            f"  ours: parse {parse_s:.2f} s + models {model_s:.2f} s = {total:.2f} s "
            f"(target <= 5 s: {'met' if total <= 5 else 'MISSED'}); "
            f"peak RSS {memory:,.0f} MB (target < 1024: "
            f"{'met' if memory < 1024 else 'MISSED'})"
        )
        print(f"  credit sums: {sums}")
        if not args.no_peer:
            peer_s = peer(frame)
            if peer_s is None:
                print("  ChannelAttribution not installed: no peer ratio")
            else:
                print(
                    f"  ChannelAttribution heuristics + Markov: {peer_s:.2f} s; "
                    f"ratio peer/ours = {peer_s / total:.1f}x "
                    f"(ours also runs position based, last non-direct and Shapley)"
                )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
