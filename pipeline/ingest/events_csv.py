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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.ingest.checks import flag_unlikely_dates, sort_problems
from pipeline.ingest.events_typed import (
    TEXT_FIELDS,
    Parsed,
    event_names,
    stripped,
    typed_read,
)
from pipeline.ingest.persons import (
    NO_TIME,
    all_distinct,
    arrow_text,
    first_times,
    member_of,
    person_ids,
    person_keys,
    rewritten,
)
from pipeline.ingest.values import (
    order_notes,
    parse_amounts,
    parse_timestamps,
    written_currency,
)
from pipeline.model import EVENT_TYPES, TS, FileReport, Problem, file_column

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


def _event_types(written: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Event names as types (``Add to cart`` is ``add_to_cart``), and which are known.

    Only names that are not already a type are tidied: a large file written in the
    documented names is shared as it is.
    """
    known = pd.Series(member_of(written, EVENT_TYPES), index=written.index)
    if known.all():
        return written.astype("string"), known
    tidied = event_names(written[~known])
    event = written.astype("string").mask(~known, tidied)
    return event, event.isin(EVENT_TYPES).fillna(False).astype(bool)


def _blank(index: pd.Index) -> pd.Series:
    """A text column with no value at all.

    Its offsets and validity are numpy zeros, which the system hands out as
    untouched pages: a blank column of a large file costs no time to build.
    """
    rows = len(index)
    nulls = pa.LargeStringArray.from_buffers(
        rows,
        pa.py_buffer(np.zeros(rows + 1, dtype=np.int64)),
        pa.py_buffer(b""),
        pa.py_buffer(np.zeros((rows + 7) // 8, dtype=np.uint8)),
        null_count=rows,
    )
    return pd.Series(
        pd.arrays.ArrowStringArray(pa.chunked_array([nulls])), index=index
    )


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


@dataclass
class _Fields:
    """The fields of a table: its mapped columns, constants, or blank."""

    frame: pd.DataFrame
    columns: dict[str, str]
    constants: dict[str, str]
    blank: pd.Series | None = None

    def __call__(self, name: str) -> pd.Series:
        """The field as written (a constant repeated; blank when not given)."""
        if name in self.columns:
            return self.frame[self.columns[name]]
        if name in self.constants:
            index = self.frame.index
            return pd.Series(self.constants[name], index=index, dtype="string")
        return self.nothing()

    def nothing(self) -> pd.Series:
        """The all-blank column that serves every field the table lacks."""
        if self.blank is None:
            self.blank = _blank(self.frame.index)
        return self.blank

    def given(self, name: str) -> bool:
        return name in self.columns or name in self.constants

    def column(self, name: str) -> str:
        """The file's column for a field, for messages."""
        return self.columns.get(name, name)

    def stripped(self, name: str) -> pd.Series:
        if not self.given(name):
            return self(name)
        return stripped(self(name))


def events_from_table(
    frame: pd.DataFrame,
    columns: dict[str, str],
    constants: dict[str, str],
    report: FileReport,
    context: ReadContext,
    file: str,
    parsed: Parsed | None = None,
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
    parsed
        The fields already parsed (:func:`pipeline.ingest.events_typed.typed_read`);
        parsed here when ``None``.
    """
    fields = _Fields(frame, columns, constants)
    if parsed is None:
        parsed = _parsed(fields, context)
    blank = fields.nothing()
    parsed.texts = {name: parsed.texts.get(name, blank) for name in TEXT_FIELDS}
    unsure = parsed.ts.attrs.get("ambiguous_dayfirst") or parsed.ts.attrs.get(
        "wrong_order"
    )
    if context.dayfirst is None and unsure:
        report.meta["ambiguous_dates"] = fields.column("timestamp")  # (app asks)
    report.notes.extend(
        order_notes(parsed.ts, fields.column("timestamp"), context.dayfirst)
    )

    # persons: blank cells name nobody, and so do values whose key is blank ("(not
    # set)"), known only once the distinct values are keyed; rarely, a second pass
    written = fields("person")
    nobody = written.isna().to_numpy(dtype=bool, copy=True)
    order_event = pc.equal(arrow_text(parsed.event), "order").fill_null(False)
    order_event = order_event.to_numpy(zero_copy_only=False)
    while True:
        reject = _rejected(parsed, nobody, order_event, fields)
        is_order = order_event & ~reject
        order_id = _order_ids(parsed.texts["order_id"], is_order, file)
        repeat = _repeated_orders(order_id, is_order)
        keep = ~reject & ~repeat
        values, first = first_times(written, parsed.ts, keep)
        keys = person_keys(values)
        unnamed = values.filter(pa.array(keys.isna().to_numpy())).drop_null()
        if not len(unnamed):
            break
        more = pc.is_in(arrow_text(written), value_set=unnamed)
        more = more.to_numpy(zero_copy_only=False) & ~nobody
        if not more.any():
            break
        nobody |= more
    if reject.any():
        _rejected(parsed, nobody, order_event, fields, report)  # now listed
    report.rows_rejected += int(reject.sum())
    report.rows_duplicate += int(repeat.sum())
    if repeat.any():
        _flag_conflicting_repeats(report, fields, order_id, repeat, keep, parsed)
    report.rows_loaded += len(frame) - int(reject.sum()) - int(repeat.sum())

    person_id = person_ids(written, values, keys)
    events = _events(parsed, person_id, order_id, file)
    if not keep.all():
        events = _rows(events, keep, list(events.columns))
    currency = None
    if parsed.currency is not None:
        currency = parsed.currency[keep & is_order]
    if fields.given("currency"):
        given = fields("currency")[keep & is_order].str.strip().str.upper()
        currency = given if currency is None else given.fillna(currency)
    orders = _orders(events, is_order[keep], currency, file)

    if len(events):
        report.date_min = events["ts"].min()
        report.date_max = events["ts"].max()
    flag_unlikely_dates(report, events["ts"], fields.column("timestamp"), "event")
    sort_problems(report)
    people = _people(keys, first, file, not len(rewritten(values, keys)))
    # people holds each person's first event: the merge needs no pass over events
    return ReadResult(
        report, people=people, events=events, orders=orders, people_cover=True
    )


def _parsed(fields: _Fields, context: ReadContext) -> Parsed:
    """Every field but the person parsed, times and values in a second thread.

    Arrow's kernels release the GIL, so a large file takes both cores.
    """
    columns = {name: fields(name) for name in ("timestamp", "value", "event")}
    blank = fields.nothing()
    with ThreadPoolExecutor(max_workers=2) as pool:
        times = pool.submit(
            parse_timestamps, columns["timestamp"], dayfirst=context.dayfirst
        )
        values = pool.submit(parse_amounts, columns["value"])
        named = (
            pool.submit(written_currency, columns["value"])
            if fields.given("value")
            else None
        )
        texts = {
            name: pool.submit(fields.stripped, name)
            for name in TEXT_FIELDS
            if fields.given(name)
        }
        event, known = _event_types(columns["event"])
        ts, _ = times.result()
        value, bad_value = values.result()
        stripped = {
            name: texts[name].result() if name in texts else blank
            for name in TEXT_FIELDS
        }
    currency = None if named is None else named.result()
    return Parsed(ts, event, known, value, bad_value, stripped, currency)


def _rejected(
    parsed: Parsed,
    nobody: np.ndarray,
    order_event: np.ndarray,
    fields: _Fields,
    report: FileReport | None = None,
) -> np.ndarray:
    """Rows that cannot be loaded, each listed in ``report`` (if given) with its
    reason; ``nobody`` marks rows whose person names nobody, ``order_event`` rows
    whose event is ``order``."""
    negative_order = order_event & (parsed.value.to_numpy() < 0)
    checks = (
        (nobody, "person", "no person: give an email, phone or id"),
        (
            parsed.ts.isna().to_numpy(),
            "timestamp",
            "no readable time: write it as ISO 8601 (2024-03-05T14:30:00Z)",
        ),
        (~parsed.known.to_numpy(), "event", ""),  # each row's value is quoted
        (
            parsed.bad_value.to_numpy(),
            "value",
            "the value is not an amount (a number, with or without its currency)",
        ),
        (
            negative_order,
            "value",
            "an order's value is negative: a purchase is worth 0 or more; write the "
            "order's net amount (after refunds) as its value, then upload again",
        ),
    )
    index = fields.frame.index
    reject = np.zeros(len(index), dtype=bool)
    for mask, name, message in checks:
        mask = mask & ~reject
        if report is not None and mask.any() and name == "event":
            _add_event_problems(report, fields("event")[mask], fields.column(name))
        elif report is not None and mask.any():
            _add_problems(report, index[mask], fields.column(name), message)
        reject |= mask
    return reject


def _flag_conflicting_repeats(
    report: FileReport,
    fields: _Fields,
    order_id: pd.Series,
    repeat: np.ndarray,
    keep: np.ndarray,
    parsed: Parsed,
) -> None:
    """List the repeated order rows that differ from the first row of their order id
    in person or value: counted once, as the first, so the user is told."""
    index = fields.frame.index
    who = fields("person").astype("string").str.strip().str.lower()
    rows = pd.DataFrame(
        {"id": order_id.to_numpy(), "who": who.to_numpy(), "value": parsed.value},
        index=index,
    )
    first = rows[keep].drop_duplicates("id").set_index("id")
    again = rows[repeat]
    kept = first.reindex(again["id"])
    same_value = np.isclose(
        again["value"].to_numpy(dtype=float),
        kept["value"].to_numpy(dtype=float),
        equal_nan=True,
    )
    same = (again["who"].to_numpy() == kept["who"].to_numpy()) & same_value
    first_row = pd.Series(index[keep], index=order_id[keep]).groupby(level=0).min()
    for row, order in again.loc[~same, "id"].items():
        report.problems.append(
            Problem(
                int(row),
                fields.column("order_id"),
                f"order id {str(order)!r} is already row "
                f"{int(first_row[order])}'s, with another person or value: counted "
                "once, as that row's; give each order its own id, or remove the "
                "repeat",
            )
        )


def _repeated_orders(order_id: pd.Series, is_order: np.ndarray) -> np.ndarray:
    """Order rows whose order id an earlier order row of the file already has."""
    repeat = np.zeros(len(order_id), dtype=bool)
    ids = pc.filter(arrow_text(order_id), pa.array(is_order))
    if not all_distinct(ids):  # (most files repeat no order)
        ids = pd.Series(pd.arrays.ArrowStringArray(ids))
        repeat[is_order] = ids.duplicated(keep="first").to_numpy()
    return repeat


def _order_ids(order_id: pd.Series, is_order: np.ndarray, file: str) -> pd.Series:
    """Order ids, an order row without one getting a stable id: file and row."""
    unnamed = is_order & order_id.isna().to_numpy()
    if not unnamed.any():
        return order_id
    rows = order_id.index[unnamed]
    return order_id.mask(unnamed, file + ":row" + pd.Series(rows.astype(str), rows))


def _events(
    parsed: Parsed, person_id: pd.Series, order_id: pd.Series, file: str
) -> pd.DataFrame:
    """The events table of every row (sharing the parsed columns, not copying)."""
    texts = parsed.texts
    return pd.DataFrame(
        {
            "person_id": person_id,
            "ts": parsed.ts,
            "event": parsed.event,
            "channel": texts["channel"],
            "source": texts["source"],
            "medium": texts["medium"],
            "campaign": texts["campaign"],
            "product": texts["product"],
            "order_id": order_id,
            "value": parsed.value,
            "source_file": file_column(file, parsed.ts.index),
        },
        copy=False,
    )


def _constant(value: str, index: pd.Index) -> pd.Series:
    """A text column holding one value, in the model's dtype.

    Built from its two buffers: the value's bytes repeated and evenly spaced
    offsets (Arrow's ``repeat`` appends the value row by row, ten times slower).
    """
    text = value.encode("utf-8")
    rows = len(index)
    offsets = np.arange(rows + 1, dtype=np.int64) * len(text)
    repeated = pa.LargeStringArray.from_buffers(
        rows, pa.py_buffer(offsets), pa.py_buffer(text * rows)
    )
    return pd.Series(pd.arrays.ArrowStringArray(repeated), index=index)


def _rows(frame: pd.DataFrame, mask: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """``frame.loc[mask, columns]``, with Arrow's filter for text columns.

    pandas takes rows of a many-chunked Arrow column one index at a time, several
    times slower than a filter.
    """
    bits = pa.array(mask)  # (packed once for every text column)

    def kept(name: str) -> object:
        column = frame[name]
        arrow = getattr(column.array, "_pa_array", None)
        if arrow is not None and column.dtype == "string":
            return pd.arrays.ArrowStringArray(pc.filter(arrow, bits))
        return column.array[mask]

    with ThreadPoolExecutor(max_workers=2) as pool:  # (both free the GIL)
        out = dict(zip(columns, pool.map(kept, columns), strict=True))
    return pd.DataFrame(out, index=frame.index[mask])


def _orders(
    events: pd.DataFrame, is_order: np.ndarray, currency: pd.Series | None, file: str
) -> pd.DataFrame | None:
    """One purchase per ``order`` event (``is_order`` marks them; ``currency``: one
    per order, if given)."""
    if not is_order.any():
        return None
    o = _rows(events, is_order, ["order_id", "person_id", "ts", "value"])
    index = o.index
    currency = (
        _blank(index)
        if currency is None
        else pd.Series(currency.array, index=index, dtype="string")
    )
    return pd.DataFrame(
        {
            "order_id": o["order_id"],
            "order_name": o["order_id"],
            "store": _constant(file, index),
            "person_id": o["person_id"],
            "ts": o["ts"],
            "total": o["value"],
            "refunded": pd.Series(np.zeros(len(index)), index=index),
            "net_value": o["value"],
            "currency": currency,
            "status": _constant("purchase", index),
            "is_purchase": pd.Series(np.ones(len(index), dtype=bool), index=index),
            "source_file": file_column(file, index),
        },
        copy=False,
    )


def _people(
    keys: pd.Series, first: np.ndarray, file: str, as_written: bool
) -> pd.DataFrame:
    """One row per person of the events, first seen at their earliest kept event.

    ``keys`` and ``first`` are per distinct person value; values with one key
    (``Ann@x.com``, ``ann@x.com``) count as one person. ``as_written``: every key
    is its value, so the keys are already distinct.
    """
    seen = keys.notna().to_numpy() & (first != NO_TIME)
    if as_written:
        unique, earliest = keys[seen].array, first[seen]
    else:
        codes, unique = pd.factorize(keys[seen])
        earliest = np.full(len(unique), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(earliest, codes, first[seen])
    people = pd.DataFrame(
        {
            "person_id": pd.array(unique, dtype="string"),
            "first_seen": pd.to_datetime(earliest, unit="us", utc=True).astype(TS),
        }
    )
    key = people["person_id"]
    people["email"] = key.where(key.str.contains("@", regex=False))
    people["phone"] = key.where(key.str.startswith("tel:")).str.slice(4)
    people["source_file"] = file
    return people


def read(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read the documented events CSV (typed by Arrow as it reads, when it can)."""
    head = raw.peek(source)
    lower = {_field_name(c): c for c in head.columns}
    columns = {name: lower[name] for name in FIELDS if name in lower}
    typed = typed_read(source, columns, head, context.dayfirst)
    if typed is not None:
        frame, parsed = typed
        report = FileReport(file=source.name, kind="events_csv")
        report.rows_read = len(frame)
        return events_from_table(
            frame, columns, {}, report, context, source.name, parsed
        )

    frame = raw.read_table(source)
    # a large file's text and the CSV parser's scratch buffers are not needed now
    raw.release_text(source)
    pa.default_memory_pool().release_unused()
    report = FileReport(file=source.name, kind="events_csv")
    report.rows_read = raw.rows_read(frame)
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
