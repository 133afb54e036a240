"""Why the Leads page has nothing to list, in sentences that say what to do.

An empty list has several causes that call for different fixes: no data of the
kind, the rules switched off, or an "as of" day before the data starts or after
purchase intent has lapsed. These functions tell them apart from the loaded data,
the rules and the day, so the page never asks for an upload that was made.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.data_coverage import (
    INTENT_EVENTS,
    stages_switched_off,
    stages_without_data,
)
from pipeline.model import Dataset
from pipeline.rules import StageRules

INTENT_KINDS = (*INTENT_EVENTS, "product_view")
"""Events that can put a lead in purchase intent."""


def _local_dates(times: pd.Series, timezone: str) -> pd.Series:
    """Timestamps as the store's local days, undated ones left out."""
    stamps = pd.to_datetime(times, utc=True).dropna()
    return stamps.dt.tz_convert(timezone).dt.date


def first_data_day(dataset: Dataset) -> dt.date | None:
    """The first local day of any event, order or sign-up (``None``: none dated)."""
    zone = dataset.timezone or "UTC"
    days = [
        _local_dates(dataset.events["ts"], zone),
        _local_dates(dataset.orders["ts"], zone),
        _local_dates(dataset.people["first_seen"], zone),
    ]
    firsts = [d.min() for d in days if len(d)]
    return min(firsts) if firsts else None


def no_leads_reason(dataset: Dataset, as_of: dt.date) -> str:
    """Why no lead with an email or phone is listed on ``as_of``, and what to do."""
    first = first_data_day(dataset)
    if first is not None and as_of < first:
        return (
            f"The 'as of' day, {as_of:%Y-%m-%d}, is before the first data "
            f"({first:%Y-%m-%d}), so nobody had been seen yet. Move 'As of' in the "
            f"sidebar to {first:%Y-%m-%d} or later."
        )
    return (
        "No leads with an email or phone yet. Upload Shopify orders or customers, "
        "Klaviyo profiles or an events CSV with emails to score and export leads."
    )


def no_intent_reason(dataset: Dataset, rules: StageRules, as_of: dt.date) -> str:
    """Why no lead is in purchase intent on ``as_of``, and what to do.

    In this order: no cart, checkout or product view was uploaded; every
    purchase-intent rule is switched off; ``as_of`` is before the first of those
    events; it is more than the longest rule window after the last one (intent
    lapsed); else the leads with recent intent have bought or fall short of the
    rules.
    """
    on = f"on {as_of:%Y-%m-%d}"
    if "purchase_intent" in stages_without_data(dataset):
        return (
            f"No lead is in purchase intent {on}: no cart, checkout, product view or "
            "sizing-page view was uploaded. Upload Shopify abandoned checkouts or "
            "Klaviyo and GA4 events to fill it."
        )
    if "purchase_intent" in stages_switched_off(rules):
        return (
            f"No lead is in purchase intent {on}: every purchase-intent rule is "
            "switched off. Switch one on under Stage rules in the sidebar."
        )
    events = dataset.events
    days = _local_dates(
        events.loc[events["event"].isin(INTENT_KINDS), "ts"], dataset.timezone or "UTC"
    )
    first, last = (days.min(), days.max()) if len(days) else (as_of, as_of)
    if as_of < first:
        return (
            f"No lead is in purchase intent {on}: the first cart, checkout or product "
            f"view is on {first:%Y-%m-%d}. Move 'As of' in the sidebar to that day "
            "or later."
        )
    window = max(
        rule.window_days
        for rule in rules.rules.values()
        if rule.stage == "purchase_intent" and rule.enabled
    )
    if (as_of - last).days >= window:
        return (
            f"No lead is in purchase intent {on}: intent lapses after its rule's "
            f"window ({window} days at most), and the last cart, checkout or product "
            f"view was on {last:%Y-%m-%d}. Move 'As of' in the sidebar back to "
            "within that window, or widen the windows of the purchase-intent rules."
        )
    return (
        f"No lead is in purchase intent {on}: the leads with carts, checkouts or "
        "product views within the rule windows have bought since, or have fewer than "
        "the rules ask. Loosen the purchase-intent rules in the sidebar to see more."
    )
