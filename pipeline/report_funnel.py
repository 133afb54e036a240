"""The report's funnel and velocity sections, built as the Funnel page builds them.

The velocity section makes the Funnel page's own calls with its defaults
(:func:`pipeline.velocity.velocity_figures`, 90-day win horizon, new-customer value
from the customer models of :mod:`pipeline.clv_pricing`), so the report and the page
agree for the same view. When orders mix currencies, pipeline value is counted in
expected customers, never in added-up money.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import numpy as np
import pandas as pd

from pipeline.clv_pricing import (
    NewCustomerValue,
    customer_models,
    expected_new_customer_value,
)
from pipeline.data_coverage import (
    not_measured,
    stages_without_data,
    step_without_data,
)
from pipeline.formatting import (
    fmt_days,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_pct,
)
from pipeline.funnel import OPEN_STAGES, STAGE_LABELS, funnel_table
from pipeline.model import STAGES, Dataset
from pipeline.pipeline_value import PipelineValue
from pipeline.report_html import Section
from pipeline.survival import TimeToCustomer, curve_from_origin
from pipeline.velocity import Velocity, velocity_figures

STAGE_COLORS = ["#9aa5b1", "#4c78a8", "#72b7b2", "#f58518", "#54a24b"]
WIN_HORIZON_DAYS = 90.0
"""The Funnel page's default win horizon (its slider starts at 90 days)."""
VALUE_WEEKS = 12
"""Weeks of pipeline-value history, as on the Funnel page."""


def _stage_counts(leads: pd.DataFrame) -> pd.DataFrame:
    counts = leads["stage"].astype("string").value_counts()
    return pd.DataFrame(
        {
            "stage": [STAGE_LABELS[s] for s in STAGES],
            "leads": [int(counts.get(s, 0)) for s in STAGES],
            "order": range(len(STAGES)),
        }
    )


def funnel_section(
    leads: pd.DataFrame, no_data: dict[str, str] | None = None
) -> Section:
    """Stage counts as a funnel, and the share of each stage that reached the next.

    The figures are the Funnel page's (:func:`pipeline.funnel.funnel_table`): a lead
    has reached a stage when it is in that stage or a later one, or entered it once.
    ``no_data`` (:func:`pipeline.data_coverage.stages_without_data`) names the stages
    no upload can fill: a step into or out of one says so instead of a share.
    """
    counts = _stage_counts(leads)
    chart = (
        alt.Chart(counts, title="Leads by stage (people)")
        .mark_bar()
        .encode(
            y=alt.Y("stage:N", sort=list(counts["stage"]), title=None),
            x=alt.X("leads:Q", title="People"),
            color=alt.Color(
                "stage:N",
                sort=list(counts["stage"]),
                scale=alt.Scale(range=STAGE_COLORS),
                legend=None,
            ),
            tooltip=["stage", alt.Tooltip("leads:Q", format=",")],
        )
        .properties(width=560, height=200)
    )
    funnel = funnel_table(leads)
    table = pd.DataFrame(
        {
            "Stage": [STAGE_LABELS[s] for s in funnel["stage"]],
            "People now": [fmt_int(n) for n in funnel["leads"]],
            "Share": [fmt_pct(v) for v in funnel["share"]],
            "Reached it or later": [fmt_int(n) for n in funnel["reached"]],
            "Went on to the next": [
                (step_without_data(stage, after, no_data or {}) if after else None)
                or fmt_pct(rate)
                for stage, after, rate in zip(
                    funnel["stage"],
                    [*funnel["stage"][1:], None],
                    funnel["conversion"],
                    strict=True,
                )
            ],
        }
    )
    total = int(counts["leads"].sum())
    summary = [
        f"{fmt_int(total)} people in the view; "
        f"{fmt_int(counts['leads'].iloc[-1])} customers."
    ]
    return Section("Funnel", summary, [("Funnel", chart)], [("Stage counts", table)])


def order_currencies(dataset: Dataset) -> list[str]:
    """The distinct order currencies, sorted, as the Funnel page lists them."""
    return sorted(set(dataset.orders["currency"].dropna().astype(str)))


