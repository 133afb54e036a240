"""Test what the command line tells a new user (the new-user test's CLI defects).

Notes on whole files reach standard error beside ``inspect --json``; every command
exits 2 when no row of any file loaded; ``--mapping`` names the columns it misses;
numeric options and dates are checked by ``argparse`` with the option named; and
the "as of" default reads the same in ``--help`` and the README.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.commands._common import AS_OF_DEFAULT

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "ingest"
FILE_KEYS = [
    "file",
    "kind",
    "rows_read",
    "rows_loaded",
    "rows_excluded",
    "rows_duplicate",
    "rows_rejected",
    "problems",
]
HEADER_ONLY_NOTE = (
    "the file has a header and no rows: export it again for a date range that "
    "holds data"
)
NOTHING_LOADED = "error: no row of any file could be used."


def run(capsys, *args) -> tuple[int, str, str]:
    """The exit status, standard output and standard error of one command."""
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def usage_error(capsys, *args) -> str:
    """Standard error of a command that ``argparse`` refuses (status 2)."""
    with pytest.raises(SystemExit) as stopped:
        main([str(a) for a in args])
    assert stopped.value.code == 2
    return capsys.readouterr().err


def strict_json(text: str) -> dict:
    """JSON that must not hold NaN or infinities."""

    def refuse(token: str):
        raise AssertionError(f"JSON holds {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def header_only(tmp_path) -> Path:
    """A Shopify orders export with its header and no rows."""
    path = tmp_path / "header_only.csv"
    header = (ROOT / "sample_data" / "shopify_orders.csv").open().readline()
    path.write_text(header)
    return path


@pytest.fixture
def ga4_cut(tmp_path, real_dir) -> Path:
    """A real GA4 report cut inside its ``#`` header (5 of its 8 comment lines)."""
    path = tmp_path / "ga4_cut.csv"
    lines = (real_dir / "ga4/apparel_acquisition_overview_2024.csv").read_bytes()
    path.write_bytes(b"".join(lines.splitlines(keepends=True)[:5]))
    return path


def real_orders_changed(real_dir, tmp_path, name, change) -> Path:
    """The real COD store's orders with ``change(header, rows)`` applied."""
    text = (real_dir / "shopify/cod_store_a_orders.csv").read_text(encoding="utf-8")
    header, *rows = list(csv.reader(io.StringIO(text)))
    header, rows = change(header, rows)
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


@pytest.fixture
def unreadable_times(real_dir, tmp_path) -> Path:
    """The real orders with every ``Created at`` cell unreadable: all 50 rejected."""

    def change(header, rows):
        at = header.index("Created at")
        return header, [[*r[:at], "not a date", *r[at + 1 :]] for r in rows]

    return real_orders_changed(real_dir, tmp_path, "bad_times.csv", change)


@pytest.fixture
def no_created_at(real_dir, tmp_path) -> Path:
    """The real orders with the ``Created at`` column removed."""

    def change(header, rows):
        at = header.index("Created at")
        return header[:at] + header[at + 1 :], [r[:at] + r[at + 1 :] for r in rows]

    return real_orders_changed(real_dir, tmp_path, "no_created_at.csv", change)


# -- 1. notes on whole files reach standard error beside --json ----------------------


def test_inspect_json_puts_file_notes_on_stderr_and_keeps_its_keys(capsys):
    """Test the day-or-month note: text mode showed it, --json dropped it."""
    path = DATA / "transactions_ambiguous_dates.csv"
    status, out, err = run(capsys, "inspect", path, "--json")
    assert status == 0
    result = strict_json(out)
    assert list(result) == ["files", "people", "matched"]
    assert list(result["files"][0]) == FILE_KEYS
    assert result["files"][0]["problems"] == []
    assert (
        "note: transactions_ambiguous_dates.csv: dates in column 'date' such as "
        "01/02/2024 could be day or month first and no value tells: they were read "
        "month first; say which in the app (Overview) or with --dayfirst yes|no"
    ) in err


def test_inspect_json_notes_a_header_only_file(capsys, header_only):
    """Test a header-only file: its note on stderr, its JSON report on stdout."""
    status, out, err = run(capsys, "inspect", header_only, "--json")
    result = strict_json(out)
    assert [list(f) for f in result["files"]] == [FILE_KEYS]
    assert result["files"][0]["rows_read"] == 0
    assert result["files"][0]["problems"] == []
    assert f"note: header_only.csv: {HEADER_ONLY_NOTE}" in err
    assert status == 2


