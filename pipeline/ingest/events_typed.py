"""The events CSV read straight into typed columns: the reader's fast path.

The general path reads every column as text and parses it afterwards. When the file
is UTF-8 with a header row and its first rows hold ISO 8601 times and plain numbers,
Arrow parses times and values while it reads, on every core. It also keeps the few
distinct names of the event, channel, source, medium, campaign, product and currency
columns as dictionaries, so that tidying and checking them touches each distinct name
once per block instead of every row.

The results are the general path's: the same parsers (Arrow's ISO 8601 and number
casts, which the general path tries first), the same trimming and event names. Any
file the fast path cannot take as a whole (another encoding, ragged rows, a time or
value that does not convert, a row with none of the read columns) goes to the general
path, which reads it again.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest import raw
from pipeline.ingest.base import SourceFile
from pipeline.ingest.persons import arrow_text
from pipeline.ingest.values import finite, parse_numbers, parse_timestamps
from pipeline.model import EVENT_TYPES

DICTIONARY_FIELDS = (
    "event",
    "channel",
    "source",
    "medium",
    "campaign",
    "product",
    "currency",
)
"""Fields with few distinct names, read as dictionaries."""
TEXT_FIELDS = ("channel", "source", "medium", "campaign", "product", "order_id")
"""Fields kept as written, trimmed."""
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPACE = (
    r"[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]"
)
EDGE_SPACE = f"^{_SPACE}|{_SPACE}$"
"""A value starting or ending in white space, in RE2: the characters that Python's
``str.strip`` and Arrow's ``utf8_trim_whitespace`` (pandas' ``str.strip``) remove."""


@dataclass
class Parsed:
    """Each field of every row, parsed (``NA`` where a value cannot be read)."""

    ts: pd.Series
    event: pd.Series
    known: pd.Series
    value: pd.Series
    bad_value: pd.Series
    texts: dict[str, pd.Series]


def same_text(new: object, old: object) -> bool:
    """Whether two text arrays hold the same values (and blanks) in order."""
    a, b = arrow_text(new), arrow_text(old)
    if len(a) != len(b) or a.null_count != b.null_count:
        return False
    if a.type != b.type:
        b = b.cast(a.type)
    if a.null_count and not pc.all(pc.equal(pc.is_null(a), pc.is_null(b))).as_py():
        return False
    equal = pc.all(pc.equal(a, b)).as_py()
    return equal is None or bool(equal)


def stripped(s: pd.Series) -> pd.Series:
    """``s`` with each value's surrounding white space removed; ``s`` itself when
    no value has any (a large clean column is then shared, not copied).

    Whether any value has is asked first, by Arrow's regular expressions, which
    write one bit per value instead of a trimmed copy of the column.
    """
    text = arrow_text(s)
    if text.null_count > len(text) // 2:
        text = text.drop_null()  # (a sparse column: order ids on order rows)
    if not pc.any(pc.match_substring_regex(text, EDGE_SPACE)).as_py():
        return s
    out = s.str.strip()
    if out.dtype == s.dtype and same_text(out, s):
        return s
    return out


def event_names(text: pd.Series) -> pd.Series:
    """Event names as types: ``Add to cart`` is ``add_to_cart``."""
    return text.str.strip().str.lower().str.replace(" ", "_", regex=False)


def typed_read(
    source: SourceFile, columns: dict[str, str], head: pd.DataFrame, dayfirst
) -> tuple[pd.DataFrame, Parsed] | None:
    """The events CSV's fields, read by Arrow in their types, and parsed.

    Parameters
    ----------
    source
        The file.
    columns
        Field name -> the file's column (only these are read).
    head
        The file's first rows as text (:func:`pipeline.ingest.raw.peek`): their times
        and values decide whether Arrow parses those columns while reading.
    dayfirst
        How ``a/b/yyyy`` dates are written, for times parsed after reading.

    Returns
    -------
    tuple or None
        The table of written fields (index = spreadsheet row numbers; text fields
        already trimmed) and every field parsed; ``None`` when the general path must
        read the file.
    """
    if not {"person", "timestamp", "event"} <= set(columns):
        return None  # (the general path names what is missing)
    types = _types(columns, head)
    table = raw.typed_csv(source, types)
    if table is None and any(not pa.types.is_dictionary(t) for t in types.values()):
        # a later time or value that Arrow cannot parse: read those as text
        types = {name: _text_type(t) for name, t in types.items()}
        table = raw.typed_csv(source, types)
    if table is None or _has_blank_rows(table):
        return None
    index = pd.RangeIndex(len(table)) + 2
    return _parsed(table, columns, index, dayfirst)


def _text_type(kind: pa.DataType) -> pa.DataType:
    return kind if pa.types.is_dictionary(kind) else pa.large_string()


def _types(columns: dict[str, str], head: pd.DataFrame) -> dict[str, pa.DataType]:
    """Each read column's Arrow type, times and values typed when ``head`` allows."""
    names = pa.dictionary(pa.int32(), pa.large_string())
    types = {
        column: names if field in DICTIONARY_FIELDS else pa.large_string()
        for field, column in columns.items()
    }
    if "timestamp" in columns:
        types[columns["timestamp"]] = _time_type(head.get(columns["timestamp"]))
    if "value" in columns and _casts(head.get(columns["value"]), pa.float64()):
        types[columns["value"]] = pa.float64()
    return types


