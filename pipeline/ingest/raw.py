"""From decoded files to tables of text.

Files come out of their containers and into text in :mod:`pipeline.ingest.containers`.
:func:`read_table` splits the text into a table whose every column is text, with the
delimiter sniffed from ``, ; tab |`` or runs of whitespace and the header found from
the values. Row labels are the rows as a spreadsheet shows them (the header is row 1),
so readers can name the row of any problem; a table that cannot be read raises
:class:`~pipeline.model.InputError` naming the file.

JSON, NDJSON and Parquet are read with :mod:`pyarrow` (:func:`read_arrow`) and
flattened into text tables by :func:`read_table` as well.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipeline.ingest.base import SourceFile
from pipeline.ingest.containers import BINARY_EXTENSIONS
from pipeline.model import InputError, Problem

logger = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = "whitespace"
SNIFF_LINES = 60
BLOCK_BYTES = 1 << 22
"""Bytes pyarrow's CSV reader parses at a time (each block on its own core)."""


MAX_HEADER_CHARS = 100_000
"""The longest header line read as a table's header (real headers are far shorter)."""


def sniff_delimiter(text: str) -> str:
    """The delimiter of a delimited text: one of ``, ; tab |`` or ``"whitespace"``.

    The candidate that splits the first lines into the same number of fields (more
    than one) most consistently wins; ties go to the order above. Lines starting
    with ``#`` are skipped. Text that splits only on runs of spaces is
    ``"whitespace"``; a single column is read with ``,``.
    """
    head = text[:200_000]
    if len(text) > len(head):
        head = head[: head.rfind("\n") + 1] or head
    body = _without_comment_block(head)
    lines = [line for line in body.splitlines()[:SNIFF_LINES] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        counts = _field_counts(body, delimiter)
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        share = counts.count(mode) / len(counts)
        score = share + 0.001 * min(mode, 50)
        if score > best_score + 1e-9:
            best, best_score = delimiter, score
    if best_score >= 0.5:
        return best
    counts = [len(line.split()) for line in lines]
    mode = max(set(counts), key=counts.count)
    if mode >= 2 and counts.count(mode) / len(counts) >= 0.8:
        return WHITESPACE
    return ","


def _without_comment_block(text: str) -> str:
    """The text after a leading block of ``#`` comment lines and blank lines."""
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and (
        not lines[start].strip() or lines[start].lstrip().startswith("#")
    ):
        start += 1
    return "".join(lines[start:])


def _field_counts(text: str, delimiter: str) -> list[int]:
    """Fields per record of the first records (quoted line breaks respected)."""
    counts: list[int] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                counts.append(len(row))
            if len(counts) >= SNIFF_LINES:
                break
    except csv.Error:
        return counts
    return counts


def _looks_like_values(cells: list[str]) -> bool:
    """Whether every cell of a row is a number or date (so the row is not a header)."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled:
        return False
    pattern = re.compile(
        r"^[-+]?[$€£]?\d[\d,.: /\-+T]*%?$|^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}.*$"
    )
    return all(pattern.match(c) for c in filled)


def has_header(text: str, delimiter: str) -> bool:
    """Whether the first non-comment row is a header (some cell is not a value)."""
    for line in _without_comment_block(text[:200_000]).splitlines():
        if not line.strip():
            continue
        if delimiter == WHITESPACE:
            cells = line.split()
        else:
            try:
                cells = next(csv.reader([line], delimiter=delimiter), [])
            except csv.Error:  # a field beyond the csv module's size limit
                return True
        return not _looks_like_values(cells)
    return True


def overlong_header(source: SourceFile) -> InputError | None:
    """The error for a text table whose header line is too long to be a header.

    A header of more than :data:`MAX_HEADER_CHARS` characters (or a file with no
    line break at all in its first megabyte) is not a table of rows under a
    header: a file saved without line breaks, a log, or a document.

    Parameters
    ----------
    source
        The decoded file.

    Returns
    -------
    InputError or None
        The error naming the file and the line's length, or ``None`` when the
        file is binary, JSON, or its header is of a normal length.
    """
    head = source.head
    if head is None or _is_json(head[:1000]):
        return None
    body = _without_comment_block(head)
    end = body.find("\n")
    length = len(body) if end < 0 else end
    if length <= MAX_HEADER_CHARS:
        return None
    line = (
        f"its first {length:,} characters hold no line break"
        if end < 0
        else f"its header line is {length:,} characters long"
    )
    return InputError(
        f"{line}, so it is not a table with a header row and one row per line. "
        "Export the data again as CSV with one row per line, or check that this is "
        "the file you meant to upload",
        file=source.name,
    )


def read_table(
    source: SourceFile,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    skip_lines: int = 0,
    nrows: int | None = None,
) -> pd.DataFrame:
    """The file as a table whose every column is text.

    Parameters
    ----------
    source
        A decoded file (delimited text, or JSON/NDJSON/Parquet).
    delimiter
        ``, ; \\t |`` or ``"whitespace"``; sniffed when ``None``.
    header
        Whether the first row names the columns; inferred when ``None``. Tables
        without one get columns ``column_1``, ``column_2``, ...
    skip_lines
        Lines to skip before the table (a report's ``#`` block).
    nrows
        Read only this many data rows (for detection).

    Returns
    -------
    pandas.DataFrame
        Columns as in the file (repeated names made unique as ``Name.1``), values
        as ``string`` dtype with blank cells ``NA``. The index is each row's number
        as a spreadsheet shows it (header = row 1). ``frame.attrs["problems"]``
        lists rows that could not be split into the header's fields; they are not in
        the table and count as rejected (:func:`rows_read`).

    Raises
    ------
    InputError
        When nothing table-like can be read.
    """
    key = f"table:{delimiter}:{header}:{skip_lines}:{nrows}"
    if key in source._cache:
        return source._cache[key].copy(deep=False)
    if source.extension == ".parquet" or source.head is None:
        frame = _flatten(read_arrow(source).to_pandas(), source.name)
    elif source.extension in (".json", ".ndjson", ".jsonl") or _is_json(source.head):
        frame = _flatten(read_arrow(source).to_pandas(), source.name)
    else:
        frame = _delimited(source, delimiter, header, skip_lines, nrows)
    if nrows is not None:
        frame = frame.iloc[:nrows]
    source._cache[key] = frame
    return frame.copy(deep=False)


RELEASE_TEXT_BYTES = 64 * 1024 * 1024
"""Size from which :func:`release_text` frees a file's decoded text."""


def release_text(source: SourceFile) -> bool:
    """Free a large UTF-8 file's decoded text once its table has been read.

    The text of a 1 GB file is another 1 GB held beside its bytes; a reader that has
    its table (cached on the source) no longer needs it, and :attr:`SourceFile.text`
    decodes it again from the bytes if asked.

    Returns
    -------
    bool
        Whether the text was freed (files under :data:`RELEASE_TEXT_BYTES`, or not
        in UTF-8, keep it).
    """
    if len(source.data) < RELEASE_TEXT_BYTES:
        return False
    return source.release_text()


def peek(source: SourceFile, rows: int = 200) -> pd.DataFrame:
    """The first rows of :func:`read_table`, cheaply (for detection); empty if none."""
    key = f"peek:{rows}"
    if key in source._cache:
        return source._cache[key].copy(deep=False)
    frame = _peek(source, rows)
    source._cache[key] = frame
    return frame.copy(deep=False)


def _peek(source: SourceFile, rows: int) -> pd.DataFrame:
    try:
        head = source.head
        if head is not None and len(source.data) > 2_000_000:
            head = head[: head.rfind("\n") + 1] or head
            small = SourceFile(
                source.name, b"", head, source.encoding, source.extension
            )
            return read_table(small, nrows=rows)
        return read_table(source, nrows=rows)
    except InputError:
        return pd.DataFrame()


def rows_read(frame: pd.DataFrame) -> int:
    """Data rows read from a table: those in it plus those that could not be split."""
    return len(frame) + len(frame.attrs.get("problems", []))


def table_problems(frame: pd.DataFrame) -> list[Problem]:
    """Rows of the file that could not be split into the header's fields."""
    return list(frame.attrs.get("problems", []))


def _is_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def _unique_names(names: list[str]) -> list[str]:
    """Header names stripped, blanks named ``column_<n>``, repeats made unique."""
    seen: dict[str, int] = {}
    out = []
    for i, raw_name in enumerate(names):
        name = str(raw_name).strip().strip("\ufeff") or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def _delimited(
    source: SourceFile,
    delimiter: str | None,
    header: bool | None,
    skip_lines: int,
    nrows: int | None,
) -> pd.DataFrame:
    """A delimited text as a text table (pyarrow first, Python's csv on ragged rows).

    A large UTF-8 file is sniffed from its head and handed to pyarrow as bytes: its
    whole text is decoded only if pyarrow cannot read it.
    """
    text = source.head or ""
    if skip_lines:
        text = "\n".join((source.text or "").splitlines()[skip_lines:]) + "\n"
    if delimiter is None:
        delimiter = sniff_delimiter(text)
    if header is None:
        header = has_header(text, delimiter)
    if delimiter == WHITESPACE:
        whole = text if skip_lines else source.text or ""
        return _whitespace(source.name, whole, header, skip_lines)

    try:
        frame = _arrow_table(source, text, delimiter, header, skip_lines)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError, ValueError):
        whole = text if skip_lines else source.text or ""
        frame = _python_table(source.name, whole, delimiter, header, skip_lines)
    return frame


def _data_bytes(source: SourceFile, text: str, skip_lines: int) -> bytes:
    """UTF-8 bytes of the table's text (the upload's own bytes when already UTF-8).

    ``text`` is the table's text after ``skip_lines`` (unused when there are none).
    """
    if not skip_lines and source.encoding in ("utf-8", "ascii") and source.data:
        return source.data
    return (text if skip_lines else source.text or "").encode("utf-8")


def _arrow_table(
    source: SourceFile, text: str, delimiter: str, header: bool, skip_lines: int
) -> pd.DataFrame:
    """Fast path: pyarrow's CSV reader with every column read as text.

    ``text`` is the table's text after ``skip_lines``, or its head when none are
    skipped (only its first row is read here).
    """
    data = _data_bytes(source, text, skip_lines)
    first = next(csv.reader(io.StringIO(text[:200_000]), delimiter=delimiter), [])
    names = (
        _unique_names(first)
        if header
        else [f"column_{i + 1}" for i in range(len(first))]
    )
    try:
        table = _arrow_csv(data, names, header, delimiter, False)
        split_right = _one_row_per_line(data, table.num_rows + header)
    except pa.ArrowInvalid:
        split_right = False
    if not split_right:
        # a line break inside a quoted value (or a blank line): pyarrow's slower
        # mode, which never splits the file inside quotes
        table = _arrow_csv(data, names, header, delimiter, True)
    frame = table.to_pandas(types_mapper=_string_types)
    return _finish(frame, header, skip_lines, [])


def _arrow_csv(
    data: bytes,
    names: list[str],
    header: bool,
    delimiter: str,
    quoted_newlines: bool,
    types: dict[str, pa.DataType] | None = None,
) -> pa.Table:
    """pyarrow's CSV reader with every column read as text (or as ``types`` says).

    Without ``quoted_newlines`` the file is split into blocks at any line break,
    which is about twice as fast but wrong if a quoted value holds one. With
    ``types``, only its columns are read.
    """
    return pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=1 if header else 0,
            block_size=BLOCK_BYTES,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=quoted_newlines
        ),
        convert_options=pacsv.ConvertOptions(
            # large_string is pandas' own text storage: the frame shares it
            column_types=types or {n: pa.large_string() for n in names},
            include_columns=list(types) if types else None,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    )


