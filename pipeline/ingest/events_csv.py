"""The generic events CSV, documented in the README, and the core that reads it.

Columns (names in any case and order; extra columns are ignored)::

    person,timestamp,event,channel,campaign,product,order_id,value

plus optional ``source`` and ``medium``. ``person`` is an email, a phone with its
country code, or any id (keyed ``id:<id>`` unless it carries a prefix such as
``ga4:``); ``timestamp`` is ISO 8601, UTC when it has no offset; ``event`` one of
:data:`pipeline.model.EVENT_TYPES`; ``value`` the net amount in the store's currency.
Rows with ``event=order`` are orders too (status purchase). One ``order_id`` seen
twice in a file is one order: the later rows count as duplicates (and across files,
the merge does the same).

:func:`events_from_table` is shared with the column-mapping reader.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.ingest.checks import flag_future, note_header_only, sort_problems
from pipeline.ingest.identity import person_key
from pipeline.ingest.values import (
    AMBIGUOUS_NOTE,
    parse_numbers,
    parse_timestamps,
)
from pipeline.model import EVENT_TYPES, TS, FileReport, Problem

logger = logging.getLogger(__name__)

FIELDS = (
    "person",
    "timestamp",
    "event",
    "channel",
    "source",
    "medium",
    "campaign",
    "product",
    "order_id",
    "value",
    "currency",
)
REQUIRED = ("person", "timestamp", "event")
MAX_PROBLEMS = 1000
"""Problems listed per file; further rejected rows are counted, not listed."""


def _field_name(column: object) -> str:
    """A header cell as a field name: ``Order ID`` and ``order-id`` are ``order_id``."""
    return re.sub(r"[\s\-]+", "_", str(column).strip().lower())


def score(source: SourceFile) -> float:
    """Score for the events CSV: its three required columns in the header."""
    cols = {_field_name(c) for c in raw.peek(source).columns}
    if not all(c in cols for c in REQUIRED):
        return 0.0
    optional = sum(c in cols for c in FIELDS if c not in REQUIRED)
    return 0.85 + 0.1 * optional / (len(FIELDS) - len(REQUIRED))


def _keys(person: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """``person_id`` of each row, worked out once per distinct person value.

    Returns the rows' keys, each row's code into the distinct values (-1 for
    blanks) and the key of each distinct value.
    """
    codes, uniques = pd.factorize(person, use_na_sentinel=True)
    if not len(uniques):
        empty = pd.Series(dtype="string")
        return pd.Series(pd.NA, index=person.index, dtype="string"), codes, empty
    text = pd.Series(uniques, dtype="string").str.strip()
    # pandas' str.fullmatch runs in Python value by value: only on values with a +
    plus = text.str.startswith("+").fillna(False).astype(bool)
    phone_like = pd.Series(False, index=text.index)
    if plus.any():
        phone_like[plus] = text[plus].str.fullmatch(r"\+[\d\s().\-]{7,}", na=False)
    keys = person_key(text, text.where(phone_like), text, platform="id")
    if _same_text(keys, uniques):
        # every key is the value as written (the common case): share the column
        return person.astype("string"), codes, keys
    return _take_strings(keys, codes, person.index), codes, keys


def _arrow_text(values: object) -> pa.ChunkedArray:
    """A text array as Arrow, without copying when it already is Arrow."""
    array = (
        pd.array(values, dtype="string")
        if not isinstance(values, pd.Series)
        else (
            values.array if values.dtype == "string" else values.astype("string").array
        )
    )
    data = getattr(array, "_pa_array", None)
    if data is None:
        data = pa.chunked_array(
            [pa.array(array, type=pa.large_string(), from_pandas=True)]
        )
    return data


def _same_text(new: object, old: object) -> bool:
    """Whether two text arrays hold the same values (and blanks) in order."""
    a, b = _arrow_text(new), _arrow_text(old)
    if len(a) != len(b) or a.null_count != b.null_count:
        return False
    if a.type != b.type:
        b = b.cast(a.type)
    if a.null_count and not pc.all(pc.equal(pc.is_null(a), pc.is_null(b))).as_py():
        return False
    equal = pc.all(pc.equal(a, b)).as_py()
    return equal is None or bool(equal)


def _tidied(s: pd.Series, tidy) -> pd.Series:
    """``tidy(s)`` (a text transform), or ``s`` itself when it changes nothing.

    Large columns usually come clean; sharing the column then saves a copy of it.
    """
    out = tidy(s)
    if out.dtype == s.dtype and _same_text(out, s):
        return s
    return out


def _take_strings(values: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``values[codes]`` as a text column (``NA`` where a code is -1), in Arrow."""
    table = pa.array(values.array, type=pa.string(), from_pandas=True)
    positions = pa.array(codes, mask=codes < 0, type=pa.int64())
    taken = pc.take(table, positions)
    return pd.Series(pd.arrays.ArrowStringArray(taken), index=index, dtype="string")


