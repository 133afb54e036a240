"""Test that random bytes, separators, encodings and truncations never crash ingest.

Property: :func:`pipeline.ingest.load_files` either returns a dataset whose every
report adds up, or raises :class:`~pipeline.model.InputError`; no other exception.
A few examples run by default; ``HYPOTHESIS_PROFILE=thorough`` runs many more.
"""

import gzip
import io
import os
import zipfile

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest import load_files
from pipeline.ingest.values import parse_numbers, parse_percent, parse_timestamps
from pipeline.model import InputError

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
FUZZ = settings(
    max_examples=600 if THOROUGH else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADERS = [
    ["person", "timestamp", "event", "channel", "value", "order_id"],
    [
        "Name",
        "Email",
        "Financial Status",
        "Paid at",
        "Lineitem name",
        "Lineitem quantity",
        "Total",
        "Created at",
        "Id",
        "Refunded Amount",
        "Cancelled at",
        "Payment Method",
        "Note Attributes",
    ],
    [
        "First Name",
        "Email",
        "Accepts Email Marketing",
        "Phone",
        "Total Spent",
        "Total Orders",
    ],
    ["customer_id", "date", "value"],
    ["a", "b", "c"],
]
CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "N/A",
            "-",
            "$1,234.50",
            "12,5",
            "(3.00)",
            "12.5%",
            "2024-03-01T10:00:00Z",
            "2023-04-09 20:05:13 -0700",
            "13/01/2024 10:00",
            "19970101",
            "order",
            "email_open",
            "ann@example.com",
            "'+49 555 5555555",
            "#1001",
            "paid",
            "refunded",
            "Bogus Gateway",
            '"',
            "\n",
            "utm_source: x\nutm_medium: y",
        ]
    ),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]
SEPARATORS = [",", ";", "\t", "|", " "]


def _check(files):
    try:
        data = load_files(files)
    except InputError:
        return
    for report in data.reports:
        report.check()
        # a reader's unexpected exception is turned into a report; it is still a bug
        crashes = [p.message for p in report.problems if "please report" in p.message]
        assert not crashes, crashes


@st.composite
def tables(draw):
    """A delimited table, encoded, maybe compressed, maybe cut short."""
    header = draw(st.sampled_from(HEADERS))
    sep = draw(st.sampled_from(SEPARATORS))
    rows = draw(
        st.lists(st.lists(CELLS, min_size=1, max_size=len(header) + 2), max_size=8)
    )
    lines = [sep.join(header)] + [
        sep.join(
            '"' + c.replace('"', '""') + '"' if sep in c or "\n" in c else c
            for c in row
        )
        for row in rows
    ]
    text = "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="ignore")
    wrap = draw(st.sampled_from(["none", "gz", "zip"]))
    if wrap == "gz":
        data, name = gzip.compress(data), "t.csv.gz"
    elif wrap == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("inner.csv", data)
        data, name = buffer.getvalue(), "t.zip"
    else:
        name = draw(st.sampled_from(["t.csv", "t.txt", "t.tsv", "t.json", "t.xlsx"]))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, max(len(data), 0)))]
    return name, data


@FUZZ
@given(
    st.binary(max_size=2000),
    st.sampled_from(
        ["x.csv", "x.gz", "x.zip", "x.parquet", "x.xlsx", "x.json", "x.ndjson"]
    ),
)
def test_random_bytes_only_raise_input_error(data, name):
    """Test arbitrary bytes under any file name give a dataset or an InputError."""
    _check([(name, data)])


@FUZZ
@given(tables())
def test_random_tables_only_raise_input_error(file):
    """Test random tables, separators, encodings, containers and cuts never crash."""
    _check([file])


@FUZZ
@given(st.lists(CELLS, max_size=20))
def test_parsers_never_raise(cells):
    """Test the value parsers accept any text and flag, never raise."""
    series = pd.Series(cells, dtype="object")
    for parse in (parse_numbers, parse_percent, parse_timestamps):
        values, bad = parse(series)
        assert len(values) == len(bad) == len(cells)