def _time_type(written: pd.Series | None) -> pa.DataType:
    """UTC times when the first rows all carry an offset, plain times when none do."""
    if written is None or written.dropna().empty:
        return pa.large_string()
    if not _ISO_START.match(str(written.dropna().iloc[0])):
        return pa.large_string()  # epoch numbers, d/m/yyyy: the general parser
    for kind in (pa.timestamp("us", tz="UTC"), pa.timestamp("us")):
        if _casts(written, kind):
            return kind
    return pa.large_string()


def _casts(written: pd.Series | None, kind: pa.DataType) -> bool:
    if written is None:
        return False
    try:
        pc.cast(arrow_text(written), kind)
    except (pa.ArrowException, ValueError):
        return False
    return True


def _has_blank_rows(table: pa.Table) -> bool:
    """Whether some row holds none of the read columns (the general path decides
    whether such a row is blank, from all of the file's columns)."""
    if not table.num_columns or min(c.null_count for c in table.columns) == 0:
        return False
    blank = pc.is_null(table.column(0))
    for column in table.columns[1:]:
        blank = pc.and_(blank, pc.is_null(column))
    return bool(pc.any(blank).as_py())


def _parsed(
    table: pa.Table, columns: dict[str, str], index: pd.Index, dayfirst
) -> tuple[pd.DataFrame, Parsed]:
    """The written table and its parsed fields, dictionaries decoded in two threads."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        decoded = {
            field: pool.submit(_decoded, table.column(column), index)
            for field, column in columns.items()
            if field in DICTIONARY_FIELDS and field != "event"
        }
        events = pool.submit(_events, table.column(columns["event"]), index)
        ts = _times(table.column(columns["timestamp"]), index, dayfirst)
        value, bad_value = _values(table, columns.get("value"), index)
        texts = {field: future.result() for field, future in decoded.items()}
        event, known, written_event = events.result()

    written = {
        column: _written(table, field, column, texts, written_event, index)
        for field, column in columns.items()
        if field not in ("timestamp", "value")  # parsed: only ``parsed`` has them
    }
    frame = pd.DataFrame(written, index=index, copy=False)
    if "order_id" in columns:
        texts["order_id"] = stripped(frame[columns["order_id"]])
    texts.pop("currency", None)
    parsed = Parsed(ts, event, known, value, bad_value, texts)
    return frame, parsed


def _written(
    table: pa.Table,
    field: str,
    column: str,
    texts: dict[str, pd.Series],
    written_event: pd.Series,
    index: pd.Index,
) -> pd.Series:
    """The column as the file writes it; a dictionary field's text trimmed (the
    event's written form serves the messages on rows whose event is unknown)."""
    if field == "event":
        return written_event
    if field in texts:
        return texts[field]
    return pd.Series(pd.arrays.ArrowStringArray(table.column(column)), index=index)


def _decoded(
    column: pa.ChunkedArray, index: pd.Index, tidy=pc.utf8_trim_whitespace
) -> pd.Series:
    """A dictionary column as text, each block's distinct names tidied once."""
    chunks = [
        pc.take(tidy(chunk.dictionary), chunk.indices) for chunk in column.chunks
    ]
    text = pa.chunked_array(chunks, type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(text), index=index)


def _events(
    column: pa.ChunkedArray, index: pd.Index
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each row's event type, whether it is a known type, and the name as written.

    Each block's distinct names are made types (:func:`event_names`, in Arrow) and
    checked once; the rows take them by their codes. The written names are decoded
    only when some name is not a known type (the messages quote them); otherwise
    the types stand in for them.
    """
    types = pa.array(EVENT_TYPES, type=pa.large_string())
    events, known = [], []
    for chunk in column.chunks:
        names = chunk.dictionary
        tidied = pc.utf8_lower(pc.utf8_trim_whitespace(names))
        tidied = pc.replace_substring(tidied, " ", "_")
        typed = pc.if_else(pc.is_in(names, value_set=types), names, tidied)
        events.append(pc.take(typed, chunk.indices))
        known.append(pc.take(pc.is_in(typed, value_set=types), chunk.indices))
    event = pd.Series(
        pd.arrays.ArrowStringArray(pa.chunked_array(events, type=pa.large_string())),
        index=index,
    )
    is_known = pa.chunked_array(known, type=pa.bool_()).fill_null(False)
    is_known = pd.Series(is_known.to_numpy(), index=index)
    written = event
    if not is_known.all():
        written = _decoded(column, index, tidy=lambda names: names)
    return event, is_known, written


def _times(column: pa.ChunkedArray, index: pd.Index, dayfirst) -> pd.Series:
    """Each row's UTC time (times without an offset are UTC, as documented)."""
    if not pa.types.is_timestamp(column.type):
        ts, _ = parse_timestamps(
            pd.Series(pd.arrays.ArrowStringArray(column), index=index),
            dayfirst=dayfirst,
        )
        return ts
    utc = column.cast(pa.timestamp("us", tz="UTC"))  # (plain times: taken as UTC)
    return pd.Series(utc.to_pandas().array, index=index)  # Arrow converts in C


def _values(
    table: pa.Table, column: str | None, index: pd.Index
) -> tuple[pd.Series, pd.Series]:
    """Each row's value (``NaN`` when blank) and whether it failed to read."""
    if column is None:
        return pd.Series(np.nan, index=index), pd.Series(False, index=index)
    values = table.column(column)
    if pa.types.is_floating(values.type):
        numbers = pd.Series(values.to_numpy(), index=index)
        return finite(numbers, pd.Series(False, index=index))
    return parse_numbers(pd.Series(pd.arrays.ArrowStringArray(values), index=index))
