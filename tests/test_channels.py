"""Tests of GA4's default channel grouping (pipeline.channels).

Expected groups are hand-derived from the rules on Google's "[GA4] Default channel
group" help page (answer 9756891), evaluated top to bottom.
"""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.channels import CHANNEL_GROUPS, channel_group, channel_groups


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "expected"),
    [
        ("google", "cpc", None, "Paid Search"),
        ("bing", "ppc", None, "Paid Search"),
        ("facebook", "paid", None, "Paid Social"),
        ("fb", "paid_social", None, "Paid Social"),
        ("ig", "cpc", None, "Paid Social"),
        ("youtube.com", "cpv", None, "Paid Video"),
        ("amazon", "cpc", None, "Paid Shopping"),
        ("newsletter", "cpc", "summer-shop", "Paid Shopping"),
        ("(direct)", "(none)", None, "Direct"),
        ("(direct)", "(not set)", None, "Direct"),
        (None, None, None, "Direct"),
        ("klaviyo", "email", None, "Email"),
        ("newsletter", "e-mail", None, "Email"),
        ("email", "(none)", None, "Email"),
        ("l.facebook.com", "referral", None, "Organic Social"),
        ("m.facebook.com", "referral", None, "Organic Social"),
        ("t.co", "referral", None, "Organic Social"),
        ("blog", "social", None, "Organic Social"),
        ("google", "organic", None, "Organic Search"),
        ("https://www.google.co.uk/search?q=jeans", "referral", None, "Organic Search"),
        ("duckduckgo.com", "referral", None, "Organic Search"),
        ("youtube.com", "referral", None, "Organic Video"),
        ("example.com", "referral", None, "Referral"),
        ("tagassistant.google.com", "referral", None, "Referral"),
        ("partner", "affiliate", None, "Affiliates"),
        ("spotify", "audio", None, "Audio"),
        ("attentive", "sms", None, "SMS"),
        ("firebase", "notification", None, "Mobile Push Notifications"),
        ("app", "web-push", None, "Mobile Push Notifications"),
        ("anything", "banner", None, "Display"),
        ("network", "cpm", None, "Display"),
        ("partner", "retargeting", None, "Paid Other"),
        ("google", "cpc", "brand cross-network", "Cross-network"),
        ("(not set)", "(not set)", None, "Unassigned"),
        ("Klaviyo", "EMAIL", None, "Email"),
    ],
)
def test_channel_group_hand_cases(source, medium, campaign, expected):
    """Test that one visit lands in the group the documented rules give."""
    assert channel_group(source, medium, campaign) == expected


def test_rule_order_first_match_wins():
    """Test that Display (rule 7) wins over Paid Other for cpm, and Paid Search over
    Organic Search for a search site with a paid medium."""
    assert channel_group("unknown", "cpm") == "Display"
    assert channel_group("yahoo", "paid") == "Paid Search"
    assert channel_group("yahoo", "organic") == "Organic Search"


def test_vectorised_matches_scalar_and_keeps_index():
    """Test that the vectorised form equals the scalar one row by row, on the input's
    index."""
    source = pd.Series(["google", "facebook", "(direct)", "klaviyo", None],
                       index=[10, 11, 12, 13, 14])
    medium = pd.Series(["cpc", "paid", "(none)", "email", "referral"],
                       index=[10, 11, 12, 13, 14])
    out = channel_groups(source, medium)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out.tolist() == [channel_group(s, m) for s, m in zip(source, medium,
                                                                strict=True)]
    assert set(out) <= set(CHANNEL_GROUPS)


def test_all_groups_listed():
    """Test that the module lists GA4's 18 groups plus Unassigned."""
    assert len(CHANNEL_GROUPS) == 19
    assert CHANNEL_GROUPS[0] == "Direct" and CHANNEL_GROUPS[-1] == "Unassigned"


def test_mismatched_lengths_raise():
    """Test that a medium column of another length is refused with a clear error."""
    with pytest.raises(ValueError, match="one medium per source"):
        channel_groups(pd.Series(["a", "b"]), pd.Series(["x"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.none() | st.text(max_size=20),
                          st.none() | st.text(max_size=12),
                          st.none() | st.text(max_size=12)), max_size=20))
def test_every_visit_gets_exactly_one_known_group(rows):
    """Test that any text, missing values included, lands in one listed group, and
    that case does not matter (GA4 matches without case)."""
    source = pd.Series([r[0] for r in rows], dtype="object")
    medium = pd.Series([r[1] for r in rows], dtype="object")
    campaign = pd.Series([r[2] for r in rows], dtype="object")
    out = channel_groups(source, medium, campaign)
    assert len(out) == len(rows)
    assert out.isin(CHANNEL_GROUPS).all()
    upper = channel_groups(source.str.upper(), medium.str.upper(),
                           campaign.str.upper())
    same_case = [r[0] is None or r[0].upper().lower() == r[0].lower() for r in rows]
    assert (out[same_case] == upper[same_case]).all()
