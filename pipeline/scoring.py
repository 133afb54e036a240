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
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm, rankdata
from statsmodels.stats.proportion import proportion_confint

from pipeline import eventlayer
from pipeline.model import Dataset

log = logging.getLogger(__name__)

ENGAGEMENT: dict[str, tuple[str, ...]] = {
    "opens": ("email_open",),
    "clicks": ("email_click", "sms_click"),
    "product_views": ("product_view", "sizing_view", "wishlist_add"),
    "carts": ("add_to_cart", "checkout_started"),
    "sessions": ("session", "page_view", "ad_click"),
}
"""Engagement features: name to the canonical event types it counts."""

OPEN_STAGES: tuple[str, ...] = ("captured", "engaged", "purchase_intent")
"""Stages of leads that have not bought; the reference level is ``captured``."""

MIN_ROWS = 30
MIN_CLASS = 5
MAX_SOURCES = 6
MIN_SOURCE_ROWS = 10
MAX_ABS_COEF = 10.0
MAX_STD_ERR = 50.0
PRIOR_SD = 2.5
Z95 = 1.959963984540054

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
        """P(purchase within the horizon) for rows of :func:`cutoff_features`."""
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


class _Events:
    """The dataset's events on an in-process DuckDB, registered once per fit."""

    def __init__(self, dataset: Dataset) -> None:
        self.timezone = dataset.timezone or "UTC"
        self.con = eventlayer.connect()
        self.table = eventlayer.events_table(self.con, dataset.events, self.timezone)

    def counts(self, cutoff_day: int, window_days: int) -> pd.DataFrame:
        """Engagement counts per person in the window ending with ``cutoff_day``."""
        kinds = {kind: name for name, kinds in ENGAGEMENT.items() for kind in kinds}
        t = self.table
        in_window = t.filter(
            (t.day <= cutoff_day)
            & (t.day > cutoff_day - window_days)
            & t.event.isin(list(kinds))
            & t.person_id.notnull()
        )
        grouped = in_window.group_by(["person_id", "event"]).agg(
            n=in_window.person_id.count()
        )
        long = grouped.execute()
        long["feature"] = long["event"].map(kinds)
        wide = long.pivot_table(
            index="person_id", columns="feature", values="n", aggfunc="sum"
        )
        return wide.reindex(columns=list(ENGAGEMENT), fill_value=0).fillna(0)

    def first_days(self, cutoff_day: int) -> pd.Series:
        """Each person's first event day, for events up to ``cutoff_day``."""
        t = self.table
        early = t.filter((t.day <= cutoff_day) & t.person_id.notnull())
        first = early.group_by("person_id").agg(first_day=early.day.min()).execute()
        return first.set_index("person_id")["first_day"]


def _day(date: dt.date | str | pd.Timestamp) -> int:
    return eventlayer.date_to_day(pd.Timestamp(date))


def _purchase_days(dataset: Dataset) -> pd.DataFrame:
    """``person_id, day`` of every purchase with a person, in the store's time zone."""
    purchases = dataset.purchases()
    purchases = purchases[purchases["person_id"].notna() & purchases["ts"].notna()]
    days = eventlayer.local_days(purchases["ts"], dataset.timezone or "UTC")
    return pd.DataFrame({"person_id": purchases["person_id"].to_numpy(), "day": days})


def _entry_point(people: pd.DataFrame) -> pd.Series:
    source = people["signup_source"].astype("string").str.strip().str.lower()
    return source.mask(source.isna() | (source == ""), "unknown")


def cutoff_features(
    dataset: Dataset,
    cutoff: dt.date,
    *,
    window_days: int = 30,
    stages: pd.DataFrame | None = None,
    events: _Events | None = None,
) -> pd.DataFrame:
    """Features of the open leads at the end of ``cutoff``, from nothing after it.

    Parameters
    ----------
    dataset
        The loaded data.
    cutoff
        The cut-off date (local to the store).
    window_days
        The engagement window ending with the cut-off.
    stages
        ``person_id, stage`` as of the cut-off (the stage engine's leads at that
        date). When given, only open stages are kept and the stage is a feature.

    Returns
    -------
    pandas.DataFrame
        One row per open lead: ``person_id, entry_point, stage`` and the counts of
        :data:`ENGAGEMENT`, sorted by ``person_id``.
    """
    events = events or _Events(dataset)
    cutoff_day = _day(cutoff)
    timezone = dataset.timezone or "UTC"

    # Who was known by the cut-off: an email or phone, first seen or active by then.
    people = dataset.people.drop_duplicates("person_id")
    identified = people["email"].notna() | people["phone"].notna()
    people = people[identified]
    seen = np.full(len(people), np.nan)
    dated = people["first_seen"].notna().to_numpy()
    if dated.any():
        seen[dated] = eventlayer.local_days(people["first_seen"][dated], timezone)
    seen = pd.Series(seen, index=people["person_id"].to_numpy(), dtype="float64")
    first_event = events.first_days(cutoff_day).reindex(seen.index).astype("float64")
    known_day = np.fmin(seen.to_numpy(), first_event.to_numpy())
    frame = pd.DataFrame(
        {
            "person_id": seen.index,
            "entry_point": _entry_point(people).to_numpy(),
            "known_day": known_day,
        }
    )
    frame = frame[frame["known_day"] <= cutoff_day]

    # Leads only: nobody who had bought by the cut-off.
    bought = _purchase_days(dataset)
    buyers = set(bought.loc[bought["day"] <= cutoff_day, "person_id"])
    frame = frame[~frame["person_id"].isin(buyers)]

    # Stage at the cut-off, when the stage engine gives it.
    if stages is not None:
        stage = stages[["person_id", "stage"]].drop_duplicates("person_id")
        frame = frame.merge(stage, on="person_id", how="inner")
        frame = frame[frame["stage"].isin(OPEN_STAGES)]
    else:
        frame["stage"] = pd.NA

    counts = events.counts(cutoff_day, window_days)
    frame = frame.join(counts, on="person_id")
    frame[list(ENGAGEMENT)] = frame[list(ENGAGEMENT)].fillna(0).astype("int64")
    frame = frame.drop(columns="known_day").sort_values("person_id")
    return frame.reset_index(drop=True)


