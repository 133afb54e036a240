"""Uploaded bytes out of their containers and into text.

:func:`unpack` opens containers: ``.gz`` and ``.zip`` (each member becomes its own
file, named ``archive.zip/inner.csv``), and turns every sheet of an ``.xlsx`` workbook
into a CSV text. :func:`decode` finds the text encoding: a byte-order mark (UTF-8,
UTF-16, UTF-32), else strict UTF-8, else what :mod:`charset_normalizer` finds (cp1252
and the like), refusing binary data. Each raises :class:`~pipeline.model.InputError`
that names the file and says what to do when it cannot go on.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
import zipfile
import zlib
from typing import Any

from pipeline.ingest.base import HEAD_CHARS, SourceFile
from pipeline.model import InputError

logger = logging.getLogger(__name__)

MAX_BYTES = int(os.environ.get("PIPELINE_MAX_FILE_MB", "1024")) * 1024 * 1024
"""Largest file (after decompression) accepted; the app's upload limit is the same."""

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".json", ".ndjson", ".jsonl", ".tab")
BINARY_EXTENSIONS = (".xlsx", ".parquet")
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS + BINARY_EXTENSIONS


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
    if not data[:65536].strip() and not bytes(data).strip():
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
    # ``str(data, encoding)`` and memoryview slices: ``data`` may be a file's map
    for bom, encoding in _BOMS:
        if data[: len(bom)] == bom:
            try:
                after = memoryview(data)[len(bom) :]
                return str(after, encoding.replace("-sig", "")), encoding
            except UnicodeDecodeError as exc:
                raise _not_text(name) from exc

    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return str(data, utf16), utf16
        except UnicodeDecodeError:
            pass

    head = data[:65536]
    if b"\x00" in head:
        raise _not_text(name)
    try:
        return str(data, "utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        cut = memoryview(data)[: exc.start]
        if exc.start >= len(data) - 3 and bytes(cut).strip():
            # a multi-byte character cut in half at the very end
            return str(cut, "utf-8"), "utf-8"

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
            text = str(data, encoding)
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
        "the file is neither text nor a supported format (.csv, .tsv, .txt, .xlsx, "
        ".json, .ndjson, .parquet, or these inside .zip or .gz): export it again in "
        "one of these formats",
        file=name,
    )