def new_customer_value(dataset: Dataset, as_of: dt.date) -> NewCustomerValue:
    """A new customer's value with the Funnel page's models and defaults.

    :func:`pipeline.clv_pricing.customer_models` fitted to ``as_of``, priced by
    :func:`pipeline.clv_pricing.expected_new_customer_value` (365 days, 10 % a year,
    margin 1).
    """
    return expected_new_customer_value(customer_models(dataset, as_of))


def view_velocity(
    dataset: Dataset,
    leads: pd.DataFrame,
    as_of: dt.date,
    new_customer: NewCustomerValue | None = None,
    horizon_days: float = WIN_HORIZON_DAYS,
) -> Velocity:
    """The Funnel page's velocity figures for one view.

    Same call as the page: :func:`pipeline.velocity.velocity_figures` with the
    new-customer value (``None`` when the orders are in several currencies, so the
    value is in expected customers), 12 weeks, the store's time zone; no weekly
    replay of past days (``stages_at=None``), which only the weekly history uses.
    """
    if new_customer is None:
        new_customer = new_customer_value(dataset, as_of)
    mixed = len(order_currencies(dataset)) > 1
    return velocity_figures(
        leads,
        as_of,
        None if mixed else new_customer.value,
        horizon_days,
        VALUE_WEEKS,
        dataset.timezone or "UTC",
        stages_at=None,
    )


def median_text(ttc) -> str:
    """The KM median as the Funnel page writes it ("not reached" when not)."""
    if np.isfinite(ttc.median_days):
        return fmt_days(ttc.median_days, 0)
    return "not reached" if ttc.converted else fmt_int(None)


def new_customer_sentence(new_customer: NewCustomerValue, currency: str | None) -> str:
    """What a new customer is worth and how it was priced, as the Funnel page says it.

    With the customer models, the first purchase and the predicted later value;
    otherwise the value alone. Either way followed by ``new_customer.how``. Without
    a value (no purchase by the 'as of' day), why not, and how pipeline value is
    counted instead.
    """
    if not np.isfinite(new_customer.value):
        return (
            f"{new_customer.how} Until a first purchase is in the data, pipeline "
            "value is counted in expected new customers, not money."
        )
    if new_customer.from_models:
        return (
            f"A new customer is worth {fmt_money(new_customer.value, currency)}: "
            f"{fmt_money(new_customer.first_purchase, currency)} first purchase "
            f"+ {fmt_money(new_customer.future, currency)} predicted later. "
            + new_customer.how
        )
    return (
        f"A new customer is valued at {fmt_money(new_customer.value, currency)}. "
        + new_customer.how
    )


