"""Tests for the self-contained HTML client report."""

import html as html_lib
import re
from html.parser import HTMLParser
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest

from pipeline import report, report_funnel, report_html, report_money
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
            "entered_customer": [
                t0 + pd.Timedelta(days=10),
                t0 + pd.Timedelta(days=20),
                nat,
                nat,
                nat,
            ],
        }
    )


def test_funnel_figures():
    """Test the report's funnel figures on a hand-computed case.

    Reached (in the stage or later, or entered once): awareness 5, captured 4,
    engaged 3 (a, b, c), intent 2 (a entered it, b is past it), customer 2; so
    80 %, 75 %, 66.7 % and 100 % went on.
    """
    funnel = report_funnel.funnel_section(leads_frame())
    table = funnel.tables[0][1].set_index("Stage")
    assert list(table["Reached it or later"]) == ["5", "4", "3", "2", "2"]
    assert list(table["Went on to the next"]) == [
        "80.0 %",
        "75.0 %",
        "66.7 %",
        "100.0 %",
        "–",
    ]


def test_funnel_steps_without_data_say_so():
    """Test QA's profiles-only report, which printed 0.0 % out of captured: with no
    engagement source the steps into and out of engaged say why, as the app does."""
    from pipeline.data_coverage import MISSING_STAGE_TEXT

    no_data = {"engaged": MISSING_STAGE_TEXT["engaged"]}
    funnel = report_funnel.funnel_section(leads_frame(), no_data)
    went_on = list(funnel.tables[0][1]["Went on to the next"])
    assert went_on[0] == "80.0 %"
    assert went_on[1] == went_on[2] == MISSING_STAGE_TEXT["engaged"]
    assert went_on[3:] == ["100.0 %", "–"]


def test_view_report_says_when_every_rule_of_a_stage_is_off(monkeypatch):
    """Test that the report of a view whose engaged rules are all off gets the
    Funnel page's "not measured (rules switched off)" for its funnel and velocity
    sections, and the stages without data as before."""
    from pipeline.data_coverage import SWITCHED_OFF_TEXT, stages_without_data
    from pipeline.ingest import load_files
    from pipeline.rules import RULE_NAMES, StageRules

    seen = {}
    monkeypatch.setattr(
        report, "funnel_section", lambda leads, gaps: seen.setdefault("funnel", gaps)
    )
    monkeypatch.setattr(
        report,
        "velocity_section",
        lambda *args, gaps: seen.setdefault("velocity", gaps),
    )
    monkeypatch.setattr(report, "customer_value_section", lambda *args: None)
    monkeypatch.setattr(report, "attribution_section", lambda *args: None)
    rules = StageRules()
    for name in RULE_NAMES:
        if name.startswith("engaged"):
            rules = rules.with_rule(name, enabled=False)
    orders = load_files([real_bytes("shopify/apparel_orders_2023_2024.csv")])
    report.view_sections(orders, leads_frame(), None, rules=rules)
    assert seen["funnel"] == seen["velocity"]
    # no engagement data at all: that reason wins (switching rules on would not help)
    assert seen["funnel"] == stages_without_data(orders)
    opens = (
        b"person,timestamp,event,value\n"
        b"a@example.com,2024-05-01T10:00:00Z,email_open,\n"
        b"a@example.com,2024-05-02T10:00:00Z,order,40\n"
    )
    seen.clear()
    report.view_sections(
        load_files([("opens.csv", opens)]), leads_frame(), None, rules=rules
    )
    assert seen["funnel"]["engaged"] == SWITCHED_OFF_TEXT
    assert seen["velocity"]["engaged"] == SWITCHED_OFF_TEXT


def test_new_customer_sentence_without_a_value_says_why():
    """Test QA's "A new customer is valued at –.": with no purchase by the 'as of'
    day, the sentence says the value is not available yet and why."""
    from pipeline.clv_pricing import CustomerModels, expected_new_customer_value

    models = CustomerModels(
        None, None, "the first purchase (2025-12-17) is after the 'as of' day"
    )
    value = expected_new_customer_value(models)
    sentence = report_funnel.new_customer_sentence(value, "USD")
    assert sentence == (
        "A new customer's value is not available yet: it is priced on the purchases "
        "up to the 'as of' day, and the first purchase (2025-12-17) is after the "
        "'as of' day. Until a first purchase is in the data, pipeline value is "
        "counted in expected new customers, not money."
    )


SAMPLE = Path(__file__).parent.parent / "sample_data"


