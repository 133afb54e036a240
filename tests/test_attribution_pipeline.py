"""Pipeline views (transitions, worth, outbound, spend), conversion paths, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from pipeline import survival
from pipeline.attribution import conversion_paths as cp
from pipeline.attribution import pipeline_views as pv
from pipeline.attribution.paths import path_set_from_lists
from pipeline.cli import main
from pipeline.model import SPEND_COLUMNS, conform
from tests.test_attribution_events import make_dataset


def utc(values):
    return pd.to_datetime(values, utc=True)


@pytest.fixture(scope="module")
def data():
    """Lead a: Paid Social, a Welcome email click, a Flash SMS click, Direct, then an
    order of 80; lead b: Paid Social and the Welcome click; lead c: nothing."""
    dataset = make_dataset(
        [
            ("a", "2024-01-01 10:00", "session", "Paid Social", None),
            ("a", "2024-01-02 10:00", "email_click", "Email", "Welcome"),
            ("a", "2024-01-04 10:00", "sms_click", "SMS", "Flash"),
            ("a", "2024-01-06 10:00", "session", "Direct", None),
            ("b", "2024-01-01 10:00", "session", "Paid Social", None),
            ("b", "2024-01-03 10:00", "email_click", "Email", "Welcome"),
        ],
        [("o1", "a", "2024-01-07 10:00", 80.0)],
    )
    dataset.spend = conform(
        pd.DataFrame(
            {
                "date": utc(["2024-01-01 00:00"]),
                "platform": ["meta"],
                "channel": ["Paid Social"],
                "spend": [100.0],
                "currency": ["USD"],
            }
        ),
        SPEND_COLUMNS,
    )
    leads = pd.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "identified": [True, True, True],
            "entered_captured": utc(["2024-01-01 11:00", "2024-01-01 11:00", None]),
            "entered_engaged": utc(["2024-01-03 00:00", "2024-01-04 00:00", None]),
            "entered_purchase_intent": utc(["2024-01-05 00:00", None, None]),
            "entered_customer": utc(["2024-01-07 10:00", None, None]),
            "first_order_value": [80.0, np.nan, np.nan],
        }
    )
    return dataset, leads


def test_transitions_follow_stage_entries(data):
    """Test each advance and the stage it left (a: four advances, b: two)."""
    moves = pv.transitions(data[1])
    got = moves[["person_id", "stage", "from_stage"]].values.tolist()
    assert got == [
        ["a", "captured", "awareness"],
        ["b", "captured", "awareness"],
        ["a", "engaged", "captured"],
        ["b", "engaged", "captured"],
        ["a", "purchase_intent", "engaged"],
        ["a", "customer", "purchase_intent"],
    ]


def test_transition_credit_takes_touches_between_entries(data):
    """Test that each advance is credited to the touch between the two entries."""
    table = pv.transition_credit(*data, model="linear")
    assert table.loc["Paid Social", "awareness → captured"] == 2.0
    assert table.loc["Email", "captured → engaged"] == 2.0
    assert table.loc["SMS", "engaged → purchase intent"] == 1.0
    assert table.loc["Direct", "purchase intent → customer"] == 1.0
    assert table["total"].sum() == 6.0


def test_pipeline_weighted_credit_uses_win_rate_gains(data):
    """Test worth (P(win|new) - P(win|old)) x 80; win rates 1/3, 1/3, 1/2, 1, 1."""
    rates = pv.win_rates(data[1])
    assert rates.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 2, 1.0, 1.0])
    table = pv.transition_credit(*data, model="markov", weighted=True)
    assert table.loc["Email", "total"] == pytest.approx(2 * (1 / 2 - 1 / 3) * 80)
    assert table.loc["SMS", "total"] == pytest.approx((1 - 1 / 2) * 80)
    assert table.loc["Paid Social", "total"] == pytest.approx(0.0)


def test_outbound_effectiveness_counts_leads_moved(data):
    """Test leads moved and orders credited per campaign (linear: 1/4 of o1 each)."""
    table = pv.outbound_effectiveness(*data, model="linear").set_index("campaign")
    assert table.loc["Welcome", "leads_advanced"] == 2
    assert table.loc["Welcome", "captured → engaged"] == 2
    assert table.loc["Flash", "engaged → purchase intent"] == 1
    assert table.loc["Flash", "orders_credited"] == pytest.approx(0.25)
    assert table.loc["Welcome", "revenue_credited"] == pytest.approx(20.0)


def test_spend_metrics_per_channel(data):
    """Test cost per captured lead 100 / 2 and an undefined CAC with no customer."""
    table = pv.spend_metrics(*data, model="linear")
    row = table.loc["Paid Social"]
    assert row["cost_per_captured"] == 50.0
    assert np.isnan(row["cac"]) and row["clv"] == 80.0


@pytest.fixture(scope="module")
def hand_paths():
    return path_set_from_lists(
        [["A", "B", "C"], ["B"], ["Direct", "A", "Direct"], ["C", "C"], []],
        conversions=[1, 1, 1, 0, 1],
        value=[100.0, 50.0, 30.0, 0.0, 20.0],
        nulls=[0, 0, 0, 1, 0],
        ages=[[14, 7, 0], [1], [14, 7, 0], [3, 1], []],
    )


def test_conversion_path_tables(hand_paths):
    """Test touches and days to convert, and linear credit by position, by hand."""
    touches = cp.touches_to_convert(hand_paths)["conversions"]
    assert touches.to_dict() == {"0 (unattributed)": 1.0, "1": 1.0, "3": 2.0}
    days = cp.days_to_convert(hand_paths)["conversions"]
    assert days["8–14 days"] == 2.0 and days["1–3 days"] == 1.0
    position = cp.credit_by_position(hand_paths, ("linear", "last_click"))
    assert position["linear"].tolist() == pytest.approx([1, 2 / 3, 2 / 3, 2 / 3])
    assert position["last_click"].tolist() == pytest.approx([1, 0, 0, 2])


def test_cli_json_on_real_path_file(real_dir, capsys):
    """Test the CLI's exact keys and totals on ChannelAttribution's sample paths."""
    path = str(real_dir / "paths" / "channelattribution_sample_paths.csv")
    assert main(["attribution", path, "--json", "--bootstrap", "10"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == [
        "conversions",
        "revenue",
        "coverage",
        "models",
        "revenue_models",
        "intervals",
    ]
    assert out["conversions"] == 19_785
    assert out["revenue"] == pytest.approx(74_802.972, abs=5e-4)
    assert "time_decay" not in out["models"]
    assert set(out["intervals"]) == set(out["models"])


def test_cli_exits_2_when_nothing_usable(tmp_path, capsys):
    """Test exit status 2 for a file with neither purchases nor paths."""
    junk = tmp_path / "notes.csv"
    junk.write_text("hello\nworld\n")
    assert main(["attribution", str(junk), "--json"]) == 2
    assert "error" in capsys.readouterr().err


def test_pipeline_tables_reuse_one_build(data):
    """Test that the all-in-one call gives the same tables as the separate ones."""
    tables = pv.pipeline_tables(*data, model="linear")
    pd.testing.assert_frame_equal(
        tables["transitions"], pv.transition_credit(*data, model="linear")
    )
    pd.testing.assert_frame_equal(
        tables["weighted"], pv.transition_credit(*data, model="linear", weighted=True)
    )
    assert tables["spend"].loc["Paid Social", "cost_per_captured"] == 50.0


AS_OF = pd.Timestamp("2024-01-10").date()


@pytest.fixture(scope="module")
def worth(data):
    """KM worth as of 10 Jan 2024 (censored at 11 Jan 00:00 UTC), horizon 90 days.

    Captured: a bought 5.96 days after capture, b is open at 9.54 days: S = 1/2,
    P = 1/2. Engaged: a bought 4.4 days after, b open: P = 1/2. Purchase intent: a
    bought: P = 1. A new customer is worth 200; a, a customer already, 300.
    Two leads are below the minimum for an estimate on the pages
    (:data:`pipeline.survival.MIN_LEADS`): lowered here to check the arithmetic.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(survival, "MIN_LEADS", 1)
        return pv.transition_worth(
            data[1], AS_OF, 200.0, pd.Series({"a": 300.0}), horizon_days=90
        )


