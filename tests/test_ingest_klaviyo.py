"""Tests of the Klaviyo readers: profiles, events and performance reports.

The real campaign report's facts come from ../shared/real/README.md and from the
file read independently with :mod:`csv` here. No public profile or event export
exists: tests/data/vendors holds small ones written from Klaviyo's documented
columns (segment export: Email, Phone Number, Email/SMS Marketing Consent, Profile
Created On, Initial Source, predictive fields; metric export: Metric, Timestamp,
Campaign Name, Flow Name, Message ID, $value, Order ID).
"""

import csv
from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest import klaviyo, load_files
from pipeline.ingest.base import ReadContext
from pipeline.ingest.containers import unpack

VENDORS = Path(__file__).resolve().parent / "data" / "vendors"
CTX = ReadContext()


def source_of(path: Path):
    """The file as an upload would reach a reader: unpacked and decoded."""
    return unpack(path.name, path.read_bytes())[0]


@pytest.fixture(scope="module")
def campaign_report(real_dir):
    path = real_dir / "klaviyo" / "apparel_campaign_sent_report_2024.csv"
    return path, klaviyo.read_report(source_of(path), CTX)


def test_real_report_is_a_report(campaign_report):
    """Test that the custom report scores as a report and nothing else."""
    path, _ = campaign_report
    source = source_of(path)
    assert klaviyo.score_report(source) > 0.8
    assert klaviyo.score_profiles(source) == 0
    assert klaviyo.score_events(source) == 0


def test_real_report_reconciles(campaign_report):
    """Test that all 97 rows load as claims, never as revenue."""
    _, result = campaign_report
    report = result.report
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (97, 97, 0)
    assert result.orders is None and result.events is None
    claims = result.claims
    assert set(claims["tool"]) == {"klaviyo"}
    assert set(claims["period_start"]) == {pd.Timestamp("2024-01-01", tz="UTC")}
    assert set(claims["period_end"]) == {pd.Timestamp("2024-12-31", tz="UTC")}


def test_real_report_naive_sum_and_overlap(campaign_report):
    """Test the README fact: Total Placed Order Value sums to 300,008 over all rows,
    flagged as double counting, next to the largest single row."""
    path, result = campaign_report
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    expected_sum = sum(float(r["Total Placed Order Value"]) for r in rows)
    expected_max = max(float(r["Total Placed Order Value"]) for r in rows)
    overlap = klaviyo.claims_overlap(result.claims)
    value = overlap[overlap["metric"] == "Total Placed Order Value"].iloc[0]
    assert round(value["naive_sum"]) == 300008
    assert value["naive_sum"] == pytest.approx(expected_sum, rel=1e-12)
    assert value["largest_row"] == pytest.approx(expected_max)
    assert value["largest_group"] == "All Accounts (RjFkHB) / Email"
    assert bool(value["double_counting"])
    assert value["rows"] == 97
    assert "Open Rate" not in set(overlap["metric"])


def test_real_report_email_and_sms_rows_of_one_group(campaign_report):
    """Test that one group id appears on an Email and an SMS row, and that the SMS
    open rate N/A is missing, not zero and not a rejection."""
    _, result = campaign_report
    claims = result.claims
    group = claims[claims["group"] == "All Accounts (RjFkHB)"]
    assert set(group["channel"]) == {"Email", "SMS"}
    sms_open = claims[(claims["channel"] == "SMS") & (claims["metric"] == "Open Rate")]
    assert sms_open.empty
    email_open = group[(group["channel"] == "Email") & (group["metric"] == "Open Rate")]
    assert email_open["value"].tolist() == [pytest.approx(0.37471)]


def test_flow_report_is_not_flagged():
    """Test a flow performance report: percent strings become fractions, dollar
    amounts numbers, and rows per flow message are not flagged as double counting
    (Klaviyo credits each order to one message)."""
    result = klaviyo.read_report(source_of(VENDORS / "klaviyo_flow_performance.csv"),
                                 CTX)
    claims = result.claims
    welcome = claims[claims["message"] == "Welcome Series: Welcome 1 (M1)"]
    values = welcome.set_index("metric")["value"]
    assert values["Open Rate"] == pytest.approx(0.455)
    assert values["Revenue"] == 1200.0
    overlap = klaviyo.claims_overlap(claims).set_index("metric")
    assert overlap.loc["Revenue", "naive_sum"] == 2460.0
    assert not overlap["double_counting"].any()


def test_overlap_flags_one_group_on_two_channels():
    """Test the flag on a hand-made case: one segment on Email and SMS."""
    claims = pd.DataFrame({
        "tool": "klaviyo", "period_start": pd.Timestamp("2024-01-01", tz="UTC"),
        "period_end": pd.Timestamp("2024-12-31", tz="UTC"),
        "group": ["VIP (A1)", "VIP (A1)"], "message": pd.NA,
        "channel": ["Email", "SMS"], "metric": "Revenue", "value": [100.0, 40.0],
        "source_file": "x.csv",
    })
    row = klaviyo.claims_overlap(claims).iloc[0]
    assert (row["naive_sum"], row["largest_row"], bool(row["double_counting"])) == (
        140.0, 100.0, True)


