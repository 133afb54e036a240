"""Funnel and velocity metrics from the leads of :class:`pipeline.stages.StageEngine`.

Every function takes the leads as of one day (one row per person, with ``stage``,
``orders``, ``first_order_value`` and the ``entered_*`` times) and returns a small
table for the Funnel page and the command line.

The counts, shares and medians of :func:`funnel_table`, :func:`stage_win_rates` and
:func:`velocity_table` are plain figures over the leads, with no correction for
right-censoring (recent leads have had less time to convert). The Funnel page's
velocity figures come from :func:`velocity_figures` instead: Kaplan-Meier win
probabilities and lead-to-customer time (:mod:`pipeline.survival`), Wilson intervals
on stage conversion, and pipeline value (:mod:`pipeline.pipeline_value`) priced with
the expected value of a new customer from the BG/NBD and Gamma-Gamma models
(:func:`customer_models`, :func:`expected_new_customer_value`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import clv_fit, eventlayer
from pipeline.clv import PurchaseSummary, purchase_summary
from pipeline.model import STAGES, Dataset
from pipeline.pipeline_value import PipelineValue, pipeline_value
from pipeline.survival import (
    TimeToCustomer,
    _at,
    stage_conversion_intervals,
    time_to_customer,
    win_probability_by_stage,
)

log = logging.getLogger(__name__)

OPEN_STAGES: tuple[str, ...] = ("captured", "engaged", "purchase_intent")
"""Stages of leads that have not bought yet: the open pipeline."""

ENTRY_COLUMNS: dict[str, str] = {
    "captured": "entered_captured",
    "engaged": "entered_engaged",
    "purchase_intent": "entered_purchase_intent",
    "customer": "entered_customer",
}

ENGAGEMENT_EVENTS = ("email_open", "email_click", "product_view", "wishlist_add")
INTENT_EVENTS = ("add_to_cart", "checkout_started", "sizing_view")
CART_EVENTS = ("add_to_cart", "checkout_started")


def _rank(leads: pd.DataFrame) -> np.ndarray:
    """Each lead's stage as its rank, awareness 0 up to customer 4."""
    order = {stage: rank for rank, stage in enumerate(STAGES)}
    return leads["stage"].astype(str).map(order).to_numpy(int)


def buyers(leads: pd.DataFrame) -> pd.Series:
    """Identified leads with at least one purchase up to the leads' day.

    With the default customer rule (one order) these are the customers.
    """
    return leads["identified"].astype(bool) & (leads["orders"] >= 1)


def reached_stages(leads: pd.DataFrame) -> pd.DataFrame:
    """Whether each lead has reached each stage or a later one, as of the leads' day.

    A lead has reached a stage when its current stage is that one or higher, or
    when it entered that stage or a higher one at some moment (stages other than
    customer lapse, so a captured lead may once have been engaged).

    Returns
    -------
    pandas.DataFrame
        One boolean column per stage of :data:`pipeline.model.STAGES`, aligned with
        ``leads``; each column is contained in the one before.
    """
    rank = _rank(leads)
    entered = {
        stage: leads[col].notna().to_numpy() for stage, col in ENTRY_COLUMNS.items()
    }
    out = {"awareness": np.ones(len(leads), dtype=bool)}
    out["captured"] = leads["identified"].to_numpy(bool) | (rank >= 1)
    out["customer"] = rank >= 4
    out["purchase_intent"] = (rank >= 3) | entered["purchase_intent"]
    out["engaged"] = (rank >= 2) | entered["engaged"] | out["purchase_intent"]
    return pd.DataFrame({stage: out[stage] for stage in STAGES}, index=leads.index)


def funnel_table(leads: pd.DataFrame) -> pd.DataFrame:
    """Stage counts and stage-to-stage conversion.

    Parameters
    ----------
    leads
        The leads from :meth:`pipeline.stages.StageEngine.leads`.

    Returns
    -------
    pandas.DataFrame
        One row per stage, lowest first: ``stage``, ``leads`` (leads in the stage
        now), ``share`` (of all leads), ``reached`` (leads that reached the stage or
        a later one) and ``conversion`` (the share of those that reached the next
        stage; NaN for customer and where nobody reached the stage).
    """
    reached = reached_stages(leads).sum()
    current = leads["stage"].astype(str).value_counts()
    total = len(leads)
    rows = []
    for i, stage in enumerate(STAGES):
        here = int(reached[stage])
        after = int(reached[STAGES[i + 1]]) if i + 1 < len(STAGES) else None
        rows.append(
            {
                "stage": stage,
                "leads": int(current.get(stage, 0)),
                "share": current.get(stage, 0) / total if total else np.nan,
                "reached": here,
                "conversion": after / here if after is not None and here else np.nan,
            }
        )
    return pd.DataFrame(rows)


