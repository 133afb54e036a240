"""GA4 reports downloaded from the interface: "Download CSV" reports and Explorations.

A GA4 report file is one or more *tables*. Each table opens with a block of ``#``
comment lines (report name, account, property, an optional section title, start and
end date), then a header row (dimensions first, then metrics), then data rows, then
a blank line. A table with a header and no rows is an empty table. Exploration
exports put a blank line between the comment block and the header, and a "Grand
total" row first, which may carry one field more than the header. Files re-saved by
Excel pad comment lines with commas, gain empty rows, and sometimes carry notes typed
under a table.

Every data row becomes long-form :data:`~pipeline.model.AGGREGATE_COLUMNS` rows, one
per metric cell: ``report`` (the report name), ``table`` (its number and title),
``period_start``/``period_end`` (the row's own week or day when the table has a time
dimension, else the table's date range; both are inclusive days at midnight UTC),
``dimension`` (the row's other dimension values, ``Name=value; Name=value``),
``channel`` (the GA4 channel group, from a channel-group dimension or computed from
source and medium), ``metric`` and ``value``. Rates are fractions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.channels import channel_groups
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile
from pipeline.ingest.checks import plural
from pipeline.ingest.values import parse_numbers, parse_percent
from pipeline.model import (
    AGGREGATE_COLUMNS,
    FileReport,
    Problem,
    conform,
    empty_frame,
)

logger = logging.getLogger(__name__)

DIMENSION_SYNONYMS: dict[str, str] = {
    "session primary channel group (default channel group)": (
        "Session default channel group"
    ),
    "session primary channel group": "Session default channel group",
    "session default channel group": "Session default channel group",
    "session default channel grouping": "Session default channel group",
    "first user primary channel group (default channel group)": (
        "First user default channel group"
    ),
    "first user primary channel group": "First user default channel group",
    "first user default channel group": "First user default channel group",
    "first user default channel grouping": "First user default channel group",
    "primary channel group (default channel group)": "Default channel group",
    "primary channel group": "Default channel group",
    "default channel group": "Default channel group",
    "default channel grouping": "Default channel group",
    "session source / medium": "Session source / medium",
    "session source/medium": "Session source / medium",
    "first user source / medium": "First user source / medium",
    "first user source/medium": "First user source / medium",
    "source / medium": "Source / medium",
    "source/medium": "Source / medium",
}
"""Old and new names of the same GA4 dimension (lower case) -> one name."""

METRIC_SYNONYMS: dict[str, str] = {
    "conversions": "Key events",
    "key events": "Key events",
    "session conversion rate": "Session key event rate",
    "session key event rate": "Session key event rate",
    "user conversion rate": "User key event rate",
    "user key event rate": "User key event rate",
    "users": "Active users",
    "active users": "Active users",
    "total users": "Total users",
    "average engagement time": "Average engagement time per active user",
    "engaged sessions per user": "Engaged sessions per active user",
    "event count per user": "Event count per active user",
    "revenue": "Total revenue",
    "total revenue": "Total revenue",
}
"""Old and new names of the same GA4 metric (lower case) -> one name.