@pytest.fixture(scope="module")
def sample_view():
    """The sample brand as the app loads it: every file of sample_data/ but truth/."""
    from pipeline.ingest import load_files
    from pipeline.rules import StageRules
    from pipeline.stages import StageEngine

    files = [(p.name, p.read_bytes()) for p in sorted(SAMPLE.glob("*.csv"))]
    assert files, "sample_data/ is empty: run python -m pipeline sample"
    dataset = load_files(files)
    engine = StageEngine(dataset)
    as_of = engine.default_as_of
    return dataset, engine.leads(StageRules(), as_of), as_of


@pytest.fixture(scope="module")
def sample_velocity(sample_view):
    """The report's velocity section of the sample brand."""
    dataset, leads, as_of = sample_view
    return report_funnel.velocity_section(dataset, leads, as_of)


def test_velocity_matches_the_funnel_page(sample_view, sample_velocity):
    """Test that the report's velocity figures are the Funnel page's, same view.

    Computed here as pages/funnel.py does: models fitted to 'as of', the new
    customer's value at the defaults (365 days, 10 %, margin 1), then
    ``velocity_figures`` with a 90-day horizon, 12 weeks and the store's zone.
    The old plain figures (win rate of identified leads 19.2 %, median 5.9 days,
    $80,353.27) must be gone.
    """
    from pipeline.clv_pricing import customer_models, expected_new_customer_value
    from pipeline.formatting import fmt_interval, fmt_money, fmt_pct
    from pipeline.velocity import converted_by, velocity_figures

    dataset, leads, as_of = sample_view
    new_customer = expected_new_customer_value(customer_models(dataset, as_of))
    currencies = sorted(set(dataset.orders["currency"].dropna().astype(str)))
    assert currencies == ["USD"]
    page = velocity_figures(
        leads, as_of, new_customer.value, 90, 12, dataset.timezone or "UTC"
    )
    win = page.win.set_index("stage")
    text = " ".join(sample_velocity.summary)
    captured = fmt_pct(win.loc["captured", "win_probability"])
    interval = fmt_interval(win.loc["captured", "low"], win.loc["captured", "high"])
    assert f"captured {captured} (95 % interval {interval})" in text
    assert captured == "16.6 %"  # the Funnel page's figure QA saw
    # Fewer than half of the captured leads bought: the KM median is not reached.
    assert not np.isfinite(page.time_to_customer.median_days)
    assert "capture to customer (Kaplan-Meier): not reached" in text
    value = fmt_money(page.value.total, "USD", 0)
    assert value == "$41,307"
    value_range = fmt_interval(
        page.value.low, page.value.high, fmt_money, currency="USD", digits=0
    )
    assert f"Pipeline value {value} (approximate 95 % range {value_range})" in text
    assert f"A new customer is worth {fmt_money(new_customer.value, 'USD')}" in text
    # The shares converted by 7..365 days are the page's converted_by table.
    tables = dict(sample_velocity.tables)
    by = tables["Captured leads who became customers within"]
    assert list(by["Became customers"]) == [
        fmt_pct(v) for v in converted_by(page.time_to_customer)["share"]
    ]
    assert list(by["Within"]) == [
        "7 days",
        "30 days",
        "90 days",
        "180 days",
        "365 days",
    ]
    # No old plain figures.
    assert "Win rate" not in text and "19.2 %" not in text
    assert "80,353" not in text and "5.9 days" not in text


def mixed_currency_files() -> dict[str, bytes]:
    """Two events CSVs: six $100 buyers and two 1,000 EUR buyers, each emailed first."""
    header = "person,timestamp,event,channel,value,currency\n"
    usd = header + "".join(
        f"u{i}@x.com,2024-03-0{i}T10:00:00Z,session,email,,\n"
        f"u{i}@x.com,2024-03-0{i + 1}T10:00:00Z,order,,100,USD\n"
        for i in range(1, 7)
    )
    eur = header + "".join(
        f"e{i}@x.com,2024-03-0{i}T10:00:00Z,session,email,,\n"
        f"e{i}@x.com,2024-03-0{i + 1}T10:00:00Z,order,,1000,EUR\n"
        for i in range(1, 3)
    )
    return {"usd.csv": usd.encode(), "eur.csv": eur.encode()}


def test_mixed_currencies_are_never_added():
    """Test a USD and an EUR orders file: the report names the left-out EUR orders.

    Six USD buyers of $100 each (one email session the day before) and two EUR
    buyers of 1,000 EUR: customer value and attribution run on USD only (revenue
    $600.00, never 2,600), and velocity gives expected customers, not money.
    """
    from pipeline.ingest import load_files
    from pipeline.rules import StageRules
    from pipeline.stages import StageEngine

    dataset = load_files(list(mixed_currency_files().items()))
    assert sorted(dataset.orders["currency"].dropna().unique()) == ["EUR", "USD"]
    engine = StageEngine(dataset)
    as_of = engine.default_as_of
    leads = engine.leads(StageRules(), as_of)
    sections = {s.title: s for s in report.view_sections(dataset, leads, as_of)}
    for title in ("Customer value", "Attribution"):
        text = " ".join(sections[title].summary)
        assert "Amounts in USD: 6 purchases" in text, text
        assert "2 orders in EUR left out" in text, text
    attribution = " ".join(sections["Attribution"].summary)
    assert "6 conversions, $600.00 revenue" in attribution
    velocity = " ".join(sections["Velocity"].summary)
    assert "several currencies (EUR, USD)" in velocity
    assert "Pipeline value $" not in velocity
    html = report.view_report(dataset, leads, as_of)
    assert "2,600" not in html and "2600" not in html
    assert "2 orders in EUR left out" in html