def days_to_convert(leads: pd.DataFrame) -> pd.Series:
    """Days from capture to first purchase of each customer with both dates.

    Customers captured at their first order (a Shopify buyer) count 0 days; a
    purchase before capture also counts 0.
    """
    done = leads[
        (leads["stage"].astype(str) == "customer")
        & leads["entered_captured"].notna()
        & leads["entered_customer"].notna()
    ]
    gap = done["entered_customer"] - done["entered_captured"]
    return (gap.dt.total_seconds() / 86_400).clip(lower=0)


def stage_win_rates(leads: pd.DataFrame) -> pd.DataFrame:
    """Each open stage's empirical win rate and the pipeline value it holds.

    The win rate of a stage is the share of the leads that ever entered it
    (captured: every identified lead) who have bought (:func:`buyers`). The value
    a stage holds is its current leads × its win rate × the average first order.

    Returns
    -------
    pandas.DataFrame
        ``stage``, ``leads`` (now in the stage), ``entered``, ``won``, ``win_rate``
        and ``value``, one row per open stage.
    """
    bought = buyers(leads)
    average = leads.loc[bought, "first_order_value"].mean()
    current = leads["stage"].astype(str).value_counts()
    rows = []
    for stage in OPEN_STAGES:
        if stage == "captured":
            entered = leads["identified"].astype(bool)
        else:
            entered = leads[ENTRY_COLUMNS[stage]].notna()
        won = int((entered & bought).sum())
        rate = won / int(entered.sum()) if entered.any() else np.nan
        now = int(current.get(stage, 0))
        rows.append(
            {
                "stage": stage,
                "leads": now,
                "entered": int(entered.sum()),
                "won": won,
                "win_rate": rate,
                "value": 0.0 if now == 0 else now * rate * average,
            }
        )
    return pd.DataFrame(rows)


def velocity_table(
    leads: pd.DataFrame, currencies: Sequence[str] = ()
) -> pd.DataFrame:
    """Pipeline velocity and its parts, one metric per row.

    Parameters
    ----------
    leads
        The leads from :meth:`pipeline.stages.StageEngine.leads`.
    currencies
        The currencies of the orders; with more than one, money metrics are not
        computed (amounts in different currencies are never added up).

    Returns
    -------
    pandas.DataFrame
        ``metric``, ``value``, ``unit`` and ``how`` for: identified leads,
        customers (identified leads that bought), win rate (customers ÷ identified
        leads), open leads
        (identified, not customers), median days from capture to first order (over
        customers with both dates), captured-to-customer conversion, average first
        order, pipeline velocity (open leads × win rate × average first order ÷
        median days) and pipeline value (Σ over open stages of leads × the stage's
        win rate × average first order, see :func:`stage_win_rates`).
    """
    stage = leads["stage"].astype(str)
    identified = int(leads["identified"].astype(bool).sum())
    bought = buyers(leads)
    customers = int(bought.sum())
    open_leads = int(stage.isin(OPEN_STAGES).sum())
    win_rate = customers / identified if identified else np.nan
    days = days_to_convert(leads)
    median_days = float(days.median()) if len(days) else np.nan
    mixed = len(set(currencies)) > 1
    first_orders = leads.loc[bought, "first_order_value"]
    average = np.nan if mixed else first_orders.mean()
    velocity = (
        open_leads * win_rate * average / median_days
        if median_days and median_days > 0
        else np.nan
    )
    value = np.nan if mixed else stage_win_rates(leads)["value"].sum(min_count=1)
    money = " (not computed: orders in several currencies)" if mixed else ""
    rows = [
        ("identified leads", identified, "leads", "persons with an email or phone"),
        ("customers", customers, "leads", "identified leads with a purchase"),
        ("win rate", win_rate, "share", "customers ÷ identified leads"),
        ("open leads", open_leads, "leads", "captured, engaged and intent leads"),
        ("median days to convert", median_days, "days",
         f"capture to first order, over {len(days)} customers with both dates"),
        ("average first order", average, "currency", "mean first order value" + money),
        ("pipeline velocity", velocity, "currency per day",
         "open leads × win rate × average first order ÷ median days"
         + ("" if median_days and median_days > 0 else
            " (not computed: median days to convert is 0 or unknown)") + money),
        ("pipeline value", value, "currency",
         "Σ open stages: leads × stage win rate × average first order" + money),
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "unit", "how"])


