"""Lead scores: the probability that an open lead buys soon, from what was known before.

The model is a logistic regression (statsmodels ``GLM`` with a binomial family) fitted
without leakage:

1. **Cut-off.** Every feature is measured with the events up to the end of a cut-off
   day, in the store's time zone, and nothing after it: the lead's entry point
   (``signup_source``: quiz, newsletter, pop-up, ...), its stage at the cut-off (from
   the stage engine, evaluated at that day), and its engagement counts in the
   ``window_days`` ending with the cut-off (opens, clicks, product views, carts and
   checkouts, sessions), entered as ``log(1 + count)``.
2. **Population.** Leads known by the cut-off (an email or phone, first seen or
   active on or before it) who had not bought by then.
3. **Outcome.** A purchase (as the data model counts purchases) in the
   ``horizon_days`` after the cut-off.
4. **Check on a later period.** The model is fitted at ``as_of − 2 × horizon`` and
   checked at ``as_of − horizon``, on a later cut-off whose outcomes it never saw:
   the AUC (rank statistic of Mann and Whitney) and a calibration table (predicted
   against observed purchase rate by bin of predicted probability, with Wilson
   intervals).
5. **Scores.** Current leads are scored with the checked model, on features measured
   at ``as_of``. ``p_win`` is the predicted probability of a purchase within the
   horizon; ``lead_score`` is its percentile among the scored leads (1-100).

Coefficients are reported with 95 % Wald confidence intervals and odds ratios.
Features and outcomes are in :mod:`pipeline.scoring_features`, the regression and
its checks in :mod:`pipeline.scoring_fit`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import clv_fit, clv_pricing, eventlayer
from pipeline.model import Dataset
from pipeline.scoring_features import (
    OPEN_STAGES,
    _Events,
    _purchase_days,
    cutoff_features,
    purchase_outcome,
)
from pipeline.scoring_fit import auc, calibration_table, design_matrix, fit_logit

log = logging.getLogger(__name__)

MIN_ROWS = 30
MIN_CLASS = 5

StagesAt = Callable[[dt.date], pd.DataFrame]
"""A function giving ``person_id, stage`` as of a date (e.g. the stage engine)."""


class ScoringUnavailable(ValueError):
    """The data cannot support a lead score; the message says what would."""


@dataclass
class LeadScoreModel:
    """A fitted lead-score model and its check on a later period.

    Attributes
    ----------
    train_cutoff, test_cutoff
        The cut-off days of the fit and of the check.
    horizon_days, window_days
        The outcome window after a cut-off and the engagement window before it.
    coefficients_
        ``term, coef, std_err, ci_low, ci_high, odds_ratio, p_value``.
    auc_
        AUC on the check period (``nan`` when it has a single class).
    calibration_
        ``bin, leads, predicted, observed, observed_low, observed_high``.
    n_train, n_test, positives_train, positives_test
        Rows and purchases in each period.
    outcome_end
        The last day whose purchases are known (the view's date, or the last
        purchase in the data when the order data ends earlier).
    penalised_
        Whether a feature separated buyers completely, so that a ridge fit (weak
        normal prior, Laplace intervals) replaced maximum likelihood.
    """

    train_cutoff: dt.date
    test_cutoff: dt.date
    horizon_days: int
    window_days: int
    coefficients_: pd.DataFrame
    auc_: float
    calibration_: pd.DataFrame
    n_train: int
    n_test: int
    positives_train: int
    positives_test: int
    columns_: list[str] = field(default_factory=list)
    sources_: list[str] = field(default_factory=list)
    uses_stage_: bool = False
    params_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    penalised_: bool = False
    outcome_end: dt.date | None = None

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """P(purchase within the horizon) for each row of features.

        ``features`` are rows of :func:`pipeline.scoring_features.cutoff_features`.
        """
        design = design_matrix(features, self.sources_, self.uses_stage_)
        design = design.reindex(columns=self.columns_, fill_value=0.0)
        linear = design.to_numpy(dtype=float) @ self.params_
        return 1.0 / (1.0 + np.exp(-linear))

    def summary(self) -> dict[str, object]:
        """Plain figures for the page and the report."""
        return {
            "train_cutoff": self.train_cutoff.isoformat(),
            "test_cutoff": self.test_cutoff.isoformat(),
            "horizon_days": self.horizon_days,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "positives_train": self.positives_train,
            "positives_test": self.positives_test,
            "auc": self.auc_,
            "penalised": self.penalised_,
        }


def _check_classes(y: np.ndarray, when: str) -> None:
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_ROWS or positives < MIN_CLASS or negatives < MIN_CLASS:
        raise ScoringUnavailable(
            f"Too few leads to fit a lead score at the {when} cut-off: {len(y)} open "
            f"leads, {positives} of whom bought within the horizon (need at least "
            f"{MIN_ROWS} leads and {MIN_CLASS} buyers and non-buyers). Upload "
            "signups and engagement (Klaviyo profiles and events, GA4) covering a "
            "longer period, or shorten the horizon."
        )


def fit_lead_score(
    dataset: Dataset,
    as_of: dt.date,
    *,
    stages_at: StagesAt | None = None,
    horizon_days: int = 30,
    window_days: int = 30,
) -> LeadScoreModel:
    """Fit the lead score at ``as_of − 2·horizon`` and check it at ``as_of − horizon``.

    Parameters
    ----------
    dataset
        The loaded data.
    as_of
        The view's date. Outcomes are known only up to the last purchase in the
        data: when the order data ends before ``as_of`` (checkouts or events
        running past it), the periods end with the last purchase day instead, and
        :attr:`LeadScoreModel.outcome_end` says so.
    stages_at
        ``person_id, stage`` as of a date, e.g.
        ``lambda day: engine.leads(rules, day)``; without it the stage is no feature.
    horizon_days, window_days
        Outcome window after a cut-off; engagement window before it.

    Raises
    ------
    ScoringUnavailable
        When a period has too few leads or buyers; the message says what to upload.
    """
    outcome_end = pd.Timestamp(as_of).date()
    bought = _purchase_days(dataset)
    if len(bought):
        last = eventlayer.day_to_date(int(bought["day"].max())).date()
        outcome_end = min(outcome_end, last)
    test_cutoff = outcome_end - dt.timedelta(days=horizon_days)
    train_cutoff = test_cutoff - dt.timedelta(days=horizon_days)
    events = _Events(dataset)

    def period(cutoff: dt.date) -> tuple[pd.DataFrame, np.ndarray]:
        stages = stages_at(cutoff) if stages_at is not None else None
        features = cutoff_features(
            dataset, cutoff, window_days=window_days, stages=stages, events=events
        )
        y = purchase_outcome(dataset, features["person_id"], cutoff, horizon_days)
        return features, y

    train, y_train = period(train_cutoff)
    _check_classes(y_train, f"training ({train_cutoff})")
    coefficients, params, columns, sources, uses_stage, penalised = fit_logit(
        train, y_train
    )

    test, y_test = period(test_cutoff)
    model = LeadScoreModel(
        train_cutoff=train_cutoff,
        test_cutoff=test_cutoff,
        horizon_days=horizon_days,
        window_days=window_days,
        coefficients_=coefficients,
        auc_=float("nan"),
        calibration_=pd.DataFrame(),
        n_train=len(y_train),
        n_test=len(y_test),
        positives_train=int(y_train.sum()),
        positives_test=int(y_test.sum()),
        columns_=columns,
        sources_=sources,
        uses_stage_=uses_stage,
        params_=params,
        penalised_=penalised,
        outcome_end=outcome_end,
    )
    if len(test):
        predicted = model.predict(test)
        model.auc_ = auc(y_test, predicted)
        model.calibration_ = calibration_table(y_test, predicted)
    log.info(
        "lead score fitted on %d leads, checked on %d: AUC %.3f",
        model.n_train, model.n_test, model.auc_,
    )
    return model


def score_leads(
    model: LeadScoreModel,
    dataset: Dataset,
    as_of: dt.date,
    *,
    stages: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Scores of the open leads at ``as_of``: ``person_id, p_win, lead_score``.

    ``stages`` is the stage engine's leads at ``as_of`` (needed when the model uses
    the stage). ``lead_score`` is the percentile of ``p_win`` among the scored
    leads, 1 to 100 (tied leads share their average rank, so a model that cannot
    tell leads apart gives every one of them 50 or so, not 100).
    """
    features = cutoff_features(
        dataset,
        as_of,
        window_days=model.window_days,
        stages=stages if model.uses_stage_ else None,
    )
    p_win = model.predict(features) if len(features) else np.zeros(0)
    percentile = pd.Series(p_win).rank(method="average", pct=True).to_numpy()
    return pd.DataFrame(
        {
            "person_id": features["person_id"].to_numpy(),
            "p_win": p_win,
            "lead_score": np.clip(np.ceil(100 * percentile), 1, 100).astype("int64"),
        }
    )


