"""Funnel: stage counts and conversion, velocity, weekly trend and stalled leads."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from pages.common import current_view
from pipeline import funnel
from pipeline.formatting import fmt_days, fmt_int, fmt_money, fmt_number, fmt_pct
from pipeline.model import STAGES

STAGE_LABELS = {
    "awareness": "Awareness",
    "captured": "Captured",
    "engaged": "Engaged",
    "purchase_intent": "Purchase intent",
    "customer": "Customer",
}
MAX_WEEKS = 104
MAX_STALLED_ROWS = 1000

view = current_view()
leads = view.leads
tz = view.dataset.timezone or "UTC"
currencies = sorted(set(view.dataset.orders["currency"].dropna().astype(str)))
currency = currencies[0] if len(currencies) == 1 else None

st.title("Funnel")
st.caption(
    f"Leads as of {view.as_of:%d %b %Y} (end of day, {tz}), under the stage rules "
    "in the sidebar."
)

# Guard: nothing to show without people.
if leads.empty:
    st.info("No people in the data as of this day: upload exports with emails, "
            "phones or visitor ids, or move the 'As of' date later.")
    st.stop()

for note in funnel.coverage_warnings(view.dataset):
    st.warning(note)

# The funnel: current stage counts, customers split into first-time and repeat.
st.subheader("Leads by stage")
table = funnel.funnel_table(leads)
kinds = leads.loc[leads["stage"].astype(str) == "customer", "customer_kind"]
bars = pd.DataFrame(
    [
        {"stage": STAGE_LABELS[row.stage], "part": "all", "leads": row.leads,
         "share": row.share}
        for row in table.itertuples()
        if row.stage != "customer"
    ]
    + [
        {"stage": "Customer", "part": part, "leads": int((kinds == part).sum()),
         "share": (kinds == part).sum() / len(leads)}
        for part in ("first", "repeat")
    ]
)
chart = (
    alt.Chart(bars, title=alt.Title("Leads in each stage now",
                                    subtitle="Customers split into first-time and "
                                    "repeat buyers"))
    .mark_bar()
    .encode(
        x=alt.X("leads:Q", stack="center", title="Leads (persons)", axis=None),
        y=alt.Y("stage:N", sort=[STAGE_LABELS[s] for s in STAGES], title=None),
        color=alt.Color(
            "part:N",
            title="Customers",
            scale=alt.Scale(domain=["all", "first", "repeat"],
                            range=["#4c78a8", "#72b7b2", "#2a7f62"]),
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
st.dataframe(
    pd.DataFrame(
        {
            "stage": table["stage"].map(STAGE_LABELS),
            "leads now": table["leads"].map(fmt_int),
            "share of leads": table["share"].map(fmt_pct),
            "reached this stage or later": table["reached"].map(fmt_int),
            "went on to the next stage": table["conversion"].map(fmt_pct),
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

# Velocity.
st.subheader("Pipeline velocity")
velocity = funnel.velocity_table(leads, currencies)
values = velocity.set_index("metric")["value"]
units = velocity.set_index("metric")["unit"]


def shown(metric: str, unit: str, headline: bool = False) -> str:
    value = values[metric]
    if pd.isna(value):
        return fmt_int(value)
    if unit == "share":
        return fmt_pct(value)
    if unit == "days":
        return fmt_days(value)
    if unit.startswith("currency"):
        money = fmt_money(value, currency, digits=0 if headline else 2)
        per_day = unit == "currency per day" and not headline
        return f"{money} per day" if per_day else money
    return fmt_int(value)


columns = st.columns(4)
headlines = {
    "win rate": "Win rate",
    "median days to convert": "Median days to convert",
    "pipeline velocity": "Pipeline velocity per day",
    "pipeline value": "Pipeline value",
}
for column, (metric, label) in zip(columns, headlines.items(), strict=True):
    column.metric(label, shown(metric, units[metric], headline=True),
                  help=velocity.set_index("metric").loc[metric, "how"])
st.dataframe(
    pd.DataFrame(
        {
            "metric": velocity["metric"].str.capitalize(),
            "value": [shown(m, units[m]) for m in velocity["metric"]],
            "how": velocity["how"],
        }
    ),
    hide_index=True,
    width="stretch",
    key="funnel_velocity",
)
wins = funnel.stage_win_rates(leads)
st.markdown("**Where the pipeline value sits**")
st.dataframe(
    pd.DataFrame(
        {
            "stage": wins["stage"].map(STAGE_LABELS),
            "leads now": wins["leads"].map(fmt_int),
            "ever entered": wins["entered"].map(fmt_int),
            "of those, customers": wins["won"].map(fmt_int),
            "win rate": wins["win_rate"].map(fmt_pct),
            "value": wins["value"].map(lambda v: fmt_money(v, currency)),
        }
    ),
    hide_index=True,
    width="stretch",
    key="funnel_stage_value",
)
if currency is None and currencies:
    st.caption("Money is not added up across currencies: "
               f"{', '.join(currencies)}.")

# Weekly trend.
st.subheader("Weekly stage conversion")
weekly = funnel.weekly_conversion(leads, tz)
if weekly.empty:
    st.info("No dated stage entries yet: upload exports with dates (orders, events, "
            "sign-ups) to see the weekly trend.")
else:
    weekly["week"] = pd.to_datetime(weekly["week"])
    first_week = weekly["week"].max() - pd.Timedelta(weeks=MAX_WEEKS - 1)
    recent = weekly[weekly["week"] >= first_week]
    recent = recent.assign(stage=recent["stage"].map(STAGE_LABELS))
    base = alt.Chart(recent).encode(
        x=alt.X("week:T", title="Week entered (Monday)"),
        color=alt.Color("stage:N", title="Stage entered",
                        sort=[STAGE_LABELS[s] for s in STAGES]),
        tooltip=[
            alt.Tooltip("week:T", title="Week of"),
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("entered:Q", title="Entered (leads)", format=","),
            alt.Tooltip("advanced:Q", title="Advanced (leads)", format=","),
            alt.Tooltip("share_advanced:Q", title="Advanced", format=".1%"),
        ],
    )
    entries = base.mark_line(point=True).encode(
        y=alt.Y("entered:Q", title="Leads entering the stage"),
    ).properties(height=160, title=alt.Title("Entries per week"))
    share_y = alt.Y("share_advanced:Q", title="Advanced (share of entrants)",
                    axis=alt.Axis(format="%"))
    shares = alt.layer(
        base.mark_line(strokeWidth=1, opacity=0.6).encode(y=share_y),
        base.mark_circle(opacity=0.9).encode(
            y=share_y,
            size=alt.Size("entered:Q", title="Entrants", legend=None,
                          scale=alt.Scale(range=[10, 160])),
        ),
    ).properties(height=240, title=alt.Title(
        "Share of each week's entrants who moved to a later stage",
        subtitle="Dot size: entrants that week (small weeks swing widely); recent "
        "weeks are still open"))
    trend = alt.vconcat(entries, shares).resolve_scale(x="shared")
    st.altair_chart(trend, width="stretch", key="funnel_weekly")
    if len(recent) < len(weekly):
        st.caption(f"Showing the last {MAX_WEEKS} weeks.")

# Stalled leads.
st.subheader("Stalled leads")
stall_days = st.slider(
    "In their stage for more than (days)", 1, 365, 30, key="stall_days",
    help="Days since the lead first entered its current stage, as of the chosen day.",
)
stalled = funnel.stalled_leads(leads, view.as_of, stall_days, tz)
if stalled.empty:
    st.success(f"No open lead has been in its stage for more than {stall_days} days.")
else:
    counts = stalled["stage"].value_counts()
    st.markdown(
        f"**{fmt_int(len(stalled))} leads** stalled: "
        + ", ".join(f"{fmt_int(counts.get(s, 0))} {STAGE_LABELS[s].lower()}"
                    for s in funnel.OPEN_STAGES)
        + f"; median {fmt_number(stalled['days_in_stage'].median(), 0)} days in stage."
    )
    shown_rows = stalled.head(MAX_STALLED_ROWS)
    rule_labels = {name: rule.label for name, rule in view.rules.rules.items()}
    st.dataframe(
        pd.DataFrame(
            {
                "lead": shown_rows["person_id"],
                "stage": shown_rows["stage"].map(STAGE_LABELS),
                "why (rule)": shown_rows["rule"].map(lambda r: rule_labels.get(r, r)),
                "entered": shown_rows["entered"].dt.tz_convert(tz).dt.date,
                "days in stage": shown_rows["days_in_stage"],
            }
        ),
        hide_index=True,
        width="stretch",
        key="funnel_stalled",
    )
    if len(stalled) > MAX_STALLED_ROWS:
        st.caption(f"The {MAX_STALLED_ROWS:,} longest-stalled of {len(stalled):,} "
                   "are shown; the Leads page exports them all.")
