"""Funnel: stage counts and conversion, velocity, weekly trend and stalled leads."""

from __future__ import annotations

import datetime as dt

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pages.common import current_view
from pipeline import funnel
from pipeline.formatting import (
    altair_money_format,
    fmt_days,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_pct,
)
from pipeline.model import STAGES
from pipeline.timezones import zone_label


def chart_title(text: str, **params) -> alt.Title:
    """A chart title whose subtitle reads on both the light and the dark theme."""
    return alt.Title(text, subtitleColor="#8a94a6", **params)


STAGE_LABELS = {
    "awareness": "Awareness",
    "captured": "Captured",
    "engaged": "Engaged",
    "purchase_intent": "Purchase intent",
    "customer": "Customer",
}
MAX_WEEKS = 104
MAX_STALLED_ROWS = 1000
WEEKS = 12

view = current_view()
leads = view.leads
tz = view.dataset.timezone or "UTC"
currencies = sorted(set(view.dataset.orders["currency"].dropna().astype(str)))
currency = currencies[0] if len(currencies) == 1 else None
mixed_money = len(currencies) > 1

st.title("Funnel")
st.caption(
    f"Leads as of {view.as_of:%d %b %Y} (end of day, {zone_label(tz)}), under the "
    "stage rules "
    "in the sidebar."
)

# Guard: nothing to show without people.
if leads.empty:
    st.info(
        "No people in the data as of this day: upload exports with emails, "
        "phones or visitor ids, or move the 'As of' date later."
    )
    st.stop()

for note in funnel.coverage_warnings(view.dataset):
    st.warning(note)
no_data = funnel.stages_without_data(view.dataset)
orders_end = funnel.order_data_end(view.dataset)
past_orders = orders_end is not None and view.as_of > orders_end

# The funnel: current stage counts, customers split into first-time and repeat.
st.subheader("Leads by stage")
table = funnel.funnel_table(leads)
kinds = leads.loc[leads["stage"].astype(str) == "customer", "customer_kind"]
bars = pd.DataFrame(
    [
        {
            "stage": STAGE_LABELS[row.stage],
            "part": "all",
            "leads": row.leads,
            "share": row.share,
        }
        for row in table.itertuples()
        if row.stage != "customer"
    ]
    + [
        {
            "stage": "Customer",
            "part": part,
            "leads": int((kinds == part).sum()),
            "share": (kinds == part).sum() / len(leads),
        }
        for part in ("first", "repeat")
    ]
)
chart = (
    alt.Chart(
        bars,
        title=chart_title(
            "Leads in each stage now",
            subtitle="Customers split into first-time and repeat buyers",
        ),
    )
    .mark_bar()
    .encode(
        x=alt.X("leads:Q", stack="center", title="Leads (persons)", axis=None),
        y=alt.Y("stage:N", sort=[STAGE_LABELS[s] for s in STAGES], title=None),
        color=alt.Color(
            "part:N",
            title="Customers",
            scale=alt.Scale(
                domain=["all", "first", "repeat"],
                range=["#4c78a8", "#72b7b2", "#2a7f62"],
            ),
            legend=alt.Legend(values=["first", "repeat"]),
        ),
        tooltip=[
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("part:N", title="Part"),
            alt.Tooltip("leads:Q", title="Leads", format=","),
            alt.Tooltip("share:Q", title="Share of all leads", format=".1%"),
        ],
    )
    .properties(height=260)
)
st.altair_chart(chart, width="stretch", key="funnel_chart")