def purchase_outcome(
    dataset: Dataset, person_ids: pd.Series, cutoff: dt.date, horizon_days: int
) -> np.ndarray:
    """Whether each person bought in the ``horizon_days`` after ``cutoff`` (0/1)."""
    cutoff_day = _day(cutoff)
    bought = _purchase_days(dataset)
    after = bought["day"] > cutoff_day
    window = bought[after & (bought["day"] <= cutoff_day + horizon_days)]
    return person_ids.isin(set(window["person_id"])).to_numpy().astype(int)


def design_matrix(
    features: pd.DataFrame, sources: list[str], uses_stage: bool
) -> pd.DataFrame:
    """The regression's columns: constant, entry-point and stage dummies, log counts.

    ``sources[0]`` is the entry point's reference level; entry points not in
    ``sources`` are grouped as ``other``. The stage's reference level is ``captured``.
    """
    columns: dict[str, np.ndarray] = {"const": np.ones(len(features))}
    entry = features["entry_point"].astype("string").fillna("unknown")
    entry = entry.where(entry.isin(sources), "other")
    for source in sources[1:] + ["other"]:
        columns[f"entry[{source}]"] = (entry == source).to_numpy(dtype=float)
    if uses_stage:
        stage = features["stage"].astype("string")
        for name in OPEN_STAGES[1:]:
            columns[f"stage[{name}]"] = (stage == name).fillna(False).to_numpy(float)
    for name in ENGAGEMENT:
        columns[f"log1p_{name}"] = np.log1p(features[name].to_numpy(dtype=float))
    return pd.DataFrame(columns, index=features.index)


def _sources(features: pd.DataFrame) -> list[str]:
    """Entry points common enough to get their own coefficient, most common first."""
    counts = features["entry_point"].astype("string").fillna("unknown").value_counts()
    common = counts[counts >= MIN_SOURCE_ROWS].index[:MAX_SOURCES]
    return [str(s) for s in common] or ["unknown"]


