"""Test that files mapped from disk (the command line's large files) read exactly as
their bytes do, in every container and encoding, and are never written to.

The size from which a file is mapped is lowered so that small files are mapped.
"""

import gzip
import io
import mmap
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import pipeline.ingest as ingest
import pipeline.ingest.containers as containers
from pipeline.ingest import load_files, read_paths
from tests.conftest import REAL

DATA = Path(__file__).resolve().parent / "data" / "ingest"
FILES = sorted(DATA.iterdir()) + sorted(REAL.glob("*/*.csv"))


def _summary(files) -> dict:
    """What a load produced: every report's accounting and the tables' contents (or
    the message, when no file could be used)."""
    try:
        dataset = load_files(files)
    except ingest.InputError as exc:
        return {"reports": str(exc), "tables": {}}
    reports = [
        (
            r.file,
            r.kind,
            r.rows_read,
            r.rows_loaded,
            r.rows_excluded,
            r.rows_duplicate,
            r.rows_rejected,
            [(p.row, p.column, p.message) for p in r.problems],
        )
        for r in dataset.reports
    ]
    tables = {
        name: getattr(dataset, name)
        for name in ("events", "orders", "people")
        if getattr(dataset, name) is not None
    }
    return {"reports": reports, "tables": tables}


def _assert_same(mapped, copied) -> None:
    assert mapped["reports"] == copied["reports"]
    assert mapped["tables"].keys() == copied["tables"].keys()
    for name, table in copied["tables"].items():
        pd.testing.assert_frame_equal(mapped["tables"][name], table, obj=name)


@pytest.fixture
def mapped(monkeypatch):
    """Every file of one byte or more is mapped."""
    monkeypatch.setattr(ingest, "MAP_BYTES", 1)


@pytest.mark.parametrize("lazy", [False, True], ids=["decoded", "lazy text"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_mapped_file_reads_as_its_bytes_do(path, lazy, monkeypatch):
    """Test the same reports and tables from a map as from a copy of the bytes."""
    if lazy:  # (the large-file path: text decoded only if a reader needs it)
        monkeypatch.setattr(containers, "LAZY_TEXT_BYTES", 0)
    copied = _summary([(path.name, path.read_bytes())])

    monkeypatch.setattr(ingest, "MAP_BYTES", 1)
    ((name, data),) = read_paths([str(path)])
    assert isinstance(data, mmap.mmap)
    _assert_same(_summary([(name, data)]), copied)


def test_workbooks_parquet_and_archives_read_when_mapped(mapped, tmp_path):
    """Test .xlsx, .parquet, .gz and .zip, which are opened as files, not text."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(DATA / "events_basic.csv", dtype=str)
    book = openpyxl.Workbook()
    book.active.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        book.active.append([None if pd.isna(v) else v for v in row])
    book.save(tmp_path / "e.xlsx")
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "e.parquet")
    csv = (DATA / "events_basic.csv").read_bytes()
    (tmp_path / "e.csv.gz").write_bytes(gzip.compress(csv))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("inner.csv", csv)
    (tmp_path / "e.zip").write_bytes(zipped.getvalue())

    for name in ("e.xlsx", "e.parquet", "e.csv.gz", "e.zip"):
        loaded = load_files(read_paths([str(tmp_path / name)]))
        (report,) = loaded.reports
        assert (report.kind, report.rows_loaded) == ("events_csv", 4), name
        assert loaded.orders["net_value"].tolist() == [120.5], name


def test_a_mapped_file_cannot_be_written_and_is_left_as_it_was(mapped, tmp_path):
    """Test the map is read-only and reading leaves the file's bytes unchanged."""
    path = tmp_path / "events.csv"
    path.write_bytes((DATA / "events_bom.csv").read_bytes())
    before = path.read_bytes()

    ((_, data),) = read_paths([str(path)])
    load_files([(path.name, data)])
    with pytest.raises(TypeError):
        data[0:1] = b"x"
    assert path.read_bytes() == before


def test_small_and_empty_files_are_copied_not_mapped(tmp_path):
    """Test files under the size are plain bytes, and an empty file (which cannot be
    mapped) still gets the empty-file message."""
    small = tmp_path / "small.csv"
    small.write_bytes((DATA / "events_basic.csv").read_bytes())
    ((_, data),) = read_paths([str(small)])
    assert isinstance(data, bytes)

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    ingest_files = read_paths([str(empty)])
    with pytest.raises(ingest.InputError, match="empty"):
        load_files(ingest_files)
