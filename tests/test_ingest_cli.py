"""Test ``python -m pipeline inspect``: its JSON shape, its table and exit status 2."""

import json
from pathlib import Path

from pipeline.cli import main

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


def test_inspect_json_shape_and_accounting(capsys, real_dir):
    """Test the exact keys, the row accounting and the match rates in --json."""
    status = main(
        [
            "inspect",
            str(real_dir / "shopify/apparel_abandoned_checkouts_2023_2026.csv"),
            str(DATA / "events_bad_rows.csv"),
            "--json",
        ]
    )
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["files", "people", "matched"]
    for f in out["files"]:
        assert list(f) == FILE_KEYS
        assert f["rows_read"] == (
            f["rows_loaded"]
            + f["rows_excluded"]
            + f["rows_duplicate"]
            + f["rows_rejected"]
        )
        for p in f["problems"]:
            assert list(p) == ["row", "column", "message"]
    checkouts, bad = out["files"]
    assert (checkouts["kind"], checkouts["rows_read"]) == ("shopify_checkouts", 368)
    assert (bad["rows_loaded"], bad["rows_rejected"]) == (1, 5)
    assert {(p["row"], p["column"]) for p in bad["problems"]} >= {(3, "person")}
    assert out["people"] >= 209
    for m in out["matched"]:
        assert list(m) == ["from", "to", "people", "matched"]
        assert 0 <= m["matched"] <= m["people"]


def test_inspect_json_never_holds_nan(capsys):
    """Test JSON output parses strictly (no NaN) even with missing cells."""
    assert main(["inspect", str(DATA / "events_basic.csv"), "--json"]) == 0
    text = capsys.readouterr().out
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_inspect_exit_2_when_nothing_usable(capsys, tmp_path):
    """Test status 2 and a message naming the file when no input can be used."""
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert main(["inspect", str(empty), "--json"]) == 2
    err = capsys.readouterr().err
    assert "empty.csv" in err and "empty" in err
    assert main(["inspect", str(tmp_path / "missing.csv")]) == 2


def test_inspect_goes_on_past_a_bad_file(capsys, tmp_path):
    """Test one unusable file beside a good one still exits 0 with both reported."""
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\xff" * 100)
    assert main(["inspect", str(junk), str(DATA / "events_basic.csv"), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [f["file"] for f in files] == ["junk.csv", "events_basic.csv"]
    assert files[0]["problems"] and files[1]["rows_loaded"] == 4


def test_inspect_mapping_file_and_readable_table(capsys, tmp_path):
    """Test --mapping mapping.json loads a custom table; the table names its kind."""
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps({"person": "Subscriber", "timestamp": "Joined", "event": "signup"})
    )
    status = main(
        ["inspect", str(DATA / "signups_custom.csv"), "--mapping", str(mapping)]
    )
    assert status == 0
    text = capsys.readouterr().out
    assert "mapped" in text and "signups_custom.csv" in text
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert (
        main(["inspect", str(DATA / "signups_custom.csv"), "--mapping", str(bad)]) == 2
    )


def test_inspect_reports_a_missing_path_and_goes_on(capsys, tmp_path):
    """Test a missing path is listed with its problem while the others load."""
    missing = str(tmp_path / "nope.csv")
    assert main(["inspect", missing, str(DATA / "events_basic.csv"), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert files[0]["file"] == missing and files[0]["rows_read"] == 0
    assert "cannot be read" in files[0]["problems"][0]["message"]
    assert files[1]["rows_loaded"] == 4


def test_inspect_json_on_a_failed_run_still_accounts_for_each_file(capsys, tmp_path):
    """Test exit 2 with --json prints the per-file JSON on stdout (QA defect 9).

    Two unusable files (an empty one and binary junk) and one missing path: each is
    listed with its problem, no people, no matches.
    """
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\xff" * 100)
    gone = str(tmp_path / "gone.csv")
    assert main(["inspect", gone, str(empty), str(junk), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["files", "people", "matched"]
    assert [Path(f["file"]).name for f in out["files"]] == [
        "gone.csv", "empty.csv", "junk.csv"
    ]
    assert all(list(f) == FILE_KEYS and f["problems"] for f in out["files"])
    assert (out["people"], out["matched"]) == (0, [])

    # only missing paths: still the JSON, one file, its problem
    assert main(["inspect", gone, "--json"]) == 2
    only = json.loads(capsys.readouterr().out)
    assert [f["kind"] for f in only["files"]] == ["unreadable"]


def test_inspect_help_lists_the_kinds_and_errors_stay_short(capsys, tmp_path):
    """Test the full list of kinds lives in --help, not in each error message."""
    import pytest

    with pytest.raises(SystemExit):
        main(["inspect", "--help"])
    assert "Shopify orders export" in capsys.readouterr().out
    table = tmp_path / "madeup.csv"
    table.write_text("alpha,beta\n1,2\n")
    assert main(["inspect", str(table), "--json"]) == 2
    message = json.loads(capsys.readouterr().out)["files"][0]["problems"][0]["message"]
    assert "could not be recognised" in message and "--help" in message
    assert len(message) < 400


def test_a_folder_is_named_as_a_folder(capsys, tmp_path):
    """Test QA's folder given as a file: it was called "no such file"; now it says
    it is a folder and what to give instead, and nothing else usable exits 2."""
    assert main(["inspect", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}': this is a folder: give the files in it" in err


def test_inspect_text_says_which_rule_excluded_rows(capsys, real_dir):
    """Test the text table names the rules behind 'excluded': the first apparel
    orders file's 862 line-item rows of its 5 test, 152 voided, 171 cancelled and
    450 refunded orders (README), each order counted in its first group, and the
    BigQuery file's 26 events of unused types."""
    files = [
        real_dir / "shopify" / "apparel_orders_2020_2023.csv",
        real_dir / "ga4" / "bigquery_flattened_events_test_property.csv",
    ]
    assert main(["inspect", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert (
        "  apparel_orders_2020_2023.csv: excluded by a rule: 24 cancelled, "
        "601 refunded, 5 test, 232 voided"
    ) in out
    assert (
        "  bigquery_flattened_events_test_property.csv: excluded by a rule: 26 GA4 "
        "event type not used"
    ) in out
