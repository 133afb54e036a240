"""The GA4 BigQuery event export: NDJSON, Parquet, and flattened CSVs made from it.

BigQuery's ``events_YYYYMMDD`` tables hold one row per event with nested records
(Google's "[GA4] BigQuery Export schema"): ``event_params`` (repeated key/value
structs whose value sits in one of ``string_value``, ``int_value``,
``float_value``, ``double_value``), ``user_properties``, ``items``,
``traffic_source`` (the user's first source), ``collected_traffic_source`` (the
event's UTM values), ``session_traffic_source_last_click`` (the session's
last-click source, with GA4's own channel group) and ``ecommerce``. An NDJSON export
writes INT64 values as JSON strings. Users also flatten the table with their own
query into a CSV (``event_name, user_id, client_id, session_id, session_source,
session_medium, ..., event_timestamp``), read here through column synonyms.

Events map to canonical types: ``session_start`` -> ``session`` (with source,
medium, campaign and channel group), ``page_view`` -> ``page_view`` or
``sizing_view`` (a page whose path or title names size, sizing, a fit guide or
pricing), ``view_item`` -> ``product_view``, ``add_to_wishlist`` ->
``wishlist_add``, ``add_to_cart``, ``begin_checkout`` -> ``checkout_started``,
``purchase`` -> ``order``. Other events (``scroll``, ``user_engagement``, ...)
are counted as excluded. Every event carries its session's channel.

A person is ``ga4:<user_pseudo_id>`` (awareness traffic). Where the site set a
``user_id`` it is kept in the person row's ``user_id`` column so the identity step
can link the pseudo id to a customer. Purchases are deduplicated by
``transaction_id``; purchases without one fired by the same browser in the same
session within :data:`DUPLICATE_SECONDS` of each other count once.
"""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.channels import channel_groups
from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile
from pipeline.ingest.identity import platform_ids
from pipeline.ingest.values import normalise_email, parse_numbers, parse_timestamps
from pipeline.model import (
    EVENT_COLUMNS,
    PEOPLE_COLUMNS,
    FileReport,
    InputError,
    Problem,
    conform,
    file_column,
)

logger = logging.getLogger(__name__)

EVENT_MAP: dict[str, str] = {
    "session_start": "session",
    "page_view": "page_view",
    "view_item": "product_view",
    "add_to_wishlist": "wishlist_add",
    "add_to_cart": "add_to_cart",
    "begin_checkout": "checkout_started",
    "purchase": "order",
}
"""GA4 event names -> canonical event types."""

SIZING_PAGE = re.compile(
    r"siz(?:e|ing)|fit[\s_-]*(?:guide|finder|chart|quiz)|/fit(?:$|[/?#])|pricing",
    re.IGNORECASE,
)
"""Page paths or titles that make a ``page_view`` a ``sizing_view``."""

DUPLICATE_SECONDS = 1.0
"""Purchases without a transaction id this close together in one session are one."""

COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "pseudo_id": ("user_pseudo_id", "client_id", "ga_client_id", "cid", "pseudo_id"),
    "user_id": ("user_id", "userid", "customer_id"),
    "event_name": ("event_name", "event"),
    "ts": ("event_timestamp", "event_timestamp_micros", "event_time", "event_datetime",
           "timestamp", "event_date"),
    "session_id": ("ga_session_id", "session_id", "event_params_ga_session_id"),
    "source": ("session_source", "source", "traffic_source_source", "manual_source",
               "collected_traffic_source_manual_source", "utm_source"),
    "medium": ("session_medium", "medium", "traffic_source_medium", "manual_medium",
               "collected_traffic_source_manual_medium", "utm_medium"),
    "campaign": ("session_campaign_name", "session_campaign", "campaign_name",
                 "campaign", "traffic_source_name", "manual_campaign_name",
                 "collected_traffic_source_manual_campaign_name", "utm_campaign"),
    "channel": ("session_default_channel_group", "default_channel_group",
                "session_primary_channel_group", "channel_group"),
    "page_location": ("page_location", "page_path", "page_url", "page"),
    "page_title": ("page_title",),
    "transaction_id": ("transaction_id", "ecommerce_transaction_id"),
    "value": ("purchase_revenue", "ecommerce_purchase_revenue", "value",
              "event_value", "revenue"),
    "currency": ("currency", "event_params_currency"),
    "item": ("item_id", "items_item_id", "item_name", "items_item_name", "product"),
}
"""Our field -> names it has in users' flattened tables (lower case, ``.`` -> ``_``)."""