def typed_csv(source: SourceFile, types: dict[str, pa.DataType]) -> pa.Table | None:
    """The columns named in ``types`` read by Arrow straight into those types.

    For a delimited UTF-8 file whose first row is its header (the documented events
    CSV): Arrow parses times and numbers while it reads, on every core, and keeps
    text as dictionaries where asked.

    Parameters
    ----------
    source
        The file.
    types
        Header name -> Arrow type (``large_string`` for text).

    Returns
    -------
    pyarrow.Table or None
        The columns, one row per data row (blank lines skipped). ``None`` when the
        file is not such a file, or some row has the wrong number of fields or a value
        that does not convert: :func:`read_table` then reads it as text.
    """
    head = source.head
    if (
        source.encoding not in ("utf-8", "ascii")
        or not source.data
        or head is None
        or source.extension in BINARY_EXTENSIONS + (".json", ".ndjson", ".jsonl")
        or _is_json(head)
    ):
        return None
    delimiter = sniff_delimiter(head)
    if delimiter == WHITESPACE or not has_header(head, delimiter):
        return None
    first = next(csv.reader(io.StringIO(head[:200_000]), delimiter=delimiter), [])
    names = _unique_names(first)
    if not set(types) <= set(names):
        return None
    data = source.data
    try:
        table = _arrow_csv(data, names, True, delimiter, False, types)
        if _one_row_per_line(data, table.num_rows + 1):
            return table
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass  # perhaps a block split inside quotes: the careful mode tells
    try:
        return _arrow_csv(data, names, True, delimiter, True, types)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _one_row_per_line(data: bytes, lines: int) -> bool:
    """Whether the bytes hold exactly ``lines`` lines (a last line break optional).

    True means no value holds a line break, so reading blocks split at any line
    break gave the right rows.
    """
    breaks = line_breaks(data)
    return breaks == lines or (breaks == lines - 1 and data[-1:] != b"\n")


