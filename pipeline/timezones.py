"""Store time zones written for people, and dates taken in them.

IANA's fixed-offset names run against intuition: ``Etc/GMT+8`` is eight hours *behind*
UTC (America's Pacific winter time), not an Asian zone. Pages write such zones as
``UTC−08:00 (fixed offset)`` instead.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from pipeline.model import FileReport

_ETC = re.compile(r"^Etc/GMT([+-])(\d{1,2})$")


def _offset_text(minutes: int) -> str:
    """``-480`` as ``"UTC−08:00"`` (a true minus sign, as typeset)."""
    sign = "−" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def zone_label(timezone: str | None) -> str:
    """A store time zone as a person reads it.

    Parameters
    ----------
    timezone
        An IANA name (``"America/Los_Angeles"``, ``"Etc/GMT+8"``, ``"UTC"``).

    Returns
    -------
    str
        ``"UTC"``; ``"UTC−08:00 (fixed offset)"`` for ``Etc/GMT+8`` (whose sign
        IANA writes the POSIX way round); else the name with today's offset,
        ``"America/Los_Angeles (now UTC−08:00)"``.
    """
    name = timezone or "UTC"
    if name in ("UTC", "Etc/UTC", "Etc/GMT", "GMT"):
        return "UTC"
    fixed = _ETC.match(name)
    if fixed:
        hours = int(fixed.group(2))
        minutes = -60 * hours if fixed.group(1) == "+" else 60 * hours
        return f"{_offset_text(minutes)} (fixed offset)"
    try:
        offset = pd.Timestamp.now(tz=name).utcoffset()
    except (ValueError, KeyError):  # an unknown name is shown as written
        return name
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return f"{name} (now {_offset_text(minutes)})"


def local_date(ts: pd.Timestamp | None, timezone: str | None) -> dt.date | None:
    """The calendar date of a UTC timestamp in the store's zone (``None`` if none)."""
    if ts is None or pd.isna(ts):
        return None
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(timezone or "UTC").date()


def report_days(report: FileReport, timezone: str | None) -> tuple[dt.date | None, ...]:
    """A file's first and last day: moments in the store's zone, calendar days as
    written (a daily ad report's 1 January stays 1 January west of UTC).

    Parameters
    ----------
    report
        The file's report.
    timezone
        The store's time zone.

    Returns
    -------
    tuple
        ``(first, last)``, each ``None`` when the file has no dates.
    """
    zone = "UTC" if report.calendar_days else timezone
    return local_date(report.date_min, zone), local_date(report.date_max, zone)