def test_stages_and_clv_show_the_day_or_month_note(capsys):
    """Test the analysing commands also pass a file's notes on (they dropped them)."""
    path = DATA / "transactions_ambiguous_dates.csv"
    for command in ("stages", "clv"):
        status, _, err = run(capsys, command, path)
        assert status == 0
        assert "note: transactions_ambiguous_dates.csv: dates in column 'date'" in err


# -- 2. exit status 2 when no row of any file loaded, in every command ---------------

ANALYSES = (
    ("stages",),
    ("clv",),
    ("attribution", "--bootstrap", "0"),
)


@pytest.mark.parametrize("command", ANALYSES, ids=lambda c: c[0])
def test_header_only_and_cut_reports_exit_2_in_every_command(
    capsys, tmp_path, header_only, ga4_cut, command
):
    """Test stages (which exited 0 with no leads), clv and attribution agree: 2."""
    for path, name in ((header_only, "header_only.csv"), (ga4_cut, "ga4_cut.csv")):
        status, out, err = run(capsys, *command, path)
        assert (status, out) == (2, "")
        assert f"{NOTHING_LOADED} {name}: {HEADER_ONLY_NOTE}." in err
        assert "`python -m pipeline inspect FILE...` shows where every row went" in err


def test_report_exits_2_on_a_header_only_file(capsys, tmp_path, header_only):
    """Test ``report`` wrote an empty report and exited 0; now 2, nothing written."""
    out = tmp_path / "report.html"
    status, _, err = run(capsys, "report", header_only, "--out", out)
    assert status == 2 and not out.exists()
    assert f"{NOTHING_LOADED} header_only.csv: {HEADER_ONLY_NOTE}." in err


def test_inspect_prints_its_report_then_exits_2(capsys, ga4_cut, unreadable_times):
    """Test inspect exits 2 when nothing loaded, after its report (text and JSON)."""
    status, out, err = run(capsys, "inspect", ga4_cut)
    assert status == 2
    assert re.search(r"ga4_report\s+0\s+0\s+0\s+0\s+0\s+ga4_cut.csv", out)
    assert f"note: ga4_cut.csv: {HEADER_ONLY_NOTE}" in out
    assert err == f"{NOTHING_LOADED} ga4_cut.csv: {HEADER_ONLY_NOTE}.\n"

    status, out, err = run(capsys, "inspect", unreadable_times, "--json")
    assert status == 2
    (report,) = strict_json(out)["files"]
    assert (report["kind"], report["rows_read"], report["rows_rejected"]) == (
        "shopify_orders",
        50,
        50,
    )
    assert err.startswith(
        f"{NOTHING_LOADED} bad_times.csv: all 50 rows rejected; the first, row 2, "
        "column 'Created at': no readable order time"
    )


@pytest.mark.parametrize("command", ANALYSES, ids=lambda c: c[0])
def test_every_row_rejected_exits_2(capsys, unreadable_times, no_created_at, command):
    """Test Shopify orders with no usable order time: each command exits 2."""
    status, _, err = run(capsys, *command, unreadable_times)
    assert status == 2
    assert f"{NOTHING_LOADED} bad_times.csv: all 50 rows rejected" in err

    status, _, err = run(capsys, *command, no_created_at)
    assert status == 2
    assert "no_created_at.csv: the Shopify orders export has no 'Created at'" in err


def test_one_usable_file_is_enough(capsys, tmp_path, header_only):
    """Test status 0 when one file loads, beside a header-only or missing file;
    clv used to stop at the first missing path."""
    events = DATA / "events_basic.csv"
    status, out, err = run(capsys, "stages", header_only, events, "--json")
    assert status == 0 and strict_json(out)["leads"] == 2
    assert f"note: header_only.csv: {HEADER_ONLY_NOTE}" in err

    status, out, err = run(
        capsys, "clv", tmp_path / "missing.csv", DATA / "cdnow_like.txt", "--json"
    )
    assert status == 0 and strict_json(out)["customers"] == 2
    assert "missing.csv': no such file: check the path" in err


# -- 3. --mapping: the columns it names that a file lacks -----------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def signups(tmp_path) -> tuple[Path, Path]:
    """Two tables of one layout no reader knows: Email, Joined, Source."""
    head = "Email,Joined,Source\n"
    return (
        write(
            tmp_path / "signups_a.csv",
            head + "ann@x.com,2024-01-02,ig\nbo@x.com,2024-01-05,fb\n",
        ),
        write(tmp_path / "signups_b.csv", head + "cy@x.com,2024-02-02,ig\n"),
    )


