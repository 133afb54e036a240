"""The event layer: the events table as an ibis table, on DuckDB in-process by default.

Work over events (stage windows, entry times, journeys, purchase summaries) is
written as ibis expressions over the table this module makes, so that the same
expressions compile for Spark or BigQuery. Two rules keep them portable:

- time is carried as integers: ``ts_us`` (microseconds since the Unix epoch, UTC)
  and ``day`` (days since 1970-01-01 in the store's time zone); windows are ordered
  by these integers, never by a timestamp interval, which BigQuery and Spark do not
  translate;
- "at least *n* events within *d* days" is computed with a lag of *n* − 1 events.

Pandas stays at the edges: converting the model's events in, and results out.
"""

from __future__ import annotations

import logging

import ibis
import ibis.backends.duckdb  # noqa: F401 (loaded with the module, not on first use)
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

US_PER_DAY = 86_400_000_000

EVENT_LAYER_COLUMNS = (
    "person_id",
    "ts_us",
    "day",
    "event",
    "channel",
    "campaign",
    "product",
    "order_id",
    "value",
)


def connect() -> ibis.BaseBackend:
    """A fresh in-process DuckDB backend (one per user session; never shared).

    DuckDB's progress bar is switched off: it would write into ``--json`` output.
    """
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    return con


def local_days(ts: pd.Series, timezone: str) -> np.ndarray:
    """Days since 1970-01-01 of each UTC timestamp, counted in ``timezone``.

    Parameters
    ----------
    ts
        Timezone-aware UTC timestamps.
    timezone
        An IANA zone name such as ``"America/Los_Angeles"``.
    """
    local = pd.to_datetime(ts, utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
    return (
        local.dt.floor("D").astype("datetime64[s]").astype("int64") // 86_400
    ).to_numpy()


def day_to_date(day: int | float) -> pd.Timestamp:
    """The calendar date of a local day number (inverse of :func:`local_days`)."""
    return pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(day))


def date_to_day(date: str | pd.Timestamp) -> int:
    """The local day number of a calendar date such as ``"2024-05-31"``."""
    stamp = pd.Timestamp(date)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return int((stamp.normalize() - pd.Timestamp("1970-01-01")).days)


def event_frame(events: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """The model's events with integer time columns, ready to register."""
    ts = pd.to_datetime(events["ts"], utc=True)
    frame = pd.DataFrame(
        {
            "person_id": events["person_id"].astype("string"),
            "ts_us": ts.astype("datetime64[us, UTC]").astype("int64"),
            "day": local_days(ts, timezone).astype("int32"),
        }
    )
    for name in EVENT_LAYER_COLUMNS[3:]:
        frame[name] = events[name] if name in events else pd.NA
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    return frame


def events_table(
    con: ibis.BaseBackend, events: pd.DataFrame, timezone: str, name: str = "events"
) -> ibis.Table:
    """Register the model's events in ``con`` and return them as an ibis table.

    Parameters
    ----------
    con
        A backend from :func:`connect` (or any ibis backend).
    events
        The model's events table (see :mod:`pipeline.model`).
    timezone
        The store's time zone, for the ``day`` column.
    name
        The table's name in the backend; an existing table is replaced.
    """
    frame = event_frame(events, timezone)
    log.info("registering %d events as %r", len(frame), name)
    return con.create_table(name, frame, overwrite=True)