def test_transition_worth_uses_km_win_probabilities(worth):
    """Test P(win | stage): awareness 0, captured 1/2, engaged 1/2, intent 1."""
    assert worth.win.tolist() == pytest.approx([0.0, 0.5, 0.5, 1.0, 1.0])
    assert worth.from_models and "Kaplan-Meier" in worth.how


def test_pipeline_weighted_credit_sums_to_the_transition_worth(data, worth):
    """Test worth by hand and that every model's weighted credit sums to it.

    a: captured 0.5 x 300, engaged 0, intent 0.5 x 300, customer 0; b: captured
    0.5 x 200, engaged 0. Total 400. Linear: the captures go to Paid Social (250),
    a's move to intent to the SMS click between the two entries (150).
    """
    table = pv.worth_by_transition(data[1], worth)
    assert table["worth"].to_dict() == pytest.approx(
        {
            "awareness → captured": 250.0,
            "captured → engaged": 0.0,
            "engaged → purchase intent": 150.0,
            "purchase intent → customer": 0.0,
        }
    )
    for model in ("linear", "first_click", "markov", "shapley"):
        credit = pv.transition_credit(
            *data, model=model, weighted=True, worth=worth
        )
        assert credit["total"].sum() == pytest.approx(400.0), model
    linear = pv.transition_credit(*data, model="linear", weighted=True, worth=worth)
    assert linear.loc["Paid Social", "total"] == pytest.approx(250.0)
    assert linear.loc["SMS", "total"] == pytest.approx(150.0)


def test_clv_to_cac_uses_the_predicted_value_of_credited_customers(data, worth):
    """Test CLV by channel: Direct won a (worth 300); Paid Social won no customer
    and gets a new customer's 200, while CAC stays undefined."""
    dataset, leads = data
    moves = pv.transition_journeys(dataset, leads, weighted=True, worth=worth)
    conv, _ = pv.touch_credit(moves.paths, "linear")
    by_channel = pv.customer_value_by_channel(moves, conv, worth)
    assert by_channel.to_dict() == pytest.approx({"Direct": 300.0})
    spend = pv.pipeline_tables(dataset, leads, "linear", worth=worth)["spend"]
    assert spend.loc["Paid Social", "clv"] == pytest.approx(200.0)
    assert np.isnan(spend.loc["Paid Social", "clv_to_cac"])


def test_too_few_leads_for_a_win_probability_is_said_in_the_worth(data):
    """Test two leads (below the minimum of 10): the stages get no estimate, are
    taken as 0, and the worth's sentence says so, naming the stages."""
    worth = pv.transition_worth(
        data[1], AS_OF, 200.0, pd.Series({"a": 300.0}), horizon_days=90
    )
    assert worth.win["captured"] == 0.0
    assert (
        ". Too few leads entered captured, engaged, purchase intent for a win "
        "probability (fewer than 10): taken as 0, so the worth of reaching them goes "
        "to the later steps"
    ) in worth.how