def test_a_mapping_column_not_in_the_file_is_named(capsys, tmp_path, signups):
    """Test the misspelt column is named with the file's own columns, instead of
    "the kind of this file could not be recognised ... Map its columns"."""
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps({"person": "Emial", "timestamp": "Joined", "event": "=signup"})
    )
    status, out, err = run(
        capsys, "inspect", signups[0], "--mapping", mapping, "--json"
    )
    assert status == 2
    message = strict_json(out)["files"][0]["problems"][0]["message"]
    assert message == (
        "the mapping's column 'Emial' (person) is not in the file; its columns are: "
        "Email, Joined, Source. Correct the mapping to name the file's own columns "
        "(case does not matter; a value starting with = is a constant, such as "
        '"event": "=signup") and run again'
    )
    assert f"error: signups_a.csv: {message}." in err
    assert "could not be recognised" not in out + err


def test_one_mapping_maps_every_file_of_its_layout(capsys, tmp_path, signups):
    """Test two files of one unknown layout are both mapped; a third layout is told
    to take a mapping of its own with another --mapping."""
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps({"person": "email", "timestamp": "Joined", "event": "=signup"})
    )
    status, out, _ = run(capsys, "inspect", *signups, "--mapping", mapping, "--json")
    files = strict_json(out)["files"]
    assert status == 0
    assert [(f["kind"], f["rows_loaded"]) for f in files] == [
        ("mapped", 2),
        ("mapped", 1),
    ]

    other = write(tmp_path / "other.csv", "Customer,When\ndee@x.com,2024-03-02\n")
    status, out, _ = run(
        capsys, "inspect", signups[0], other, "--mapping", mapping, "--json"
    )
    files = strict_json(out)["files"]
    assert status == 0
    assert files[1]["kind"] == "unknown"
    assert files[1]["problems"][0]["message"] == (
        "the mapping's columns 'email' (person), 'Joined' (timestamp) are not in the "
        "file; its columns are: Customer, When. The mapping fits signups_a.csv: give "
        "this file's layout a mapping of its own, naming its columns, with another "
        "--mapping (one per layout)"
    )


def test_two_mappings_map_two_layouts_in_one_run(capsys, tmp_path, signups):
    """Test the new-user defect: a run took one mapping, so a second layout needed
    a run of its own. Now --mapping is given once per layout and each table is read
    with the mapping whose columns it has (its report keeps that mapping)."""
    first = {"person": "email", "timestamp": "Joined", "event": "=signup"}
    second = {"person": "Customer", "timestamp": "When", "event": "=order"}
    paths = []
    for name, mapping in (("first.json", first), ("second.json", second)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(mapping))
    other = write(tmp_path / "other.csv", "Customer,When\ndee@x.com,2024-03-02\n")

    status, out, err = run(
        capsys,
        "inspect", signups[0], other, "--mapping", paths[0], "--mapping", paths[1],
        "--json",
    )
    files = strict_json(out)["files"]
    assert status == 0, err
    assert [(f["file"], f["kind"], f["rows_loaded"]) for f in files] == [
        ("signups_a.csv", "mapped", 2),
        ("other.csv", "mapped", 1),
    ]
    assert [f["problems"] for f in files] == [[], []]

    status, out, _ = run(
        capsys, "stages", signups[0], other, "--mapping", paths[0], "--mapping",
        paths[1], "--json",
    )
    stages = strict_json(out)["stages"]
    assert status == 0
    assert (stages["captured"], stages["customer"]) == (2, 1)


def test_the_example_of_a_broken_mapping_is_right(capsys, tmp_path):
    """Test the example in the broken-JSON message uses the README's ``=`` constant
    and, written to a file, maps a table with those columns."""
    broken = write(tmp_path / "broken.json", "{not json")
    table = write(tmp_path / "orders.csv", "Email,Date\nann@x.com,2024-01-02\n")
    status, _, err = run(capsys, "inspect", table, "--mapping", broken)
    assert status == 2
    example = '{"person": "Email", "timestamp": "Date", "event": "=order"}'
    assert f"write it as a JSON object such as {example}" in err

    fixed = write(tmp_path / "fixed.json", example)
    status, out, _ = run(capsys, "inspect", table, "--mapping", fixed, "--json")
    assert status == 0
    assert strict_json(out)["files"][0]["kind"] == "mapped"

    no_event = write(
        tmp_path / "no_event.json", '{"person": "Email", "timestamp": "D"}'
    )
    _, _, err = run(capsys, "inspect", table, "--mapping", no_event)
    assert (
        'the mapping needs event: name a column (or a constant such as "event": '
        '"=order")' in err
    )


# -- 4 and 5. options checked by argparse, with the option named ----------------------

EVENTS = str(DATA / "events_basic.csv")