def predicted_values(
    dataset: Dataset,
    leads: pd.DataFrame,
    horizon_days: float = 365.0,
    as_of: dt.date | None = None,
    models: clv_pricing.CustomerModels | None = None,
) -> tuple[pd.Series, str]:
    """Predicted customer value per person, and a sentence on how it was made.

    The models are those the Funnel and Attribution pages price with
    (:func:`pipeline.clv_pricing.customer_models`, fitted on the purchases up to
    ``as_of``), so a lead here is worth what a new customer is worth there.
    Customers get their BG/NBD × Gamma-Gamma CLV over ``horizon_days``
    (:func:`pipeline.clv_fit.customer_table`); open leads get the expected value of
    a new customer, the mean first purchase plus the CLV after it
    (:func:`pipeline.clv_pricing.expected_new_customer_value`). When the models
    cannot be fitted, open leads get the mean first purchase and customers none,
    and the sentence says why.

    Parameters
    ----------
    dataset, leads
        The loaded data and the stage engine's leads.
    horizon_days
        How far ahead values are predicted.
    as_of
        The day the leads are evaluated at; ``None``: every purchase is used.
    models
        The models already fitted to ``as_of`` (they do not depend on the stage
        rules, so a page fits them once per day); fitted here when ``None``.
    """
    stage = leads["stage"].astype("string")
    open_ids = leads.loc[stage.isin(OPEN_STAGES).fillna(False), "person_id"]
    if models is None:
        models = clv_pricing.customer_models(dataset, as_of)
    new = clv_pricing.expected_new_customer_value(models, horizon_days)
    value = 0.0 if np.isnan(new.value) else new.value
    lead_values = pd.Series(value, index=open_ids.to_numpy(), dtype="float64")
    if not new.from_models:
        return lead_values, f"{new.how} Leads valued at the average first order."

    customers = clv_fit.customer_table(models.summary, models.fits, horizon_days)
    customer_values = customers.set_index("person_id")["clv"].astype("float64")
    values = pd.concat([customer_values, lead_values])
    values = values[~values.index.duplicated(keep="first")]
    note = (
        f"Predicted value over {horizon_days:.0f} days: customers by BG/NBD × "
        "Gamma-Gamma; open leads as a new customer (first order plus the value after "
        "it), if they convert."
    )
    return values, note
