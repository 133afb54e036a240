"""The sample brand: customer value priced by the models drives pipeline value and
pipeline-weighted credit, and every figure adds up."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import clv_fit, clv_pricing, scoring
from pipeline.attribution import pipeline_views as pv
from pipeline.funnel import OPEN_STAGES
from pipeline.ingest import load_files
from pipeline.pipeline_value import _open_win_probability, _stage_curves
from pipeline.rules import StageRules
from pipeline.stages import StageEngine
from pipeline.survival import _end_of
from pipeline.velocity import velocity_figures

SAMPLE = pytest.importorskip("pages.common").SAMPLE_DIR


@pytest.fixture(scope="module")
def brand():
    """The demo brand's leads under the default rules, and its customer models."""
    files = [(p.name, p.read_bytes()) for p in sorted(SAMPLE.iterdir()) if p.is_file()]
    dataset = load_files(files)
    engine = StageEngine(dataset)
    as_of = engine.default_as_of
    leads = engine.leads(StageRules(), as_of)
    return dataset, leads, as_of, clv_pricing.customer_models(dataset, as_of)


def test_models_price_a_new_customer_above_the_first_purchase(brand):
    """Test that BG/NBD + Gamma-Gamma fit on the demo brand and add future value."""
    _, _, _, models = brand
    assert models.usable and models.reason == ""
    value = clv_pricing.expected_new_customer_value(models)
    assert value.from_models
    assert value.future > 0
    assert value.value == pytest.approx(value.first_purchase + value.future)


def test_pipeline_value_is_the_sum_of_open_leads_times_p_times_value(brand):
    """Test Σ over open leads of P(win | stage, days in stage) x value, recomputed
    lead by lead from the stage curves."""
    dataset, leads, as_of, models = brand
    tz = dataset.timezone
    price = clv_pricing.expected_new_customer_value(models).value
    velocity = velocity_figures(leads, as_of, price, 90, weeks=1, timezone=tz)
    curves, _ = _stage_curves(leads, as_of, 90, tz)
    p = _open_win_probability(leads, _end_of(as_of, tz), curves, 90, leads["stage"])
    assert len(p) == int(leads["stage"].astype(str).isin(OPEN_STAGES).sum())
    assert velocity.value.total == pytest.approx(p["p"].sum() * price, rel=1e-12)
    assert np.all((p["p"] >= 0) & (p["p"] <= 1))


@pytest.mark.parametrize("model", ["linear", "markov"])
def test_weighted_credit_sums_to_the_total_transition_worth(brand, model):
    """Test that the channels' pipeline-weighted credit adds up to Σ advances' worth."""
    dataset, leads, as_of, models = brand
    worth = pv.transition_worth(
        leads, as_of, clv_pricing.expected_new_customer_value(models).value,
        clv_pricing.customer_values(models), 90, dataset.timezone,
    )
    total = pv.worth_by_transition(leads, worth)["worth"].sum()
    credit = pv.transition_credit(dataset, leads, model, weighted=True, worth=worth)
    assert credit["total"].sum() == pytest.approx(total, rel=1e-9)
    assert worth.win["captured"] < worth.win["purchase_intent"] < 1


def test_leads_page_values_a_lead_as_the_funnel_values_a_new_customer(brand):
    """Test the Leads page's predicted value of an open lead equals the Funnel's new
    customer value at the same 'as of' (the apparel files gave 397.64 against
    400.31: two fits and two first-purchase means), and a customer's is its
    BG/NBD x Gamma-Gamma CLV from the same fits."""
    dataset, leads, as_of, models = brand
    values, note = scoring.predicted_values(dataset, leads, as_of=as_of)
    price = clv_pricing.expected_new_customer_value(models).value
    open_ids = leads.loc[leads["stage"].isin(OPEN_STAGES), "person_id"]
    assert len(open_ids) > 0
    assert values.loc[open_ids.to_numpy()].eq(price).all()
    table = clv_fit.customer_table(models.summary, models.fits, 365.0)
    one = table.iloc[0]
    assert values[one["person_id"]] == pytest.approx(one["clv"])
    assert note.startswith("Predicted value over 365 days")
