"""The persons of a large events table: each distinct value, its key and first time.

A person column of millions of rows is grouped once, in DuckDB through ibis (on every
core); keys are then worked out per distinct value (:mod:`pipeline.ingest.identity`),
and a row's ``person_id`` is looked up only where its value's key differs from it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import eventlayer
from pipeline.ingest.identity import person_key
from pipeline.model import TS

NO_TIME = np.iinfo(np.int64).min
"""Microseconds of a missing time (``NaT``)."""
SPLIT_VALUES = 100_000
"""From twice this many distinct values, keys are worked out in two threads."""


def arrow_text(values: object) -> pa.ChunkedArray:
    """A text array as Arrow, without copying when it already is Arrow.

    Parameters
    ----------
    values
        A pandas column or any sequence of text.

    Returns
    -------
    pyarrow.ChunkedArray
        The same values (``large_string`` when converted).
    """
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


def member_of(values: pd.Series, options: list[str] | tuple[str, ...]) -> np.ndarray:
    """Which values are one of ``options``, hashed by Arrow (blank: ``False``).

    Parameters
    ----------
    values
        A text column.
    options
        The values looked for.

    Returns
    -------
    numpy.ndarray
        One bool per value.
    """
    found = pc.is_in(arrow_text(values), value_set=pa.array(list(options), pa.string()))
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def person_keys(values: pa.Array) -> pd.Series:
    """The ``person_id`` of each distinct person value.

    Parameters
    ----------
    values
        Distinct values of a person column as written (an email, a phone with its
        country code, or any id).

    Returns
    -------
    pandas.Series
        One key per value (:func:`pipeline.ingest.identity.person_key`); ``NA``
        where the value names nobody (blank, ``(not set)``).
    """
    if len(values) >= 2 * SPLIT_VALUES:  # (Arrow's kernels free the GIL)
        half = len(values) // 2
        with ThreadPoolExecutor(max_workers=2) as pool:
            parts = pool.map(_keys, [values[:half], values[half:]])
            first, second = parts
        return pd.concat([first, second.set_axis(second.index + half)])
    return _keys(values)


def _keys(values: pa.Array) -> pd.Series:
    text = pd.Series(pd.arrays.ArrowStringArray(values), dtype="string").str.strip()
    # pandas' str.fullmatch runs in Python value by value: only on values with a +
    plus = text.str.startswith("+").fillna(False).astype(bool)
    phone_like = pd.Series(False, index=text.index)
    if plus.any():
        phone_like[plus] = text[plus].str.fullmatch(r"\+[\d\s().\-]{7,}", na=False)
    return person_key(text, text.where(phone_like), text, platform="id")


def first_times(
    written: pd.Series, ts: pd.Series, keep: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Each distinct person value and its earliest time among the kept rows.

    One group-by in DuckDB (through ibis), on every core; a value whose rows are
    all left out has no time (the smallest int64). Values come in the order the
    file first names them.

    Parameters
    ----------
    written
        The person column as written.
    ts
        Each row's time (UTC).
    keep
        Which rows count (rejected and repeated rows do not).

    Returns
    -------
    tuple
        The distinct values (``None`` among them for blank cells) and each one's
        first time in microseconds since the epoch.
    """
    stamps = ts.astype(TS).array.asi8
    left_out = ~keep | (stamps == NO_TIME)
    table = ibis.memtable(
        pa.table(
            {
                "person": arrow_text(written),
                # (shared with the column when no row is left out)
                "ts": pa.array(stamps, mask=left_out if left_out.any() else None),
                "row": np.arange(len(stamps), dtype=_row_type(len(stamps))),
            }
        )
    )
    grouped = table.group_by("person").aggregate(
        first=table.ts.min(), first_row=table.row.min()
    )
    found = eventlayer.connect().to_pyarrow(grouped)
    # in the file's order, run after run (numpy sorts the row numbers alone)
    order = pa.array(np.argsort(found.column("first_row").to_numpy(), kind="stable"))
    first = found.column("first").take(order).fill_null(NO_TIME).to_numpy()
    values = found.column("person").take(order).combine_chunks()
    return values.cast(pa.large_string()), first


def _row_type(rows: int) -> type:
    """The smallest integer type that numbers ``rows`` rows."""
    return np.int32 if rows < 2**31 else np.int64


def person_ids(written: pd.Series, values: pa.Array, keys: pd.Series) -> pd.Series:
    """Each row's ``person_id`` from its value's key.

    When every key is its value as written (the common case) the column is shared;
    otherwise only the rows whose value changed are looked up.

    Parameters
    ----------
    written
        The person column as written.
    values, keys
        Its distinct values (:func:`first_times`) and their keys
        (:func:`person_keys`).

    Returns
    -------
    pandas.Series
        Text, indexed like ``written``.
    """
    changed = rewritten(values, keys)
    if not len(changed):
        return written.astype("string")
    text = pa.array(keys.array, type=values.type, from_pandas=True)
    column = arrow_text(written)
    position = pc.index_in(column, value_set=values.take(pa.array(changed)))
    swapped = pc.take(text.take(pa.array(changed)), position)
    out = pc.if_else(pc.is_null(position), column, swapped)
    return pd.Series(pd.arrays.ArrowStringArray(out), index=written.index)


def rewritten(values: pa.Array, keys: pd.Series) -> np.ndarray:
    """Positions of the distinct values whose key is not the value as written.

    Parameters
    ----------
    values, keys
        Distinct person values (:func:`first_times`) and their keys
        (:func:`person_keys`).

    Returns
    -------
    numpy.ndarray
        Positions, ascending; empty when every named value is its own key (the keys
        are then as distinct as the values).
    """
    named = keys.notna().to_numpy()
    text = pa.array(keys.array, type=values.type, from_pandas=True)
    same = pc.equal(text, values).fill_null(False).to_numpy(zero_copy_only=False)
    return np.flatnonzero(named & ~same)


def all_distinct(values: pa.ChunkedArray) -> bool:
    """Whether no value appears twice (blanks included), counted by DuckDB.

    DuckDB counts a large column's distinct values on every core, in about a third
    of pandas' time on a first call.

    Parameters
    ----------
    values
        A text column (an events file's order ids, say).
    """
    table = ibis.memtable(pa.table({"value": values}))
    counts = table.aggregate(rows=table.count(), distinct=table.value.nunique())
    found = eventlayer.connect().to_pyarrow(counts).to_pylist()[0]
    blank = 1 if values.null_count else 0  # (DuckDB counts no blank as a value)
    return found["rows"] == found["distinct"] + blank
