"""What the loaded data can and cannot measure, in sentences for the pages.

:func:`coverage_warnings` lists what the uploads cannot show (no engagement, no
intent, no orders, carts running past the last order, undated captures, several
currencies), each with what to upload. :func:`stages_without_data` and
:func:`step_without_data` name the stages that no uploaded event can fill, so that a
conversion into or out of them reads "not measured" instead of 0 %;
:func:`stages_switched_off` names the stages whose every rule is switched off, for
the same reason. :func:`channel_report_files` names the GA4 reports, whose traffic
is by channel, not per visitor. :func:`order_data_end` is the last day anyone can be
seen to buy.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.model import Dataset
from pipeline.rules import StageRules

ENGAGEMENT_EVENTS = ("email_open", "email_click", "product_view", "wishlist_add")
"""Events that can fill the engaged stage."""

INTENT_EVENTS = ("add_to_cart", "checkout_started", "sizing_view")
"""Events that can fill the purchase-intent stage (with ``product_view``)."""

CART_EVENTS = ("add_to_cart", "checkout_started")
"""Carts and checkouts: purchase intent that an order may close."""

AWARENESS_EVENTS = ("session", "page_view", "ad_click")
"""Anonymous traffic: what fills the awareness stage."""


def _last(values: pd.Series) -> pd.Timestamp | None:
    values = values.dropna()
    return values.max() if len(values) else None


def coverage_warnings(dataset: Dataset) -> list[str]:
    """What the loaded data cannot show, each with what to upload or know.

    Returns
    -------
    list of str
        Sentences for the page: missing engagement, intent or order data; carts
        and checkouts running past the last order ("no order after it" cannot be
        known beyond the order data); captures without a date; several currencies.
    """
    notes = []
    events = dataset.events
    kinds = set(events["event"].dropna().astype(str))
    if not kinds & set(ENGAGEMENT_EVENTS):
        notes.append(
            "No engagement events uploaded (email opens or clicks, product views, "
            "wishlist adds): the engaged stage stays empty. Add Klaviyo events or a "
            "GA4 BigQuery export to fill it."
        )
    if not kinds & set(INTENT_EVENTS) and "product_view" not in kinds:
        notes.append(
            "No carts, checkouts, sizing or product views uploaded: the purchase-"
            "intent stage stays empty. Add Shopify abandoned checkouts or a GA4 "
            "BigQuery export to fill it."
        )

    orders = dataset.orders
    order_times = (
        orders["ts"] if len(orders) else events.loc[events["event"] == "order", "ts"]
    )
    last_order = _last(order_times)
    if last_order is None:
        notes.append(
            "No orders uploaded: nobody can be a customer. Add a Shopify orders "
            "export or order events."
        )
    last_cart = _last(events.loc[events["event"].isin(CART_EVENTS), "ts"])
    if last_order is not None and last_cart is not None and last_cart > last_order:
        tz = dataset.timezone or "UTC"
        notes.append(
            f"Carts and checkouts run to {last_cart.tz_convert(tz).date()} but the "
            f"orders end on {last_order.tz_convert(tz).date()}: whether those later "
            "carts were followed by an order cannot be known, so they count as "
            "purchase intent. Upload the orders of that period to close the gap."
        )

    people = dataset.people
    if len(people):
        contact = people["email"].notna() | people["phone"].notna()
        seen = set(events["person_id"].dropna())
        undated = (
            contact & people["first_seen"].isna() & ~people["person_id"].isin(seen)
        )
        if undated.any():
            notes.append(
                f"{int(undated.sum())} captured leads have no date (no sign-up date "
                "and no events): they count as captured but stay out of timing "
                "metrics."
            )
    currencies = sorted(set(orders["currency"].dropna().astype(str)))
    if len(currencies) > 1:
        notes.append(
            f"Orders are in several currencies ({', '.join(currencies)}): money "
            "figures are not added up across them; give exchange rates to combine "
            "them."
        )
    return notes


MISSING_STAGE_TEXT: dict[str, str] = {
    "awareness": "no anonymous traffic uploaded",
    "engaged": "no engagement events uploaded",
    "purchase_intent": "no cart, checkout or product-view events uploaded",
    "customer": "no orders uploaded",
    "repeat": "no orders uploaded",
}
"""What a conversion cell says when a stage of its step has no data source."""

CHANNEL_ONLY_TEXT = "no per-visitor traffic (a GA4 report counts by channel only)"
"""What an awareness cell says when the traffic uploaded is a GA4 report's."""

