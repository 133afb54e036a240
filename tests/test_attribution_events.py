"""Journeys from events (ibis), Klaviyo's replayed claim, and the CLI's JSON."""

import json

import ibis
import ibis.config
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.attribution.analysis import analyse_dataset
from pipeline.attribution.journeys import (
    JourneySettings,
    build_journeys,
    conversions_frame,
    journey_expr,
)
from pipeline.attribution.klaviyo import overstatement, replay, report_comparison
from pipeline.attribution.models import attribute
from pipeline.eventlayer import event_frame
from pipeline.model import CLAIM_COLUMNS, EVENT_COLUMNS, ORDER_COLUMNS, Dataset, conform


def make_dataset(events: list[tuple], orders: list[tuple]) -> Dataset:
    """A dataset from (person, time, event, channel, campaign) and
    (order_id, person, time, net value) rows."""
    ev = pd.DataFrame(
        events, columns=["person_id", "ts", "event", "channel", "campaign"]
    )
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    ev["value"] = np.nan
    od = pd.DataFrame(orders, columns=["order_id", "person_id", "ts", "net_value"])
    od["ts"] = pd.to_datetime(od["ts"], utc=True)
    od["total"] = od["net_value"]
    od["refunded"] = 0.0
    od["is_purchase"] = True
    order_events = od.assign(event="order", value=od["net_value"])
    ev = pd.concat(
        [ev, order_events[["person_id", "ts", "event", "order_id", "value"]]]
    )
    return Dataset(events=conform(ev, EVENT_COLUMNS), orders=conform(od, ORDER_COLUMNS))


@pytest.fixture(scope="module")
def small():
    return make_dataset(
        [
            ("a", "2024-01-01 10:00", "session", "Organic Search", None),
            ("a", "2024-01-03 10:00", "email_click", "Email", "Sale"),
            ("a", "2024-01-03 10:02", "session", "Email", None),  # the click's session
            ("a", "2024-01-03 12:00", "email_open", "Email", "Sale"),
            ("a", "2024-01-04 10:00", "session", "Direct", None),
            ("a", "2024-01-08 10:00", "session", "Paid Social", None),
            ("a", "2024-01-09 10:00", "session", "Paid Social", None),
            ("b", "2023-11-01 10:00", "session", "Paid Search", None),  # too old
            ("c", "2024-01-06 10:00", "session", "Paid Social", None),
        ],
        [
            ("o1", "a", "2024-01-05 10:00", 100.0),
            ("o2", "a", "2024-01-10 10:00", 40.0),
            ("o3", "b", "2024-01-07 00:00", 50.0),
        ],
    )


class SparkOptions(ibis.config.Config):
    """The option the Spark compiler reads (set by the pyspark backend, absent here)."""

    treat_nan_as_null: bool = False


def names(journeys, key):
    paths = journeys.paths
    p = list(paths.path_key).index(key)
    codes = paths.touch_channel[paths.offsets[p] : paths.offsets[p + 1]]
    return [paths.channels[c] for c in codes]


def test_journeys_fold_clicks_cut_at_orders_and_keep_nulls(small):
    """Test touches per order: the click's session folded, paths cut, nulls kept."""
    journeys = build_journeys(small)
    assert names(journeys, "o1") == ["Organic Search", "Email", "Direct"]
    assert names(journeys, "o2") == ["Paid Social", "Paid Social"]
    assert names(journeys, "o3") == []  # its only touch is 67 days old
    assert names(journeys, "null:c") == ["Paid Social"]
    assert journeys.coverage == pytest.approx(2 / 3)
    ages = journeys.paths.touch_age_days[:3]
    np.testing.assert_allclose(ages, [4.0, 2.0, 1.0])


def test_journey_options_change_paths(small):
    """Test opens as touches, no cutting, and first purchases only."""
    opened = build_journeys(small, JourneySettings(opens_as_touches=True))
    assert names(opened, "o1") == ["Organic Search", "Email", "Email", "Direct"]
    uncut = build_journeys(small, JourneySettings(cut_at_conversions=False))
    assert names(uncut, "o2")[:3] == ["Organic Search", "Email", "Direct"]
    first = build_journeys(small, JourneySettings(first_purchase_only=True))
    assert "o2" not in list(first.paths.path_key)


def test_every_model_credits_unattributed_and_sums(small):
    """Test that all eight models sum to 3 orders and 190 of revenue."""
    result = attribute(build_journeys(small).paths)
    assert len(result.conversions.columns) == 8
    np.testing.assert_allclose(result.conversions.sum(), 3.0)
    np.testing.assert_allclose(result.revenue.sum(), 190.0)
    assert (result.conversions.loc["(unattributed)"] == 1.0).all()


