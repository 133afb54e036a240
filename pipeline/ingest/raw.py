"""From uploaded bytes to decoded files and tables of text.

Three steps, each raising :class:`~pipeline.model.InputError` that names the file
and says what to do when it cannot go on:

1. :func:`unpack` opens containers: ``.gz`` and ``.zip`` (each member becomes its
   own file, named ``archive.zip/inner.csv``), and turns every sheet of an ``.xlsx``
   workbook into a CSV text.
2. :func:`decode` finds the text encoding: a byte-order mark (UTF-8, UTF-16, UTF-32),
   else strict UTF-8, else what :mod:`charset_normalizer` finds (cp1252 and the
   like), refusing binary data.
3. :func:`read_table` splits the text into a table whose every column is text, with
   the delimiter sniffed from ``, ; tab |`` or runs of whitespace and the header
   found from the values. Row labels are the rows as a spreadsheet shows them (the
   header is row 1), so readers can name the row of any problem.

JSON, NDJSON and Parquet are read with :mod:`pyarrow` (:func:`read_arrow`) and
flattened into text tables by :func:`read_table` as well.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import re
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipeline.ingest.base import HEAD_CHARS, SourceFile
from pipeline.model import InputError, Problem

logger = logging.getLogger(__name__)

MAX_BYTES = int(os.environ.get("PIPELINE_MAX_FILE_MB", "1024")) * 1024 * 1024
"""Largest file (after decompression) accepted; the app's upload limit is the same."""

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".json", ".ndjson", ".jsonl", ".tab")
BINARY_EXTENSIONS = (".xlsx", ".parquet")
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS + BINARY_EXTENSIONS
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = "whitespace"
SNIFF_LINES = 60
BLOCK_BYTES = 1 << 22
"""Bytes pyarrow's CSV reader parses at a time (each block on its own core)."""


def _too_big(name: str, size: int, limit: int) -> InputError:
    return InputError(
        f"the file is {size / 2**20:,.0f} MB, over the {limit / 2**20:,.0f} MB limit: "
        "load it with the command line (python -m pipeline inspect FILE) or split it",
        file=name,
    )


# ------------------------------------------------------------------------ containers


def unpack_members(
    name: str, data: bytes, *, max_bytes: int = MAX_BYTES
) -> tuple[list[SourceFile], list[InputError]]:
    """Like :func:`unpack`, but a member of an archive that cannot be used is
    returned as its error instead of failing the whole archive.

    Returns
    -------
    tuple
        The usable files, and one :class:`~pipeline.model.InputError` (naming
        ``archive.zip/member``) per member left out.

    Raises
    ------
    InputError
        When the upload itself cannot be opened (empty, damaged, binary).
    """
    errors: list[InputError] = []
    return unpack(name, data, max_bytes=max_bytes, errors=errors), errors


def unpack(
    name: str,
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    errors: list[InputError] | None = None,
) -> list[SourceFile]:
    """Open containers and return the files inside, decoded.

    Parameters
    ----------
    name
        The upload's file name.
    data
        Its bytes.
    max_bytes
        Largest size accepted for any file, before or after decompression.
    errors
        When given, a ``.zip`` member that cannot be used is appended here and the
        other members are still returned; when ``None``, it raises.

    Returns
    -------
    list of SourceFile
        One per file found: the file itself, a ``.gz``'s content, each member of a
        ``.zip`` (``archive.zip/inner.csv``), each non-empty sheet of an ``.xlsx``.

    Raises
    ------
    InputError
        Empty, cut-off, binary or oversize files, and archives with nothing usable.
    """
    if len(data) > max_bytes:
        raise _too_big(name, len(data), max_bytes)
    if not data[:65536].strip() and not data.strip():
        raise InputError(
            "the file is empty: export it again and upload the new file", file=name
        )

    lower = name.lower()
    if data[:2] == b"\x1f\x8b":
        inner = name[:-3] if lower.endswith(".gz") else name + ".unzipped"
        return unpack(
            inner, _gunzip(name, data, max_bytes), max_bytes=max_bytes, errors=errors
        )
    if data[:4] == b"PK\x03\x04" or lower.endswith(".zip"):
        return _unzip(name, data, max_bytes, errors)
    if data[:4] == b"PAR1":
        return [SourceFile(name, data, None, None, ".parquet")]
    return [_decoded(name, data)]