@pytest.mark.parametrize(
    ("args", "option", "wanted"),
    [
        (
            ["attribution", EVENTS, "--lookback-days", "-3"],
            "--lookback-days",
            "a number of days, 1 or more",
        ),
        (
            ["attribution", EVENTS, "--lookback-days", "0"],
            "--lookback-days",
            "a number of days, 1 or more",
        ),
        (
            ["attribution", EVENTS, "--half-life-days", "0"],
            "--half-life-days",
            "a number of days above 0",
        ),
        (
            ["attribution", EVENTS, "--bootstrap", "-1"],
            "--bootstrap",
            "a whole number, 0 (no intervals) or more",
        ),
        (["attribution", EVENTS, "--seed", "-1"], "--seed", "a whole number, 0 or"),
        (
            ["clv", EVENTS, "--horizon-days", "0"],
            "--horizon-days",
            "a number of days above 0",
        ),
        (
            ["clv", EVENTS, "--discount-rate", "10"],
            "--discount-rate",
            "an annual rate as a fraction, from 0 up to (not including) 1",
        ),
        (
            ["clv", EVENTS, "--margin", "nan"],
            "--margin",
            "the share of spend kept as profit, above 0 and at most 1",
        ),
        (["sample", "--out", "x", "--leads", "-3"], "--leads", "a whole number, 1 or"),
        (
            ["sample", "--out", "x", "--events", "1.5"],
            "--events",
            "a whole number, 1 or",
        ),
    ],
)
def test_numeric_options_out_of_range_are_refused(capsys, args, option, wanted):
    """Test a value out of range stops the run naming the option, what it takes
    and an example (``--lookback-days -3`` ran, with every order unattributed)."""
    err = usage_error(capsys, *args)
    assert (
        f"error: argument {option}: {args[-1]!r} cannot be used: give {wanted}" in err
    )
    assert ", e.g. " in err


def test_bad_dates_and_time_zones_name_the_option(capsys):
    """Test ``--calibration-end garbage`` said "Unknown datetime string format"."""
    err = usage_error(capsys, "clv", EVENTS, "--calibration-end", "garbage")
    assert (
        "error: argument --calibration-end: 'garbage' is not a date: write it as "
        "YYYY-MM-DD, e.g. 2024-12-31"
    ) in err
    assert "Unknown datetime" not in err
    err = usage_error(capsys, "attribution", EVENTS, "--timezone", "Mars/Base")
    assert "error: argument --timezone: 'Mars/Base' is not a time zone" in err


def test_overstatement_not_measured_is_said_in_words(capsys, tmp_path):
    """Test text output said ``overstatement x0.00`` where the JSON has null: Ann's
    order follows an email open only (no touch), so Markov credits Email nothing."""
    events = write(
        tmp_path / "opens.csv",
        "person,timestamp,event,channel,order_id,value\n"
        "ann@x.com,2024-01-01T09:00:00Z,email_open,Email,,\n"
        "ann@x.com,2024-01-02T09:00:00Z,order,,A1,40.00\n"
        "bo@x.com,2024-01-01T09:00:00Z,session,Paid Search,,\n"
        "bo@x.com,2024-01-02T09:00:00Z,order,,B1,30.00\n",
    )
    status, out, _ = run(capsys, "attribution", events, "--bootstrap", "0", "--json")
    assert status == 0 and strict_json(out)["klaviyo"]["overstatement"] is None
    status, out, _ = run(capsys, "attribution", events, "--bootstrap", "0")
    assert status == 0
    assert out.rstrip().endswith(
        "Klaviyo claims 40.00 of 70.00 (40.00 on opens alone); overstatement not "
        "measured: the markov model credits no revenue to Email or SMS"
    )
    assert "x0.00" not in out


# -- 6. the "as of" default reads the same everywhere ---------------------------------


def one_line(text: str) -> str:
    """Text on one line, as written before ``argparse`` wrapped it (at hyphens too)."""
    return " ".join(re.sub(r"(?<=\w)-\s+(?=\w)", "-", text).split())


