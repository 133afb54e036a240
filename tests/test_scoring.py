"""Tests for the lead score: known coefficients, no leakage, AUC, calibration."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pipeline import scoring
from pipeline.model import (
    EVENT_COLUMNS,
    ORDER_COLUMNS,
    PEOPLE_COLUMNS,
    Dataset,
    conform,
)
from pipeline.scoring_features import cutoff_features
from pipeline.scoring_fit import auc

AS_OF = dt.date(2024, 6, 30)
HORIZON = 30
TEST_CUTOFF = AS_OF - dt.timedelta(days=HORIZON)  # 2024-05-31
TRAIN_CUTOFF = TEST_CUTOFF - dt.timedelta(days=HORIZON)  # 2024-05-01

# The true model of the simulation: logit P(buy in 30 days) =
# -2.0 + 1.0·[quiz] + 0.5·[popup] + 0.7·log(1 + opens) + 0.9·log(1 + carts),
# with "newsletter" (the most common entry point) as reference level.
TRUE = {
    "const": -2.0,
    "entry[quiz]": 1.0,
    "entry[popup]": 0.5,
    "log1p_opens": 0.7,
    "log1p_carts": 0.9,
}


def _ts(day: dt.date, hour: int) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hour)


def cohort(rng, n: int, prefix: str, cutoff: dt.date) -> tuple[list, list, list]:
    """People first seen before ``cutoff``, engaged in the 30 days up to it, and
    buying within 30 days after it with the true model's probability."""
    source = rng.choice(["newsletter", "quiz", "popup"], size=n, p=[0.5, 0.25, 0.25])
    opens = rng.poisson(2.0, size=n)
    carts = rng.poisson(0.4, size=n)
    logit = (
        TRUE["const"]
        + TRUE["entry[quiz]"] * (source == "quiz")
        + TRUE["entry[popup]"] * (source == "popup")
        + TRUE["log1p_opens"] * np.log1p(opens)
        + TRUE["log1p_carts"] * np.log1p(carts)
    )
    buys = rng.random(n) < 1 / (1 + np.exp(-logit))

    people, events, orders = [], [], []
    for i in range(n):
        pid = f"{prefix}{i}@example.com"
        people.append(
            {
                "person_id": pid,
                "email": pid,
                "first_seen": _ts(cutoff - dt.timedelta(days=40), 9),
                "signup_source": source[i],
            }
        )
        for k in range(opens[i]):
            day = cutoff - dt.timedelta(days=int(rng.integers(0, 30)))
            events.append({"person_id": pid, "ts": _ts(day, 10 + k % 5),
                           "event": "email_open"})
        for k in range(carts[i]):
            day = cutoff - dt.timedelta(days=int(rng.integers(0, 30)))
            events.append({"person_id": pid, "ts": _ts(day, 16 + k % 5),
                           "event": "add_to_cart"})
        if buys[i]:
            day = cutoff + dt.timedelta(days=int(rng.integers(1, HORIZON + 1)))
            orders.append({"order_id": f"{prefix}o{i}", "person_id": pid,
                           "ts": _ts(day, 12), "total": 50.0, "net_value": 50.0,
                           "status": "purchase", "is_purchase": True})
    return people, events, orders


def make_dataset(people, events, orders) -> Dataset:
    orders = pd.DataFrame(orders, columns=["order_id", "person_id", "ts", "total",
                                           "net_value", "status", "is_purchase"])
    orders["refunded"] = 0.0
    events = pd.DataFrame(events)
    events["value"] = np.nan
    order_frame = conform(orders, ORDER_COLUMNS)
    order_events = pd.DataFrame(
        {"person_id": order_frame["person_id"], "ts": order_frame["ts"],
         "event": "order", "value": order_frame["net_value"],
         "order_id": order_frame["order_id"]}
    )
    return Dataset(
        people=conform(pd.DataFrame(people), PEOPLE_COLUMNS),
        events=conform(pd.concat([events, order_events]), EVENT_COLUMNS),
        orders=order_frame,
        timezone="UTC",
    )


