"""Checks on parsed values that every reader applies the same way.

Rows dated after the moment the data is loaded are kept but flagged (a typo such as
2031 for 2021 must not move "as of" years ahead: the stage engine ignores days after
today for its default), and so are rows dated before 1990 (a spreadsheet's blank
date); orders whose net value is negative are rejected (a purchase cannot be worth
less than nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from pipeline.model import FileReport, Problem


def loaded_now() -> pd.Timestamp:
    """The moment the data is loaded, in UTC: later timestamps are in the future."""
    return pd.Timestamp.now(tz="UTC")


def future_mask(ts: pd.Series, now: pd.Timestamp | None = None) -> pd.Series:
    """Which timestamps lie after ``now`` (the load time when ``None``)."""
    now = loaded_now() if now is None else now
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = pd.to_datetime(ts, utc=True)
    if ts.empty or not ts.max() > now:  # the common case, without a mask's pass
        return pd.Series(False, index=ts.index)
    return ts.gt(now).fillna(False).astype(bool)


EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")
"""Rows dated before this are flagged: no web shop sold then, and spreadsheets write
a blank date as 1900-01-01 (or 1970-01-01, from 0)."""


def flag_unlikely_dates(
    report: FileReport,
    ts: pd.Series,
    column: str,
    what: str = "row",
    now: pd.Timestamp | None = None,
) -> int:
    """Flag rows dated in the future (:func:`flag_future`) or before
    :data:`EARLIEST`; they stay loaded. Returns how many were flagged."""
    count = flag_future(report, ts, column, what, now)
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = pd.to_datetime(ts, utc=True)
    if ts.empty or not ts.min() < EARLIEST:  # the common case, without a mask's pass
        return count
    old = _flag_rows(
        report,
        ts,
        ts.lt(EARLIEST).fillna(False).to_numpy(dtype=bool),
        column,
        lambda stamp: f"dated {stamp}, before {EARLIEST.year}: the {what} is kept; "
        "check the date (a blank date saved by a spreadsheet reads 1900-01-01 or "
        "1970-01-01)",
    )
    report.notes.append(
        f"{plural(old, what)} dated before {EARLIEST.year}: kept; check "
        f"{'its date' if old == 1 else 'their dates'}"
    )
    sort_problems(report)
    return count + old


def _flag_rows(
    report: FileReport,
    ts: pd.Series,
    mask: np.ndarray,
    column: str,
    message: Callable[[str], str],
) -> int:
    """One problem per masked row, its message made from the row's day; the count."""
    for row in ts.index[mask]:
        stamp = pd.Timestamp(ts.at[row]).date().isoformat()
        report.problems.append(Problem(int(row), column, message(stamp)))
    return int(mask.sum())


def flag_future(
    report: FileReport,
    ts: pd.Series,
    column: str,
    what: str = "row",
    now: pd.Timestamp | None = None,
) -> int:
    """Flag rows dated after the load time; they stay loaded.

    Parameters
    ----------
    report
        The file's report: one :class:`~pipeline.model.Problem` per future row is
        appended, and one note naming the count.
    ts
        Parsed UTC timestamps, indexed by the file's row numbers.
    column
        The file's date column, as its header writes it.
    what
        What a row is ("order", "event"), for the messages.
    now
        The load time; :func:`loaded_now` when ``None``.

    Returns
    -------
    int
        How many rows are dated in the future.
    """
    now = loaded_now() if now is None else now
    today = now.date().isoformat()
    count = _flag_rows(
        report,
        ts,
        future_mask(ts, now).to_numpy(dtype=bool),
        column,
        lambda stamp: f"dated in the future ({stamp}, after {today}, the day the "
        f"data was loaded): the {what} is kept but \"as of\" ignores it; check the "
        "date",
    )
    if count:
        one = count == 1
        report.notes.append(
            f"{plural(count, what)} dated after {today} (the day the data was "
            f"loaded): kept, but the default \"as of\" day ignores "
            f"{'it; check its date' if one else 'them; check their dates'}"
        )
    return count


def sort_problems(report: FileReport) -> None:
    """Order a report's problems by row (whole-file problems first)."""
    report.problems.sort(key=lambda p: (-1 if p.row is None else p.row))


HEADER_ONLY = "has a header and no rows"
"""The words of the note on a file with a header and no data rows."""


def note_header_only(report: FileReport) -> bool:
    """Note on a file that has a header and no data rows; whether it has none."""
    if report.rows_read:
        return False
    report.notes.append(
        f"the file {HEADER_ONLY}: export it again for a date range that holds data"
    )
    return True


def plural(count: int, noun: str, many: str | None = None) -> str:
    """A count with its noun: ``plural(1, "row") == "1 row"``, ``"3 rows"``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {many or noun + 's'}"


def rows_left_out(count: int) -> str:
    """``"the order's 1 row was left out"`` or ``"... 3 rows were left out"``."""
    verb = "was" if count == 1 else "were"
    return f"the order's {plural(count, 'row')} {verb} left out"


def flag_unreadable_emails(
    report: FileReport, written: pd.Series, email: pd.Series, column: str
) -> int:
    """Flag cells that hold text but no email; the rows stay, without an email.

    Parameters
    ----------
    report
        The file's report: one :class:`~pipeline.model.Problem` per such cell.
    written
        The column as the file writes it, indexed by the file's row numbers.
    email
        The same column after :func:`pipeline.ingest.values.normalise_email`.
    column
        The column's name in the file's header.

    Returns
    -------
    int
        How many cells were flagged.
    """
    text = written.astype("string").str.strip()
    has_text = text.fillna("").ne("").to_numpy(dtype=bool)
    lost = has_text & pd.isna(email).to_numpy(dtype=bool)
    for row in written.index[lost]:
        report.problems.append(
            Problem(
                int(row),
                column,
                f"{str(written.at[row])[:60]!r} is not an email: the row is kept "
                "without one; correct the address in the source and export again",
            )
        )
    return int(lost.sum())