def _add_problems(
    report: FileReport, rows: pd.Index, column: str, message: str
) -> None:
    room = max(MAX_PROBLEMS - len(report.problems), 0)
    for row in rows[:room]:
        report.problems.append(Problem(int(row), column, message))


def _add_event_problems(report: FileReport, values: pd.Series, column: str) -> None:
    """One problem per row whose event is not a known type, quoting the value."""
    room = max(MAX_PROBLEMS - len(report.problems), 0)
    for row, text in values.iloc[:room].items():
        what = (
            "no event" if pd.isna(text) else f"{str(text)[:60]!r} is not an event type"
        )
        report.problems.append(
            Problem(int(row), column, f"{what}: use one of " + ", ".join(EVENT_TYPES))
        )


def events_from_table(
    frame: pd.DataFrame,
    columns: dict[str, str],
    constants: dict[str, str],
    report: FileReport,
    context: ReadContext,
    file: str,
) -> ReadResult:
    """Events (and orders for ``event=order``) from a text table.

    Parameters
    ----------
    frame
        The table from :func:`pipeline.ingest.raw.read_table` (index = spreadsheet
        row numbers).
    columns
        Field name (``person``, ``timestamp``, ...) -> the table's column.
    constants
        Field name -> a value for every row (``{"event": "order"}``).
    report
        The file's report; rows are accounted into it.
    context
        Reading settings (time zone for naive times is UTC, as documented).
    file
        The file's name.
    """
    n = len(frame)

    def field(name: str) -> pd.Series:
        if name in columns:
            return frame[columns[name]]
        if name in constants:
            return pd.Series(constants[name], index=frame.index, dtype="string")
        return pd.Series(pd.NA, index=frame.index, dtype="string")

    def stripped(name: str) -> pd.Series:
        if name not in columns and name not in constants:
            return field(name)
        return _tidied(field(name), lambda s: s.str.strip())

    # person, time, event: each required, each rejection named
    person, codes, unique_keys = _keys(field("person"))
    ts, bad_ts = parse_timestamps(field("timestamp"), dayfirst=context.dayfirst)
    event = _tidied(
        field("event"),
        lambda s: s.str.strip().str.lower().str.replace(" ", "_", regex=False),
    )
    known = event.isin(EVENT_TYPES).fillna(False).astype(bool)
    value, bad_value = parse_numbers(field("value"))
    if context.dayfirst is None and ts.attrs.get("ambiguous_dayfirst"):
        column = columns.get("timestamp", "timestamp")
        report.meta["ambiguous_dates"] = column
        report.notes.append(AMBIGUOUS_NOTE.format(column=column))

    reject = pd.Series(False, index=frame.index)
    checks = (
        (person.isna(), "person", "no person: give an email, phone or id"),
        (
            ts.isna(),
            "timestamp",
            "no readable time: write it as ISO 8601 (2024-03-05T14:30:00Z)",
        ),
        (~known, "event", ""),  # the message quotes each row's value, below
        (bad_value, "value", "the value is not a number"),
        (
            (event == "order").fillna(False).astype(bool)
            & value.lt(0).fillna(False).astype(bool),
            "value",
            "an order's value is negative: a purchase is worth 0 or more; write the "
            "order's net amount (after refunds) as its value, then upload again",
        ),
    )
    for mask, name, message in checks:
        mask = mask.fillna(True).astype(bool) & ~reject
        if mask.any() and name == "event":
            _add_event_problems(report, field("event")[mask], columns.get(name, name))
        elif mask.any():
            _add_problems(report, frame.index[mask], columns.get(name, name), message)
        reject |= mask
    report.rows_rejected += int(reject.sum())

    order_id = stripped("order_id")
    is_order = (event == "order").fillna(False).astype(bool) & ~reject
    # an order row without an id gets a stable one: file and row
    unnamed = is_order & order_id.isna()
    if unnamed.any():
        rows = pd.Series(frame.index[unnamed].astype(str), index=frame.index[unnamed])
        order_id = order_id.mask(unnamed, file + ":row" + rows)
    repeat = pd.Series(False, index=frame.index)
    repeat[is_order] = order_id[is_order].duplicated(keep="first").to_numpy()
    report.rows_duplicate += int(repeat.sum())
    report.rows_loaded += n - int(reject.sum()) - int(repeat.sum())
    keep = ~reject & ~repeat

    events = pd.DataFrame(
        {
            "person_id": person,
            "ts": ts,
            "event": event,
            "channel": stripped("channel"),
            "source": stripped("source"),
            "medium": stripped("medium"),
            "campaign": stripped("campaign"),
            "product": stripped("product"),
            "order_id": order_id,
            "value": value,
            "source_file": file,
        },
        copy=False,  # share the table's columns rather than copy every one
    )
    if not keep.all():
        events = events[keep.to_numpy()]

    orders = None
    order_rows = events["event"] == "order"
    if order_rows.any():
        o = events[order_rows.to_numpy()]
        orders = pd.DataFrame(
            {
                "order_id": o["order_id"],
                "order_name": o["order_id"],
                "store": file,
                "person_id": o["person_id"],
                "ts": o["ts"],
                "total": o["value"],
                "refunded": 0.0,
                "net_value": o["value"],
                "currency": field("currency")[keep & is_order].str.upper(),
                "status": "purchase",
                "is_purchase": True,
                "source_file": file,
            }
        )

    if len(events):
        report.date_min = events["ts"].min()
        report.date_max = events["ts"].max()
    flag_future(report, events["ts"], columns.get("timestamp", "timestamp"), "event")
    sort_problems(report)
    people = _people(events["ts"], codes[keep.to_numpy()], unique_keys, file)
    return ReadResult(report, people=people, events=events, orders=orders)


