"""Tests of ``python -m pipeline stages``: the JSON shape, the real Shopify files'
facts (``../shared/real/README.md``), rules and as-of options, and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.commands import _common as common
from pipeline.commands import stages as stages_command
from pipeline.model import EVENT_COLUMNS, Dataset, FileReport, conform

ROOT = Path(__file__).resolve().parent.parent
STAGE_KEYS = ["awareness", "captured", "engaged", "purchase_intent", "customer",
              "customer_first", "customer_repeat"]

EVENTS_CSV = """person,timestamp,event,product,order_id,value
ann@example.com,2024-01-01T09:00:00Z,email_open,,,
ann@example.com,2024-01-02T09:00:00Z,email_open,,,
ann@example.com,2024-01-03T09:00:00Z,email_open,,,
bo@example.com,2024-01-03T09:00:00Z,sizing_view,,,
cy@example.com,2024-01-02T09:00:00Z,order,,A1,40.00
cy@example.com,2024-01-20T09:00:00Z,order,,A2,25.00
"""


def run_json(capsys, *args) -> tuple[int, dict, str]:
    """Run the command with --json; its status, parsed output and stderr."""
    status = main(["stages", *map(str, args), "--json"])
    out = capsys.readouterr()
    return status, (json.loads(out.out) if out.out.strip() else {}), out.err


def check_shape(result: dict) -> None:
    """The issue's invariants of the JSON object."""
    assert list(result) == ["as_of", "leads", "stages", "files"]
    assert list(result["stages"]) == STAGE_KEYS
    stages = result["stages"]
    assert result["leads"] == sum(stages[k] for k in STAGE_KEYS[:5])
    assert stages["customer"] == stages["customer_first"] + stages["customer_repeat"]


@pytest.fixture
def events_csv(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV)
    return path


def test_json_counts_on_a_hand_made_events_file(capsys, events_csv):
    """Test the counts as of 3 Jan: Ann engaged, Bo intent, Cy a first-time buyer."""
    status, result, _ = run_json(capsys, events_csv, "--as-of", "2024-01-03")
    assert status == 0
    check_shape(result)
    assert result["as_of"] == "2024-01-03"
    assert result["stages"] == {"awareness": 0, "captured": 0, "engaged": 1,
                                "purchase_intent": 1, "customer": 1,
                                "customer_first": 1, "customer_repeat": 0}
    assert result["files"][0]["rows_read"] == 6

    # By default the day of the latest event, 20 Jan: Cy is a repeat buyer, and
    # Ann's opens (1..3 Jan) lie outside the 14 days 7..20 Jan: captured.
    status, result, _ = run_json(capsys, events_csv)
    assert result["as_of"] == "2024-01-20"
    assert result["stages"]["customer_repeat"] == 1
    assert result["stages"]["captured"] == 1 and result["stages"]["engaged"] == 0


def test_rules_file_switches_a_rule_off(capsys, events_csv, tmp_path):
    """Test that a rules file with the opens rule off makes Ann captured."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": {"engaged_opens": {"enabled": False}}}))
    _, result, _ = run_json(capsys, events_csv, "--as-of", "2024-01-03", "--rules",
                            rules)
    assert result["stages"]["engaged"] == 0 and result["stages"]["captured"] == 1


def test_bad_rules_file_names_the_file(capsys, events_csv, tmp_path):
    """Test exit 2 and a message naming the rules file and the unknown rule."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": {"engaged_likes": {"min_count": 2}}}))
    status, _, err = run_json(capsys, events_csv, "--rules", rules)
    assert status == 2
    assert "rules.json" in err and "engaged_likes" in err


def test_time_zone_option_moves_the_day(capsys, tmp_path):
    """Test --timezone: 16 Jan 04:30 UTC is 15 Jan in New York."""
    path = tmp_path / "late.csv"
    path.write_text(
        "person,timestamp,event\n"
        "ann@example.com,2024-01-02T15:00:00Z,email_open\n"
        "ann@example.com,2024-01-10T15:00:00Z,email_open\n"
        "ann@example.com,2024-01-16T04:30:00Z,email_open\n"
    )
    _, utc, _ = run_json(capsys, path, "--as-of", "2024-01-15")
    _, ny, _ = run_json(capsys, path, "--as-of", "2024-01-15", "--timezone",
                        "America/New_York")
    assert utc["stages"]["engaged"] == 0 and ny["stages"]["engaged"] == 1


