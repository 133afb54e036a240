"""The data model that every reader produces and every analysis consumes.

Five tables hold what users upload, all as pandas DataFrames with fixed columns:

``people``
    One row per person. ``person_id`` is the stable key: a normalised email
    (``ann@example.com``), else ``tel:+E164``, else a platform id with its prefix
    (``ga4:<pseudo id>``, ``shopify:<customer id>``, ``id:<other>``). A person with an
    email or phone is at least a *captured* lead; one known only by a platform
    pseudo id is *awareness* traffic.
``events``
    One row per thing a person did, at a UTC timestamp, with a canonical ``event``
    type from :data:`EVENT_TYPES`. Purchases appear here as ``order`` events with
    their net value (only orders that count as purchases).
``orders``
    One row per order, deduplicated across files, *including* orders that are not
    purchases (test, voided, cancelled, fully refunded), whose ``status`` says why,
    so that every exclusion can be counted and shown.
``aggregates``
    Channel aggregates from reports that have no people (GA4 UI reports), in long
    form: one row per report table, period, dimension value and metric.
``spend``
    Ad spend by date, channel and campaign.
``claims``
    Figures that tools report about themselves (Klaviyo's attributed revenue), kept
    as reported claims in long form, never added up as revenue.

Timestamps are ``datetime64[us, UTC]``. Days, weeks and "as of" dates are taken in
the store's time zone, :attr:`Dataset.timezone`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

EVENT_TYPES: tuple[str, ...] = (
    "session",
    "page_view",
    "product_view",
    "sizing_view",
    "wishlist_add",
    "add_to_cart",
    "checkout_started",
    "order",
    "signup",
    "email_open",
    "email_click",
    "sms_click",
    "ad_click",
    "email_delivered",
    "sms_delivered",
)
"""Canonical event types. The last two are optional delivery receipts."""

STAGES: tuple[str, ...] = (
    "awareness",
    "captured",
    "engaged",
    "purchase_intent",
    "customer",
)
"""Pipeline stages, lowest first. ``customer`` splits into first-time and repeat."""

ORDER_STATUSES: tuple[str, ...] = (
    "purchase",
    "test",
    "voided",
    "cancelled",
    "refunded",
)
"""``purchase`` counts; every other status is an order kept only to be counted."""

TS = "datetime64[us, UTC]"

PEOPLE_COLUMNS: dict[str, str] = {
    "person_id": "string",
    "email": "string",
    "phone": "string",
    "first_seen": TS,
    "signup_source": "string",
    "consent_email": "boolean",
    "consent_sms": "boolean",
    "source_file": "string",
}

EVENT_COLUMNS: dict[str, str] = {
    "person_id": "string",
    "ts": TS,
    "event": "string",
    "channel": "string",
    "source": "string",
    "medium": "string",
    "campaign": "string",
    "product": "string",
    "order_id": "string",
    "value": "float64",
    "source_file": "category",
}

ORDER_COLUMNS: dict[str, str] = {
    "order_id": "string",
    "order_name": "string",
    "store": "string",
    "person_id": "string",
    "ts": TS,
    "total": "float64",
    "refunded": "float64",
    "net_value": "float64",
    "currency": "string",
    "status": "string",
    "is_purchase": "boolean",
    "source_file": "category",
}

AGGREGATE_COLUMNS: dict[str, str] = {
    "report": "string",
    "table": "string",
    "period_start": TS,
    "period_end": TS,
    "dimension": "string",
    "channel": "string",
    "metric": "string",
    "value": "float64",
    "source_file": "string",
}

SPEND_COLUMNS: dict[str, str] = {
    "date": TS,
    "platform": "string",
    "channel": "string",
    "campaign": "string",
    "spend": "float64",
    "currency": "string",
    "source_file": "string",
}

CLAIM_COLUMNS: dict[str, str] = {
    "tool": "string",
    "period_start": TS,
    "period_end": TS,
    "group": "string",
    "message": "string",
    "channel": "string",
    "metric": "string",
    "value": "float64",
    "source_file": "string",
}


class InputError(ValueError):
    """Bad input, said so a person can fix it: the file, row and column, and what to do.

    Parameters
    ----------
    message
        What is wrong and what to do about it.
    file, row, column
        Where. ``row`` is the 1-based line number in the file as a spreadsheet shows
        it (the header is row 1), or ``None`` when the problem is the whole file.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = message
        where = ", ".join(
            part
            for part in (
                f"file {file!r}" if file else "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


@dataclass
class Problem:
    """One rejected or doubtful row: where it is and why."""

    row: int | None
    column: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class FileReport:
    """Where every row of one uploaded file went.

    ``rows_read == rows_loaded + rows_excluded + rows_duplicate + rows_rejected``
    always holds (checked by :meth:`check`).
    """

    file: str
    kind: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_excluded: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    excluded_by: dict[str, int] = field(default_factory=dict)
    date_min: pd.Timestamp | None = None
    date_max: pd.Timestamp | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calendar_days: bool = False
    """Whether ``date_min``/``date_max`` are calendar days (a report by day, kept at
    UTC midnight), not moments: shown as written, never moved to the store's zone."""

    def check(self) -> None:
        """Raise ``AssertionError`` if the row accounting does not add up."""
        parts = (
            self.rows_loaded
            + self.rows_excluded
            + self.rows_duplicate
            + self.rows_rejected
        )
        assert self.rows_read == parts, (
            f"{self.file}: {self.rows_read} rows read but {parts} accounted for"
        )

    def to_dict(self) -> dict[str, Any]:
        """The shape printed by ``python -m pipeline inspect --json``."""
        return {
            "file": self.file,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_excluded": self.rows_excluded,
            "rows_duplicate": self.rows_duplicate,
            "rows_rejected": self.rows_rejected,
            "problems": [p.to_dict() for p in self.problems],
        }


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty table with the model's columns and dtypes."""
    return pd.DataFrame(
        {name: pd.Series(dtype=dtype) for name, dtype in columns.items()}
    )


def file_column(file: str, index: pd.Index) -> pd.Series:
    """The ``source_file`` column of rows that all come from ``file``.

    A category: a large file's rows then share one copy of the name.

    Parameters
    ----------
    file
        The file's name.
    index
        The table's index.
    """
    codes = np.zeros(len(index), dtype=np.int8)
    return pd.Series(pd.Categorical.from_codes(codes, categories=[file]), index=index)


def _same_dtype(have: Any, want: str) -> bool:
    """Whether a column's dtype is the model's (any categories for ``category``)."""
    if want == "category":
        return isinstance(have, pd.CategoricalDtype)
    return have == pd.api.types.pandas_dtype(want)


def conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Return ``frame`` with exactly the model's columns, in order and in their dtypes.

    Missing columns are added empty; extra columns are dropped.
    """
    out = pd.DataFrame(index=frame.index)
    for name, dtype in columns.items():
        if name in frame:
            col = frame[name]
            if _same_dtype(col.dtype, dtype):
                out[name] = col  # already right: shared, not converted
                continue
            if dtype == TS:
                col = pd.to_datetime(col, utc=True).astype(TS)
            out[name] = col.astype(dtype)
        else:
            out[name] = pd.Series(None, index=frame.index, dtype=dtype)
    return out.reset_index(drop=True)


@dataclass
class Dataset:
    """Everything loaded from one upload, in the model's tables, with its accounting."""

    people: pd.DataFrame = field(default_factory=lambda: empty_frame(PEOPLE_COLUMNS))
    events: pd.DataFrame = field(default_factory=lambda: empty_frame(EVENT_COLUMNS))
    orders: pd.DataFrame = field(default_factory=lambda: empty_frame(ORDER_COLUMNS))
    aggregates: pd.DataFrame = field(
        default_factory=lambda: empty_frame(AGGREGATE_COLUMNS)
    )
    spend: pd.DataFrame = field(default_factory=lambda: empty_frame(SPEND_COLUMNS))
    claims: pd.DataFrame = field(default_factory=lambda: empty_frame(CLAIM_COLUMNS))
    reports: list[FileReport] = field(default_factory=list)
    timezone: str = "UTC"
    notes: list[str] = field(default_factory=list)

    def purchases(self) -> pd.DataFrame:
        """Orders that count as purchases."""
        return self.orders[self.orders["is_purchase"].fillna(False)]

    def up_to(self, as_of: Any) -> Dataset:
        """A copy holding only the events and orders dated up to the end of the
        local day ``as_of`` (undated rows stay); other tables are shared.

        Parameters
        ----------
        as_of
            A day (``datetime.date`` or ISO text), in :attr:`timezone`.
        """
        day = pd.Timestamp(as_of).tz_localize(None).normalize()
        end = (day + pd.Timedelta(days=1)).tz_localize(self.timezone or "UTC")

        def kept(frame: pd.DataFrame) -> pd.DataFrame:
            late = frame["ts"].notna() & (frame["ts"] >= end)
            return frame if not late.any() else frame[~late].reset_index(drop=True)

        return replace(self, events=kept(self.events), orders=kept(self.orders))


def json_safe(value: Any) -> Any:
    """Turn NaN, NA and numpy scalars into JSON values; JSON never holds NaN."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
