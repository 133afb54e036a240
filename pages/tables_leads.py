"""The Leads page's tables as the page writes them: headings, stages, consent and
P(win) in words and percent, as every other page writes them."""

from __future__ import annotations

import pandas as pd

from pipeline.funnel import CUSTOMER_KINDS, STAGE_LABELS

TEXT_LABELS = {
    "email": "Email", "phone": "Phone", "stage": "Stage",
    "customer_kind": "Customer", "rule": "Rule", "signup_source": "Signup source",
    "orders": "Orders", "consent_email": "Email consent", "consent_sms": "SMS consent",
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

