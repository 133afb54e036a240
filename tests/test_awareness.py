"""Awareness traffic by channel and week from GA4 reports (pipeline.awareness).

Expected figures are summed from the real files with the csv module, independently
of the package's reader.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from pipeline.awareness import OTHER, awareness_traffic
from pipeline.ingest import load_files
from tests.conftest import real_bytes

WEEKLY = "ga4/apparel_traffic_acquisition_by_week_2024.csv"
OVERVIEW = "ga4/apparel_acquisition_overview_2024.csv"
USERS = "ga4/apparel_user_acquisition_by_week_2024.csv"


def sessions_by_channel(real_dir) -> dict[str, float]:
    """Sessions per channel group, summed over the weekly file's rows."""
    text = (real_dir / WEEKLY).read_text(encoding="utf-8-sig")
    table = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    sums: dict[str, float] = {}
    for row in csv.DictReader(io.StringIO(table)):
        channel = row["Session primary channel group (Default Channel Group)"]
        sums[channel] = sums.get(channel, 0.0) + float(row["Sessions"])
    return sums


def test_weekly_sessions_by_channel_match_the_file(real_dir):
    """Test the weekly traffic report: 17 channels, 53 weeks of 2024 (week 1 is
    1 to 6 January), and each channel's sessions as the file sums them."""
    traffic = awareness_traffic(load_files([real_bytes(WEEKLY)]).aggregates)
    assert (traffic.metric, traffic.by_period) == ("Sessions", True)
    assert traffic.source.startswith(f"{WEEKLY.split('/')[1]}, table 1")
    expected = sessions_by_channel(real_dir)
    assert len(expected) == 17
    assert traffic.totals().to_dict() == pytest.approx(expected)
    starts = traffic.traffic["period_start"].drop_duplicates()
    assert len(starts) == 53
    first = traffic.traffic.iloc[0]
    assert (first["period_start"], first["period_end"]) == (
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.Timestamp("2024-01-06", tz="UTC"),
    )


def test_one_table_is_chosen_and_never_added_to_another(real_dir):
    """Test three overlapping reports: the weekly sessions table is taken (sessions
    before users, by week before totals), not the overview's totals added to it."""
    data = load_files([real_bytes(f) for f in (OVERVIEW, USERS, WEEKLY)])
    traffic = awareness_traffic(data.aggregates)
    assert traffic.source.startswith("apparel_traffic_acquisition_by_week_2024.csv")
    assert traffic.totals().sum() == pytest.approx(
        sum(sessions_by_channel(real_dir).values())
    )
    overview = awareness_traffic(load_files([real_bytes(OVERVIEW)]).aggregates)
    assert (overview.by_period, overview.metric) == (False, "Sessions")


def test_top_channels_fold_the_rest_and_keep_the_sums(real_dir):
    """Test six lines and 'Other channels' per week, every week's total kept."""
    traffic = awareness_traffic(load_files([real_bytes(WEEKLY)]).aggregates)
    top = traffic.top_channels(6)
    assert top["channel"].nunique() == 7 and OTHER in set(top["channel"])
    per_week = traffic.traffic.groupby("period_start")["value"].sum()
    assert top.groupby("period_start")["value"].sum().to_dict() == pytest.approx(
        per_week.to_dict()
    )


def test_no_channel_count_gives_none(real_dir):
    """Test a report by event name (no channel) and no report at all."""
    events = load_files([real_bytes("ga4/events_tshirt_store.csv")])
    assert awareness_traffic(events.aggregates) is None
    assert awareness_traffic(events.aggregates.iloc[0:0]) is None