def km_chart(ttc) -> alt.LayerChart:
    """The share of captured leads who became customers, with its 95 % band."""
    curve = curve_from_origin(ttc)
    days = alt.X("days:Q", title="Days since capture", axis=alt.Axis(format=",~f"))
    base = alt.Chart(curve).encode(x=days)
    band = base.mark_area(opacity=0.25, interpolate="step-after").encode(
        y=alt.Y(
            "converted_low:Q",
            title="Became customers (share of captured)",
            axis=alt.Axis(format="%"),
        ),
        y2="converted_high:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(y="converted:Q")
    return alt.layer(band, line).properties(
        width=560,
        height=220,
        title=alt.Title(
            "Lead-to-customer time (Kaplan-Meier)",
            subtitle=f"{fmt_int(ttc.converted)} of {fmt_int(ttc.leads)} captured "
            "leads bought; band: pointwise 95 % interval",
        ),
    )


def _win_sentence(win: pd.DataFrame, no_data: dict[str, str], days: str) -> str:
    """Win probability of each open stage with its interval, in one sentence."""
    win = win.set_index("stage")
    return (
        "Win probability within "
        f"{days} of entering the stage (Kaplan-Meier, open leads censored at the "
        "'as of' day): "
        + "; ".join(
            f"{STAGE_LABELS[stage].lower()} "
            + (
                not_measured(no_data[stage])
                if stage in no_data
                else win.loc[stage].get("note")
                or (
                    f"{fmt_pct(win.loc[stage, 'win_probability'])} (95 % interval "
                    f"{fmt_interval(win.loc[stage, 'low'], win.loc[stage, 'high'])})"
                )
            )
            for stage in OPEN_STAGES
            if stage in win.index
        )
        + "."
    )


def _median_sentence(ttc: TimeToCustomer) -> str:
    """The KM median capture-to-customer time, or why it is not reached or not
    given (too few leads)."""
    if ttc.note:
        return (
            "Median days, capture to customer (Kaplan-Meier): not given, "
            f"{ttc.note}; {fmt_int(ttc.converted)} of {fmt_int(ttc.leads)} captured "
            "leads bought."
        )
    if np.isfinite(ttc.median_days):
        bounds = (ttc.median_low, ttc.median_high)
        interval = (
            f" (95 % interval {fmt_interval(*bounds, fmt_days, digits=0)})"
            if any(np.isfinite(b) for b in bounds)
            else ""
        )
        return (
            f"Median days, capture to customer (Kaplan-Meier): {median_text(ttc)}"
            f"{interval}; {fmt_int(ttc.converted)} of "
            f"{fmt_int(ttc.leads)} captured leads bought."
        )
    return (
        f"Median days, capture to customer (Kaplan-Meier): {median_text(ttc)}: "
        f"{fmt_int(ttc.converted)} of {fmt_int(ttc.leads)} captured leads "
        "bought, fewer than half within the follow-up; the shares who bought "
        "within a given time are in the table below."
    )


def _value_sentences(
    value: PipelineValue,
    new_customer: NewCustomerValue,
    currencies: list[str],
    days: str,
    win_notes: pd.Series | None = None,
) -> list[str]:
    """Pipeline value and what a new customer is worth; expected customers only
    when the orders are in several currencies or a new customer has no value yet.

    ``win_notes`` is the win table's ``note`` by stage: a stage too few leads
    entered is named beside the range."""
    currency = currencies[0] if len(currencies) == 1 else None
    expected = float(value.by_stage["expected_customers"].sum())
    if len(currencies) > 1:
        return [
            f"Orders are in several currencies ({', '.join(currencies)}), which are "
            "never added up: pipeline value is shown in expected new customers, "
            f"{fmt_number(expected, 1)}, not money."
        ]
    if not np.isfinite(new_customer.value):
        return [
            new_customer_sentence(new_customer, currency),
            f"{fmt_number(expected, 1)} expected new customers within {days}.",
        ]
    notes = win_notes if win_notes is not None else pd.Series(dtype="string")
    open_leads = value.by_stage.set_index("stage")["open_leads"]
    unsure = [
        STAGE_LABELS[stage].lower()
        for stage, note in notes.items()
        if note and open_leads.get(stage, 0) > 0
    ]
    caveat = (
        f"; too few leads to estimate the win probability of {', '.join(unsure)}, "
        "whose open leads count from none to all won"
        if unsure
        else ""
    )
    value_range = fmt_interval(
        value.low, value.high, fmt_money, currency=currency, digits=0
    )
    return [
        new_customer_sentence(new_customer, currency),
        f"Pipeline value {fmt_money(value.total, currency, 0)} (approximate "
        f"95 % range {value_range}{caveat}"
        f"): Σ over open leads of P(customer within {days} | stage, time "
        "already in the stage) × a new customer's value; "
        f"{fmt_number(expected, 1)} expected new customers.",
    ]


def _velocity_tables(
    velocity: Velocity,
    no_data: dict[str, str],
    days: str,
    currencies: list[str],
    priced: bool = True,
) -> list[tuple[str, pd.DataFrame]]:
    """Win probability by stage, shares converted by day and value by stage (in
    money only in one currency and when a new customer is ``priced``)."""
    mixed = len(currencies) > 1 or not priced
    currency = currencies[0] if len(currencies) == 1 else None
    value = velocity.value
    win_table = pd.DataFrame(
        {
            "Open stage": velocity.win["stage"].map(STAGE_LABELS),
            "Open leads who entered": velocity.win["leads"].map(fmt_int),
            "Of those, customers by now": velocity.win["converted"].map(fmt_int),
            f"Win probability within {days}": [
                no_data.get(stage) or note or fmt_pct(p)
                for stage, p, note in zip(
                    velocity.win["stage"],
                    velocity.win["win_probability"],
                    velocity.win["note"],
                    strict=True,
                )
            ],
            "95 % interval": [
                fmt_interval(lo, hi)
                for lo, hi in zip(
                    velocity.win["low"], velocity.win["high"], strict=True
                )
            ],
        }
    )
    by = velocity.converted_by
    by_table = pd.DataFrame(
        {
            "Within": by["days"].map(lambda d: fmt_days(d, 0)),
            "Became customers": by["share"].map(fmt_pct),
            "95 % interval": [
                fmt_interval(lo, hi)
                for lo, hi in zip(by["low"], by["high"], strict=True)
            ],
        }
    )
    stage_value = pd.DataFrame(
        {
            "Open stage": value.by_stage["stage"].map(STAGE_LABELS),
            "Open leads": value.by_stage["open_leads"].map(fmt_int),
            "Mean win probability (given days in stage)": value.by_stage[
                "win_probability"
            ].map(fmt_pct),
            "Expected customers": value.by_stage["expected_customers"].map(
                lambda v: fmt_number(v, 1)
            ),
        }
        | (
            {}
            if mixed
            else {
                f"Value ({currency})" if currency else "Value": value.by_stage[
                    "value"
                ].map(lambda v: fmt_money(v, currency, 0)),
                "Approx. 95 % range": [
                    fmt_interval(lo, hi, fmt_money, currency=currency, digits=0)
                    for lo, hi in zip(
                        value.by_stage["low"], value.by_stage["high"], strict=True
                    )
                ],
            }
        )
    )
    return [
        ("Win probability by stage", win_table),
        ("Captured leads who became customers within", by_table),
        ("Where the pipeline value sits", stage_value),
    ]


def velocity_section(
    dataset: Dataset,
    leads: pd.DataFrame,
    as_of: dt.date,
    horizon_days: float = WIN_HORIZON_DAYS,
    gaps: dict[str, str] | None = None,
) -> Section:
    """Win probabilities, time to customer and pipeline value, as the Funnel page.

    Every figure comes from :func:`view_velocity` (the page's
    :func:`pipeline.velocity.velocity_figures` call and defaults), so the report and
    the page agree for the same view: Kaplan-Meier win probabilities within
    ``horizon_days`` with 95 % intervals, the KM median capture-to-customer time
    (or "not reached" with the shares converted by 7 to 365 days), and the
    pipeline value with its approximate 95 % range. ``gaps`` names the stages that
    cannot be measured (:func:`pipeline.data_coverage.unmeasured_stages`; by
    default the stages without data).
    """
    needed = {"entered_captured", "entered_customer", "stage"}
    if not needed <= set(leads.columns):
        return Section("Velocity", missing="the stage engine gave no entry times")
    currencies = order_currencies(dataset)
    new_customer = new_customer_value(dataset, as_of)
    velocity = view_velocity(dataset, leads, as_of, new_customer, horizon_days)
    no_data = stages_without_data(dataset) if gaps is None else gaps
    ttc = velocity.time_to_customer
    days = f"{horizon_days:,.0f} days"

    summary = [
        _win_sentence(velocity.win, no_data, days),
        _median_sentence(ttc),
        *_value_sentences(
            velocity.value,
            new_customer,
            currencies,
            days,
            velocity.win.set_index("stage")["note"],
        ),
    ]
    charts = [] if ttc.curve.empty else [("Lead-to-customer time", km_chart(ttc))]
    priced = bool(np.isfinite(new_customer.value))
    tables = _velocity_tables(velocity, no_data, days, currencies, priced)
    return Section("Velocity", summary, charts, tables)