def auc(outcome: np.ndarray, predicted: np.ndarray) -> float:
    """Area under the ROC curve, as the Mann-Whitney U statistic over n₁·n₀.

    Ties in ``predicted`` count one half. ``nan`` when only one class is present.
    """
    outcome = np.asarray(outcome).astype(bool)
    positives, negatives = int(outcome.sum()), int((~outcome).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(predicted)
    u = ranks[outcome].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def calibration_table(
    outcome: np.ndarray, predicted: np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Predicted against observed purchase rate, by quantile bin of prediction.

    Returns ``bin, leads, predicted, observed, observed_low, observed_high`` with
    95 % Wilson intervals on the observed rate.
    """
    frame = pd.DataFrame({"y": np.asarray(outcome, dtype=int), "p": predicted})
    n_bins = max(1, min(bins, len(frame) // 20 or 1))
    ranks = frame["p"].rank(method="first")
    frame["bin"] = pd.qcut(ranks, n_bins, labels=False) + 1 if n_bins > 1 else 1
    table = frame.groupby("bin").agg(
        leads=("y", "size"), predicted=("p", "mean"), purchases=("y", "sum")
    )
    table["observed"] = table["purchases"] / table["leads"]
    low, high = proportion_confint(table["purchases"], table["leads"], method="wilson")
    table["observed_low"], table["observed_high"] = low, high
    return table.drop(columns="purchases").reset_index()


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


def _separated(result) -> bool:
    """Whether a maximum-likelihood fit ran off to infinity (complete separation)."""
    slopes = np.abs(np.asarray(result.params)[1:])
    return (
        not getattr(result, "converged", True)
        or not np.all(np.isfinite(result.bse))
        or bool(len(slopes) and slopes.max() > MAX_ABS_COEF)
        or bool(np.nanmax(np.asarray(result.bse)) > MAX_STD_ERR)
    )


def _ridge_fit(y: np.ndarray, design: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ridge logistic fit (statsmodels), with its Laplace-approximation covariance.

    The penalty is a normal prior with standard deviation :data:`PRIOR_SD` on every
    slope (the constant is free); the covariance is the inverse of the penalised
    log-likelihood's Hessian at the estimate.
    """
    n, k = design.shape
    penalty = np.full(k, 1.0 / PRIOR_SD**2)
    penalty[0] = 0.0
    model = sm.GLM(y, design, family=sm.families.Binomial())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = model.fit_regularized(alpha=penalty / n, L1_wt=0.0, maxiter=200)
    params = np.asarray(fitted.params, dtype=float)
    x = design.to_numpy(dtype=float)
    p = 1.0 / (1.0 + np.exp(-(x @ params)))
    hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
    return params, np.linalg.pinv(hessian)


def fit_logit(
    features: pd.DataFrame, outcome: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, list[str], list[str], bool, bool]:
    """Fit the logistic regression.

    Maximum likelihood (statsmodels ``GLM``, binomial) with Wald intervals; when a
    feature separates buyers from non-buyers completely, so that the maximum
    likelihood estimate does not exist, a ridge fit with a weak normal prior
    instead (see :func:`_ridge_fit`), flagged by the last value returned.

    Returns
    -------
    tuple
        Coefficient table, parameters, design columns, entry-point levels, whether
        the stage is used, whether the ridge fit was needed.
    """
    sources = _sources(features)
    uses_stage = bool(features["stage"].notna().any())
    design = design_matrix(features, sources, uses_stage)
    keep = [c for c in design if c == "const" or design[c].std() > 0]
    design = design[keep]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation is detected and handled below
        result = sm.GLM(outcome, design, family=sm.families.Binomial()).fit()
    penalised = _separated(result)
    if penalised:
        params, covariance = _ridge_fit(outcome, design)
        std_err = np.sqrt(np.clip(np.diag(covariance), 0, None))
        z = params / np.where(std_err > 0, std_err, np.nan)
        p_value = 2 * norm.sf(np.abs(z))
    else:
        params = result.params.to_numpy()
        std_err = result.bse.to_numpy()
        p_value = result.pvalues.to_numpy()
    coefficients = pd.DataFrame(
        {
            "term": design.columns,
            "coef": params,
            "std_err": std_err,
            "ci_low": params - Z95 * std_err,
            "ci_high": params + Z95 * std_err,
            "odds_ratio": np.exp(params),
            "p_value": p_value,
        }
    )
    return coefficients, params, keep, sources, uses_stage, penalised


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
    dataset: Dataset, leads: pd.DataFrame, horizon_days: float = 365.0
) -> tuple[pd.Series, str]:
    """Predicted customer value per person, and a sentence on how it was made.

    Customers get their BG/NBD × Gamma-Gamma CLV over ``horizon_days``
    (:func:`pipeline.clv_fit.customer_table`); open leads get the expected value of
    a new customer, their first order plus the CLV after it
    (:func:`pipeline.clv_fit.new_customer_value`), at the average first-order value.
    When the models cannot be fitted, open leads get the average first-order value
    and customers none, and the sentence says why.
    """
    first = pd.to_numeric(leads["first_order_value"], errors="coerce")
    mean_first = float(first.mean()) if first.notna().any() else 0.0
    stage = leads["stage"].astype("string")
    open_ids = leads.loc[stage.isin(OPEN_STAGES).fillna(False), "person_id"]
    try:
        from pipeline import clv, clv_fit

        summary = clv.purchase_summary(dataset)
        fits = clv_fit.fit_models(summary)
    except (ImportError, ValueError) as exc:
        reason = f"CLV models not available ({exc})."
        fits = None
    if fits is None or not fits.usable:
        reason = reason if fits is None else " ".join(fits.status())
        values = pd.Series(mean_first, index=open_ids.to_numpy(), dtype="float64")
        return values, f"{reason} Leads valued at the average first order."

    customers = clv_fit.customer_table(summary, fits, horizon_days=horizon_days)
    customer_values = customers.set_index("person_id")["clv"].astype("float64")
    new_value = clv_fit.new_customer_value(fits, mean_first, horizon_days=horizon_days)
    lead_values = pd.Series(new_value, index=open_ids.to_numpy(), dtype="float64")
    values = pd.concat([customer_values, lead_values])
    values = values[~values.index.duplicated(keep="first")]
    note = (
        f"Predicted value over {horizon_days:.0f} days: customers by BG/NBD × "
        "Gamma-Gamma; open leads as a new customer (first order plus the value after "
        "it), if they convert."
    )
    return values, note
