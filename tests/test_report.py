"""Tests for the self-contained HTML client report."""

import re
from html.parser import HTMLParser

import altair as alt
import numpy as np
import pandas as pd
import pytest

from pipeline import report
from tests.conftest import real_bytes


class Collector(HTMLParser):
    """Collects tags and their attributes, and checks the document parses."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def external_references(html: str) -> list[str]:
    """Every src/href/url(...) that would fetch something from the network."""
    found = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(https?:|//)[^"' >]*""", html)
    found += re.findall(r"url\(\s*['\"]?(https?:|//)", html)
    found += re.findall(r"@import", html)
    return found


def leads_frame() -> pd.DataFrame:
    """Five people: two customers bought 10 and 20 days after capture."""
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    nat = pd.NaT
    return pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d", "ga4:1"],
            "stage": ["customer", "customer", "engaged", "captured", "awareness"],
            "identified": [True, True, True, True, False],
            "orders": [1, 2, 0, 0, 0],
            "first_order_value": [50.0, 70.0, np.nan, np.nan, np.nan],
            "entered_captured": [t0, t0, t0, t0, nat],
            "entered_engaged": [t0 + pd.Timedelta(days=2), nat, t0, nat, nat],
            "entered_purchase_intent": [t0 + pd.Timedelta(days=5), nat, nat, nat, nat],
            "entered_customer": [t0 + pd.Timedelta(days=10), t0 + pd.Timedelta(days=20),
                                 nat, nat, nat],
        }
    )


def test_funnel_and_velocity_figures():
    """Test the report's funnel and velocity figures on a hand-computed case.

    Reached (in the stage or later, or entered once): awareness 5, captured 4,
    engaged 3 (a, b, c), intent 2 (a entered it, b is past it), customer 2; so
    80 %, 75 %, 66.7 % and 100 % went on. Win rate 2 of 4 identified; median of 10
    and 20 days is 15; velocity = 2 open leads × 0.5 × 60 average first order ÷ 15
    days = 4 a day; value = d (captured, win rate 2/4) 30 + c (engaged, 1/2) 30.
    """
    funnel = report.funnel_section(leads_frame())
    table = funnel.tables[0][1].set_index("Stage")
    assert list(table["Reached it or later"]) == ["5", "4", "3", "2", "2"]
    assert list(table["Went on to the next"]) == [
        "80.0 %", "75.0 %", "66.7 %", "100.0 %", "–"
    ]
    velocity = report.velocity_section(leads_frame())
    text = " ".join(velocity.summary)
    assert "50.0 %" in text
    assert "15 days over 2 customers" in text
    assert "$4.00 a day" in text
    assert "pipeline value $60.00" in text


def test_report_is_self_contained_with_every_chart_inline():
    """Test that every chart is an inline SVG and nothing is fetched from anywhere."""
    sections = [
        report.funnel_section(leads_frame()),
        report.velocity_section(leads_frame()),
        report.Section("Attribution", missing="no touches in the data"),
    ]
    html = report.render_report(sections, "Test report", "subtitle <b>escaped</b>")
    parser = Collector()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    charts = sum(len(s.charts) for s in sections)
    assert charts == 2
    assert len(re.findall(r'<figure class="chart"[^>]*><svg', html)) == charts
    assert tags.count("svg") == charts
    assert "script" not in tags and "img" not in tags and "link" not in tags
    assert external_references(html) == []
    assert "Not shown: no touches in the data" in html
    assert "&lt;b&gt;escaped&lt;/b&gt;" in html
    # The SVG draws the funnel's bars and axis labels as vector text.
    assert "Purchase intent" in html and "<path" in html


def test_histogram_is_pre_binned():
    """Test that a histogram carries bins, not rows, so 100k values render fast."""
    values = np.random.default_rng(1).exponential(10, size=100_000)
    chart = report.histogram_chart(values, "t", "x", "y", bins=30)
    data = chart.to_dict()["datasets"]
    (rows,) = data.values()
    assert len(rows) == 30
    assert sum(r["count"] for r in rows) == 100_000


