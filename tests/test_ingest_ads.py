"""Tests of the ad spend readers (Meta Ads Manager and Google Ads exports).

The Meta figures are the README facts of ../shared/real/ads (14,504 rows, 33,512.45
USD, 366 purchases), also recomputed from the file with :mod:`csv`. The Google Ads
file in tests/data/vendors follows the documented download layout: a title line and
a date-range line above the header, "Total:" rows at the bottom; its expected sums
are hand computed (12.50 + 1,020.30 + 8.25 + 30.00 + 15.00 = 1,086.05).
"""

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest import ads, load_files
from pipeline.ingest.base import ReadContext
from pipeline.ingest.containers import unpack
from pipeline.model import InputError
from pipeline.timezones import report_days
from tests.conftest import real_bytes

VENDORS = Path(__file__).resolve().parent / "data" / "vendors"
CTX = ReadContext()


def source_of(path: Path):
    """The file as an upload would reach a reader: unpacked and decoded."""
    return unpack(path.name, path.read_bytes())[0]


@pytest.fixture(scope="module")
def meta(real_dir):
    path = real_dir / "ads" / "apparel_meta_ads_daily_2026q1.csv"
    return path, ads.read_meta(source_of(path), CTX)


def test_meta_detected(meta):
    """Test that the Meta export scores as Meta and not as Google Ads."""
    path, _ = meta
    source = source_of(path)
    assert ads.score_meta(source) > 0.9
    assert ads.score_google(source) == 0


def test_meta_spend_reconciles(meta):
    """Test the README facts: 14,504 rows, 33,512.45 USD spent, 2026-01-01 to
    2026-03-15, currency taken from 'Amount spent (USD)'."""
    path, result = meta
    report = result.report
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (
        14504, 14504, 0)
    spend = result.spend
    assert len(spend) == 14504
    assert spend["spend"].sum() == pytest.approx(33512.45, abs=1e-6)
    with path.open(encoding="utf-8-sig") as fh:
        exact = sum(Decimal(r["Amount spent (USD)"] or "0") for r in csv.DictReader(fh))
    assert exact == Decimal("33512.45")
    assert set(spend["currency"]) == {"USD"}
    assert set(spend["channel"]) == {"Paid Social"}
    assert set(spend["platform"]) == {"meta"}
    assert spend["date"].min() == pd.Timestamp("2026-01-01", tz="UTC")
    assert spend["date"].max() == pd.Timestamp("2026-03-15", tz="UTC")
    assert report.meta["spend"] == {"USD": 33512.45}


def test_meta_purchases_are_claims(meta):
    """Test that Meta's 366 purchases are kept as Meta's claims, not orders."""
    _, result = meta
    claims = result.claims
    purchases = claims[claims["metric"] == "Purchases"]
    assert purchases["value"].sum() == 366
    assert set(claims["tool"]) == {"meta"}
    assert "Results" not in set(claims["metric"])
    assert result.orders is None


def test_meta_purchase_value_from_roas(meta):
    """Test that Meta's claimed purchase value, which the export gives only as ROAS,
    is recovered as ROAS x spend row by row (recomputed here with csv)."""
    path, result = meta
    roas = "Purchase ROAS (return on ad spend)"
    with path.open(encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r[roas]]
    expected = sum(float(r[roas]) * float(r["Amount spent (USD)"]) for r in rows)
    claims = result.claims
    value = claims[claims["metric"] == ads.PURCHASE_VALUE_FROM_ROAS]
    assert len(value) == len(rows) == 246
    assert value["value"].sum() == pytest.approx(expected, rel=1e-12)
    assert value["value"].sum() == pytest.approx(82388.36, abs=0.01)


def test_google_ads_title_lines_and_total_rows():
    """Test the Google Ads layout: title lines skipped, Total rows excluded and
    counted, channel from the campaign type, currency from its column."""
    source = source_of(VENDORS / "google_ads_campaign_report.csv")
    assert ads.score_google(source) > 0.8
    assert ads.score_meta(source) == 0
    result = ads.read_google(source, CTX)
    report = result.report
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_excluded) == (8, 5, 3)
    assert report.excluded_by == {"total row": 3}
    assert report.meta["title"] == ["Campaign report", "June 1, 2024 - June 3, 2024"]
    spend = result.spend
    assert spend["spend"].sum() == pytest.approx(1086.05)
    channels = spend.groupby("campaign")["channel"].first().to_dict()
    assert channels == {
        "Brand Search": "Paid Search",
        "PMax All Products": "Cross-network",
        "Shopping - Tees": "Paid Shopping",
        "YouTube Awareness": "Paid Video",
    }
    assert set(spend["currency"]) == {"USD"}
    claims = result.claims.groupby("metric")["value"].sum()
    assert claims["Conversions"] == 16
    assert claims["Conv. value"] == pytest.approx(1557.0)