st.markdown("**Stage-to-stage conversion**")
next_stage = dict(zip(STAGES, [*STAGES[1:], None], strict=True))
st.dataframe(
    pd.DataFrame(
        {
            "Stage": table["stage"].map(STAGE_LABELS),
            "Leads now": table["leads"].map(fmt_int),
            "Share of leads": table["share"].map(fmt_pct),
            "Reached this stage or later": table["reached"].map(fmt_int),
            "Went on to the next stage": [
                (
                    funnel.step_without_data(stage, next_stage[stage], no_data)
                    or fmt_pct(rate)
                )
                if next_stage[stage]
                else fmt_pct(rate)
                for stage, rate in zip(table["stage"], table["conversion"], strict=True)
            ],
        }
    ),
    hide_index=True,
    width="stretch",
    key="funnel_conversion",
)
st.caption(
    "A lead has reached a stage when it is in that stage or a later one now, or "
    "entered it at some moment (engaged and intent leads lapse when their events age "
    "out of the window). Recent leads have had less time to move on."
)

# Velocity: win probability, time to customer, stage conversion, pipeline value.
st.subheader("Pipeline velocity")
horizon = st.slider(
    "Win horizon (days)",
    7,
    365,
    90,
    step=1,
    key="win_horizon_days",
    bind="query-params",
    help="Win probability = the chance a lead becomes a customer within this many "
    "days of entering its stage.",
)
rules_key = (view.data_key, view.rules.to_json())


@st.cache_data(show_spinner=False, max_entries=4)
def cached_new_customer_value(_dataset, data_key: str, as_of):
    """A new customer's value from BG/NBD and Gamma-Gamma fitted on the purchases to
    the 'as of' day: keyed on the data and the day, never on the stage rules, and
    only the small result is kept."""
    return funnel.expected_new_customer_value(funnel.customer_models(_dataset, as_of))


def past_leads() -> dict:
    """The leads of past days under the current rules, kept in this session."""
    store = st.session_state.setdefault("_lens_past_leads", {})
    if rules_key not in store:
        while len(store) >= 3:
            store.pop(next(iter(store)))
        store[rules_key] = {}
    return store[rules_key]


with st.spinner("Fitting the customer-value models…"):
    new_customer = cached_new_customer_value(view.dataset, view.data_key, view.as_of)

history_days = [view.as_of - dt.timedelta(days=7 * k) for k in range(1, WEEKS + 1)]
history_days.append(view.as_of - dt.timedelta(days=30))
kept = past_leads()
missing = [day for day in history_days if day not in kept]
if missing:
    slot = st.empty()
    with slot.status("Replaying the stage rules on past weeks for the value history…"):
        bar = st.progress(0.0)
        for i, day in enumerate(missing, start=1):
            kept[day] = view.engine.leads(view.rules, day)
            bar.progress(i / len(missing), text=f"{day:%d %b %Y}")
    slot.empty()
velocity = funnel.velocity_figures(
    leads,
    view.as_of,
    None if mixed_money else new_customer.value,
    horizon,
    WEEKS,
    tz,
    stages_at=kept.__getitem__,
)
win = velocity.win.set_index("stage")
ttc = velocity.time_to_customer
value = velocity.value

columns = st.columns(4)
for column, stage in zip(columns, funnel.OPEN_STAGES, strict=False):
    column.metric(
        f"Win probability: {STAGE_LABELS[stage].lower()}",
        fmt_pct(win.loc[stage, "win_probability"]),
        help=f"Leads entering this stage who become customers within {horizon} "
        f"days (Kaplan-Meier). 95 % interval "
        f"{fmt_interval(win.loc[stage, 'low'], win.loc[stage, 'high'])}.",
    )
if np.isfinite(ttc.median_days):
    median_text = fmt_days(ttc.median_days, 0)
else:
    median_text = "not reached" if ttc.converted else fmt_int(None)