def weekly_conversion(leads: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Entries into each stage per week and the share of them that advanced.

    A lead that entered a stage advanced when it later (or at the same moment)
    entered a higher stage; for customers, when it made a repeat purchase.

    Parameters
    ----------
    leads
        The leads from :meth:`pipeline.stages.StageEngine.leads`.
    timezone
        The store's time zone; weeks start on Monday in it.

    Returns
    -------
    pandas.DataFrame
        ``week`` (the Monday, a date), ``stage``, ``entered``, ``advanced`` and
        ``share_advanced``, sorted by week and stage. Recent weeks have had less
        time to advance.
    """
    targets = {
        "captured": ["entered_engaged", "entered_purchase_intent", "entered_customer"],
        "engaged": ["entered_purchase_intent", "entered_customer"],
        "purchase_intent": ["entered_customer"],
        "customer": ["entered_repeat"],
    }
    parts = []
    for stage, later in targets.items():
        start = leads[ENTRY_COLUMNS[stage]]
        dated = start.notna()
        if not dated.any():
            continue
        advanced = np.zeros(len(leads), dtype=bool)
        for col in later:
            advanced |= (leads[col].notna() & (leads[col] >= start)).to_numpy()
        local = start[dated].dt.tz_convert(timezone).dt.tz_localize(None)
        monday = local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, "D")
        week = monday.dt.date
        parts.append(
            pd.DataFrame(
                {"week": week.to_numpy(), "stage": stage,
                 "advanced": advanced[dated.to_numpy()]}
            )
        )
    columns = ["week", "stage", "entered", "advanced", "share_advanced"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = (
        pd.concat(parts, ignore_index=True)
        .groupby(["week", "stage"], sort=False)
        .agg(entered=("advanced", "size"), advanced=("advanced", "sum"))
        .reset_index()
    )
    table["advanced"] = table["advanced"].astype(int)
    table["share_advanced"] = table["advanced"] / table["entered"]
    table["stage"] = pd.Categorical(table["stage"], categories=STAGES)
    table = table.sort_values(["week", "stage"]).reset_index(drop=True)
    table["stage"] = table["stage"].astype(str)
    return table[columns]


def weekly_segments(weekly: pd.DataFrame) -> pd.DataFrame:
    """:func:`weekly_conversion` with a ``segment`` key that breaks lines at gaps.

    A stage's weeks form one segment while they follow each other; a week with no
    entries starts a new one, so a chart drawn per segment does not bridge months
    without data with a straight line.

    Returns
    -------
    pandas.DataFrame
        The table with ``segment`` (text: the stage and a running number).
    """
    if weekly.empty:
        return weekly.assign(segment=pd.Series(dtype="string"))
    table = weekly.sort_values(["stage", "week"]).copy()
    week = pd.to_datetime(table["week"])
    gap = week.groupby(table["stage"]).diff().gt(pd.Timedelta(days=7))
    run = gap.astype(int).groupby(table["stage"]).cumsum()
    table["segment"] = table["stage"].astype(str) + ":" + run.astype(str)
    return table.sort_values(["week", "stage"]).reset_index(drop=True)


def stalled_leads(
    leads: pd.DataFrame, as_of: dt.date, days: int, timezone: str = "UTC"
) -> pd.DataFrame:
    """Open leads that have been in their stage more than ``days`` days.

    Time in stage counts whole local days from the day the lead first entered its
    current stage to ``as_of``. Undated captures are left out.

    Returns
    -------
    pandas.DataFrame
        ``person_id``, ``stage``, ``rule``, ``entered`` and ``days_in_stage``, the
        longest-stalled first.
    """
    stage = leads["stage"].astype(str)
    entered = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[us, UTC]")
    for name in OPEN_STAGES:
        here = stage == name
        entered[here] = leads.loc[here, ENTRY_COLUMNS[name]]
    dated = entered.notna()
    in_stage = pd.Series(np.nan, index=leads.index)
    in_stage[dated] = eventlayer.date_to_day(as_of) - eventlayer.local_days(
        entered[dated], timezone
    )
    stalled = dated & (in_stage > days)
    out = pd.DataFrame(
        {
            "person_id": leads["person_id"],
            "stage": stage,
            "rule": leads["rule"].astype(str),
            "entered": entered,
            "days_in_stage": in_stage,
        }
    )[stalled]
    out["days_in_stage"] = out["days_in_stage"].astype(int)
    return out.sort_values("days_in_stage", ascending=False).reset_index(drop=True)


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
    order_times = orders["ts"] if len(orders) else events.loc[
        events["event"] == "order", "ts"
    ]
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


# --- What the data can measure ------------------------------------------------------

AWARENESS_EVENTS = ("session", "page_view", "ad_click")

MISSING_STAGE_TEXT: dict[str, str] = {
    "awareness": "no anonymous traffic uploaded",
    "engaged": "no engagement events uploaded",
    "purchase_intent": "no cart, checkout or product-view events uploaded",
    "customer": "no orders uploaded",
    "repeat": "no orders uploaded",
}
"""What a conversion cell says when a stage of its step has no data source."""


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
    return {
        stage: MISSING_STAGE_TEXT[stage]
        for stage, events in needs.items()
        if not kinds & set(events)
    }


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
    times = orders["ts"] if len(orders) else dataset.events.loc[
        dataset.events["event"] == "order", "ts"
    ]
    times = pd.to_datetime(times, utc=True).dropna()
    times = times[times <= pd.Timestamp.now(tz="UTC")]
    if times.empty:
        return None
    return times.max().tz_convert(tz).date()


# --- Velocity with censoring and customer value -------------------------------------

CLV_HORIZON_DAYS = 365.0
"""Horizon of a new customer's predicted future value on the Funnel page."""

CLV_ANNUAL_DISCOUNT = 0.10
"""Annual discount rate of that predicted value."""


@dataclass
class CustomerModels:
    """BG/NBD and Gamma-Gamma fitted on the purchases up to one day, or why not.

    Attributes
    ----------
    summary
        The per-customer purchase summary (``None`` when there are no purchases).
        Its ``repeat_source`` is dropped so that the object can be cached.
    fits
        The fits (``None`` without a summary).
    reason
        Why the models cannot price customers ("" when they can).
    """

    summary: PurchaseSummary | None
    fits: clv_fit.ClvModels | None
    reason: str = ""

    @property
    def usable(self) -> bool:
        """Whether both models converged."""
        return self.fits is not None and self.fits.usable


def customer_models(dataset: Dataset, as_of: dt.date) -> CustomerModels:
    """Fit BG/NBD and Gamma-Gamma on the purchases up to ``as_of`` (inclusive).

    The calibration ends at ``as_of`` or at the last purchase day, whichever is
    earlier, so that customers are not aged by days without data; the time unit is
    days.

    Parameters
    ----------
    dataset
        The loaded data.
    as_of
        The local day the leads are evaluated at.

    Returns
    -------
    CustomerModels
        With ``reason`` saying why the models are unusable (no purchases, too few
        repeat buyers, no convergence), never raising for those.
    """
    purchases = dataset.purchases()
    dated = purchases[purchases["person_id"].notna() & purchases["ts"].notna()]
    if dated.empty:
        return CustomerModels(None, None, "there are no purchases with a customer")
    local = dated["ts"].dt.tz_convert(dataset.timezone or "UTC")
    first, last = local.min().date(), local.max().date()
    end = min(last, pd.Timestamp(as_of).date())
    if end < first:
        return CustomerModels(
            None, None, f"the first purchase ({first}) is after the 'as of' day"
        )
    try:
        summary = purchase_summary(dataset, end)
    except ValueError as exc:
        return CustomerModels(None, None, str(exc))
    summary = dataclasses.replace(summary, repeat_source=None)
    fits = clv_fit.fit_models(summary)
    reason = "; ".join(
        line.rstrip(".") for line in fits.status() if "not fitted" in line
    )
    log.info("customer models to %s: %s", end, reason or "usable")
    return CustomerModels(summary, fits, reason)


@dataclass
class NewCustomerValue:
    """The expected value of one new customer, and where it comes from.

    Attributes
    ----------
    value
        First purchase plus predicted future value (or the first purchase alone
        when ``from_models`` is False); NaN without purchases.
    first_purchase
        Mean value of customers' first purchase-day.
    future
        Predicted discounted value of later purchases over the horizon (0 when
        ``from_models`` is False).
    from_models
        Whether BG/NBD and Gamma-Gamma priced the future purchases.
    how
        One sentence for the page: the method, or the fallback and why.
    """

    value: float
    first_purchase: float
    future: float
    from_models: bool
    how: str


def expected_new_customer_value(
    models: CustomerModels,
    horizon_days: float = CLV_HORIZON_DAYS,
    annual_discount: float = CLV_ANNUAL_DISCOUNT,
    margin: float = 1.0,
) -> NewCustomerValue:
    """The expected value of a new customer from the models, or the fallback.

    With usable models, ``margin × (mean first purchase + E[spend] × discounted
    E[purchases over the horizon | x = t_x = T = 0])``
    (:func:`pipeline.clv_fit.new_customer_value`). Otherwise the mean first
    purchase alone, with the reason in ``how``.
    """
    if models.summary is None or models.summary.customers.empty:
        return NewCustomerValue(
            float("nan"), float("nan"), 0.0, False,
            f"No customer value: {models.reason or 'no purchases'}.",
        )
    first = float(models.summary.customers["first_value"].mean())
    if not models.usable:
        return NewCustomerValue(
            margin * first, first, 0.0, False,
            "Average first purchase only, without future purchases (the customer "
            f"models could not be fitted: {models.reason}).",
        )
    value = clv_fit.new_customer_value(
        models.fits, first, horizon_days, annual_discount, margin,
        models.summary.unit_days,
    )
    return NewCustomerValue(
        value, first, value - margin * first, True,
        f"Average first purchase plus the purchases BG/NBD and Gamma-Gamma predict "
        f"over the next {horizon_days:,.0f} days, discounted at "
        f"{annual_discount:.0%} a year.",
    )


def customer_values(
    models: CustomerModels,
    horizon_days: float = CLV_HORIZON_DAYS,
    annual_discount: float = CLV_ANNUAL_DISCOUNT,
    margin: float = 1.0,
) -> pd.Series:
    """Each existing customer's value: purchases so far plus predicted future value.

    Returns
    -------
    pandas.Series
        ``margin ×`` the customer's purchase value to the calibration end plus the
        predicted CLV over the horizon (:func:`pipeline.clv_fit.customer_table`),
        indexed by ``person_id``; empty when the models are not usable.
    """
    if not models.usable:
        return pd.Series(dtype=float)
    table = clv_fit.customer_table(
        models.summary, models.fits, horizon_days, annual_discount, margin
    )
    values = margin * table["total_value"].astype(float) + table["clv"].astype(float)
    return pd.Series(values.to_numpy(), index=table["person_id"].astype(str))


@dataclass
class Velocity:
    """The Funnel page's velocity figures, all with right-censoring.

    Attributes
    ----------
    win
        :func:`pipeline.survival.win_probability_by_stage`.
    time_to_customer
        :func:`pipeline.survival.time_to_customer` from capture.
    converted_by
        :func:`converted_by` of that curve.
    conversion
        :func:`pipeline.survival.stage_conversion_intervals`.
    value
        :func:`pipeline.pipeline_value.pipeline_value`.
    """

    win: pd.DataFrame
    time_to_customer: TimeToCustomer
    converted_by: pd.DataFrame
    conversion: pd.DataFrame
    value: PipelineValue


def converted_by(
    curve: TimeToCustomer, days: Sequence[float] = (7, 30, 90, 180, 365)
) -> pd.DataFrame:
    """The share of leads who became customers within each number of days.

    ``1 - S(t)`` of the Kaplan-Meier curve with its pointwise 95 % interval; NaN
    beyond the longest follow-up (the curve says nothing there).

    Returns
    -------
    pandas.DataFrame
        ``days, share, low, high``.
    """
    t = np.asarray(days, dtype=float)
    table = curve.curve
    if table.empty:
        nan = np.full(len(t), np.nan)
        return pd.DataFrame({"days": t, "share": nan, "low": nan, "high": nan})
    beyond = t > float(table["days"].max())
    share, low, high = (
        np.where(beyond, np.nan, 1 - _at(table, t, column))
        for column in ("survival", "high", "low")
    )
    return pd.DataFrame({"days": t, "share": share, "low": low, "high": high})


def velocity_figures(
    leads: pd.DataFrame,
    as_of: dt.date,
    customer_value: float | None,
    horizon_days: float = 90.0,
    weeks: int = 12,
    timezone: str = "UTC",
    stages_at: Callable[[dt.date], pd.DataFrame] | None = None,
) -> Velocity:
    """Win probabilities, time to customer, stage conversion and pipeline value.

    Parameters
    ----------
    leads
        The leads from :meth:`pipeline.stages.StageEngine.leads` as of ``as_of``.
    as_of
        The local day evaluated; open leads are censored at its end.
    customer_value
        Expected value of one new customer (:func:`expected_new_customer_value`);
        ``None`` or NaN: the mean first order of the customers in ``leads``.
    horizon_days
        Win horizon: P(customer within this many days).
    weeks
        Weeks of pipeline-value history.
    timezone
        The store's time zone.
    stages_at
        The leads as of a past local day, for the weekly history (see
        :func:`pipeline.pipeline_value.pipeline_value`).
    """
    if customer_value is not None and not np.isfinite(customer_value):
        customer_value = None
    ttc = time_to_customer(leads, as_of, timezone=timezone)
    return Velocity(
        win_probability_by_stage(leads, as_of, horizon_days, timezone=timezone),
        ttc,
        converted_by(ttc),
        stage_conversion_intervals(leads, as_of, timezone=timezone),
        pipeline_value(
            leads, as_of, customer_value, horizon_days, weeks, timezone, stages_at
        ),
    )


STEP_LABELS = {
    ("captured", "engaged"): "Captured → engaged",
    ("engaged", "purchase_intent"): "Engaged → purchase intent",
    ("purchase_intent", "customer"): "Purchase intent → customer",
    ("customer", "repeat"): "Customer → repeat buyer",
}


def weekly_change_sentences(
    conversion: pd.DataFrame,
    alpha: float = 0.05,
    trailing_weeks: int = 4,
    missing: dict[str, str] | None = None,
    orders_end: dt.date | None = None,
    as_of: dt.date | None = None,
) -> list[str]:
    """This week against the trailing weeks, one plain sentence per stage step.

    Parameters
    ----------
    conversion
        :func:`pipeline.survival.stage_conversion_intervals`.
    alpha
        The test's level.
    trailing_weeks
        The number of weeks the trailing rate pooled.
    missing
        :func:`stages_without_data`: a step into or out of such a stage is said
        not to be measured instead of "0 of N moved on".
    orders_end, as_of
        :func:`order_data_end` and the day evaluated: when ``as_of`` is after the
        order data, no week is compared (nobody can be seen to buy in it).
    """
    lines = []
    missing = missing or {}
    for row in conversion.itertuples():
        step = STEP_LABELS.get((row.from_stage, row.to_stage), row.from_stage)
        gap = step_without_data(row.from_stage, row.to_stage, missing)
        if gap is not None:
            lines.append(f"{step}: not measured ({gap}).")
            continue
        if orders_end is not None and as_of is not None and as_of > orders_end:
            lines.append(
                f"{step}: no weekly comparison, because the order data ends on "
                f"{orders_end:%Y-%m-%d}, before this week (to {as_of:%Y-%m-%d}); "
                f"set 'As of' to {orders_end:%Y-%m-%d} or earlier to compare weeks."
            )
            continue
        this = (
            f"{row.week_converted:,} of {row.week_at_risk:,} moved on this week "
            f"({100 * row.week_rate:.1f} %)" if row.week_at_risk else
            "nobody was open in the stage this week"
        )
        before = (
            f"{100 * row.trailing_rate:.1f} % a week over the {trailing_weeks} "
            "weeks before"
            if np.isfinite(row.trailing_rate) else "no earlier weeks to compare"
        )
        if not np.isfinite(row.p_value):
            verdict = "no test possible (too few leads or no movement)"
        elif row.differs:
            way = "higher" if row.week_rate > row.trailing_rate else "lower"
            verdict = (
                f"this week is {way}, beyond chance (p = {row.p_value:.3f} < "
                f"{alpha:g})"
            )
        else:
            verdict = (
                f"no clear change: the gap is within chance (p = {row.p_value:.2f})"
            )
        lines.append(f"{step}: {this}, against {before}; {verdict}.")
    return lines