def test_leads_out_writes_every_lead(capsys, events_csv, tmp_path):
    """Test that --leads-out writes one row per lead with stage and rule."""
    out = tmp_path / "leads.csv"
    status, result, _ = run_json(capsys, events_csv, "--as-of", "2024-01-03",
                                 "--leads-out", out)
    leads = pd.read_csv(out).set_index("person_id")
    assert status == 0 and len(leads) == result["leads"] == 3
    assert leads.loc["ann@example.com", "rule"] == "engaged_opens"
    assert leads.loc["ann@example.com", "entered_engaged"].startswith("2024-01-03")


def test_leads_out_never_overwrites_an_input(capsys, events_csv):
    """Test that writing the leads over an input file is refused."""
    status, _, err = run_json(capsys, events_csv, "--leads-out", events_csv)
    assert status == 2 and "never overwritten" in err
    assert events_csv.read_text() == EVENTS_CSV


def test_exit_2_only_when_no_input_is_usable(capsys, events_csv, tmp_path):
    """Test exit 2 naming the file for unusable input, 0 when one file works."""
    bad = tmp_path / "notes.csv"
    bad.write_text("foo;bar\n1;2\n")
    status, result, err = run_json(capsys, bad)
    assert status == 2 and result == {} and "notes.csv" in err

    status, result, err = run_json(capsys, bad, events_csv, tmp_path / "missing.csv")
    assert status == 0
    check_shape(result)
    assert "notes.csv" in err and "missing.csv" in err
    assert [f["file"] for f in result["files"]] == ["notes.csv", "events.csv"]


def test_json_never_holds_nan(capsys, monkeypatch):
    """Test the summary with a stubbed loader: counts, NaN-free, reports kept."""
    events = pd.DataFrame({
        "person_id": ["ann@example.com", "ga4:1"],
        "ts": pd.to_datetime(["2024-05-01T10:00Z", "2024-05-01T11:00Z"]),
        "event": ["order", "session"],
        "value": [np.nan, np.nan],  # an order without a value
    })
    report = FileReport(file="x.csv", kind="events_csv", rows_read=2, rows_loaded=2,
                        date_min=pd.Timestamp("2024-05-01", tz="UTC"))
    data = Dataset(events=conform(events, EVENT_COLUMNS), reports=[report])
    monkeypatch.setattr(stages_command, "load_files", lambda files, **settings: data)
    monkeypatch.setattr(common, "read_paths", lambda paths: [("x.csv", b"")])
    status, result, _ = run_json(capsys, "x.csv")
    assert status == 0
    check_shape(result)
    assert result["stages"]["awareness"] == 1
    assert result["stages"]["customer_first"] == 1
    assert result["files"][0]["file"] == "x.csv"


def test_real_shopify_files_reconcile_with_their_facts(capsys, real_dir, tmp_path):
    """Test the three apparel files against the README: 5,331 customers with an
    email, 9,887 purchases with an email, every file's rows read."""
    shop = real_dir / "shopify"
    files = [
        shop / "apparel_orders_2020_2023.csv",
        shop / "apparel_orders_2023_2024.csv",
        shop / "apparel_abandoned_checkouts_2023_2026.csv",
    ]
    out = tmp_path / "leads.csv"
    status, result, err = run_json(capsys, *files, "--leads-out", out)
    assert status == 0
    check_shape(result)
    assert [f["rows_read"] for f in result["files"]] == [7921, 11336, 368]

    leads = pd.read_csv(out)
    emails = leads[leads["person_id"].str.contains("@")]
    assert (emails["stage"] == "customer").sum() == 5331
    assert emails["orders"].sum() == 9887
    repeat = emails[(emails["stage"] == "customer") & (emails["orders"] >= 2)]
    assert (emails["customer_kind"] == "repeat").sum() == len(repeat)

    # Checkouts run past the last order (31 Dec 2024): the page and CLI say so.
    assert "2024-12-31" in err
    # The default "as of" is the last checkout's day, in the store's time zone.
    assert result["as_of"] >= "2026-03-01"


def test_module_entry_point_runs(events_csv):
    """Test ``python -m pipeline stages`` as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "stages", str(events_csv), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    check_shape(json.loads(done.stdout))


def test_default_as_of_ignores_a_future_dated_order(capsys, tmp_path):
    """Test QA's shopify_weird.csv case: one order typed years ahead leaves the JSON
    ``as_of`` on the last real day (2024-01-20 here), flags it on stderr."""
    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=5 * 365)).strftime(
        "%Y-%m-%dT09:00:00Z"
    )
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV + f"dee@example.com,{future},order,,A3,10.00\n")
    status, result, err = run_json(capsys, path)
    assert status == 0
    assert result["as_of"] == "2024-01-20"
    assert "dated in the future" in err