@pytest.fixture(scope="module")
def synthetic() -> Dataset:
    """Two cohorts drawn from the true model: one at each cut-off."""
    rng = np.random.default_rng(20240630)
    p1, e1, o1 = cohort(rng, 6000, "a", TRAIN_CUTOFF)
    p2, e2, o2 = cohort(rng, 3000, "b", TEST_CUTOFF)
    # Cohort b is first seen after the training cut-off, so it is not in training.
    for person in p2:
        person["first_seen"] = _ts(TRAIN_CUTOFF + dt.timedelta(days=2), 9)
    e2 = [e for e in e2 if e["ts"] > _ts(TRAIN_CUTOFF + dt.timedelta(days=2), 0)]
    return make_dataset(p1 + p2, e1 + e2, o1 + o2)


@pytest.fixture(scope="module")
def model(synthetic) -> scoring.LeadScoreModel:
    return scoring.fit_lead_score(synthetic, AS_OF, horizon_days=HORIZON)


def test_true_coefficients_fall_inside_their_intervals(model):
    """Test that the fit recovers the simulation's coefficients within 95 % CIs."""
    coefs = model.coefficients_.set_index("term")
    for term, value in TRUE.items():
        low, high = coefs.loc[term, ["ci_low", "ci_high"]]
        assert low <= value <= high, (term, value, low, high)
    # Features with no effect in the simulation: their interval covers zero.
    for term in ("log1p_clicks", "log1p_product_views", "log1p_sessions"):
        assert term not in coefs.index  # never observed: dropped, not fitted
    assert model.n_train == 6000  # cohort b first seen after the training cut-off
    assert model.train_cutoff == TRAIN_CUTOFF and model.test_cutoff == TEST_CUTOFF


def test_checked_on_the_later_period(model):
    """Test the AUC and calibration on the later cut-off, which the fit never saw."""
    # Cohort a's non-buyers (no engagement in the later window) plus cohort b.
    assert model.n_test > 3000
    assert 0.6 < model.auc_ < 0.95
    calib = model.calibration_
    assert calib["leads"].sum() == model.n_test
    assert list(calib["predicted"]) == sorted(calib["predicted"])
    # Cohort b alone follows the model: its observed rate should be close to predicted.
    assert calib["observed"].between(0, 1).all()


def test_no_leakage_from_after_the_cutoff(synthetic, model):
    """Test that events and orders after a cut-off change no feature and no score."""
    before = cutoff_features(synthetic, TRAIN_CUTOFF)
    later = TRAIN_CUTOFF + dt.timedelta(days=1)
    ids = list(before["person_id"][:500])
    flood = [
        {"person_id": pid, "ts": _ts(later, 8), "event": kind}
        for pid in ids
        for kind in ("email_open", "email_click", "add_to_cart", "product_view")
    ]
    late_people = [{"person_id": "late@example.com", "email": "late@example.com",
                    "first_seen": _ts(later, 1), "signup_source": "quiz"}]
    leaked = make_dataset(
        pd.concat([synthetic.people, pd.DataFrame(late_people)]).to_dict("records"),
        pd.concat([synthetic.events[synthetic.events["event"] != "order"],
                   pd.DataFrame(flood)]).to_dict("records"),
        synthetic.orders.to_dict("records"),
    )
    after = cutoff_features(leaked, TRAIN_CUTOFF)
    pd.testing.assert_frame_equal(before, after)

    scores_before = scoring.score_leads(model, synthetic, TRAIN_CUTOFF)
    scores_after = scoring.score_leads(model, leaked, TRAIN_CUTOFF)
    pd.testing.assert_frame_equal(scores_before, scores_after)

    # And the fit itself does not move when only the future changes.
    refit = scoring.fit_lead_score(leaked, AS_OF, horizon_days=HORIZON)
    pd.testing.assert_frame_equal(
        model.coefficients_, refit.coefficients_, check_exact=False, rtol=1e-9
    )


def test_buyers_before_the_cutoff_are_not_leads(synthetic):
    """Test that a person who bought by the cut-off is not scored as a lead."""
    features = cutoff_features(synthetic, TEST_CUTOFF)
    bought = synthetic.orders
    early = bought[bought["ts"] <= _ts(TEST_CUTOFF, 23)]["person_id"]
    assert not features["person_id"].isin(set(early)).any()


def test_stage_is_a_feature_when_the_engine_gives_it(synthetic):
    """Test that stages from a stage function enter as dummies, open stages only."""
    def stages_at(day):
        people = synthetic.people["person_id"]
        stage = np.where(people.str.len() % 3 == 0, "engaged", "captured")
        return pd.DataFrame({"person_id": people, "stage": stage})

    model = scoring.fit_lead_score(
        synthetic, AS_OF, horizon_days=HORIZON, stages_at=stages_at
    )
    assert "stage[engaged]" in set(model.coefficients_["term"])
    assert model.uses_stage_