def test_journey_expression_compiles_for_bigquery_and_spark(small, monkeypatch):
    """Test that the journey expression compiles to BigQuery and Spark SQL."""
    con = ibis.duckdb.connect()
    events = con.create_table("e", event_frame(small.events, "UTC"))
    conv = con.create_table("c", conversions_frame(small))
    expr = journey_expr(events, conv, JourneySettings())
    monkeypatch.setattr(ibis.options, "pyspark", SparkOptions(), raising=False)
    for dialect in ("bigquery", "pyspark"):
        sql = ibis.to_sql(expr, dialect=dialect)
        assert "UNION" in sql.upper() and "LAG" in sql.upper()


# --- Klaviyo -----------------------------------------------------------------------

KLAVIYO_EVENTS = [
    ("p", "2024-01-01 00:00", "email_open", "Email", "Welcome"),
    ("p", "2024-01-02 00:00", "email_click", "Email", "Sale"),
    ("p", "2024-01-03 00:00", "ad_click", "Paid Social", "meta"),
    ("p", "2024-01-10 00:00", "email_open", "Email", "News"),
    ("q", "2024-01-05 00:00", "sms_delivered", "SMS", "Flash"),
    ("r", "2024-01-07 00:00", "sms_click", "SMS", "Flash"),
    ("r", "2024-01-08 00:00", "email_open", "Email", "News"),
]
KLAVIYO_ORDERS = [
    ("o1", "p", "2024-01-04 00:00", 100.0),  # Sale click 2 days before
    ("o2", "p", "2024-01-12 00:00", 50.0),  # News open 2 days before, no click
    ("o3", "p", "2024-01-20 00:00", 70.0),  # News open 10 days before: too old
    ("o4", "q", "2024-01-05 10:00", 40.0),  # SMS delivered 10 h before
    ("o5", "q", "2024-01-06 12:00", 10.0),  # delivered 36 h before: too old
    ("o6", "r", "2024-01-09 00:00", 60.0),  # News open after the SMS click
]


@pytest.fixture(scope="module")
def klaviyo_data():
    return make_dataset(KLAVIYO_EVENTS, KLAVIYO_ORDERS)


def test_replay_claims_by_latest_interaction_in_its_window(klaviyo_data):
    """Test each order's claim against Klaviyo's rule applied by hand."""
    frame = replay(klaviyo_data, conversions_frame(klaviyo_data)).set_index("order_id")
    assert frame["claimed"].to_dict() == {
        "o1": True,
        "o2": True,
        "o3": False,
        "o4": True,
        "o5": False,
        "o6": True,
    }
    assert frame.loc["o1", "message"] == "Sale" and frame.loc["o1", "via"] == "click"
    assert frame.loc["o2", "message"] == "News" and frame.loc["o2", "via"] == "open"
    assert frame.loc["o4", "channel"] == "SMS" and frame.loc["o4", "via"] == "delivery"
    assert frame.loc["o6", "message"] == "News" and frame.loc["o6", "click_in_window"]


def test_overstatement_splits_claim_into_clicks_and_opens(klaviyo_data):
    """Test claimed 250 = click-only 160 + opens-only 90, and the ad-click part."""
    conversions = conversions_frame(klaviyo_data)
    revenue = pd.DataFrame(
        {"markov": [50.0, 25.0, 255.0]}, index=["Email", "SMS", "Paid Social"]
    )
    leads = pd.DataFrame(
        {
            "person_id": ["r"],
            "entered_purchase_intent": pd.to_datetime(["2024-01-07 12:00"], utc=True),
        }
    )
    result = overstatement(klaviyo_data, conversions, revenue, "markov", leads=leads)
    assert result.total_revenue == 330.0
    assert result.claimed_revenue == 250.0
    assert result.click_only_claimed_revenue == 160.0
    assert result.claimed_opens_only_revenue == 90.0
    assert result.overstatement == pytest.approx(250.0 / 75.0)
    assert result.claimed_with_ad_click_revenue == 100.0
    assert result.claimed_already_intent_revenue == 60.0