def _gunzip(name: str, data: bytes, max_bytes: int) -> bytes:
    """A ``.gz`` file's content, refusing cut-off and oversize streams."""
    try:
        out = zlib.decompressobj(wbits=31)
        content = out.decompress(data, max_bytes + 1)
        if len(content) > max_bytes:
            raise _too_big(name, len(content), max_bytes)
        if not out.eof:
            raise EOFError
        return content
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(
            "the .gz file is cut off or damaged: compress or download it again",
            file=name,
        ) from exc


def _unzip(
    name: str, data: bytes, max_bytes: int, errors: list[InputError] | None = None
) -> list[SourceFile]:
    """Every usable member of a zip archive (or the sheets of an xlsx workbook).

    With ``errors`` given, a member that cannot be used is appended there (its
    error names ``archive.zip/member``) and the others are still returned.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not os.path.basename(info.filename).startswith(".")
        ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise InputError(
            "the archive is cut off or damaged: zip or download it again", file=name
        ) from exc

    if any(m.filename == "xl/workbook.xml" for m in members):
        return _xlsx_sheets(name, data)

    files: list[SourceFile] = []
    for info in members:
        inner_name = f"{name}/{info.filename}"
        try:
            files.extend(_member(archive, info, inner_name, max_bytes, errors))
        except InputError as exc:
            if errors is None:
                raise
            if not exc.file:
                exc.file = inner_name
            errors.append(exc)
    if not files and errors:
        return files
    if not files:
        raise InputError(
            "the archive holds no data files: put the .csv, .xlsx, .json or .parquet "
            "exports in it",
            file=name,
        )
    return files


def _member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    inner_name: str,
    max_bytes: int,
    errors: list[InputError] | None,
) -> list[SourceFile]:
    """The files of one archive member (none when it is blank)."""
    if info.file_size > max_bytes:
        raise _too_big(inner_name, info.file_size, max_bytes)
    try:
        content = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, KeyError) as exc:
        raise InputError(
            "this member of the archive is damaged: zip the files again",
            file=inner_name,
        ) from exc
    if not content.strip():
        return []
    return unpack(inner_name, content, max_bytes=max_bytes, errors=errors)


def _xlsx_sheets(name: str, data: bytes) -> list[SourceFile]:
    """Each non-empty sheet of a workbook, as CSV text (every cell as text)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on bad files
        raise InputError(
            "the workbook cannot be opened (damaged or not an .xlsx): save it again "
            "from Excel as .xlsx or .csv",
            file=name,
        ) from exc

    sheets: list[tuple[str, str]] = []
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            cells = [_cell_text(v) for v in row]
            while cells and cells[-1] == "":
                cells.pop()
            rows.append(cells)
        if not any(rows):
            continue
        width = max(len(r) for r in rows)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows(r + [""] * (width - len(r)) for r in rows)
        sheets.append((sheet.title, buffer.getvalue()))
    book.close()

    if not sheets:
        raise InputError("the workbook has no filled sheet", file=name)
    many = len(sheets) > 1
    return [
        SourceFile(
            f"{name}[{title}]" if many else name,
            text.encode("utf-8"),
            text,
            "xlsx",
            ".csv",
        )
        for title, text in sheets
    ]


