"""Figures the Attribution page shows beside the models' credit.

The aggregated path tables among the uploads (:func:`uploaded_path_tables`), what a
lead's advance is worth, with its fallback (:func:`advance_worth`), Klaviyo's claim
against each model's email and SMS revenue (:func:`claim_ratios`), and the spend
table with CLV ÷ CAC left out when spend and orders are in different currencies
(:func:`spend_in_currency`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipeline.attribution import pipeline_views as pv
from pipeline.attribution.klaviyo import Overstatement
from pipeline.clv_pricing import NewCustomerValue
from pipeline.model import Dataset


def uploaded_path_tables(dataset: Dataset) -> list[pd.DataFrame]:
    """The aggregated conversion-path tables that the uploaded files held."""
    return [
        r.meta["paths"]
        for r in dataset.reports
        if isinstance(r.meta.get("paths"), pd.DataFrame)
    ]


def advance_worth(
    leads: pd.DataFrame,
    dataset: Dataset,
    as_of: dt.date,
    new_customer: NewCustomerValue,
    customer_values: pd.Series,
    horizon_days: float,
) -> pv.TransitionWorth:
    """P(win | stage) from Kaplan-Meier and the leads' predicted values.

    Falls back on empirical win rates and the average first order
    (:func:`pipeline.attribution.pipeline_views.empirical_worth`) when a new
    customer has no value (no purchases).

    Parameters
    ----------
    leads, dataset, as_of
        The view.
    new_customer, customer_values
        :func:`pipeline.clv_pricing.expected_new_customer_value` and
        :func:`pipeline.clv_pricing.customer_values`.
    horizon_days
        The win horizon of P(win | stage).
    """
    if not np.isfinite(new_customer.value):
        return pv.empirical_worth(leads, dataset)
    return pv.transition_worth(
        leads,
        as_of,
        new_customer.value,
        customer_values,
        horizon_days,
        dataset.timezone or "UTC",
        new_customer.from_models,
    )


def claim_ratios(klaviyo: Overstatement) -> pd.DataFrame:
    """Each model's email and SMS revenue and Klaviyo's claim as a multiple of it.

    Returns
    -------
    pandas.DataFrame
        ``email_sms_revenue`` and ``claim_ratio`` (NaN where the model credits no
        email or SMS revenue), indexed by model name.
    """
    table = pd.DataFrame(
        {"email_sms_revenue": pd.Series(klaviyo.model_email_sms_revenue)}
    )
    revenue = table["email_sms_revenue"].replace(0.0, float("nan"))
    table["claim_ratio"] = klaviyo.claimed_revenue / revenue
    return table


def spend_in_currency(
    spend_table: pd.DataFrame, spend: pd.DataFrame, currency: str | None
) -> tuple[pd.DataFrame, str | None, bool]:
    """The pipeline views' spend table, without CLV ÷ CAC across two currencies.

    Parameters
    ----------
    spend_table
        The ``spend`` table of
        :func:`pipeline.attribution.pipeline_views.pipeline_tables`.
    spend
        The dataset's spend rows (their ``currency``).
    currency
        The currency of the orders analysed.

    Returns
    -------
    tuple
        The table (``clv_to_cac`` NaN when the spend's most common currency differs
        from ``currency``: there are no exchange rates), the spend's currency
        (``None`` when unstated) and whether the ratio was left out.
    """
    codes = spend["currency"].dropna().astype(str).str.upper()
    spend_code = codes.mode().iloc[0] if len(codes) else None
    table = spend_table.copy()
    dropped = bool(spend_code and currency and spend_code != currency)
    if dropped:
        table["clv_to_cac"] = np.nan
    return table, spend_code, dropped
