"""Funnel: stage counts and conversion, velocity, weekly trend and stalled leads.

The figures come from ``pipeline`` (:mod:`pipeline.funnel`, :mod:`pipeline.velocity`,
:mod:`pipeline.funnel_weekly`, :mod:`pipeline.data_coverage`); the charts, the
formatted tables and the two larger sections from :mod:`pages.charts_funnel`,
:mod:`pages.tables_funnel` and :mod:`pages.sections_funnel`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from pages import charts_funnel as charts
from pages import sections_funnel as sections
from pages import tables_funnel as tables
from pages.common import current_view
from pages.tables import show_table
from pipeline import clv_pricing, data_coverage, funnel, funnel_weekly, velocity
from pipeline.formatting import (
    fmt_int,
    fmt_interval,
    fmt_number,
    fmt_pct,
)
from pipeline.funnel import STAGE_LABELS
from pipeline.report_funnel import (
    median_text,
    order_currencies,
)
from pipeline.timezones import zone_label

MAX_WEEKS = 104
MAX_STALLED_ROWS = 1000
WEEKS = 12

view = current_view()
leads = view.leads
tz = view.dataset.timezone or "UTC"
currencies = order_currencies(view.dataset)
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

for note in data_coverage.coverage_warnings(view.dataset):
    st.warning(note)
no_data = data_coverage.unmeasured_stages(view.dataset, view.rules)
orders_end = data_coverage.order_data_end(view.dataset)
past_orders = orders_end is not None and view.as_of > orders_end

# The funnel: current stage counts, customers split into first-time and repeat.
st.subheader("Leads by stage")
table = funnel.funnel_table(leads)
st.altair_chart(
    charts.stage_chart(funnel.stage_split(leads)), width="stretch", key="funnel_chart"
)

st.markdown("**Stage-to-stage conversion**")
show_table(
    tables.conversion_table(table, no_data),
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
    models = clv_pricing.customer_models(_dataset, as_of)
    return clv_pricing.expected_new_customer_value(models)


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

kept = past_leads()
missing = [day for day in velocity.replay_days(view.as_of, WEEKS) if day not in kept]
if missing:
    slot = st.empty()
    with slot.status("Replaying the stage rules on past weeks for the value history…"):
        bar = st.progress(0.0)
        for i, day in enumerate(missing, start=1):
            kept[day] = view.engine.leads(view.rules, day)
            bar.progress(i / len(missing), text=f"{day:%d %b %Y}")
    slot.empty()
# Money only in one currency and once a new customer has a value.
money = not mixed_money and np.isfinite(new_customer.value)
figures = velocity.velocity_figures(
    leads,
    view.as_of,
    new_customer.value if money else None,
    horizon,
    WEEKS,
    tz,
    stages_at=kept.__getitem__,
)
win = figures.win.set_index("stage")
ttc = figures.time_to_customer
value = figures.value

columns = st.columns(4)
switched_off = data_coverage.stages_switched_off(view.rules)
for column, stage in zip(columns, funnel.OPEN_STAGES, strict=False):
    column.metric(
        f"Win probability: {STAGE_LABELS[stage].lower()}",
        "off"
        if stage in switched_off
        else ("too few leads" if win.loc[stage, "note"] else None)
        or fmt_pct(win.loc[stage, "win_probability"]),
        help=f"Leads entering this stage who become customers within {horizon} "
        f"days (Kaplan-Meier). 95 % interval "
        f"{fmt_interval(win.loc[stage, 'low'], win.loc[stage, 'high'])}."
        + (
            " Every rule of this stage is switched off."
            if stage in switched_off
            else f" {win.loc[stage, 'note'].capitalize()}."
            if win.loc[stage, "note"]
            else ""
        ),
    )
columns[3].metric(
    "Median days, capture to customer",
    median_text(ttc),
    help="Kaplan-Meier median over captured leads, with open leads censored.",
)
show_table(
    tables.win_table(figures.win, horizon, no_data),
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

sections.time_to_customer(figures)

st.markdown("**Stage conversion, with 95 % Wilson intervals**")
conv = figures.conversion
show_table(
    tables.intervals_table(conv, no_data, orders_end, past_orders),
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
for line in funnel_weekly.weekly_change_sentences(
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
sections.value_summary(value, new_customer, currencies, currency)
show_table(
    tables.stage_value_table(value.by_stage, money, currency),
    hide_index=True,
    width="stretch",
    key="funnel_stage_value",
)
weekly_value, cut_weeks = funnel_weekly.value_weeks_with_orders(
    value.by_week, orders_end
)
if cut_weeks:
    st.caption(
        f"The order data ends on {orders_end:%Y-%m-%d}: the "
        f"{cut_weeks} weeks after it are left out of the weekly "
        "value below, since nobody can be seen to buy in them. Set 'As of' to "
        f"{orders_end:%Y-%m-%d} to see the weeks before it."
    )
if weekly_value.empty:
    st.info("No week of the value history is covered by the order data.")
else:
    st.altair_chart(
        charts.value_chart(weekly_value, money, currency),
        width="stretch",
        key="funnel_value_weekly",
    )

# Weekly trend.
st.subheader("Weekly stage conversion")
weekly = funnel_weekly.weekly_conversion(leads, tz)
weekly, cut_after_orders = funnel_weekly.weeks_with_orders(weekly, orders_end)
notes = []
if cut_after_orders:
    notes.append(
        f"weeks after the order data (it ends {orders_end:%Y-%m-%d}) are left out"
    )
if weekly.empty:
    st.info(
        "No dated stage entries in weeks covered by the data: upload exports "
        "with dates (orders, events, sign-ups) to see the weekly trend."
    )
else:
    recent = funnel_weekly.last_weeks(weekly, MAX_WEEKS)
    if len(recent) < len(weekly):
        notes.append(f"showing the last {MAX_WEEKS} weeks")
    recent = funnel_weekly.weekly_segments(recent)
    recent = recent.assign(stage=recent["stage"].map(STAGE_LABELS))
    st.altair_chart(
        charts.weekly_entries_chart(recent), width="stretch", key="funnel_weekly"
    )
    st.altair_chart(
        charts.weekly_share_chart(recent), width="stretch", key="funnel_weekly_share"
    )
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
    show_table(
        tables.stalled_table(shown_rows, rule_labels, tz),
        hide_index=True,
        width="stretch",
        key="funnel_stalled",
    )
    if len(stalled) > MAX_STALLED_ROWS:
        st.caption(
            f"The {MAX_STALLED_ROWS:,} longest-stalled of {len(stalled):,} "
            "are shown; the Leads page exports them all."
        )