def test_a_failing_section_becomes_a_note():
    """Test that one failing section does not sink the report."""
    def broken():
        raise KeyError("entered_customer")

    section = report.safe_section("Velocity", broken)
    assert section.missing.startswith("could not be built: KeyError")


@pytest.fixture(scope="module")
def apparel_view():
    """The real apparel brand's three Shopify exports, loaded and staged."""
    from pipeline.ingest import load_files
    from pipeline.stages import StageEngine

    files = [
        real_bytes("shopify/apparel_orders_2020_2023.csv"),
        real_bytes("shopify/apparel_orders_2023_2024.csv"),
        real_bytes("shopify/apparel_abandoned_checkouts_2023_2026.csv"),
    ]
    dataset = load_files(files)
    engine = StageEngine(dataset)
    as_of = engine.default_as_of
    from pipeline.rules import StageRules

    return dataset, engine.leads(StageRules(), as_of), as_of


def test_view_report_on_the_real_apparel_exports(apparel_view):
    """Test the full report on the real brand: every section charted or explained."""
    dataset, leads, as_of = apparel_view
    html = report.view_report(dataset, leads, as_of, ("orders.csv",))
    assert external_references(html) == []
    assert "<script" not in html
    sections = re.split(r"<section>", html)[1:]
    assert len(sections) == 4
    for part in sections:
        assert "<svg" in part or "Not shown:" in part, part[:200]
    # Customers from the real files (README: 5,331 distinct customers with a
    # purchase; the funnel counts people, so customers must be near that figure).
    customers = int((leads["stage"] == "customer").sum())
    assert 5_000 <= customers <= 5_400
    assert f"{customers:,} customers" in html


def test_chart_svg_renders_offline():
    """Test that vl-convert renders a chart to SVG with no network."""
    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")
    svg = report.chart_svg(chart)
    assert svg.startswith("<svg")
    assert external_references(svg) == []



def test_cli_writes_the_report_and_every_export(tmp_path, capsys):
    """Test ``python -m pipeline report`` on the sample brand: report and four files."""
    import json
    from pathlib import Path

    from pipeline import cli
    from pipeline.exports import (
        GOOGLE_COLUMNS,
        KLAVIYO_COLUMNS,
        LEAD_CSV_COLUMNS,
        META_COLUMNS,
    )

    sample = sorted(str(p) for p in (Path(__file__).parent.parent / "sample_data")
                    .glob("*.csv"))
    assert sample, "sample_data/ is empty: run python -m pipeline sample"
    out = tmp_path / "report.html"
    status = cli.main(["report", *sample, "--out", str(out), "--exports-dir",
                       str(tmp_path / "ex"), "--json"])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    html = out.read_text(encoding="utf-8")
    assert external_references(html) == [] and html.count("<svg") >= 3
    headers = {
        "pipeline_leads.csv": LEAD_CSV_COLUMNS,
        "klaviyo_profiles.csv": KLAVIYO_COLUMNS,
        "meta_custom_audience.csv": META_COLUMNS,
        "google_customer_match.csv": GOOGLE_COLUMNS,
    }
    by_file = {item["file"]: item for item in summary["exports"]}
    assert set(by_file) == set(headers)
    for name, columns in headers.items():
        frame = pd.read_csv(tmp_path / "ex" / name, dtype=str, keep_default_na=False)
        assert tuple(frame.columns) == columns
        assert len(frame) == by_file[name]["rows"]
    # Every lead of the sheet is either in the Klaviyo file or counted as left out.
    klaviyo = by_file["klaviyo_profiles.csv"]
    accounted = (
        klaviyo["rows"] + klaviyo["excluded_no_consent"]
        + klaviyo["excluded_no_identifier"]
    )
    assert accounted == by_file["pipeline_leads.csv"]["rows"]
