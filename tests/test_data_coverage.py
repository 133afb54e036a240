"""Tests for what the data can measure (:mod:`pipeline.data_coverage`): stages with
no data source, stages whose rules are all off, and GA4 reports."""

from pipeline.data_coverage import (
    CHANNEL_ONLY_TEXT,
    SWITCHED_OFF_TEXT,
    channel_report_files,
    not_measured,
    stages_switched_off,
    stages_without_data,
    unmeasured_stages,
)
from pipeline.ingest import load_files
from pipeline.rules import RULE_NAMES, StageRules
from tests.conftest import real_bytes


def all_off() -> StageRules:
    rules = StageRules()
    for name in RULE_NAMES:
        rules = rules.with_rule(name, enabled=False)
    return rules


def test_a_stage_with_every_rule_off_is_not_measured():
    """Test that engaged and purchase intent read "not measured (rules switched
    off)" when all their rules are off, and not when one of them is on."""
    assert stages_switched_off(StageRules()) == {}
    assert stages_switched_off(all_off()) == {
        "engaged": SWITCHED_OFF_TEXT,
        "purchase_intent": SWITCHED_OFF_TEXT,
    }
    one_on = all_off().with_rule("intent_cart", enabled=True)
    assert stages_switched_off(one_on) == {"engaged": SWITCHED_OFF_TEXT}


def test_missing_data_wins_over_switched_off_rules(real_dir):
    """Test the orders-only export with every rule off: engaged has no data at all
    (switching its rules on would not fill it), intent has checkouts but is off."""
    data = load_files(
        [
            real_bytes("shopify/apparel_orders_2023_2024.csv"),
            real_bytes("shopify/apparel_abandoned_checkouts_2023_2026.csv"),
        ]
    )
    gaps = unmeasured_stages(data, all_off())
    assert gaps["engaged"] == "no engagement events uploaded"
    assert gaps["purchase_intent"] == SWITCHED_OFF_TEXT
    assert "purchase_intent" not in unmeasured_stages(data)


def test_a_ga4_report_is_named_as_traffic_by_channel(real_dir):
    """Test that with a GA4 report (channel aggregates) the awareness gap says the
    report counts by channel only, not that no traffic was uploaded."""
    data = load_files(
        [
            real_bytes("shopify/apparel_orders_2023_2024.csv"),
            real_bytes("ga4/apparel_traffic_acquisition_by_week_2024.csv"),
        ]
    )
    assert channel_report_files(data) == [
        "apparel_traffic_acquisition_by_week_2024.csv"
    ]
    # its 630 rows kept as aggregates, 9 metrics each (Sessions, Engaged sessions...)
    assert len(data.aggregates) == 630 * 9
    assert stages_without_data(data)["awareness"] == CHANNEL_ONLY_TEXT


def test_not_measured_is_said_once():
    """Test a gap as a clause: wrapped once, never "not measured (not measured"."""
    assert not_measured("no orders uploaded") == "not measured (no orders uploaded)"
    assert not_measured(SWITCHED_OFF_TEXT) == SWITCHED_OFF_TEXT