interaction = st.tuples(
    st.sampled_from(["p", "q"]),
    st.integers(0, 30 * 24),
    st.sampled_from(["email_open", "email_click", "sms_click", "sms_delivered"]),
)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(interaction, max_size=12),
    st.lists(
        st.tuples(
            st.sampled_from(["p", "q", "z"]),
            st.integers(0, 30 * 24),
            st.floats(0, 300, allow_nan=False),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_click_only_never_exceeds_claimed(interactions, orders):
    """Test click-only <= claimed and claimed - click-only == opens-only, always."""
    start = pd.Timestamp("2024-01-01", tz="UTC")
    events = [
        (
            p,
            str(start + pd.Timedelta(hours=h)),
            e,
            "SMS" if "sms" in e else "Email",
            "m",
        )
        for p, h, e in interactions
    ]
    rows = [
        (f"o{i}", p, str(start + pd.Timedelta(hours=h)), v)
        for i, (p, h, v) in enumerate(orders)
    ]
    data = make_dataset(events or [("p", str(start), "session", "Direct", None)], rows)
    result = overstatement(
        data, conversions_frame(data), pd.DataFrame({"markov": [1.0]}, index=["Email"])
    )
    assert result.click_only_claimed_revenue <= result.claimed_revenue + 1e-9
    assert result.claimed_revenue - result.click_only_claimed_revenue == pytest.approx(
        result.claimed_opens_only_revenue, abs=1e-6
    )


def test_report_rows_compared_with_shopify_revenue():
    """Test that overlapping report rows are summed naively, flagged, and compared."""
    claims = conform(
        pd.DataFrame(
            {
                "tool": ["klaviyo"] * 3,
                "period_start": pd.to_datetime(["2024-01-01"] * 3, utc=True),
                "period_end": pd.to_datetime(["2024-12-31"] * 3, utc=True),
                "group": ["g1", "g1", "g2"],
                "channel": ["Email", "SMS", "Email"],
                "metric": ["placed_order_value"] * 3,
                "value": [300.0, 120.0, 250.0],
            }
        ),
        CLAIM_COLUMNS,
    )
    purchases = pd.DataFrame(
        {
            "ts": pd.to_datetime(
                ["2024-03-01 00:00", "2024-12-31 23:00", "2025-01-01 00:00"], utc=True
            ),
            "net_value": [200.0, 100.0, 999.0],
        }
    )
    table = report_comparison(claims, purchases).iloc[0]
    assert table["naive_sum"] == 670.0 and table["largest_row"] == 300.0
    assert table["shopify_revenue"] == 300.0 and table["shopify_orders"] == 2
    assert table["double_counting"] and table["email_rows"] == 2
    assert table["naive_share"] == pytest.approx(670 / 300)


def test_analysis_json_has_interface_keys_and_no_nan(klaviyo_data):
    """Test the CLI's JSON shape on events: every key, sums, overstatement interval."""
    analysis = analyse_dataset(klaviyo_data, n_boot=30, seed=2)
    out = analysis.to_json()
    text = json.dumps(out, allow_nan=False)
    assert set(out) == {
        "conversions",
        "revenue",
        "coverage",
        "models",
        "revenue_models",
        "intervals",
        "klaviyo",
    }
    assert (
        set(out["models"])
        == set(out["revenue_models"])
        == {
            "first_click",
            "last_click",
            "last_non_direct",
            "linear",
            "time_decay",
            "position_based",
            "markov",
            "shapley",
        }
    )
    assert out["conversions"] == 6 and out["revenue"] == 330.0
    for model, credit in out["revenue_models"].items():
        assert sum(credit.values()) == pytest.approx(330.0), model
    assert {
        "total_revenue",
        "claimed_revenue",
        "claimed_opens_only_revenue",
        "click_only_claimed_revenue",
        "overstatement",
    } <= set(out["klaviyo"])
    assert "NaN" not in text
    low, high = out["intervals"]["klaviyo_overstatement"]
    assert low <= high


def test_real_klaviyo_report_against_2024_shopify_revenue(real_dir):
    """Test the real 2024 report (README: 300,008 summed over all rows, overlapping)
    next to the brand's 2024 purchases from both Shopify order files."""
    import pipeline.attribution.paths  # noqa: F401  (path reader, as the app has it)
    from pipeline.ingest import load_files
    from tests.conftest import real_bytes

    dataset = load_files(
        [
            real_bytes("klaviyo/apparel_campaign_sent_report_2024.csv"),
            real_bytes("shopify/apparel_orders_2020_2023.csv"),
            real_bytes("shopify/apparel_orders_2023_2024.csv"),
        ]
    )
    table = report_comparison(dataset.claims, dataset.purchases(), dataset.timezone)
    row = table.iloc[0]
    assert row["rows"] == 97 and row["double_counting"]
    assert row["naive_sum"] == pytest.approx(300_008, abs=1)
    assert row["largest_row"] < row["naive_sum"] / 4
    purchases = dataset.purchases()
    local = pd.to_datetime(purchases["ts"], utc=True).dt.tz_convert(dataset.timezone)
    in_2024 = local.dt.year == 2024
    assert row["shopify_orders"] == int(in_2024.sum())
    assert row["shopify_revenue"] == pytest.approx(
        purchases.loc[in_2024, "net_value"].sum()
    )