def test_auc_hand_computed():
    """Test the AUC on a hand-computed case: 3 of 4 positive-negative pairs ordered
    right, one tie counting one half: (3 + 0.5) / 4 = 0.875."""
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.4, 0.4, 0.1])
    assert auc(y, p) == pytest.approx(0.875)
    assert np.isnan(auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_scores_are_percentiles(synthetic, model):
    """Test that lead scores run 1-100 and follow P(win)'s order."""
    scores = scoring.score_leads(model, synthetic, AS_OF)
    assert scores["lead_score"].between(1, 100).all()
    assert scores["lead_score"].max() >= 90
    # Percentiles: half the leads score 50 or less (ties share their average rank).
    assert (scores["lead_score"] <= 50).mean() == pytest.approx(0.5, abs=0.15)
    ordered = scores.sort_values("p_win")
    assert ordered["lead_score"].is_monotonic_increasing


def test_too_few_leads_says_what_to_upload():
    """Test the message when the data cannot support a score."""
    empty = make_dataset(
        [{"person_id": "x@y.com", "email": "x@y.com",
          "first_seen": _ts(dt.date(2024, 1, 1), 1)}],
        [{"person_id": "x@y.com", "ts": _ts(dt.date(2024, 1, 2), 1),
          "event": "email_open"}],
        [],
    )
    with pytest.raises(scoring.ScoringUnavailable, match="Upload signups"):
        scoring.fit_lead_score(empty, AS_OF)


def test_complete_separation_falls_back_to_a_ridge_fit():
    """Test that a feature separating buyers perfectly gives finite, flagged results.

    Every lead with a cart buys and no other lead does, so maximum likelihood has no
    finite estimate; the weak-prior ridge fit must keep every coefficient bounded
    and the cart effect clearly positive.
    """
    rng = np.random.default_rng(3)
    people, events, orders = [], [], []
    for cohort_cut, prefix in ((TRAIN_CUTOFF, "s"), (TEST_CUTOFF, "t")):
        for i in range(400):
            pid = f"{prefix}{i}@example.com"
            seen = cohort_cut - dt.timedelta(days=20)
            if prefix == "t":
                seen = TRAIN_CUTOFF + dt.timedelta(days=2)
            people.append({"person_id": pid, "email": pid,
                           "first_seen": _ts(seen, 9), "signup_source": "newsletter"})
            for _ in range(int(rng.poisson(1.5))):
                events.append({"person_id": pid, "event": "email_open",
                               "ts": _ts(cohort_cut - dt.timedelta(days=3), 10)})
            if i % 10 == 0:
                events.append({"person_id": pid, "event": "add_to_cart",
                               "ts": _ts(cohort_cut - dt.timedelta(days=1), 12)})
                orders.append({"order_id": f"{prefix}o{i}", "person_id": pid,
                               "ts": _ts(cohort_cut + dt.timedelta(days=30), 12),
                               "total": 40.0, "net_value": 40.0, "status": "purchase",
                               "is_purchase": True})
    model = scoring.fit_lead_score(make_dataset(people, events, orders), AS_OF)
    assert model.penalised_
    coefs = model.coefficients_.set_index("term")
    assert np.isfinite(coefs[["coef", "ci_low", "ci_high"]].to_numpy()).all()
    assert coefs["coef"].abs().max() < 15
    assert coefs.loc["log1p_carts", "ci_low"] > 0
    assert model.auc_ == pytest.approx(1.0)


def test_periods_end_with_the_order_data(synthetic, model):
    """Test that a view date past the last order moves the periods back to it.

    Purchases after the last order in the data cannot be known (checkouts may run
    later), so an ``as_of`` 60 days later gives the same cut-offs and the same fit.
    """
    later = scoring.fit_lead_score(
        synthetic, AS_OF + dt.timedelta(days=60), horizon_days=HORIZON
    )
    assert later.outcome_end == AS_OF == model.outcome_end
    assert later.train_cutoff == TRAIN_CUTOFF
    pd.testing.assert_frame_equal(later.coefficients_, model.coefficients_)