def test_google_ads_channel_from_name_without_type():
    """Test the fallback: no campaign-type column, channel from the campaign name,
    currency from the cost column's name."""
    text = "Day,Campaign,Cost (EUR),Clicks,Impr.\n2024-06-01,PMAX - all,10.00,1,10\n" \
           "2024-06-01,Brand,5.00,1,10\n"
    source = unpack("g.csv", text.encode())[0]
    result = ads.read_google(source, CTX)
    assert result.spend["channel"].tolist() == ["Cross-network", "Paid Search"]
    assert set(result.spend["currency"]) == {"EUR"}


def test_ads_files_load_with_their_kind(real_dir):
    """Test detection by content through load_files, every file reconciling."""
    files = {
        real_dir / "ads" / "apparel_meta_ads_daily_2026q1.csv": "meta_ads",
        VENDORS / "google_ads_campaign_report.csv": "google_ads",
    }
    for path, kind in files.items():
        dataset = load_files([(path.name, path.read_bytes())])
        [report] = dataset.reports
        report.check()
        assert report.kind == kind, path.name
        assert len(dataset.spend) == report.rows_loaded


def test_google_ads_utf16_tab_export():
    """Test Google Ads' "CSV for Excel" variant: UTF-16 with tabs, same figures."""
    text = (VENDORS / "google_ads_campaign_report.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    tsv = "\r\n".join("\t".join(r) for r in rows) + "\r\n"
    source = unpack("report.csv", tsv.encode("utf-16"))[0]
    assert ads.score_google(source) > 0.8
    result = ads.read_google(source, CTX)
    assert result.report.rows_excluded == 3
    assert result.spend["spend"].sum() == pytest.approx(1086.05)


def test_meta_export_missing_a_column_says_which(real_dir):
    """Test the real Meta export without 'Amount spent (USD)': named as a Meta export
    missing that column (it was read as Google Ads, 'no date column'); without
    'Reporting starts' it is dated by 'Reporting ends' (a daily export: the same)."""
    frame = pd.read_csv(real_dir / "ads/apparel_meta_ads_daily_2026q1.csv", dtype=str)
    no_spend = frame.drop(columns=["Amount spent (USD)"]).to_csv(index=False)
    with pytest.raises(InputError, match="has no 'Amount spent' column") as info:
        load_files([("meta.csv", no_spend.encode())])
    [report] = info.value.reports
    assert (report.kind, report.rows_rejected) == ("meta_ads", 14504)
    assert report.problems[0].column == "Amount spent"

    no_start = frame.drop(columns=["Reporting starts"]).to_csv(index=False)
    data = load_files([("meta.csv", no_start.encode())])
    assert data.reports[0].kind == "meta_ads"
    assert data.spend["spend"].sum() == pytest.approx(33512.45, abs=1e-6)
    assert data.spend["date"].max() == pd.Timestamp("2026-03-15", tz="UTC")


def test_daily_reports_keep_their_calendar_days_west_of_utc(real_dir):
    """Test the apparel set in Los Angeles: the Meta export's days (2026-01-01 to
    2026-03-15) and the GA4 report's range (2024) are shown as written, not a day
    early; an order's moment still moves to the store's day."""
    data = load_files(
        [
            real_bytes("ads/apparel_meta_ads_daily_2026q1.csv"),
            real_bytes("ga4/apparel_traffic_acquisition_by_week_2024.csv"),
            ("o.csv", b"customer_id,date,value\n7,2024-05-01T03:00:00Z,10\n"),
        ],
        timezone="America/Los_Angeles",
    )
    days = {r.file: report_days(r, "America/Los_Angeles") for r in data.reports}
    assert days["apparel_meta_ads_daily_2026q1.csv"] == (
        dt.date(2026, 1, 1),
        dt.date(2026, 3, 15),
    )
    assert days["apparel_traffic_acquisition_by_week_2024.csv"] == (
        dt.date(2024, 1, 1),
        dt.date(2024, 12, 31),
    )
    assert days["o.csv"] == (dt.date(2024, 4, 30), dt.date(2024, 4, 30))