GA4 labels *Active users* "Users" in its reports (Google Analytics Help, "User
metrics"), so an old "Users" column is Active users, not Total users.
"""

CHANNEL_DIMENSIONS = frozenset(
    {"Session default channel group", "First user default channel group",
     "Default channel group"}
)
SOURCE_MEDIUM_DIMENSIONS = frozenset(
    {"Session source / medium", "First user source / medium", "Source / medium"}
)
TIME_DIMENSIONS = frozenset(
    {"week", "nth week", "nth day", "nth month", "date", "month", "year"}
)
KNOWN_DIMENSIONS = frozenset(
    {"cohort", "country", "country id", "city", "region", "event name", "platform",
     "device category", "page title", "page title and screen class", "page path",
     "landing page", "landing page + query string", "item name", "item id",
     "language", "browser", "operating system", "campaign", "session campaign",
     "session google ads campaign", "session manual source", "session source",
     "session medium", "first user source", "first user medium", "first user campaign",
     "organic google search query", "stream name", "audience name", "gender", "age",
     "page path and screen class", "transaction id", "hostname", "link url",
     "hour", "nth hour", "day of week", "day of week name", "date + hour (yyyymmddhh)",
     "iso week of the year", "iso year", "year month", "year week", "nth year",
     "session campaign id", "device model", "mobile device model", "continent",
     "subcontinent", "screen resolution", "new / established", "user type"}
)
RELATIVE_TIME = ("week", "nth week", "nth day", "nth month")
"""Time dimensions placed by the report's date range (``Week`` has no year)."""
_COHORT_METRIC = re.compile(r"^(?:day|week|month)\s+\d+$", re.IGNORECASE)
_TOTAL_LABELS = frozenset({"grand total", "total", "totals"})


@dataclass
class Table:
    """One table of a GA4 report file, as text."""

    title: str | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    blank_before_header: bool = False


@dataclass
class Parsed:
    """A GA4 report file split into its header block, tables and stray lines."""

    meta: dict[str, str]
    tables: list[Table]
    notes: list[tuple[int, str]]


# ----------------------------------------------------------------------- splitting


def grid_lines(source: SourceFile) -> list[tuple[int, list[str]]]:
    """The file's rows as ``(line number, fields)``, trailing empty fields dropped.

    Text files are split by :mod:`csv` (comma, semicolon or tab, chosen from the
    first line that is not a comment); an xlsx workbook's first sheet is read with
    :mod:`openpyxl`, its row numbers as Excel shows them.
    """
    cached = source._cache.get("ga4_grid")
    if cached is not None:
        return cached
    if source.text is None:
        rows = _xlsx_rows(source)
    else:
        rows = _text_rows(source.text)
    out = []
    for line, fields in rows:
        fields = [f.strip() for f in fields]
        while fields and fields[-1] == "":
            fields.pop()
        out.append((line, fields))
    source._cache["ga4_grid"] = out
    return out


def _text_rows(text: str) -> list[tuple[int, list[str]]]:
    """CSV rows of ``text`` with the line each starts on."""
    text = text.lstrip("\ufeff")
    delimiter = ","
    for line in text.splitlines()[:200]:
        if line.strip() and not line.lstrip().startswith("#"):
            counts = {d: line.count(d) for d in (",", ";", "\t")}
            delimiter = max(counts, key=counts.get) if max(counts.values()) else ","
            break
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = []
        start = 1
        for fields in reader:
            rows.append((start, fields))
            start = reader.line_num + 1
        return rows
    except csv.Error as exc:
        # a stray quote or carriage return: read line by line, a line that still
        # cannot be split becomes one text cell (a stray line, then rejected)
        logger.debug("CSV parse failed (%s); reading line by line", exc)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            fields = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            fields = [line.replace("\x00", "")]
        rows.append((number, fields))
    return rows


def _xlsx_rows(source: SourceFile) -> list[tuple[int, list[str]]]:
    """The first sheet of an xlsx workbook as text rows."""
    import openpyxl

    book = openpyxl.load_workbook(
        io.BytesIO(source.data), read_only=True, data_only=True
    )
    sheet = book.worksheets[0]
    rows = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        rows.append((number, ["" if v is None else _cell_text(v) for v in values]))
    book.close()
    return rows


def _cell_text(value: object) -> str:
    """An Excel cell as the text a CSV export would hold."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y%m%d")
    return str(value)


def _comment_text(fields: list[str]) -> str:
    """A ``#`` line's text, commas in it restored and padding dropped."""
    return ",".join(fields).lstrip("#").strip().rstrip(",").strip()


def _date_of(text: str) -> pd.Timestamp | None:
    """A ``YYYYMMDD`` (or ISO) date from a header line, at midnight UTC."""
    value = pd.to_datetime(text.strip(), format="%Y%m%d", errors="coerce", utc=True)
    if pd.isna(value):
        value = pd.to_datetime(text.strip(), errors="coerce", utc=True)
    return None if pd.isna(value) else value.normalize()


def split_tables(source: SourceFile) -> Parsed:
    """Split a GA4 report file into header metadata, tables and stray text lines.

    A table starts at the first non-comment row after a comment block or a blank
    line, and ends at the next blank or comment line. A lone text cell where a header
    would be (a note typed under a table) is kept as a stray line, not a table.
    """
    meta: dict[str, str] = {}
    tables: list[Table] = []
    notes: list[tuple[int, str]] = []
    title: str | None = None
    start = end = None
    current: Table | None = None
    expect_header = True
    blank_since_comment = False
    in_first_block = True

    for line, fields in grid_lines(source):
        if not fields:
            # a blank line inside a table (Excel adds them) does not end it: only a
            # comment block starts the next table
            blank_since_comment = True
            continue
        if fields[0].startswith("#"):
            current = None
            expect_header = True
            blank_since_comment = False
            text = _comment_text(fields)
            key, _, value = text.partition(":")
            key_l = key.strip().lower()
            if key_l in ("start date", "end date") and value.strip():
                date = _date_of(value)
                if key_l == "start date":
                    start = date
                else:
                    end = date
                meta.setdefault(key_l.replace(" ", "_"), value.strip())
            elif key_l in ("account", "property") and value.strip():
                meta.setdefault(key_l, value.strip())
            elif text and not set(text) <= set("-# "):
                if in_first_block and "report" not in meta:
                    meta["report"] = text
                elif text.lower() == "all users":
                    meta.setdefault("segment", text)
                else:
                    title = text
            continue
        in_first_block = False
        if current is None:
            filled = [f for f in fields if f]
            if not expect_header or len(filled) < 2:
                notes.append((line, " ".join(filled)))
                continue
            current = Table(
                title=title, start=start, end=end, header=fields, header_line=line,
                blank_before_header=blank_since_comment and not tables,
            )
            tables.append(current)
            title = None
            expect_header = False
            continue
        current.rows.append((line, fields))
    return Parsed(meta=meta, tables=tables, notes=notes)


# ----------------------------------------------------------------------- detection


def _flavour(source: SourceFile) -> str | None:
    """``"report"``, ``"exploration"`` or ``None`` for a file that is neither."""
    cached = source._cache.get("ga4_flavour", "unset")
    if cached != "unset":
        return cached
    result = None
    text = source.head
    if text is not None:
        head = text[:8000].lstrip("\ufeff \r\n")[:4000]
        lines = [ln.strip().rstrip(",;\t").strip() for ln in head.splitlines()[:40]]
        comments = [ln for ln in lines if ln.startswith("#")]
        has_dates = any("start date" in c.lower() for c in comments) and any(
            "end date" in c.lower() for c in comments
        )
        if head.startswith("#") and (has_dates or any("---" in c for c in comments)):
            parsed = split_tables(source)
            result = "report"
            if parsed.tables:
                first = parsed.tables[0]
                total_first = bool(first.rows) and (
                    first.rows[0][1][0].strip().lower() in _TOTAL_LABELS
                    or (len(first.rows[0][1]) > 1
                        and first.rows[0][1][1].strip().lower() in _TOTAL_LABELS
                        and first.rows[0][1][0] == "")
                )
                if first.blank_before_header or total_first:
                    result = "exploration"
    source._cache["ga4_flavour"] = result
    return result


def score_report(source: SourceFile) -> float:
    """How sure we are that ``source`` is a GA4 "Download CSV" report."""
    return 0.95 if _flavour(source) == "report" else 0.0


def score_exploration(source: SourceFile) -> float:
    """How sure we are that ``source`` is a GA4 Exploration export."""
    return 0.96 if _flavour(source) == "exploration" else 0.0


# ------------------------------------------------------------------------- reading


def read_report(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a GA4 "Download CSV" report into channel aggregates."""
    return _read(source, context, "ga4_report")


def read_exploration(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a GA4 Exploration export into channel aggregates."""
    return _read(source, context, "ga4_exploration")


def _read(source: SourceFile, context: ReadContext, kind: str) -> ReadResult:
    """Read every table of a GA4 UI file; account for every data row and note."""
    parsed = split_tables(source)
    report = FileReport(file=source.name, kind=kind)
    name = parsed.meta.get("report", "GA4 report")
    report.meta.update(parsed.meta)
    report.meta["report"] = name
    for key in ("start_date", "end_date"):
        if key in parsed.meta:
            value = _date_of(parsed.meta[key])
            report.meta[key] = None if value is None else value.date().isoformat()

    frames = []
    tables_meta = []
    for number, table in enumerate(parsed.tables, start=1):
        frame, info = _read_table(table, number, name, report)
        frames.append(frame)
        tables_meta.append(info)
    report.meta["tables"] = tables_meta
    report.meta["not_observable_cells"] = sum(t["not_observable"] for t in tables_meta)

    for line, text in parsed.notes:
        report.rows_read += 1
        report.rows_rejected += 1
        report.problems.append(
            Problem(line, None, f"text outside any table ({text[:60]!r}), not data: "
                    "remove notes typed into the export, or ignore this row")
        )

    frames = [f for f in frames if len(f)]
    aggregates = (
        pd.concat(frames, ignore_index=True) if frames
        else empty_frame(AGGREGATE_COLUMNS)
    )
    aggregates["source_file"] = source.name
    aggregates = conform(aggregates, AGGREGATE_COLUMNS)
    if len(aggregates):
        report.calendar_days = True
        report.date_min = aggregates["period_start"].min()
        report.date_max = aggregates["period_end"].max()
    undated = sum(1 for t in tables_meta if t.get("undated"))
    if undated:
        report.notes.append(
            f"{plural(undated, 'table')} left out: broken down by Week (or Nth day, "
            "week or month), counted from the report's date range, whose '# Start "
            "date' or '# End date' line is missing; export the report again from GA4 "
            "with its header lines"
        )
    empty = sum(1 for t in tables_meta if t["rows"] == 0)
    if empty:
        report.notes.append(f"{empty} table(s) with a header and no rows (empty)")
    if report.meta["not_observable_cells"]:
        report.notes.append(
            f"{report.meta['not_observable_cells']} cohort cell(s) of -1 "
            "(not yet observable) left out"
        )
    report.check()
    return ReadResult(report=report, aggregates=aggregates)


def _canonical(name: str) -> str:
    """A column's name through the synonym tables."""
    key = " ".join(name.strip().lower().split())
    return DIMENSION_SYNONYMS.get(key) or METRIC_SYNONYMS.get(key) or name.strip()


def _cells(table: Table) -> pd.DataFrame:
    """The table's data rows as text, aligned to the header.

    A row longer than the header loses its extra fields: empty trailing ones, or,
    for a "Grand total" row, the extra fields before the metrics, so its metrics stay
    right-aligned under their columns.
    """
    width = len(table.header)
    rows = []
    for _line, fields in table.rows:
        fields = list(fields)
        if len(fields) > width:
            label = next((f for f in fields if f), "")
            if label.lower() in _TOTAL_LABELS and width > 1:
                fields = [label] + fields[-(width - 1):]
            else:
                fields = fields[:width]
        rows.append(fields + [""] * (width - len(fields)))
    columns = [f"c{i}" for i in range(width)]
    return pd.DataFrame(rows, columns=columns, dtype="string")


def _dimension_count(names: list[str], cells: pd.DataFrame) -> int:
    """How many leading columns are dimensions (at least one)."""
    count = 1
    for i in range(1, len(names)):
        low = names[i].lower()
        if names[i] in CHANNEL_DIMENSIONS or names[i] in SOURCE_MEDIUM_DIMENSIONS:
            count = i + 1
            continue
        if low in TIME_DIMENSIONS or low in KNOWN_DIMENSIONS:
            count = i + 1
            continue
        if low in METRIC_SYNONYMS or _COHORT_METRIC.match(low):
            break
        column = cells[f"c{i}"]
        _, bad = parse_numbers(column)
        present = column.fillna("").str.strip() != ""
        if present.any() and bad[present].mean() > 0.5:
            count = i + 1
            continue
        break
    return count


def _read_table(
    table: Table, number: int, report_name: str, report: FileReport
) -> tuple[pd.DataFrame, dict]:
    """Long-form aggregates of one table, its rows accounted in ``report``."""
    names = [_canonical(h) for h in table.header]
    label = table.title or ", ".join(names[:2])
    table_name = f"{number}: {label}"
    info = {"table": table_name, "rows": len(table.rows), "columns": names,
            "start_date": _iso(table.start), "end_date": _iso(table.end),
            "not_observable": 0}
    if not table.rows:
        return empty_frame(AGGREGATE_COLUMNS), info

    lines = np.array([line for line, _ in table.rows])
    cells = _cells(table)
    n_dims = _dimension_count(names, cells)
    report.rows_read += len(cells)

    # grand-total rows repeat the other rows' sum: excluded, never loaded
    first = cells["c0"].fillna("").str.strip().str.lower()
    total = first.isin(_TOTAL_LABELS)
    if len(names) > 1:
        second = cells["c1"].fillna("").str.strip().str.lower()
        total |= (first == "") & second.isin(_TOTAL_LABELS)

    # rows that cannot be data: text in a metric, notes, unplaceable weeks
    problems: list[Problem] = []
    metrics, bad_row = _metric_values(table, names, cells, n_dims, total, lines,
                                      problems)
    bad_row |= _note_rows(names, cells, n_dims, metrics, total | bad_row, lines,
                          problems)
    start, end, unresolved = _periods(names, cells, n_dims, table)
    lower = [n.lower() for n in names[:n_dims]]
    dated = not _relative_time(lower) or _has_range(lower, table)
    bad_row |= _unplaced_weeks(names, cells, unresolved & ~bad_row & ~total, lines,
                               problems, dated)
    if not dated and len(cells):
        info["undated"] = True
    report.problems.extend(sorted(problems, key=lambda p: p.row or 0))

    excluded = total & ~bad_row
    if excluded.any():
        report.excluded_by["grand total row"] = (
            report.excluded_by.get("grand total row", 0) + int(excluded.sum())
        )
    keep = ~bad_row & ~excluded
    report.rows_excluded += int(excluded.sum())
    report.rows_rejected += int(bad_row.sum())
    report.rows_loaded += int(keep.sum())

    # one long row per metric cell; cohort cells of -1 are "not yet observable"
    channel = _channels(names, cells, n_dims)
    dimension = _dimension_text(names, cells, n_dims)
    pieces = []
    for metric, values in metrics.items():
        frame = pd.DataFrame({
            "report": report_name, "table": table_name,
            "period_start": start, "period_end": end,
            "dimension": dimension, "channel": channel,
            "metric": metric, "value": values,
        })[keep & values.notna()]
        if _COHORT_METRIC.match(metric):
            unseen = frame["value"] == -1
            info["not_observable"] += int(unseen.sum())
            frame = frame[~unseen]
        pieces.append(frame)
    pieces = [p for p in pieces if len(p)]
    out = (
        pd.concat(pieces, ignore_index=True) if pieces
        else empty_frame(AGGREGATE_COLUMNS)
    )
    return out, info


def _metric_values(
    table: Table,
    names: list[str],
    cells: pd.DataFrame,
    n_dims: int,
    total: pd.Series,
    lines: np.ndarray,
    problems: list[Problem],
) -> tuple[dict[str, pd.Series], pd.Series]:
    """Each metric column as numbers (rates as fractions), and rows with text in a
    metric cell (placeholders such as ``(not set)`` are missing values, not text)."""
    metrics = {}
    bad_row = pd.Series(False, index=cells.index)
    for i in range(n_dims, len(names)):
        column = cells[f"c{i}"]
        if "rate" in names[i].lower():
            values, bad = parse_percent(column)
        else:
            values, bad = parse_numbers(column)
        bad &= ~total & ~bad_row
        for row in bad[bad].index:
            problems.append(
                Problem(int(lines[row]), table.header[i],
                        f"{column[row]!r} is not a number: fix or remove this row")
            )
        bad_row |= bad
        metrics[names[i]] = values
    return metrics, bad_row


def _note_rows(
    names: list[str],
    cells: pd.DataFrame,
    n_dims: int,
    metrics: dict[str, pd.Series],
    already: pd.Series,
    lines: np.ndarray,
    problems: list[Problem],
) -> pd.Series:
    """Rows that are notes, not data: no dimension at all, or only a first cell of
    text with no metric (what people type under a table in Excel)."""
    dims = cells[[f"c{i}" for i in range(n_dims)]].fillna("")
    blank = dims.apply(lambda c: c.str.strip()) == ""
    no_dims = blank.all(axis=1) & ~already
    only_first = blank.iloc[:, 1:].all(axis=1) if n_dims > 1 else ~blank.iloc[:, 0]
    no_metric = pd.Series(True, index=cells.index)
    for values in metrics.values():
        no_metric &= values.isna()
    note = (
        bool(metrics) & no_metric & only_first & ~no_dims & ~already
        & ~_is_time(names[0], cells["c0"])
    )
    for row in note[note].index:
        problems.append(
            Problem(int(lines[row]), None,
                    f"{cells.at[row, 'c0'][:60]!r} has no values: a note typed "
                    "under the table? remove it, or ignore this row")
        )
    for row in no_dims[no_dims].index:
        problems.append(
            Problem(int(lines[row]), names[0], "row has no dimension value")
        )
    return note | no_dims


def _relative_time(lower: list[str]) -> str | None:
    """The table's time dimension that counts from the report's date range."""
    return next((n for n in RELATIVE_TIME if n in lower), None)


def _has_range(lower: list[str], table: Table) -> bool:
    """Whether the table's date range places its relative time dimension."""
    if "week" in lower:
        return table.start is not None and table.end is not None
    return table.start is not None


def _unplaced_weeks(
    names: list[str],
    cells: pd.DataFrame,
    unresolved: pd.Series,
    lines: np.ndarray,
    problems: list[Problem],
    dated: bool = True,
) -> pd.Series:
    """Rows whose week (or Nth day, week, month) cannot be placed in time.

    A ``Week`` that is not a number, or falls in two years of the range; with
    ``dated`` false, every row of a table whose date range is missing.
    """
    if not unresolved.any():
        return unresolved
    lower = [n.lower() for n in names]
    dimension = _relative_time(lower) or "week"
    title = names[lower.index(dimension)]
    column = f"c{lower.index(dimension)}"
    for row in unresolved[unresolved].index:
        value = str(cells.at[row, column])
        if not dated:
            message = (
                f"{title} {value} cannot be dated: the report's date range (its "
                "'# Start date' and '# End date' lines above the table) is missing; "
                "export the report again from GA4 with its header lines"
            )
        elif value.strip().isdigit():
            message = (
                f"week {value} cannot be placed in one year of the date range: "
                "export one year at a time or add the Year dimension"
            )
        else:
            message = f"{value!r} is not a week number: fix or remove this row"
        problems.append(Problem(int(lines[row]), title, message))
    return unresolved


def _iso(day: pd.Timestamp | None) -> str | None:
    """A day as ``YYYY-MM-DD`` (``None`` stays ``None``)."""
    return None if day is None else day.date().isoformat()


def _is_time(name: str, column: pd.Series) -> pd.Series:
    """Cells of a time dimension (so a bare week number is never taken for a note)."""
    if name.lower() in TIME_DIMENSIONS:
        return column.fillna("").str.strip().str.fullmatch(r"\d+").fillna(False)
    return pd.Series(False, index=column.index)


def _channels(names: list[str], cells: pd.DataFrame, n_dims: int) -> pd.Series:
    """The channel group of each row, when the table has one or source / medium."""
    for i in range(n_dims):
        if names[i] in CHANNEL_DIMENSIONS:
            return cells[f"c{i}"].str.strip()
    for i in range(n_dims):
        if names[i] in SOURCE_MEDIUM_DIMENSIONS:
            parts = cells[f"c{i}"].str.split(" / ", n=1, expand=True)
            medium = (
                parts[1] if parts.shape[1] > 1
                else pd.Series(pd.NA, index=cells.index, dtype="string")
            )
            return channel_groups(parts[0], medium)
    return pd.Series(pd.NA, index=cells.index, dtype="string")


def _dimension_text(names: list[str], cells: pd.DataFrame, n_dims: int) -> pd.Series:
    """``Name=value; Name=value`` of the row's dimensions other than time."""
    out = pd.Series("", index=cells.index, dtype="string")
    for i in range(n_dims):
        values = cells[f"c{i}"].fillna("").str.strip()
        if names[i].lower() in TIME_DIMENSIONS - {"date"} or (
            names[i].lower() == "date"
            and values[values != ""].str.fullmatch(r"\d{8}").all()
        ):
            continue
        part = names[i] + "=" + cells[f"c{i}"].fillna("")
        out = out.where(out == "", out + "; ") + part
    return out.mask(out == "", pd.NA)


def _periods(
    names: list[str], cells: pd.DataFrame, n_dims: int, table: Table
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each row's period (inclusive first and last day) and rows that cannot be placed.

    ``Week`` is GA4's week of the year: weeks start on Sunday and 1 January is always
    in week 01, so the first and last weeks are short. A week number is placed in
    the year of the table's date range whose week overlaps the range; ``Nth week``,
    ``Nth day`` and ``Nth month`` count from the start date; ``Date`` is
    ``YYYYMMDD``. Periods are clipped to the date range.
    """
    index = cells.index
    range_start = table.start if table.start is not None else pd.NaT
    range_end = table.end if table.end is not None else pd.NaT
    start = pd.Series(range_start, index=index, dtype="datetime64[us, UTC]")
    end = pd.Series(range_end, index=index, dtype="datetime64[us, UTC]")
    unresolved = pd.Series(False, index=index)
    lower = [n.lower() for n in names[:n_dims]]
    day = pd.Timedelta(days=1)

    def number(col: str) -> pd.Series:
        return pd.to_numeric(cells[col].str.strip(), errors="coerce")

    if _relative_time(lower) and not _has_range(lower, table):
        return start, end, pd.Series(True, index=index)  # (no range to count from)
    if "week" in lower and table.start is not None and table.end is not None:
        col = f"c{lower.index('week')}"
        week = number(col)
        year_col = f"c{lower.index('year')}" if "year" in lower else None
        found_start = pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
        found_end = found_start.copy()
        hits = pd.Series(0, index=index)
        years = range(table.start.year, table.end.year + 1)
        for year in years:
            w_start, w_end = _week_span(year, week)
            overlap = (w_start <= range_end) & (w_end >= range_start)
            if year_col is not None:
                overlap &= number(year_col) == year
            found_start = found_start.mask(overlap, w_start)
            found_end = found_end.mask(overlap, w_end)
            hits += overlap.astype(int)
        ok = hits == 1
        start = start.mask(ok, found_start.clip(lower=range_start))
        end = end.mask(ok, found_end.clip(upper=range_end))
        unresolved = ~ok
    elif "nth week" in lower and table.start is not None:
        n = number(f"c{lower.index('nth week')}")
        start = range_start + pd.to_timedelta(n * 7, unit="D")
        end = (start + 6 * day).clip(upper=range_end) if table.end is not None else (
            start + 6 * day
        )
    elif "nth day" in lower and table.start is not None:
        n = number(f"c{lower.index('nth day')}")
        start = range_start + pd.to_timedelta(n, unit="D")
        end = start
    elif "nth month" in lower and table.start is not None:
        n = number(f"c{lower.index('nth month')}").fillna(0).astype(int)
        first = pd.Timestamp(table.start.year, table.start.month, 1, tz="UTC")
        start = pd.Series(
            [max(first + pd.DateOffset(months=int(k)), range_start) for k in n],
            index=index, dtype="datetime64[us, UTC]",
        )
        end = pd.Series(
            [first + pd.DateOffset(months=int(k) + 1) - day for k in n],
            index=index, dtype="datetime64[us, UTC]",
        )
        if table.end is not None:
            end = end.clip(upper=range_end)
    elif "date" in lower:
        col = f"c{lower.index('date')}"
        parsed = pd.to_datetime(cells[col].str.strip(), format="%Y%m%d",
                                errors="coerce", utc=True)
        found = parsed.notna()
        start = start.mask(found, parsed)
        end = end.mask(found, parsed)
    return (
        start.astype("datetime64[us, UTC]"),
        end.astype("datetime64[us, UTC]"),
        unresolved,
    )


def _week_span(year: int, week: pd.Series) -> tuple[pd.Series, pd.Series]:
    """First and last day of GA4 week ``week`` of ``year`` (Sunday-start weeks)."""
    jan1 = pd.Timestamp(year, 1, 1, tz="UTC")
    dec31 = pd.Timestamp(year, 12, 31, tz="UTC")
    # days from 1 January to the first Sunday after it (0 when 1 January is Sunday)
    to_sunday = (6 - jan1.weekday()) % 7 or 7
    first_end = jan1 + pd.Timedelta(days=to_sunday - 1)
    w = week.astype("float64")
    start = jan1 + pd.to_timedelta(((w - 2) * 7 + to_sunday).clip(lower=0), unit="D")
    start = start.where(w != 1, jan1)
    end = (start + pd.Timedelta(days=6)).where(w != 1, first_end)
    valid = (w >= 1) & (w <= 53) & (start <= dec31)
    end = end.clip(upper=dec31)
    return start.where(valid), end.where(valid)