_TRAFFIC_FIELDS = ("source", "medium", "campaign", "channel")


# ----------------------------------------------------------------------- detection


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _flat_columns(names: list[str]) -> dict[str, str]:
    """Our field -> the file's column, for a flattened table."""
    keys = {_key(n): n for n in names}
    found = {}
    for field_name, synonyms in COLUMN_SYNONYMS.items():
        for synonym in synonyms:
            if synonym in keys:
                found[field_name] = keys[synonym]
                break
    return found


def _nested_names(source: SourceFile) -> list[str] | None:
    """Field names of a JSON/NDJSON/Parquet file, read cheaply, or ``None``.

    Parquet gives its schema; NDJSON its first record; a pretty-printed JSON array
    the quoted keys of its first 200 kB.
    """
    if source.extension == ".parquet" or source.head is None:
        if source.data[:4] != b"PAR1":
            return None
        try:
            return list(pq.read_schema(io.BytesIO(source.data)).names)
        except Exception:  # noqa: BLE001 - any unreadable Parquet just scores 0
            return None
    text = source.head[:200_000].lstrip("\ufeff \r\n\t")
    if not text.startswith(("{", "[")):
        return None
    end = text.find("\n")
    first = (text if end < 0 else text[:end]).strip().lstrip("[").rstrip(",")
    try:
        record = json.loads(first)
    except ValueError:
        return re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', text)
    return list(record) if isinstance(record, dict) else None


def score(source: SourceFile) -> float:
    """How sure we are that ``source`` is a GA4 BigQuery export (nested or flat)."""
    names = _nested_names(source)
    if names is not None:
        keys = {_key(n) for n in names}
        if "event_name" in keys and ({"user_pseudo_id", "event_params"} & keys):
            return 0.95
        return 0.0
    if source.head is None:
        return 0.0
    frame = raw.peek(source, rows=20)
    columns = _flat_columns(list(frame.columns))
    if {"event_name", "pseudo_id", "ts"} <= set(columns):
        return 0.9
    return 0.0


# ------------------------------------------------------------------------- reading