def _cell_text(value: Any) -> str:
    """A workbook cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


# ------------------------------------------------------------------------- encodings


def _decoded(name: str, data: bytes) -> SourceFile:
    """A text or binary file as a :class:`SourceFile` (text decoded when text)."""
    extension = os.path.splitext(name.lower())[1]
    if extension == ".parquet":
        raise InputError(
            "the file is named .parquet but is not a Parquet file: export it again",
            file=name,
        )
    head = _utf8_head(data) if len(data) >= LAZY_TEXT_BYTES else None
    if head is not None:
        # decoded when a reader asks for the whole text; pyarrow parses the bytes
        return SourceFile(
            name,
            data,
            None,
            "utf-8",
            extension,
            decoder=lambda: decode(name, data),
            head=head,
        )
    text, encoding = decode(name, data)
    return SourceFile(name, data, text, encoding, extension)


LAZY_TEXT_BYTES = 64 * 1024 * 1024
"""Size from which a UTF-8 file's text is decoded only when a reader needs it."""


def _utf8_head(data: bytes) -> str | None:
    """The start of a file that looks like plain UTF-8 (no BOM, no NUL), decoded.

    ``None`` when the start is not UTF-8, so that :func:`decode` looks closer.
    """
    start = data[: 4 * HEAD_CHARS]
    if any(start.startswith(bom) for bom, _ in _BOMS) or b"\x00" in start[:65536]:
        return None
    try:
        text = start.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(start) - 3:
            return None
        text = start[: exc.start].decode("utf-8")  # a character cut at the end
    return text[:HEAD_CHARS]


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode(name: str, data: bytes) -> tuple[str, str]:
    """Decode a text file, finding its encoding.

    Parameters
    ----------
    name
        The file's name, for messages.
    data
        Its bytes.

    Returns
    -------
    text, encoding
        The text (without byte-order mark, line endings kept) and the encoding's
        name.

    Raises
    ------
    InputError
        When the bytes are not text (a binary file, or an unknown format).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding.replace("-sig", "")), encoding
            except UnicodeDecodeError as exc:
                raise _not_text(name) from exc

    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass

    head = data[:65536]
    if b"\x00" in head:
        raise _not_text(name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and data[: exc.start].strip():
            # a multi-byte character cut in half at the very end
            return data[: exc.start].decode("utf-8"), "utf-8"

    from charset_normalizer import from_bytes

    matches = list(from_bytes(head))
    candidates = [m.encoding for m in matches[:1]] + ["cp1252", "latin-1"]
    if matches:
        # cp1252 is what Excel writes in the West: take it when it reads as cleanly
        # as the detector's first choice (short files cannot tell cp1250 from it)
        clean = min(m.chaos for m in matches)
        if any(m.encoding == "cp1252" and m.chaos <= clean for m in matches):
            candidates.insert(0, "cp1252")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_binary(text[:65536]):
            raise _not_text(name)
        return text, encoding
    raise _not_text(name)


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of the start is zero."""
    head = data[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _looks_binary(text: str) -> bool:
    """Whether decoded text is mostly control characters (a binary file)."""
    if not text:
        return False
    control = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f")
    return control > 0.01 * len(text)


def _not_text(name: str) -> InputError:
    return InputError(
        "the file is not text nor a supported format (.csv, .tsv, .txt, .xlsx, .json, "
        ".ndjson, .parquet, or these inside .zip or .gz): export it again in one of "
        "these formats",
        file=name,
    )


# ---------------------------------------------------------------------------- tables


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
            cells = next(csv.reader([line], delimiter=delimiter), [])
        return not _looks_like_values(cells)
    return True


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
    return breaks == lines or (breaks == lines - 1 and not data.endswith(b"\n"))


def line_breaks(data: bytes) -> int:
    """How many ``\\n`` bytes ``data`` holds, counted by numpy on both cores.

    ``bytes.count`` takes one core (0.45 s for 1 GB here); numpy releases the
    interpreter lock, so slices are counted in two threads (0.1 s).
    """
    if len(data) < BLOCK_BYTES:
        return data.count(b"\n")
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
