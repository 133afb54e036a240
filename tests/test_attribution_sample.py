"""The sample brand: replayed Klaviyo claims and models against the true effects."""

import pandas as pd
import pytest

from pipeline.attribution.analysis import analyse_dataset
from pipeline.attribution.journeys import conversions_frame
from pipeline.attribution.klaviyo import replay
from pipeline.ingest import load_files

samplegen = pytest.importorskip("pipeline.samplegen")


@pytest.fixture(scope="module")
def brand():
    return samplegen.generate()


@pytest.fixture(scope="module")
def dataset(brand):
    return load_files(list(brand.files.items()))


@pytest.fixture(scope="module")
def analysis(dataset):
    return analyse_dataset(dataset, models=("markov", "shapley", "last_click"))


def test_replay_equals_generators_record_of_klaviyo_claims(brand, dataset):
    """Test every order's claim and claiming message against the generator's record."""
    ours = replay(dataset, conversions_frame(dataset)).set_index("order_id")
    truth = brand.klaviyo_claims.set_index("order_id")
    assert sorted(ours.index) == sorted(truth.index.astype(str))
    joined = ours.join(truth.add_suffix("_truth"))
    assert (joined["claimed"] == joined["claimed_truth"].astype(bool)).all()
    claimed = joined[joined["claimed"]]
    assert (claimed["message"] == claimed["message_truth"]).all()
    assert (claimed["via"] == claimed["via_truth"]).all()
    assert (claimed["channel"] == claimed["channel_truth"]).all()
    assert claimed["value"].sum() == pytest.approx(
        truth.loc[truth["claimed"].astype(bool), "value"].sum()
    )


@pytest.mark.parametrize("model", ["markov", "shapley"])
def test_largest_true_effect_ranks_first(brand, analysis, model):
    """Test that the channel the generator made most effective gets the most credit."""
    strongest = brand.channel_effects.sort_values("true_effect").iloc[-1]["channel"]
    credit = analysis.attribution.conversions[model].drop(
        "(unattributed)", errors="ignore"
    )
    assert credit.idxmax() == strongest


def test_sample_brand_sums_and_overstatement(analysis, dataset):
    """Test sums to every purchase, and Klaviyo's claim against Markov's Email + SMS."""
    purchases = dataset.purchases()
    out = analysis.to_json()
    assert out["conversions"] == len(purchases)
    assert out["revenue"] == pytest.approx(purchases["net_value"].sum())
    for credit in out["models"].values():
        assert sum(credit.values()) == pytest.approx(len(purchases))
    k = out["klaviyo"]
    assert k["claimed_revenue"] - k["click_only_claimed_revenue"] == pytest.approx(
        k["claimed_opens_only_revenue"]
    )
    email_sms = sum(
        out["revenue_models"]["markov"].get(c, 0.0) for c in ("Email", "SMS")
    )
    assert k["overstatement"] == pytest.approx(k["claimed_revenue"] / email_sms)
    assert 0.9 < out["coverage"] <= 1.0
    assert isinstance(pd.Series(out["models"]["markov"]).sum(), float)