def read(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a GA4 BigQuery export into events and (awareness) people.

    Parameters
    ----------
    source
        An NDJSON, JSON, Parquet or flattened CSV file of GA4 events.
    context
        Unused beyond the defaults; timestamps are UTC microseconds.

    Returns
    -------
    ReadResult
        ``events`` and ``people``; the report counts unused event types as
        excluded and repeated purchases as duplicates.
    """
    report = FileReport(file=source.name, kind="ga4_bigquery")
    if _nested_names(source) is not None:
        flat, has_traffic = _from_nested(source)
    else:
        flat, has_traffic = _from_flat(source, report)
    report.rows_read += len(flat)
    events, people = _events(flat, has_traffic, source.name, report)
    report.check()
    return ReadResult(report=report, events=events, people=people)


def _from_flat(source: SourceFile, report: FileReport) -> tuple[pd.DataFrame, bool]:
    """A user's flattened CSV as our fields, every value text."""
    table = raw.read_table(source)
    for problem in raw.table_problems(table):
        report.rows_read += 1
        report.rows_rejected += 1
        report.problems.append(problem)
    columns = _flat_columns(list(table.columns))
    missing = {"event_name", "ts"} - set(columns)
    if missing or not ({"pseudo_id", "user_id"} & set(columns)):
        raise InputError(
            "a GA4 event table needs event_name, event_timestamp and user_pseudo_id "
            "(or client_id) columns: export them from BigQuery",
            file=source.name,
        )
    flat = pd.DataFrame(index=table.index)
    for field_name in COLUMN_SYNONYMS:
        flat[field_name] = (
            table[columns[field_name]].astype("string") if field_name in columns
            else pd.Series(pd.NA, index=table.index, dtype="string")
        )
    has_traffic = bool({"source", "medium", "channel"} & set(columns))
    return flat, has_traffic


def _from_nested(source: SourceFile) -> tuple[pd.DataFrame, bool]:
    """An NDJSON/Parquet export's nested records as our fields, all as text.

    Nested fields are taken apart with :mod:`pyarrow.compute` (struct fields,
    flattened lists), not row by row in Python.
    """
    table = raw.read_arrow(source)
    n = table.num_rows
    params = _event_params(table, ("ga_session_id", "page_location", "page_title",
                                   "source", "medium", "campaign", "transaction_id",
                                   "value", "currency"))

    def path(*steps: str) -> pd.Series:
        return _struct_path(table, steps)

    first_item = _first_list_element(table, "items")
    cross = ("session_traffic_source_last_click", "cross_channel_campaign")
    manual = ("session_traffic_source_last_click", "manual_campaign")
    flat = pd.DataFrame({
        "pseudo_id": path("user_pseudo_id"),
        "user_id": path("user_id"),
        "event_name": path("event_name"),
        "ts": path("event_timestamp"),
        "session_id": params["ga_session_id"],
        "source": _first_of(path(*cross, "source"), path(*manual, "source"),
                            path("collected_traffic_source", "manual_source"),
                            params["source"]),
        "medium": _first_of(path(*cross, "medium"), path(*manual, "medium"),
                            path("collected_traffic_source", "manual_medium"),
                            params["medium"]),
        "campaign": _first_of(path(*cross, "campaign_name"),
                              path(*manual, "campaign_name"),
                              path("collected_traffic_source", "manual_campaign_name"),
                              params["campaign"]),
        "channel": path(*cross, "default_channel_group"),
        "page_location": params["page_location"],
        "page_title": params["page_title"],
        "transaction_id": _first_of(path("ecommerce", "transaction_id"),
                                    params["transaction_id"]),
        "value": _first_of(path("ecommerce", "purchase_revenue"), params["value"]),
        "currency": params["currency"],
        "item": _first_of(_struct_path(first_item, ("item_id",), n),
                          _struct_path(first_item, ("item_name",), n)),
    })
    flat.index = pd.RangeIndex(n) + 1  # NDJSON line / Parquet row, from 1
    names = set(table.column_names)
    has_traffic = bool(
        {"collected_traffic_source", "session_traffic_source_last_click"} & names
    )
    return flat, has_traffic


def _as_text(array: pa.Array | pa.ChunkedArray | None, n: int) -> pd.Series:
    """An Arrow column as exact text: ids keep every digit, numbers their value."""
    if array is None:
        return pd.Series(pd.NA, index=range(n), dtype="string")
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], pa.null())
    kind = array.type
    if pa.types.is_null(kind):
        return pd.Series(pd.NA, index=range(n), dtype="string")
    if pa.types.is_floating(kind):
        values = array.to_numpy(zero_copy_only=False)
        text = pd.Series(values).map(_float_text)
        return text.astype("string").reset_index(drop=True)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        try:
            array = pc.cast(array, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pd.Series([None if v is None else json.dumps(v, default=str)
                              for v in array.to_pylist()], dtype="string")
    return pd.Series(array.to_pandas(), dtype="string").reset_index(drop=True)


def _float_text(value: float) -> Any:
    """A float as text, whole numbers without ``.0`` (``1704412800``)."""
    if value != value:  # NaN
        return pd.NA
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _struct_field(array: Any, name: str) -> Any:
    """A field of a struct column, ``None`` when the struct has no such field."""
    if array is None or not pa.types.is_struct(array.type):
        return None
    if array.type.get_field_index(name) < 0:
        return None
    return pc.struct_field(array, name)


def _struct_path(
    table: pa.Table | pa.Array | None, steps: tuple[str, ...], n: int = 0
) -> pd.Series:
    """A nested field (``ecommerce.transaction_id``) of every row, as text."""
    if table is None:
        return _as_text(None, n)
    if isinstance(table, pa.Table):
        n = table.num_rows
        array = table.column(steps[0]) if steps[0] in table.column_names else None
        rest = steps[1:]
    else:
        n = len(table)
        array, rest = table, steps
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else None
    for step in rest:
        array = _struct_field(array, step)
    return _as_text(array, n)


def _first_list_element(table: pa.Table, name: str) -> pa.Array | None:
    """The first element of a list column per row (null for empty lists)."""
    if name not in table.column_names:
        return None
    column = table.column(name)
    column = column.combine_chunks() if column.num_chunks else None
    if column is None or not pa.types.is_list(column.type):
        return None
    flat = pc.list_flatten(column)
    parents = np.asarray(pc.list_parent_indices(column))
    first = np.full(len(column), -1, dtype=np.int64)
    unique, where = np.unique(parents, return_index=True)
    first[unique] = where
    indices = pa.array(first, mask=first < 0)
    return flat.take(indices)


def _event_params(table: pa.Table, keys: tuple[str, ...]) -> dict[str, pd.Series]:
    """The first value of each wanted ``event_params`` key per row, as text.

    A value sits in one of ``string_value``, ``int_value``, ``double_value`` or
    ``float_value``; the first filled one is taken.
    """
    n = table.num_rows
    out = {key: pd.Series(pd.NA, index=range(n), dtype="string") for key in keys}
    if "event_params" not in table.column_names:
        return out
    column = table.column("event_params")
    column = column.combine_chunks() if column.num_chunks else None
    if column is None or not pa.types.is_list(column.type):
        return out
    flat = pc.list_flatten(column)
    if len(flat) == 0:
        return out
    parents = np.asarray(pc.list_parent_indices(column))
    names = _as_text(_struct_field(flat, "key"), len(flat))
    value = _struct_field(flat, "value")
    text = pd.Series(pd.NA, index=range(len(flat)), dtype="string")
    for field_name in ("string_value", "int_value", "double_value", "float_value"):
        text = text.fillna(_as_text(_struct_field(value, field_name), len(flat)))
    frame = pd.DataFrame({"row": parents, "key": names, "text": text})
    frame = frame[frame["key"].isin(keys) & frame["text"].notna()]
    frame = frame.drop_duplicates(["row", "key"], keep="first")
    for key, part in frame.groupby("key"):
        out[key].iloc[part["row"].to_numpy()] = part["text"].to_numpy()
    return out


def _first_of(*columns: pd.Series) -> pd.Series:
    """Row by row, the first non-missing, non-empty value among ``columns``."""
    out = columns[0].mask(columns[0] == "")
    for column in columns[1:]:
        out = out.fillna(column.mask(column == ""))
    return out


def _events(
    flat: pd.DataFrame, has_traffic: bool, file: str, report: FileReport
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical events and people from the flat fields, rows counted in ``report``."""
    blank = flat.apply(lambda c: c.str.strip().replace("", pd.NA))
    ts, bad_ts = parse_timestamps(blank["ts"])
    name = blank["event_name"].str.lower()
    person = ("ga4:" + blank["pseudo_id"]).fillna("ga4_user:" + blank["user_id"])

    # rows that cannot be used at all
    rejected = pd.Series(False, index=flat.index)
    for mask, column, message in (
        (name.isna(), "event_name", "no event name"),
        (person.isna(), "user_pseudo_id", "no user_pseudo_id or user_id"),
        (bad_ts, "event_timestamp", "not a timestamp"),
        (ts.isna() & ~bad_ts, "event_timestamp", "no timestamp"),
    ):
        new = mask & ~rejected
        for row in new[new].index[:200]:
            report.problems.append(Problem(int(row), column, message))
        rejected |= new
    report.rows_rejected += int(rejected.sum())

    event = name.map(EVENT_MAP).astype("string")
    unused = event.isna() & ~rejected
    report.rows_excluded += int(unused.sum())
    if unused.any():
        report.excluded_by["GA4 event type not used"] = int(unused.sum())
    page = blank["page_location"].fillna("") + " " + blank["page_title"].fillna("")
    sizing = (event == "page_view") & page.str.contains(SIZING_PAGE).fillna(False)
    event = event.mask(sizing, "sizing_view")

    # the session's traffic source on every event of the session
    session = person + "#" + blank["session_id"].fillna("")
    traffic = blank[list(_TRAFFIC_FIELDS)].copy()
    has_session = blank["session_id"].notna()
    if has_session.any():
        filled = traffic[has_session].groupby(session[has_session]).transform("first")
        traffic.loc[has_session] = traffic[has_session].fillna(filled)
    # a session with no recorded source is direct only when the export records
    # sources at all (collected_traffic_source / session_traffic_source_last_click)
    channel = traffic["channel"]
    computed = channel_groups(traffic["source"], traffic["medium"], traffic["campaign"])
    known = traffic["source"].notna() | traffic["medium"].notna()
    channel = channel.fillna(computed.where(known | has_traffic))

    use = event.notna() & ~rejected
    frame = pd.DataFrame({
        "person_id": person, "ts": ts, "event": event, "channel": channel,
        "source": traffic["source"], "medium": traffic["medium"],
        "campaign": traffic["campaign"], "product": blank["item"],
        "order_id": blank["transaction_id"].where(event == "order"),
        "value": parse_numbers(blank["value"])[0].where(event == "order"),
        "session": session, "line": flat.index,
    })[use]

    duplicate = _duplicate_purchases(frame)
    report.rows_duplicate += int(duplicate.sum())
    if duplicate.any():
        report.notes.append(
            f"{int(duplicate.sum())} purchase event(s) repeated (same transaction id, "
            f"or same session within {DUPLICATE_SECONDS:g} s) counted once"
        )
    frame = frame[~duplicate]
    report.rows_loaded += len(frame)
    frame["source_file"] = file_column(file, frame.index)
    events = conform(frame, EVENT_COLUMNS)
    if len(events):
        report.date_min = events["ts"].min()
        report.date_max = events["ts"].max()

    kept = ~rejected
    people = _people(person[kept], ts[kept], blank["user_id"][kept], file)
    report.meta["people"] = len(people)
    report.meta["people_with_user_id"] = int(
        people.loc[people["person_id"].str.startswith("ga4"), "user_id"].notna().sum()
    )
    return events, people


def _duplicate_purchases(frame: pd.DataFrame) -> pd.Series:
    """Order events that repeat an earlier one (by transaction id, else by time)."""
    orders = frame[frame["event"] == "order"].sort_values(["ts", "line"])
    duplicate = pd.Series(False, index=frame.index)
    if orders.empty:
        return duplicate
    with_id = orders["order_id"].notna()
    by_id = orders[with_id].duplicated("order_id", keep="first")
    duplicate[by_id[by_id].index] = True
    rest = orders[~with_id]
    if len(rest):
        gap = rest.groupby("session")["ts"].diff().dt.total_seconds()
        close = gap.le(DUPLICATE_SECONDS).fillna(False)
        duplicate[close[close].index] = True
    return duplicate


def _people(
    person: pd.Series, ts: pd.Series, user_id: pd.Series, file: str
) -> pd.DataFrame:
    """One awareness person per pseudo id, with the site's ``user_id`` when set.

    A ``user_id`` that is an email also gives a person row keyed by that email whose
    ``alias`` is the pseudo id, so the merge links the browser to the customer
    (:func:`pipeline.ingest.identity.link_map`); any other ``user_id`` is the
    ``alias`` ``id:<user_id>`` of the pseudo-id row.
    """
    frame = pd.DataFrame({"person_id": person, "ts": ts, "user_id": user_id})
    grouped = frame.groupby("person_id", sort=True)
    people = pd.DataFrame({
        "person_id": grouped.size().index,
        "first_seen": grouped["ts"].min().to_numpy(),
        "user_id": grouped["user_id"].first().astype("string").to_numpy(),
    })
    email = normalise_email(people["user_id"])
    people["alias"] = platform_ids(people["user_id"], "id").where(email.isna())
    linked = people.assign(alias=people["person_id"], person_id=email, email=email)
    linked = linked[email.notna()]
    people = pd.concat([people, linked], ignore_index=True)
    people["source_file"] = file
    out = conform(people, PEOPLE_COLUMNS)
    out["user_id"] = pd.Series(people["user_id"].to_numpy(), dtype="string")
    out["alias"] = pd.Series(people["alias"].to_numpy(), dtype="string")
    return out
