"""Plain transaction logs: one purchase per row, with or without a header.

Logs like the CDNOW files shipped inside :mod:`lifetimes` (``customer_id YYYYMMDD
quantity amount``, separated by runs of spaces) or a shop's ``customer_id,date,value``
export. Columns are found by name when there is a header (synonyms below), else from
the values: the date column is the one whose every value reads as a date, the amount
the last numeric column with decimals (else the last numeric one), the customer the
first remaining column.

Each row is one order of the person ``id:<customer>`` (leading zeros of numeric ids
dropped) with a stable synthesised ``order_id``. A row identical in every cell to an
earlier one, time of day included, is counted as a duplicate, not loaded; in logs
with dates only, equal rows are kept as separate same-day purchases (as
:mod:`lifetimes` reads CDNOW). Times without an offset are in the
store's time zone when set, else UTC.
"""

from __future__ import annotations

import logging

import pandas as pd

from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.ingest.checks import flag_unlikely_dates, sort_problems
from pipeline.ingest.identity import person_key
from pipeline.ingest.values import (
    ambiguous_dayfirst,
    order_notes,
    parse_amounts,
    parse_numbers,
    parse_timestamps,
)
from pipeline.model import FileReport, Problem

logger = logging.getLogger(__name__)

PERSON_NAMES = (
    "customer_id",
    "customer",
    "customerid",
    "customer id",
    "user_id",
    "userid",
    "client_id",
    "member_id",
    "email",
    "cust_id",
    "buyer",
)
DATE_NAMES = (
    "date",
    "order_date",
    "order date",
    "purchase_date",
    "transaction_date",
    "invoicedate",
    "invoice_date",
    "created_at",
    "timestamp",
    "datetime",
    "time",
)
VALUE_NAMES = (
    "value",
    "amount",
    "revenue",
    "sales",
    "total",
    "dollar_value",
    "price",
    "order_value",
    "monetary_value",
    "spend",
)
QUANTITY_NAMES = ("quantity", "qty", "number_of_cds", "units", "items")