def line_breaks(data: bytes) -> int:
    """How many ``\\n`` bytes ``data`` holds, counted by numpy on both cores.

    ``bytes.count`` takes one core (0.45 s for 1 GB here); numpy releases the
    interpreter lock, so slices are counted in two threads (0.1 s).
    """
    if len(data) < BLOCK_BYTES:
        return bytes(data).count(b"\n")
    array = np.frombuffer(data, dtype=np.uint8)
    slices = [array[i : i + BLOCK_BYTES] for i in range(0, len(array), BLOCK_BYTES)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return sum(pool.map(_newlines_in, slices))


def _newlines_in(array: np.ndarray) -> int:
    return int(np.count_nonzero(array == 10))


def _string_types(dtype: pa.DataType) -> Any:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype("pyarrow")
    return None


def _python_table(
    name: str, text: str, delimiter: str, header: bool, skip_lines: int
) -> pd.DataFrame:
    """Slow path for ragged rows: every row checked against the header's width."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(
            f"the file cannot be split into columns ({exc}): save it again as CSV",
            file=name,
        ) from exc
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError("the file holds no rows", file=name)
    ends_cleanly = text.endswith(("\n", "\r"))

    width = len(rows[0])
    names = (
        _unique_names(rows[0]) if header else [f"column_{i + 1}" for i in range(width)]
    )
    body = rows[1:] if header else rows
    first_row = (2 if header else 1) + skip_lines
    kept, labels, problems = [], [], []
    for offset, row in enumerate(body):
        number = first_row + offset
        if len(row) > width and not any(c.strip() for c in row[width:]):
            row = row[:width]
        cut = offset == len(body) - 1 and len(row) < width and not ends_cleanly
        if len(row) < width and not cut:
            # trailing empty cells left out (some tools and re-saved files do this)
            row = row + [""] * (width - len(row))
        if len(row) == width:
            kept.append(row)
            labels.append(number)
            continue
        problems.append(
            Problem(
                number,
                None,
                f"the row has {len(row)} fields but the header has {width}"
                + (
                    ": the file looks cut off; export it again"
                    if cut
                    else ": check for a stray delimiter or quote in this row"
                ),
            )
        )
    kept = [[cell if cell.strip() else None for cell in row] for row in kept]
    frame = pd.DataFrame(kept, columns=names, index=labels, dtype="string")
    frame.attrs["problems"] = problems
    return frame


def _whitespace(name: str, text: str, header: bool, skip_lines: int) -> pd.DataFrame:
    """Columns separated by runs of spaces or tabs (transaction logs such as CDNOW)."""
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=r"\s+",
            header=0 if header else None,
            dtype="string",
            engine="c",
            skip_blank_lines=True,
            comment=None,
        )
    except (pd.errors.ParserError, ValueError):
        return _python_table(
            name, re.sub(r"[ \t]+", "\t", text), "\t", header, skip_lines
        )
    if not header:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
    else:
        frame.columns = _unique_names([str(c) for c in frame.columns])
    return _finish(frame, header, skip_lines, [], drop_blank=False)


def _finish(
    frame: pd.DataFrame,
    header: bool,
    skip_lines: int,
    problems: list[Problem],
    drop_blank: bool = True,
) -> pd.DataFrame:
    """Label rows as a spreadsheet numbers them and drop rows with no value at all."""
    frame.index = pd.RangeIndex(len(frame)) + (2 if header else 1) + skip_lines
    for col in frame.columns:
        if frame[col].dtype != "string":
            frame[col] = frame[col].astype("string")
    if drop_blank and len(frame.columns):
        filled = np.zeros(len(frame), dtype=bool)
        for col in frame.columns:
            filled |= frame[col].notna().to_numpy(dtype=bool)
        if not filled.all():
            blank = frame.loc[filled].shape[0]
            frame = frame.loc[filled]
            logger.debug("%d blank rows skipped", len(filled) - blank)
    frame.attrs["problems"] = problems
    return frame


def read_arrow(source: SourceFile) -> pa.Table:
    """A Parquet, JSON (array or object) or NDJSON file as an Arrow table.

    Nested fields (GA4 BigQuery's ``event_params``) stay nested.

    Raises
    ------
    InputError
        When the file is not valid JSON/NDJSON/Parquet.
    """
    if "arrow" in source._cache:
        return source._cache["arrow"]
    try:
        if source.extension == ".parquet" or source.text is None:
            table = pq.read_table(io.BytesIO(source.data))
        else:
            table = _json_table(source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(
            f"the file cannot be read as {source.extension or 'JSON'} ({exc}): "
            "export it again",
            file=source.name,
        ) from exc
    source._cache["arrow"] = table
    return table


def _json_table(source: SourceFile) -> pa.Table:
    """NDJSON through pyarrow; a JSON array or object through :mod:`json`."""
    text = source.text or ""
    stripped = text.lstrip()
    if stripped.startswith("["):
        records = json.loads(text)
        return pa.Table.from_pylist([_record(r) for r in records])
    if stripped.startswith("{") and "\n{" not in stripped.strip():
        obj = json.loads(text)
        rows = next((v for v in obj.values() if isinstance(v, list)), [obj])
        return pa.Table.from_pylist([_record(r) for r in rows])
    return pajson.read_json(
        io.BytesIO(text.encode("utf-8")),
        read_options=pajson.ReadOptions(block_size=1 << 24),
    )


def _record(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


def _flatten(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A table from JSON/Parquet as text: nested values become JSON text."""
    if frame.empty and not len(frame.columns):
        raise InputError("the file holds no records", file=name)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)) + 2)
    for col in frame.columns:
        values = frame[col]
        if values.dtype == object:
            values = values.map(_json_text)
        out[str(col)] = pd.Series(values.to_numpy(), index=out.index).astype("string")
    out.attrs["problems"] = []
    return out


def _json_text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if hasattr(value, "tolist"):
        return json.dumps(value.tolist(), default=str)
    return value