columns[3].metric(
    "Median days, capture to customer",
    median_text,
    help="Kaplan-Meier median over captured leads, with open leads censored.",
)
st.dataframe(
    pd.DataFrame(
        {
            "Stage": velocity.win["stage"].map(STAGE_LABELS),
            "Open leads who entered": velocity.win["leads"].map(fmt_int),
            "Of those, customers by now": velocity.win["converted"].map(fmt_int),
            f"Win probability within {horizon} days": [
                no_data.get(stage) or fmt_pct(p)
                for stage, p in zip(
                    velocity.win["stage"], velocity.win["win_probability"], strict=True
                )
            ],
            "95 % interval": [
                fmt_interval(lo, hi)
                for lo, hi in zip(
                    velocity.win["low"], velocity.win["high"], strict=True
                )
            ],
        }
    ),
    hide_index=True,
    width="stretch",
    key="funnel_win_probability",
)
st.caption(
    "**Open leads who entered**: leads with a dated entry into the stage before they "
    "first bought (a customer who abandons a later checkout is not an open lead). "
    "**Of those, customers by now**: how many of them bought after entering. Leads "
    "who have not bought yet are censored at the 'as of' day (Kaplan-Meier): recent "
    "leads count for the time they have been watched, not as losses. The table below "
    "counts differently: every lead that ever entered the stage, at any time."
)

st.markdown("**Time from capture to first purchase**")
if ttc.curve.empty:
    st.info("No captured lead has become a customer yet, so there is no curve.")
else:
    curve = ttc.curve.assign(
        converted=1 - ttc.curve["survival"],
        converted_low=1 - ttc.curve["high"],
        converted_high=1 - ttc.curve["low"],
    )
    base = alt.Chart(curve).encode(
        x=alt.X("days:Q", title="Days since capture"),
    )
    band = base.mark_area(opacity=0.25, interpolate="step-after").encode(
        y=alt.Y(
            "converted_low:Q",
            title="Became customers (share of captured leads)",
            axis=alt.Axis(format="%"),
        ),
        y2="converted_high:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(
        y="converted:Q",
        tooltip=[
            alt.Tooltip("days:Q", title="Days since capture", format=",.1f"),
            alt.Tooltip("converted:Q", title="Became customers", format=".1%"),
            alt.Tooltip("converted_low:Q", title="95 % low", format=".1%"),
            alt.Tooltip("converted_high:Q", title="95 % high", format=".1%"),
            alt.Tooltip("at_risk:Q", title="Leads still open (at risk)", format=","),
        ],
    )
    km_chart = alt.layer(band, line).properties(
        height=260,
        title=chart_title(
            "Lead-to-customer time (Kaplan-Meier)",
            subtitle=f"{fmt_int(ttc.converted)} of {fmt_int(ttc.leads)} captured "
            "leads bought; band: pointwise 95 % interval",
        ),
    )
    st.altair_chart(km_chart, width="stretch", key="funnel_time_to_customer")
    if np.isfinite(ttc.median_days):
        interval = fmt_interval(ttc.median_low, ttc.median_high, fmt_days, digits=0)
        st.markdown(
            f"Half of captured leads buy within **{fmt_days(ttc.median_days, 0)}** "
            f"(95 % interval {interval})."
        )
    else:
        st.markdown(
            "Fewer than half of captured leads have bought within the follow-up, so "
            "the median time is not reached; the shares who bought within a given "
            "time are below."
        )
    by = velocity.converted_by
    st.dataframe(
        pd.DataFrame(
            {
                "Within": by["days"].map(lambda d: fmt_days(d, 0)),
                "Became customers": by["share"].map(fmt_pct),
                "95 % interval": [
                    fmt_interval(lo, hi)
                    for lo, hi in zip(by["low"], by["high"], strict=True)
                ],
            }
        ),
        hide_index=True,
        width="stretch",
        key="funnel_converted_by",
    )

st.markdown("**Stage conversion, with 95 % Wilson intervals**")
conv = velocity.conversion
step_names = [
    funnel.STEP_LABELS[(a, b)]
    for a, b in zip(conv["from_stage"], conv["to_stage"], strict=True)
]
gaps = [
    funnel.step_without_data(a, b, no_data)
    for a, b in zip(conv["from_stage"], conv["to_stage"], strict=True)
]


