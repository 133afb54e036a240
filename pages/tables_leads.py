"""The Leads page's tables as the page writes them: headings, stages, consent and
P(win) in words and percent, as every other page writes them, and the lead score's
coefficients with readable headings and p-values."""

from __future__ import annotations

import pandas as pd

from pipeline.formatting import fmt_p_value
from pipeline.funnel import CUSTOMER_KINDS, STAGE_LABELS

TEXT_LABELS = {
    "email": "Email",
    "phone": "Phone",
    "stage": "Stage",
    "customer_kind": "Customer",
    "rule": "Rule",
    "signup_source": "Signup source",
    "orders": "Orders",
    "consent_email": "Email consent",
    "consent_sms": "SMS consent",
    "person_id": "Person id",
}
"""Headings of the leads tables' plain columns."""

_CONSENT = {True: "yes", False: "no"}


def in_words(frame: pd.DataFrame) -> pd.DataFrame:
    """A leads table as the page writes it: stages and consent in words (an unknown
    consent as the dash), P(win) in percent ("16.6 %", as on every page)."""
    changes = {
        "stage": lambda f: f["stage"].astype(str).map(STAGE_LABELS),
        "customer_kind": lambda f: f["customer_kind"].map(CUSTOMER_KINDS),
        "p_win": lambda f: 100 * f["p_win"],
        "consent_email": lambda f: f["consent_email"].map(_CONSENT),
        "consent_sms": lambda f: f["consent_sms"].map(_CONSENT),
    }
    return frame.assign(**{k: v for k, v in changes.items() if k in frame})


COEFFICIENT_HEADINGS = {
    "term": "Feature",
    "coef": "Coefficient (log-odds)",
    "std_err": "Std. error",
    "ci_low": "95 % low",
    "ci_high": "95 % high",
    "odds_ratio": "Odds ratio",
    "p_value": "p-value",
}
"""Headings of the coefficient table, in its order."""


def coefficients_table(coefficients: pd.DataFrame) -> pd.DataFrame:
    """The lead score's coefficients as the page writes them: readable headings,
    numbers to 4 decimals and p-values as text, a tiny one as "< 0.001" (never 0).

    ``coefficients`` is :attr:`pipeline.scoring.LeadScoreModel.coefficients_`.
    """
    table = coefficients[list(COEFFICIENT_HEADINGS)].copy()
    numbers = ["coef", "std_err", "ci_low", "ci_high", "odds_ratio"]
    table[numbers] = table[numbers].astype(float).round(4)
    table["p_value"] = table["p_value"].map(fmt_p_value)
    return table.rename(columns=COEFFICIENT_HEADINGS)