def test_profiles_export():
    """Test a segment export: a row needs an email or phone; consent, source,
    predictive fields and the creation time land on the person."""
    source = source_of(VENDORS / "klaviyo_profiles_segment.csv")
    assert klaviyo.score_profiles(source) > 0.8
    assert klaviyo.score_events(source) == klaviyo.score_report(source) == 0
    result = klaviyo.read_profiles(source, CTX)
    report = result.report
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 4, 1)
    assert [(p.row, p.column) for p in report.problems] == [(5, "Email")]
    people = result.people.set_index("person_id")
    assert list(people.index) == ["ann@example.com", "bob@example.com",
                                  "tel:+4930901820", "eve@example.com"]
    ann = people.loc["ann@example.com"]
    assert (ann["phone"], ann["signup_source"]) == ("+14155552671", "Pop-up form")
    assert bool(ann["consent_email"]) and bool(ann["consent_sms"])
    assert ann["predicted_clv"] == 120.5
    assert ann["alias"] == "klaviyo:01HAAAAAAAAAAAAAAAAAAAAAA1"
    assert ann["first_seen"] == pd.Timestamp("2024-03-01 09:15", tz="UTC")
    assert not bool(people.loc["bob@example.com", "consent_email"])
    assert not bool(people.loc["eve@example.com", "consent_email"])
    assert pd.isna(people.loc["eve@example.com", "first_seen"])
    assert report.meta["undated_profiles"] == 1
    signups = result.events
    assert set(signups["event"]) == {"signup"}
    assert len(signups) == 3


def test_events_export():
    """Test an event export: Klaviyo metrics map to canonical events with their
    channel, Placed Order keeps value and order id, unknown metrics are excluded and
    rows without a person or time are rejected with their row."""
    source = source_of(VENDORS / "klaviyo_events_export.csv")
    assert klaviyo.score_events(source) > 0.8
    result = klaviyo.read_events(source, CTX)
    report = result.report
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_excluded,
            report.rows_rejected) == (13, 10, 1, 2)
    assert report.excluded_by == {"Klaviyo metric not used: Bounced Email": 1}
    assert [(p.row, p.column) for p in report.problems] == [
        (12, "Email"), (13, "Timestamp")]
    events = result.events
    ann = events[events["person_id"] == "ann@example.com"]
    assert ann["event"].tolist() == [
        "email_delivered", "email_open", "email_click", "product_view", "add_to_cart",
        "checkout_started", "order"]
    assert ann["channel"].tolist()[:3] == ["Email"] * 3
    order = ann[ann["event"] == "order"].iloc[0]
    assert (order["order_id"], order["value"]) == ("5551234567", 1059.5)
    sms = events[events["person_id"] == "tel:+14155552671"]
    assert sms["event"].tolist() == ["sms_delivered", "sms_click"]
    assert set(sms["channel"]) == {"SMS"} and set(sms["campaign"]) == {"Welcome Series"}
    by_id = events[events["person_id"] == "klaviyo:01HAAAAAAAAAAAAAAAAAAAAAA9"]
    assert by_id["event"].tolist() == ["email_open"]


def test_klaviyo_files_load_with_their_kind(real_dir):
    """Test detection by content through load_files, every file reconciling."""
    real = real_dir / "klaviyo" / "apparel_campaign_sent_report_2024.csv"
    files = {
        real: "klaviyo_report",
        VENDORS / "klaviyo_profiles_segment.csv": "klaviyo_profiles",
        VENDORS / "klaviyo_events_export.csv": "klaviyo_events",
        VENDORS / "klaviyo_flow_performance.csv": "klaviyo_report",
    }
    for path, kind in files.items():
        dataset = load_files([(path.name, path.read_bytes())])
        [report] = dataset.reports
        report.check()
        assert report.kind == kind, path.name
    dataset = load_files([(real.name, real.read_bytes())])
    assert dataset.claims["value"].notna().all()
    assert dataset.orders.empty


# ---- phones without a country code (new-user test) ----------------------------------
NEW_USER = Path(__file__).parent / "data" / "new_user"


def test_a_phone_without_country_code_says_so():
    """Test row 4 of the new-user profiles, ``4155550103``: rejected as "no email
    or phone" before; now the true reason, with the number in international form.
    Row 6 has no phone at all and keeps the old reason."""
    data = load_files([("kl.csv", (NEW_USER / "kl_phone_only.csv").read_bytes())])
    problems = {p.row: (p.column, p.message) for p in data.reports[0].problems}
    assert problems[4] == (
        "Phone Number",
        "phone '4155550103' has no country code: write it in international form "
        "(+1 415 555 0103 for a US number) or give each row's two-letter country "
        "in a Country column",
    )
    assert problems[6][1] == (
        "no email or phone: a profile needs one of them to be a person"
    )


def test_a_country_column_reads_phones_without_country_code():
    """Test a Country column of two-letter codes: 4155550103 in US is
    +14155550103 and 030 1234567 in DE is +49301234567 (phonenumbers' E.164)."""
    text = (
        "Phone Number,First Name,Country,Created\n"
        "4155550103,Cat,US,2024-03-03\n030 1234567,Hans,de,2024-03-04\n"
    )
    data = load_files([("kl.csv", text.encode())])
    assert data.reports[0].rows_loaded == 2 and not data.reports[0].problems
    assert sorted(data.people["person_id"]) == ["tel:+14155550103", "tel:+49301234567"]