def measured(values: pd.Series, formatter, weekly: bool = False) -> list[str]:
    """A column's cells, with the reason instead where a step cannot be measured."""
    out = []
    for gap, value in zip(gaps, values, strict=True):
        if gap is not None:
            out.append(gap)
        elif weekly and past_orders:
            out.append(f"no orders after {orders_end:%Y-%m-%d}")
        else:
            out.append(formatter(value))
    return out


st.dataframe(
    pd.DataFrame(
        {
            "Step": step_names,
            "Ever entered the first stage": conv["reached"].map(fmt_int),
            "Of those, ever in the next": conv["converted"].map(fmt_int),
            "Conversion": measured(conv["rate"], fmt_pct),
            "95 % interval": [
                gap or fmt_interval(lo, hi)
                for gap, lo, hi in zip(gaps, conv["low"], conv["high"], strict=True)
            ],
            "This week": measured(conv["week_rate"], fmt_pct, weekly=True),
            "Previous 4 weeks (a week)": measured(
                conv["trailing_rate"], fmt_pct, weekly=True
            ),
            "p-value": measured(
                conv["p_value"], lambda v: fmt_number(v, 3), weekly=True
            ),
            "Changed?": measured(
                conv["differs"], {True: "yes", False: "no"}.get, weekly=True
            ),
        }
    ),
    hide_index=True,
    width="stretch",
    key="funnel_conversion_intervals",
)
st.caption(
    "**Ever entered the first stage**: every lead with a dated entry into the first "
    "stage by the 'as of' day, customers included. **Of those, ever in the next**: "
    "how many also entered the next stage, before or after. So these counts are "
    "larger than the win-probability table's, which follows only open leads from "
    "their entry to their first purchase."
)
for line in funnel.weekly_change_sentences(
    conv, missing=no_data, orders_end=orders_end, as_of=view.as_of
):
    st.markdown(f"- {line}")

# Pipeline value.
st.subheader("Pipeline value")
st.caption(
    f"Σ over open leads of P(customer within {horizon} days | stage, time already in "
    "the stage) × the expected value of a new customer. A lead stalled for months "
    "counts for less than one that has just arrived, so a stage's mean probability "
    "is below its win probability at entry."
)
if mixed_money:
    st.warning(
        f"Orders are in several currencies ({', '.join(currencies)}): pipeline value "
        "is shown in expected customers, not money."
    )
elif new_customer.from_models:
    st.success(
        f"A new customer is worth {fmt_money(new_customer.value, currency)}: "
        f"{fmt_money(new_customer.first_purchase, currency)} first purchase + "
        f"{fmt_money(new_customer.future, currency)} predicted later. "
        + new_customer.how
    )
else:
    st.warning(
        f"A new customer is valued at {fmt_money(new_customer.value, currency)}. "
        + new_customer.how
    )