SWITCHED_OFF_TEXT = "not measured (rules switched off)"
"""What a conversion cell says when every rule of a stage of its step is off."""

CHANNEL_REPORT_KINDS = ("ga4_report", "ga4_exploration")
"""GA4 exports of traffic by channel (and week), with no visitor in them."""


def channel_report_files(dataset: Dataset) -> list[str]:
    """The GA4 reports that were read: traffic by channel, not per visitor.

    Their rows are kept as channel aggregates (:attr:`Dataset.aggregates`); no
    visitor in them can be counted in the awareness stage or followed further.
    """
    return [
        r.file
        for r in dataset.reports
        if r.kind in CHANNEL_REPORT_KINDS and not r.meta.get("failed")
    ]


def stages_without_data(dataset: Dataset) -> dict[str, str]:
    """Stages that no uploaded event can fill, each with the words that say so.

    A stage with no data source shows an empty count, and any conversion into or
    out of it would read as a real 0 % (or 100 %): pages write these words instead.

    Returns
    -------
    dict
        Stage name (``awareness``, ``engaged``, ``purchase_intent``, ``customer``
        and ``repeat``) -> :data:`MISSING_STAGE_TEXT`, for stages without data only.
    """
    kinds = set(dataset.events["event"].dropna().astype(str))
    needs = {
        "awareness": AWARENESS_EVENTS,
        "engaged": ENGAGEMENT_EVENTS,
        "purchase_intent": INTENT_EVENTS + ("product_view",),
        "customer": ("order",),
        "repeat": ("order",),
    }
    texts = dict(MISSING_STAGE_TEXT)
    if channel_report_files(dataset):
        texts["awareness"] = CHANNEL_ONLY_TEXT
    return {
        stage: texts[stage]
        for stage, events in needs.items()
        if not kinds & set(events)
    }


def stages_switched_off(rules: StageRules) -> dict[str, str]:
    """Stages whose every rule is switched off, each with the words that say so.

    No lead can enter such a stage, so a conversion into or out of it would read as
    a measured 0 % (or 100 %): pages write these words instead.

    Returns
    -------
    dict
        Stage name (``engaged``, ``purchase_intent``) -> :data:`SWITCHED_OFF_TEXT`,
        for stages with rules, all of them off, only.
    """
    stages: dict[str, bool] = {}
    for rule in rules.rules.values():
        stages[rule.stage] = stages.get(rule.stage, False) or rule.enabled
    return {stage: SWITCHED_OFF_TEXT for stage, on in stages.items() if not on}


def unmeasured_stages(
    dataset: Dataset, rules: StageRules | None = None
) -> dict[str, str]:
    """Stages no conversion can be measured into or out of, with the words why.

    :func:`stages_without_data`, and with ``rules``, :func:`stages_switched_off`
    for the other stages (a stage with no data says so even when it is off, since
    switching its rules on would not fill it).
    """
    off = stages_switched_off(rules) if rules is not None else {}
    return off | stages_without_data(dataset)


def not_measured(gap: str) -> str:
    """A gap as a clause: ``"not measured (no orders uploaded)"``, never twice."""
    return gap if gap.startswith("not measured") else f"not measured ({gap})"


def step_without_data(
    from_stage: str, to_stage: str, missing: dict[str, str]
) -> str | None:
    """Why a step's conversion cannot be measured, or ``None`` when it can.

    Parameters
    ----------
    from_stage, to_stage
        The step (``to_stage`` may be ``repeat``).
    missing
        :func:`stages_without_data`.
    """
    for stage in (to_stage, from_stage):
        if stage in missing:
            return missing[stage]
    return None


def order_data_end(dataset: Dataset) -> dt.date | None:
    """The last local day with an order, not after today (``None`` with no orders).

    Weekly figures after this day would count leads who cannot be seen to buy:
    pages limit weekly charts and this-week tests to the weeks it covers.
    """
    tz = dataset.timezone or "UTC"
    orders = dataset.orders
    times = (
        orders["ts"]
        if len(orders)
        else dataset.events.loc[dataset.events["event"] == "order", "ts"]
    )
    times = pd.to_datetime(times, utc=True).dropna()
    times = times[times <= pd.Timestamp.now(tz="UTC")]
    if times.empty:
        return None
    return times.max().tz_convert(tz).date()