@pytest.mark.parametrize("command", ["stages", "report"])
def test_as_of_default_in_help_matches_the_readme(capsys, command):
    """Test ``--help`` said "the latest event's day" while the README said "the
    latest dated day not after today"; both now give the code's rule
    (``StageEngine.default_as_of``: events, orders and sign-ups, not after today)."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = one_line(capsys.readouterr().out)
    assert f"default: {AS_OF_DEFAULT}" in help_text
    assert "latest event's day" not in help_text
    assert AS_OF_DEFAULT in one_line((ROOT / "README.md").read_text())


# -- reading options on every command that reads exports -----------------------------


@pytest.mark.parametrize("command", ["stages", "clv", "attribution", "report"])
def test_analyses_take_the_mapping_and_the_day_order(capsys, tmp_path, command):
    """Test that --mapping and --dayfirst reach the analyses as they reach inspect
    (only inspect took them: a mapped table or an ambiguous day could not be
    analysed): the mapped table loads as orders and the day-order note is gone."""
    table = write(
        tmp_path / "signups.csv",
        "Email,Joined,Amount\na@x.com,01/02/2024,10\nb@x.com,05/01/2024,20\n"
        "a@x.com,02/03/2024,15\n",
    )
    mapping = write(
        tmp_path / "map.json",
        '{"person": "Email", "timestamp": "Joined", "event": "=order", '
        '"value": "Amount"}',
    )
    extra = ["--out", tmp_path / "r.html"] if command == "report" else []
    extra += ["--bootstrap", "0"] if command == "attribution" else []
    status, _, err = run(capsys, command, table, *extra)
    assert status == 2 and "could not be recognised" in err
    status, _, err = run(capsys, command, table, "--mapping", mapping, *extra)
    assert "could not be recognised" not in err
    assert "could be day or month first" in err
    status, out, err = run(
        capsys, command, table, "--mapping", mapping, "--dayfirst", "yes", *extra
    )
    assert "day or month first" not in err
    if command == "stages":
        assert status == 0 and "Stages as of 2024-03-02 (2 leads)" in out


# ---- output paths are checked before any input is read (new-user test) --------------
@pytest.mark.parametrize(
    "command, option, name",
    [
        ("report", "--out", "r.html"),
        ("stages", "--leads-out", "l.csv"),
        ("clv", "--out", "c.csv"),
    ],
)
def test_an_output_file_in_a_missing_folder_stops_before_reading(
    capsys, tmp_path, monkeypatch, command, option, name
):
    """Test ``--out /nonexistent/dir/r.html`` (a traceback, status 1, after the
    whole analysis) is refused by argparse with the option, the folder and what
    to do, before any input is read."""
    import pipeline.commands._common as common

    def never(*_):
        raise AssertionError("an input was read")

    monkeypatch.setattr(common, "read_paths", never)
    missing = tmp_path / "nonexistent" / "dir"
    err = usage_error(capsys, command, EVENTS, option, missing / name)
    assert (
        f"error: argument {option}: the folder {str(missing)!r} of "
        f"{str(missing / name)!r} does not exist: create it first, or write into a "
        "folder that exists"
    ) in err
    assert "Traceback" not in err


def test_an_output_file_that_is_a_folder_is_refused(capsys, tmp_path):
    """Test ``report ... --out /tmp`` (IsADirectoryError) names the folder and
    offers a file name in it."""
    err = usage_error(capsys, "report", EVENTS, "--out", tmp_path)
    assert (
        f"error: argument --out: {str(tmp_path)!r} is a folder: give a file name in "
        f"it, e.g. {str(tmp_path / 'report.html')!r}"
    ) in err


def test_export_folders_must_be_folders_in_folders_that_exist(capsys, tmp_path):
    """Test ``--exports-dir`` naming a file (FileExistsError) or a folder whose
    parent is missing (created silently before), and ``sample --out`` a file."""
    a_file = tmp_path / "leads.csv"
    a_file.write_text("x\n", encoding="utf-8")
    report = ["report", EVENTS, "--out", tmp_path / "r.html", "--exports-dir"]
    err = usage_error(capsys, *report, a_file)
    assert (
        f"error: argument --exports-dir: {str(a_file)!r} is a file, not a folder: "
        "give a folder to write into (a new one is created)"
    ) in err
    deep = tmp_path / "no" / "such"
    err = usage_error(capsys, *report, deep)
    assert (
        f"error: argument --exports-dir: the folder {str(tmp_path / 'no')!r} of "
        f"{str(deep)!r} does not exist: create it first, or give a folder inside "
        "one that exists"
    ) in err
    assert not (tmp_path / "no").exists()
    err = usage_error(capsys, "sample", "--out", a_file, "--leads", "10")
    assert f"error: argument --out: {str(a_file)!r} is a file, not a folder" in err


def test_clv_out_never_overwrites_an_input(capsys, tmp_path):
    """Test ``clv --out`` naming one of its inputs stops with status 2, like
    ``stages --leads-out`` and ``report --out``."""
    status = main(["clv", EVENTS, "--out", EVENTS])
    assert status == 2
    assert (
        f"--out {EVENTS!r} is one of the inputs: choose another file name (inputs "
        "are never overwritten)"
    ) in capsys.readouterr().err
