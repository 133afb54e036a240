"""Benchmark: our events CSV reader against pyarrow's own CSV reader on the same file.

Usage::

    python bench/ingest.py                 # ~1 GB file (the issue's target)
    python bench/ingest.py --size-mb 50    # quick run while developing

Generates ``bench/data/events_<size>mb.csv`` once (gitignored; reused if present) in
the documented events-CSV layout, then times, each in a fresh process so that peak
memory is its own:

- ``pyarrow``: ``pyarrow.csv.read_csv`` on the file (its own type inference);
- ``reader``: our path for one file given on the command line (the file mapped by
  :func:`pipeline.ingest.read_paths`, then unpack, decode, detect, read into the
  model's events/orders/people): :func:`pipeline.ingest.read_source`;
- ``load_files`` (with ``--full``): the reader plus the merge into a ``Dataset``.

The three are timed one after the other, ``--repeat`` times (3 by default). Each
run's ratio is taken against the pyarrow time of the same run, and the median of
those ratios is printed (target at most 2.5), with the best time and the peak
resident memory. This machine's speed drifts by a factor of three within minutes,
so a ratio of times taken far apart would mean little.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
EVENTS = [
    "page_view",
    "product_view",
    "email_open",
    "email_click",
    "add_to_cart",
    "checkout_started",
    "order",
    "session",
]
CHANNELS = ["email", "paid_social", "organic_search", "direct", "sms", ""]


def generate(path: Path, size_mb: int, seed: int = 7) -> None:
    """Write an events CSV of about ``size_mb`` megabytes, in chunks."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    target = size_mb * 1024 * 1024
    people = max(1000, size_mb * 1000)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    chunk = min(500_000, max(20_000, size_mb * 5_000))
    written = 0
    order_no = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(b"person,timestamp,event,channel,campaign,product,order_id,value\n")
        while written < target:
            ids = rng.integers(0, people, chunk)
            person = np.char.add(np.char.add("cust", ids.astype(str)), "@example.com")
            seconds = rng.integers(0, 365 * 86400, chunk)
            ts = np.datetime_as_string(start + seconds.astype("timedelta64[s]"))
            ts = np.char.add(ts, "Z")
            event = np.array(EVENTS)[rng.integers(0, len(EVENTS), chunk)]
            is_order = event == "order"
            order_id = np.where(
                is_order,
                np.char.add("o", (order_no + np.arange(chunk)).astype(str)),
                "",
            )
            order_no += chunk
            value = np.where(is_order, np.round(rng.gamma(2.0, 40.0, chunk), 2), np.nan)
            table = pa.table(
                {
                    "person": person,
                    "timestamp": ts,
                    "event": event,
                    "channel": np.array(CHANNELS)[
                        rng.integers(0, len(CHANNELS), chunk)
                    ],
                    "campaign": np.char.add(
                        "camp", rng.integers(0, 50, chunk).astype(str)
                    ),
                    "product": np.char.add(
                        "sku", rng.integers(0, 500, chunk).astype(str)
                    ),
                    "order_id": order_id,
                    "value": pa.array(value, from_pandas=True),
                }
            )
            buffer = pa.BufferOutputStream()
            pacsv.write_csv(
                table, buffer, write_options=pacsv.WriteOptions(include_header=False)
            )
            data = buffer.getvalue().to_pybytes()
            out.write(data)
            written += len(data)


def run_one(which: str, path: Path) -> dict:
    """Time one reader in this process; return seconds and peak memory (MB)."""
    sys.path.insert(0, str(ROOT))
    import pyarrow.csv as pacsv

    import pipeline.ingest as ingest
    from pipeline.ingest.base import ReadContext
    from pipeline.ingest.containers import unpack

    began = time.perf_counter()
    if which == "pyarrow":
        rows = pacsv.read_csv(path).num_rows
    else:
        ((_, data),) = ingest.read_paths([str(path)])  # (as the command line does)
        ingest.MAX_BYTES = len(data) + 1
        if which == "reader":
            (source,) = unpack(path.name, data, max_bytes=len(data) + 1)
            rows = ingest.read_source(source, ReadContext()).report.rows_loaded
        else:
            rows = len(ingest.load_files([(path.name, data)]).events)
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"which": which, "seconds": seconds, "rows": rows, "peak_mb": peak_mb}


def timed(which: str, path: Path) -> dict:
    """:func:`run_one` in a fresh process, so that its peak memory is its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--only", which, "--path", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--full", action="store_true", help="also time load_files")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best)")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:
        sys.stdout.write(json.dumps(run_one(args.only, Path(args.path))) + "\n")
        return

    path = DATA / f"events_{args.size_mb}mb.csv"
    if not path.exists():
        began = time.perf_counter()
        generate(path, args.size_mb)
        sys.stdout.write(
            f"generated {path} ({path.stat().st_size / 2**20:,.0f} MB) in "
            f"{time.perf_counter() - began:.1f} s\n"
        )
    names = ["pyarrow", "reader"] + (["load_files"] if args.full else [])
    runs = [{which: timed(which, path) for which in names} for _ in range(args.repeat)]
    rows = runs[0]["pyarrow"]["rows"]
    sys.stdout.write(
        f"file: {path.name}, {path.stat().st_size / 2**20:,.0f} MB, {rows:,} rows, "
        f"{args.repeat} interleaved runs\n"
    )
    for which in names:
        seconds = [run[which]["seconds"] for run in runs]
        ratios = [run[which]["seconds"] / run["pyarrow"]["seconds"] for run in runs]
        peak = max(run[which]["peak_mb"] for run in runs)
        sys.stdout.write(
            f"{which:>10}: best {min(seconds):6.2f} s  median ratio "
            f"{statistics.median(ratios):5.2f} (runs: "
            f"{', '.join(f'{r:.2f}' for r in ratios)})  peak {peak:,.0f} MB\n"
        )
    sys.stdout.write("target: ratio <= 2.5 (reader and load_files)\n")


if __name__ == "__main__":
    main()
