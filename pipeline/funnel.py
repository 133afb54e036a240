"""Funnel metrics from the leads of :class:`pipeline.stages.StageEngine`.

Every function takes the leads as of one day (one row per person, with ``stage``,
``orders``, ``first_order_value`` and the ``entered_*`` times) and returns a small
table for the Funnel page and the command line: stage counts and conversion
(:func:`funnel_table`), empirical win rates (:func:`stage_win_rates`), plain velocity
(:func:`velocity_table`), customers by kind (:func:`customer_kinds`), the stage bars
(:func:`stage_split`) and stalled leads (:func:`stalled_leads`).

These counts, shares and medians are plain figures over the leads, with no
correction for right-censoring (recent leads have had less time to convert). The
Funnel page's velocity figures come from :func:`pipeline.velocity.velocity_figures`
instead; weekly conversion is in :mod:`pipeline.funnel_weekly`, what the data can
measure in :mod:`pipeline.data_coverage`, and the value of a customer in
:mod:`pipeline.clv_pricing`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline import eventlayer
from pipeline.model import STAGES

OPEN_STAGES: tuple[str, ...] = ("captured", "engaged", "purchase_intent")
"""Stages of leads that have not bought yet: the open pipeline."""

ENTRY_COLUMNS: dict[str, str] = {
    "captured": "entered_captured",
    "engaged": "entered_engaged",
    "purchase_intent": "entered_purchase_intent",
    "customer": "entered_customer",
}

STAGE_LABELS: dict[str, str] = {
    "awareness": "Awareness",
    "captured": "Captured",
    "engaged": "Engaged",
    "purchase_intent": "Purchase intent",
    "customer": "Customer",
}
"""Stage names as the pages and the report write them."""

CUSTOMER_KINDS: dict[str, str] = {"first": "first-time", "repeat": "repeat"}
"""Kinds of customer (``customer_kind``) and their words, first-time before repeat:
the order of every legend, table and stacked bar, whatever the counts."""


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


def customer_kinds(leads: pd.DataFrame) -> pd.Series:
    """Customers now by kind, first-time before repeat whatever the counts.

    Returns
    -------
    pandas.Series
        Leads in the customer stage, indexed by the keys of :data:`CUSTOMER_KINDS`
        in its order, a kind with no customer counted as 0.
    """
    kinds = leads.loc[leads["stage"].astype(str) == "customer", "customer_kind"]
    counts = kinds.astype("string").value_counts()
    return counts.reindex(list(CUSTOMER_KINDS), fill_value=0).astype(int)


def stage_split(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads in each stage now, with customers split into first-time and repeat.

    Returns
    -------
    pandas.DataFrame
        ``stage``, ``part`` (``all`` for the stages below customer, ``first`` and
        ``repeat`` for customers, in the order of :data:`CUSTOMER_KINDS`), ``leads``
        and ``share`` (of all leads), lowest stage first.
    """
    table = funnel_table(leads)
    below = [
        {"stage": row.stage, "part": "all", "leads": row.leads, "share": row.share}
        for row in table.itertuples()
        if row.stage != "customer"
    ]
    customers = [
        {
            "stage": "customer",
            "part": part,
            "leads": int(count),
            "share": count / len(leads) if len(leads) else np.nan,
        }
        for part, count in customer_kinds(leads).items()
    ]
    return pd.DataFrame(below + customers)

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
