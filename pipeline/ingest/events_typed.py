"""The events CSV read straight into typed columns: the reader's fast path.

The general path reads every column as text and parses it afterwards. When the file
is UTF-8 with a header row and its first rows hold ISO 8601 times and plain numbers,
Arrow parses times and values while it reads, on every core. It also keeps the few
distinct event names as dictionaries, so that tidying and checking them touches each
distinct name once per block instead of every row. Other text is read as text: whether
any value needs trimming is told from the first and last byte of each value.

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
from pipeline.ingest.values import (
    finite,
    parse_amounts,
    parse_timestamps,
    written_currency,
)
from pipeline.model import EVENT_TYPES

DICTIONARY_FIELDS = ("event",)
"""Fields with few distinct names, read as dictionaries. (Channels, campaigns and
products are read as text: decoding their dictionaries cost more than it saved.)"""
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
_SPACE_BYTE, _LONGER_BYTE = 1, 2
_EDGE_BYTE = np.zeros(256, dtype=np.uint8)
_EDGE_BYTE[[*range(0x09, 0x0E), *range(0x1C, 0x21)]] = _SPACE_BYTE
_EDGE_BYTE[0x80:] = _LONGER_BYTE  # (a byte of a character written in several)


@dataclass
class Parsed:
    """Each field of every row, parsed (``NA`` where a value cannot be read)."""

    ts: pd.Series
    event: pd.Series
    known: pd.Series
    value: pd.Series
    bad_value: pd.Series
    texts: dict[str, pd.Series]
    currency: pd.Series | None = None
    """The currency each written value names (``€99``), when values are text."""


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

    Whether any value has is asked first, from the first and last byte of each
    value, instead of making a trimmed copy of the column.
    """
    if not any(_edge_space(chunk) for chunk in arrow_text(s).chunks):
        return s
    out = s.str.strip()
    if out.dtype == s.dtype and same_text(out, s):
        return s
    return out


def _edge_space(chunk: pa.Array) -> bool:
    """Whether some value of a text block starts or ends in white space.

    The first and last byte of every value are looked up in a table of bytes: an
    ASCII space answers at once; only values whose edge byte belongs to a longer
    character (a no-break space, say) are asked of RE2.
    """
    width = {pa.large_string(): np.int64, pa.string(): np.int32}.get(chunk.type)
    if not len(chunk) or width is None:
        return bool(pc.any(pc.match_substring_regex(chunk, EDGE_SPACE)).as_py())
    _, offsets, data = chunk.buffers()
    if data is None or not data.size:
        return False  # (every value empty or blank)
    offsets = np.frombuffer(offsets, dtype=width)
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data, dtype=np.uint8)
    first = np.take(data, offsets[:-1], mode="clip")
    last = np.take(data, offsets[1:] - 1, mode="clip")
    edges = np.take(_EDGE_BYTE, first) | np.take(_EDGE_BYTE, last)
    filled = offsets[1:] > offsets[:-1]  # (an empty value has no edge bytes)
    found = np.bitwise_or.reduce(edges, where=filled, initial=0)
    if found & _SPACE_BYTE or not found & _LONGER_BYTE:
        return bool(found & _SPACE_BYTE)
    unsure = pc.filter(chunk, pa.array(filled & (edges & _LONGER_BYTE > 0)))
    return bool(pc.any(pc.match_substring_regex(unsure, EDGE_SPACE)).as_py())


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
    """The written table and its parsed fields, in two threads."""
    text = {
        field: _text(table.column(column), index)
        for field, column in columns.items()
        if field not in ("timestamp", "value", "event")  # (parsed while read)
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        events = pool.submit(_events, table.column(columns["event"]), index)
        trimmed = {
            field: pool.submit(stripped, text[field])
            for field in TEXT_FIELDS
            if field in text
        }
        ts = _times(table.column(columns["timestamp"]), index, dayfirst)
        value, bad_value, currency = _values(table, columns.get("value"), index)
        texts = {field: future.result() for field, future in trimmed.items()}
        event, known, text["event"] = events.result()

    written = {
        column: text[field]
        for field, column in columns.items()
        if field not in ("timestamp", "value")  # parsed: only ``parsed`` has them
    }
    frame = pd.DataFrame(written, index=index, copy=False)
    parsed = Parsed(ts, event, known, value, bad_value, texts, currency)
    return frame, parsed


def _text(column: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A text column as pandas text, sharing Arrow's buffers."""
    return pd.Series(pd.arrays.ArrowStringArray(column), index=index)


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
    event = _text(pa.chunked_array(events, type=pa.large_string()), index)
    is_known = pa.chunked_array(known, type=pa.bool_()).fill_null(False)
    is_known = pd.Series(is_known.to_numpy(), index=index)
    written = event
    if not is_known.all():
        written = _text(column.cast(pa.large_string()), index)
    return event, is_known, written


def _times(column: pa.ChunkedArray, index: pd.Index, dayfirst) -> pd.Series:
    """Each row's UTC time (times without an offset are UTC, as documented)."""
    if not pa.types.is_timestamp(column.type):
        ts, _ = parse_timestamps(_text(column, index), dayfirst=dayfirst)
        return ts
    utc = column.cast(pa.timestamp("us", tz="UTC"))  # (plain times: taken as UTC)
    return pd.Series(utc.to_pandas().array, index=index)  # Arrow converts in C


def _values(
    table: pa.Table, column: str | None, index: pd.Index
) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """Each row's value (``NaN`` when blank), whether it failed to read, and the
    currency it names when values are written as text."""
    if column is None:
        return pd.Series(np.nan, index=index), pd.Series(False, index=index), None
    values = table.column(column)
    if pa.types.is_floating(values.type):
        numbers = pd.Series(values.to_numpy(), index=index)
        return *finite(numbers, pd.Series(False, index=index)), None
    text = _text(values, index)
    return *parse_amounts(text), written_currency(text)