mom = value.month_over_month
money = not mixed_money
left, middle, right = st.columns(3)
left.metric(
    "Pipeline value" if money else "Expected new customers",
    fmt_money(value.total, currency, 0)
    if money
    else fmt_number(value.by_stage["expected_customers"].sum(), 1),
    help="Approximate 95 % range from the win-probability intervals: "
    f"{fmt_interval(value.low, value.high, fmt_money, currency=currency, digits=0)}."
    if money
    else None,
)
middle.metric(
    "Expected new customers", fmt_number(value.by_stage["expected_customers"].sum(), 1)
)
right.metric(
    "Change over 30 days",
    fmt_pct(mom["change_pct"] / 100) if np.isfinite(mom["change_pct"]) else "–",
    delta=(fmt_money(mom["change"], currency, 0) if money else None),
    help="Pipeline value now against 30 days ago, both with today's win curves.",
)
st.dataframe(
    pd.DataFrame(
        {
            "Stage": value.by_stage["stage"].map(STAGE_LABELS),
            "Open leads": value.by_stage["open_leads"].map(fmt_int),
            "Mean win probability (given days in stage)": value.by_stage[
                "win_probability"
            ].map(fmt_pct),
            "Expected customers": value.by_stage["expected_customers"].map(
                lambda v: fmt_number(v, 1)
            ),
        }
        | (
            {
                "Value": value.by_stage["value"].map(
                    lambda v: fmt_money(v, currency, 0)
                ),
                "Approx. 95 % range": [
                    fmt_interval(lo, hi, fmt_money, currency=currency, digits=0)
                    for lo, hi in zip(
                        value.by_stage["low"], value.by_stage["high"], strict=True
                    )
                ],
            }
            if money
            else {}
        )
    ),
    hide_index=True,
    width="stretch",
    key="funnel_stage_value",
)
weekly_value = value.by_week.assign(week_end=pd.to_datetime(value.by_week["week_end"]))
if orders_end is not None:
    # weeks past the order data cannot show anyone buying: leave them out
    covered = weekly_value["week_end"] <= pd.Timestamp(orders_end)
    if not covered.all():
        st.caption(
            f"The order data ends on {orders_end:%Y-%m-%d}: the "
            f"{int((~covered).sum())} weeks after it are left out of the weekly "
            "value below, since nobody can be seen to buy in them. Set 'As of' to "
            f"{orders_end:%Y-%m-%d} to see the weeks before it."
        )
    weekly_value = weekly_value[covered]
y_field = "value" if money else "expected_customers"
value_chart = (
    alt.Chart(
        weekly_value,
        title=chart_title(
            "Pipeline value at the end of each week",
            subtitle="Past weeks replay the stage rules on that day; win curves are "
            "today's",
        ),
    )
    .mark_line(point=True)
    .encode(
        x=alt.X(
            "week_end:T",
            title="Week ending",
            axis=alt.Axis(format="%d %b %Y", labelAngle=0, labelOverlap=True),
        ),
        y=alt.Y(
            f"{y_field}:Q",
            title=f"Pipeline value ({currency})" if money else "Expected customers",
        ),
        tooltip=[
            alt.Tooltip("week_end:T", title="Week ending"),
            alt.Tooltip("open_leads:Q", title="Open leads", format=","),
            alt.Tooltip(
                "expected_customers:Q", title="Expected customers", format=",.1f"
            ),
        ]
        + (
            [
                alt.Tooltip(
                    "value:Q", title="Value", format=altair_money_format(currency)
                )
            ]
            if money
            else []
        ),
    )
    .properties(height=240)
)
if weekly_value.empty:
    st.info("No week of the value history is covered by the order data.")
else:
    st.altair_chart(value_chart, width="stretch", key="funnel_value_weekly")

# Weekly trend.
st.subheader("Weekly stage conversion")
weekly = funnel.weekly_conversion(leads, tz)
weekly["week"] = pd.to_datetime(weekly["week"])
notes = []
if orders_end is not None and len(weekly):
    # weeks after the order data: nobody can be seen to move on to customer
    last_monday = pd.Timestamp(orders_end) - pd.Timedelta(
        days=pd.Timestamp(orders_end).day_of_week
    )
    if (weekly["week"] > last_monday).any():
        notes.append(
            f"weeks after the order data (it ends {orders_end:%Y-%m-%d}) are left out"
        )
    weekly = weekly[weekly["week"] <= last_monday]
if weekly.empty:
    st.info(
        "No dated stage entries in weeks covered by the data: upload exports "
        "with dates (orders, events, sign-ups) to see the weekly trend."
    )