def _people(
    ts: pd.Series, codes: np.ndarray, unique_keys: pd.Series, file: str
) -> pd.DataFrame:
    """One row per person of the events, first seen at their earliest event.

    ``codes`` index each event's person in ``unique_keys`` (-1: no person).
    """
    known = codes >= 0
    stamps = ts.astype(TS).array.asi8[known]
    first = pd.Series(stamps).groupby(codes[known], sort=False).min()
    people = pd.DataFrame(
        {
            "person_id": unique_keys.iloc[first.index.to_numpy()].to_numpy(),
            "first_seen": pd.to_datetime(first.to_numpy(), unit="us", utc=True),
        }
    ).dropna(subset=["person_id"])
    people = people.groupby("person_id", as_index=False)["first_seen"].min()
    people["first_seen"] = people["first_seen"].astype(TS)
    key = people["person_id"].astype("string")
    people["email"] = key.where(key.str.contains("@", regex=False))
    people["phone"] = key.where(key.str.startswith("tel:")).str.slice(4)
    people["source_file"] = file
    return people


def read(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read the documented events CSV."""
    frame = raw.read_table(source)
    # a large file's text and the CSV parser's scratch buffers are not needed now
    raw.release_text(source)
    pa.default_memory_pool().release_unused()
    report = FileReport(file=source.name, kind="events_csv")
    report.rows_read = raw.rows_read(frame)
    note_header_only(report)
    report.problems.extend(raw.table_problems(frame))
    report.rows_rejected += len(report.problems)
    lower = {_field_name(c): c for c in frame.columns}
    columns = {name: lower[name] for name in FIELDS if name in lower}
    return events_from_table(frame, columns, {}, report, context, source.name)


register(
    "events_csv",
    score,
    read,
    "events CSV (person, timestamp, event, channel, campaign, product, order_id, "
    "value)",
)