def test_attribution_models_are_named_in_words(sample_view):
    """Test that the comparison names models ("First click") and the currency."""
    dataset, _, _ = sample_view
    section = report_money.attribution_section(dataset)
    tables = dict(section.tables)
    credit = tables["Conversions credited, by model"]
    assert "First click" in credit.columns and "first_click" not in credit.columns
    assert "Markov (removal effect)" in credit.columns
    assert "Revenue credited (USD), by model" in tables


def test_report_is_self_contained_with_every_chart_inline(sample_velocity):
    """Test that every chart is an inline SVG and nothing is fetched from anywhere."""
    sections = [
        report_funnel.funnel_section(leads_frame()),
        sample_velocity,
        report_html.Section("Attribution", missing="no touches in the data"),
    ]
    html = report_html.render_report(sections, "Test report", "subtitle <b>escaped</b>")
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
    chart = report_money.histogram_chart(values, "t", "x", "y", bins=30)
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
    svg = report_html.chart_svg(chart)
    assert svg.startswith("<svg")
    assert external_references(svg) == []


def test_cli_writes_the_report_and_every_export(tmp_path, capsys):
    """Test ``python -m pipeline report`` on the sample brand: report and four files."""
    import json

    from pipeline import cli
    from pipeline.exports import (
        GOOGLE_COLUMNS,
        KLAVIYO_COLUMNS,
        LEAD_CSV_COLUMNS,
        META_COLUMNS,
    )

    sample = sorted(str(p) for p in SAMPLE.glob("*.csv"))
    assert sample, "sample_data/ is empty: run python -m pipeline sample"
    out = tmp_path / "report.html"
    status = cli.main(
        [
            "report",
            *sample,
            "--out",
            str(out),
            "--exports-dir",
            str(tmp_path / "ex"),
            "--json",
        ]
    )
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
        klaviyo["rows"]
        + klaviyo["excluded_no_consent"]
        + klaviyo["excluded_no_identifier"]
    )
    assert accounted == by_file["pipeline_leads.csv"]["rows"]


def test_cli_currency_choice(tmp_path, capsys):
    """Test ``report --currency EUR``: EUR analysed, the USD orders named as left out.

    Two EUR buyers of 1,000 each: attribution revenue €2,000.00; an unknown
    currency is refused with the currencies there are.
    """
    from pipeline import cli

    paths = []
    for name, data in mixed_currency_files().items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    out = tmp_path / "report.html"
    assert cli.main(["report", *paths, "--out", str(out), "--currency", "eur"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Amounts in EUR: 2 purchases" in html
    assert "6 orders in USD left out" in html
    assert "2 conversions, €2,000.00 revenue" in html
    assert cli.main(["report", *paths, "--out", str(out), "--currency", "GBP"]) == 2
    err = capsys.readouterr().err
    assert "--currency" in err and "EUR (2)" in err and "USD (6)" in err


NEW_USER = Path(__file__).parent / "data" / "new_user"


def test_report_on_three_leads_says_too_few_not_certain(tmp_path, capsys):
    """Test the new-user files (3 captured leads, 1 buys after 10 days): the report
    said "captured 100.0 % (95 % interval 100.0 % – 100.0 %)" and "Pipeline value
    70 (approximate 95 % range 70 – 70)"; now too few leads, and 0 to the two open
    leads won at the mean first order of 35 each."""
    from pipeline import cli

    out = tmp_path / "r.html"
    files = [str(NEW_USER / "kl_phone_only.csv"), str(NEW_USER / "ev_phone.csv")]
    assert cli.main(["report", *files, "--out", str(out)]) == 0
    capsys.readouterr()
    markup = re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8"))
    text = re.sub(r"\s+", " ", html_lib.unescape(markup))
    assert (
        "captured too few leads: 3 entered, at least 10 are needed for a figure;"
        in text
    )
    assert "100.0 % – 100.0 %" not in text
    assert (
        "Pipeline value 70 (approximate 95 % range 0 – 70; too few leads to "
        "estimate the win probability of captured, whose open leads count from "
        "none to all won)" in text
    )