def _find(lower: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((lower[n] for n in names if n in lower), None)


def _roles(frame: pd.DataFrame) -> dict[str, str] | None:
    """Which column is the person, date, value (and quantity); ``None`` if unsure."""
    lower = {str(c).strip().lower(): c for c in frame.columns}
    named = {
        "person": _find(lower, PERSON_NAMES),
        "date": _find(lower, DATE_NAMES),
        "value": _find(lower, VALUE_NAMES),
        "quantity": _find(lower, QUANTITY_NAMES),
    }
    if named["person"] and named["date"] and named["value"]:
        return {k: v for k, v in named.items() if v}
    if not all(str(c).startswith("column_") for c in frame.columns):
        return None
    return _roles_from_values(frame)


def _roles_from_values(frame: pd.DataFrame) -> dict[str, str] | None:
    """Roles of a header-less table, from what its values look like."""
    sample = frame.head(500)
    date_col = None
    numeric: list[str] = []
    decimals: list[str] = []
    for col in sample.columns:
        values = sample[col].dropna()
        if values.empty:
            continue
        if (
            date_col is None
            and values.str.fullmatch(
                r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
                r"|\d{4}-\d{2}-\d{2}.*|\d{1,2}/\d{1,2}/\d{2,4}.*"
            ).all()
        ):
            date_col = col
            continue
        parsed, bad = parse_numbers(values)
        if not bad.any():
            numeric.append(col)
            if (parsed.dropna() % 1 != 0).any():
                decimals.append(col)
    if date_col is None or not numeric:
        return None
    value_col = decimals[-1] if decimals else numeric[-1]
    rest = [c for c in frame.columns if c not in (date_col, value_col)]
    if not rest:
        return None
    roles = {"person": rest[0], "date": date_col, "value": value_col}
    between = [c for c in numeric if c not in (rest[0], value_col)]
    if between:
        roles["quantity"] = between[-1]
    return roles


def score(source: SourceFile) -> float:
    """Score for a transaction log: lower than any export with its own reader."""
    head = raw.peek(source)
    if head.empty or len(head.columns) < 2:
        return 0.0
    roles = _roles(head)
    if roles is None:
        return 0.0
    return 0.6 if not str(head.columns[0]).startswith("column_") else 0.7


def _stable_ids(file_key: pd.DataFrame) -> pd.Series:
    """Order ids from a row's content and its occurrence number among equal rows."""
    text = file_key.iloc[:, 0].astype("string").fillna("")
    for col in file_key.columns[1:]:
        text = text + "|" + file_key[col].astype("string").fillna("")
    occurrence = text.groupby(text).cumcount().astype("string")
    hashed = pd.util.hash_pandas_object(text + "#" + occurrence, index=False)
    return "txn:" + pd.Series(hashed, index=file_key.index).map("{:016x}".format)


def read(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a transaction log into purchases (orders and ``order`` events)."""
    frame = raw.read_table(source)
    report = FileReport(file=source.name, kind="transactions")
    report.rows_read = raw.rows_read(frame)
    report.problems.extend(raw.table_problems(frame))
    report.rows_rejected += len(report.problems)
    roles = _roles(frame)
    if roles is None:
        report.problems.append(
            Problem(None, None, "no customer, date and amount columns found")
        )
        report.rows_rejected += len(frame)
        return ReadResult(report)

    # exact repeats of a row with a time of day are duplicates; with a date only,
    # two equal purchases on one day are plausible and both kept
    timed = frame[roles["date"]].str.contains(r"\d:\d\d", regex=True, na=False)
    repeat = frame.duplicated(keep="first") & timed
    report.rows_duplicate += int(repeat.sum())
    frame = frame[~repeat]

    ids = frame[roles["person"]].str.strip()
    numeric_ids = ids.str.fullmatch(r"\d+", na=False)
    ids = ids.where(~numeric_ids, ids.str.lstrip("0").replace("", "0"))
    person = person_key(ids, None, ids, platform="id")
    ts, bad_ts = parse_timestamps(
        frame[roles["date"]],
        dayfirst=context.dayfirst,
        assume_tz=context.timezone or "UTC",
    )
    value, bad_value = parse_amounts(frame[roles["value"]])
    unsure = ambiguous_dayfirst(frame[roles["date"]]) or ts.attrs.get("wrong_order")
    if context.dayfirst is None and unsure:
        report.meta["ambiguous_dates"] = roles["date"]  # (the app asks the user)
    report.notes.extend(order_notes(ts, roles["date"], context.dayfirst))

    reject = pd.Series(False, index=frame.index)
    for mask, col, message in (
        (person.isna(), roles["person"], "no customer id"),
        (ts.isna(), roles["date"], "no readable date"),
        (bad_value | value.isna(), roles["value"], "the amount is not a number"),
        (
            value.lt(0).fillna(False).astype(bool),
            roles["value"],
            "the amount is negative: a return or refund is not a purchase; net it "
            "against its purchase or leave it out, then upload again",
        ),
    ):
        mask = mask & ~reject
        for row in frame.index[mask][:1000]:
            report.problems.append(Problem(int(row), col, message))
        reject |= mask
    report.rows_rejected += int(reject.sum())
    keep = ~reject
    report.rows_loaded += int(keep.sum())

    order_id = _stable_ids(frame)
    orders = pd.DataFrame(
        {
            "order_id": order_id,
            "order_name": order_id,
            "store": source.name,
            "person_id": person,
            "ts": ts,
            "total": value,
            "refunded": 0.0,
            "net_value": value,
            "status": "purchase",
            "is_purchase": True,
            "source_file": source.name,
        }
    )[keep.to_numpy()]
    events = pd.DataFrame(
        {
            "person_id": orders["person_id"],
            "ts": orders["ts"],
            "event": "order",
            "order_id": orders["order_id"],
            "value": orders["net_value"],
            "source_file": source.name,
        }
    )
    zero = int((orders["net_value"] == 0).sum())
    if zero:
        report.notes.append(
            f"{zero:,} orders of 0.00 are kept as purchases (free or fully "
            "discounted orders)"
        )
    if len(orders):
        report.date_min, report.date_max = orders["ts"].min(), orders["ts"].max()
    flag_unlikely_dates(report, orders["ts"], roles["date"], "purchase")
    sort_problems(report)
    report.meta["columns"] = roles
    return ReadResult(report, events=events, orders=orders)


register(
    "transactions",
    score,
    read,
    "transaction log (customer id, date, amount; with or without a header)",
)