else:
    first_week = weekly["week"].max() - pd.Timedelta(weeks=MAX_WEEKS - 1)
    recent = weekly[weekly["week"] >= first_week]
    if len(recent) < len(weekly):
        notes.append(f"showing the last {MAX_WEEKS} weeks")
    recent = funnel.weekly_segments(recent)
    recent = recent.assign(stage=recent["stage"].map(STAGE_LABELS))
    present = set(recent["stage"])
    stage_order = [STAGE_LABELS[s] for s in STAGES if STAGE_LABELS[s] in present]
    # Streamlit fits title, legend and axes into the chart's height: the legend
    # sits on the right with whole labels, axis labels stay horizontal.
    legend = alt.Legend(title="Stage entered", labelLimit=0)
    x_axis = alt.X(
        "week:T",
        title="Week entered (Monday)",
        axis=alt.Axis(format="%b %Y", labelAngle=0, labelOverlap=True),
    )
    base = alt.Chart(recent).encode(
        x=x_axis,
        color=alt.Color(
            "stage:N",
            sort=stage_order,
            legend=legend,
            scale=alt.Scale(domain=stage_order),
        ),
        detail="segment:N",
        tooltip=[
            alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("entered:Q", title="Entered (leads)", format=","),
            alt.Tooltip("advanced:Q", title="Advanced (leads)", format=","),
            alt.Tooltip("share_advanced:Q", title="Advanced", format=".1%"),
        ],
    )
    entries = (
        base.mark_line(point=True)
        .encode(
            y=alt.Y("entered:Q", title="Leads entering the stage"),
        )
        .properties(
            height=300,
            title=chart_title(
                "Entries per week",
                subtitle="Lines break where a stage had no entries for a week or more",
            ),
        )
    )
    st.altair_chart(entries, width="stretch", key="funnel_weekly")
    share_y = alt.Y(
        "share_advanced:Q",
        title="Advanced (share of entrants)",
        axis=alt.Axis(format="%"),
    )
    shares = alt.layer(
        base.mark_line(strokeWidth=1, opacity=0.6).encode(y=share_y),
        base.mark_circle(opacity=0.9).encode(
            y=share_y,
            size=alt.Size(
                "entered:Q",
                title="Entrants",
                legend=None,
                scale=alt.Scale(range=[10, 160]),
            ),
        ),
    ).properties(
        height=320,
        title=chart_title(
            "Share of each week's entrants who moved to a later stage",
            subtitle="Dot size: entrants that week (small weeks swing widely); recent "
            "weeks are still open",
        ),
    )
    st.altair_chart(shares, width="stretch", key="funnel_weekly_share")
    if notes:
        st.caption("In these charts: " + "; ".join(notes) + ".")

# Stalled leads.
st.subheader("Stalled leads")
stall_days = st.slider(
    "In their stage for more than (days)",
    1,
    365,
    30,
    key="stall_days",
    bind="query-params",
    help="Days since the lead first entered its current stage, as of the chosen day.",
)
stalled = funnel.stalled_leads(leads, view.as_of, stall_days, tz)
if stalled.empty:
    st.success(f"No open lead has been in its stage for more than {stall_days} days.")
else:
    counts = stalled["stage"].value_counts()
    st.markdown(
        f"**{fmt_int(len(stalled))} leads** stalled: "
        + ", ".join(
            f"{fmt_int(counts.get(s, 0))} {STAGE_LABELS[s].lower()}"
            for s in funnel.OPEN_STAGES
        )
        + f"; median {fmt_number(stalled['days_in_stage'].median(), 0)} days in stage."
    )
    shown_rows = stalled.head(MAX_STALLED_ROWS)
    rule_labels = {name: rule.label for name, rule in view.rules.rules.items()}
    st.dataframe(
        pd.DataFrame(
            {
                "Lead": shown_rows["person_id"],
                "Stage": shown_rows["stage"].map(STAGE_LABELS),
                "Why (rule)": shown_rows["rule"].map(lambda r: rule_labels.get(r, r)),
                "Entered": shown_rows["entered"].dt.tz_convert(tz).dt.date,
                "Days in stage": shown_rows["days_in_stage"],
            }
        ),
        hide_index=True,
        width="stretch",
        key="funnel_stalled",
    )
    if len(stalled) > MAX_STALLED_ROWS:
        st.caption(
            f"The {MAX_STALLED_ROWS:,} longest-stalled of {len(stalled):,} "
            "are shown; the Leads page exports them all."
        )
