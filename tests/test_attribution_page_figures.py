"""Tests of the figures the Attribution page shows beside the models, by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd

from pipeline.attribution.page_figures import claim_ratios, spend_in_currency


def test_claim_ratios_divide_the_claim_by_each_model():
    """Test 300 claimed against 150 and 0 of email + SMS revenue: ×2 and no ratio."""
    klaviyo = SimpleNamespace(
        claimed_revenue=300.0,
        model_email_sms_revenue={"linear": 150.0, "first_click": 0.0},
    )
    table = claim_ratios(klaviyo)
    assert table.loc["linear", "claim_ratio"] == 2.0
    assert math.isnan(table.loc["first_click", "claim_ratio"])
    assert table["email_sms_revenue"].tolist() == [150.0, 0.0]


def test_spend_in_another_currency_leaves_out_clv_to_cac():
    """Test that EUR spend against USD orders drops CLV ÷ CAC and says why."""
    table = pd.DataFrame({"spend": [100.0], "cac": [50.0], "clv_to_cac": [3.0]})
    spend = pd.DataFrame({"currency": ["eur", "EUR", None]})
    out, code, dropped = spend_in_currency(table, spend, "USD")
    assert (code, dropped) == ("EUR", True)
    assert math.isnan(out.loc[0, "clv_to_cac"])
    assert table.loc[0, "clv_to_cac"] == 3.0  # the input is not changed
    same, code, dropped = spend_in_currency(table, spend, "EUR")
    assert (code, dropped) == ("EUR", False)
    assert same.loc[0, "clv_to_cac"] == 3.0
    _, code, dropped = spend_in_currency(table, pd.DataFrame({"currency": []}), "USD")
    assert (code, dropped) == (None, False)
