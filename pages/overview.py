"""Overview: what was loaded, the data check, stage counts and what is missing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import column_mapping, common
from pages.charts_funnel import awareness_chart
from pages.common import current_view
from pages.tables import show_table
from pipeline.awareness import awareness_traffic
from pipeline.data_check import data_check_verdict, short_kind
from pipeline.data_coverage import channel_report_files, stages_switched_off
from pipeline.formatting import MISSING, fmt_int, fmt_pct
from pipeline.funnel import CUSTOMER_KINDS, customer_kinds
from pipeline.ingest import match_matrix, match_rates, unrecognised_files
from pipeline.ingest.base import REGISTRY
from pipeline.model import STAGES
from pipeline.timezones import report_days, zone_label

STAGE_NEEDS = {
    "engaged": (
        ("email_open", "email_click", "product_view", "wishlist_add"),
        "no engagement events uploaded: add Klaviyo events (opens, clicks) or GA4 "
        "product views to fill this stage",
    ),
    "purchase_intent": (
        ("add_to_cart", "checkout_started", "product_view", "sizing_view"),
        "no cart, checkout or product-view events uploaded: add Shopify abandoned "
        "checkouts or GA4 events to fill this stage",
    ),
    "customer": (
        ("order",),
        "no orders uploaded: add a Shopify orders export to fill this stage",
    ),
    "awareness": (
        ("session", "page_view", "ad_click"),
        "no anonymous traffic uploaded: add GA4 sessions to see awareness",
    ),
}

# File kinds that fill a stage, to tell an empty upload from a missing one
STAGE_KINDS = {
    "customer": ("shopify_orders", "transactions", "events_csv", "ga4_bigquery"),
    "purchase_intent": ("shopify_checkouts", "events_csv", "ga4_bigquery"),
    "engaged": ("klaviyo_events", "events_csv", "ga4_bigquery"),
    "awareness": ("ga4_bigquery", "events_csv"),
}


def kind_help(kinds: list[str]) -> str:
    """The Kind column's tooltip: each short kind name with its full description."""
    described = {
        short_kind(kind): REGISTRY[kind].description
        for kind in kinds
        if kind in REGISTRY and REGISTRY[kind].description
    }
    return "Found from each file's columns and values, never its name. " + "; ".join(
        f"{name}: {text}" for name, text in described.items()
    )


def fmt_date(day: object) -> str:
    """A calendar date as ISO text, or the missing-value dash."""
    return MISSING if day is None else str(day)


def channel_report_text() -> str:
    """Why awareness is empty when the only traffic uploaded is GA4 reports."""
    if not channel_report_files(data):
        return ""
    return (
        "GA4 report uploaded: it counts traffic by channel, not per visitor, so no "
        "visitor can be counted here (its traffic is shown under 'Awareness traffic "
        "by channel'). Add the GA4 BigQuery export to count visitors"
    )


def empty_upload_text(stage: str) -> str:
    """Why a stage is empty when a file that fills it has a header and no rows."""
    empty = [
        r.file
        for r in data.reports
        if r.kind in STAGE_KINDS.get(stage, ())
        and not r.meta.get("failed")
        and r.rows_read == 0
    ]
    if not empty:
        return ""
    names = ", ".join(empty)
    return (
        f"{names} was uploaded but has a header and no rows: export it again for a "
        "date range that holds data"
    )


view = current_view()
data = view.dataset

st.title("Overview")
if view.is_sample:
    st.info("This is the demo brand. Upload your own exports in the sidebar.")

# What was loaded: dates are the store's calendar days, not UTC ones
st.subheader("What was loaded")
zone = data.timezone
files = pd.DataFrame(
    [
        {
            "File": r.file,
            "Kind": short_kind(r.kind),
            "From": fmt_date(report_days(r, zone)[0]),
            "To": fmt_date(report_days(r, zone)[1]),
            "Rows read": r.rows_read,
            "Loaded": r.rows_loaded,
            "Excluded": r.rows_excluded,
            "Duplicate": r.rows_duplicate,
            "Rejected": r.rows_rejected,
        }
        for r in data.reports
    ]
)
# Widths that keep every column in view at 1280 px, the kinds and dates whole, and
# every file in view, with no scroll bar taking room.
count_columns = {
    name: st.column_config.NumberColumn(format="localized", width=width)
    for name, width in [
        ("Rows read", 76),
        ("Loaded", 60),
        ("Excluded", 68),
        ("Duplicate", 72),
        ("Rejected", 67),
    ]
}
show_table(
    files,
    hide_index=True,
    width="stretch",
    height="content",
    key="overview_files",
    column_config={
        "File": st.column_config.TextColumn(width=165),
        "Kind": st.column_config.TextColumn(
            width=130, help=kind_help([r.kind for r in data.reports])
        ),
        "From": st.column_config.TextColumn(width=84),
        "To": st.column_config.TextColumn(width=84),
    }
    | count_columns,
)
st.caption(
    f"Store time zone: {zone_label(zone)}. Days, weeks, the From and To dates and "
    "'as of' are counted in it. Counts are rows of each file (a Shopify order has one "
    "row per line item)."
)

# Stage counts, and what is missing, in words
st.subheader("Leads by stage")
counts = view.leads["stage"].value_counts().reindex(list(STAGES), fill_value=0)
columns = st.columns(len(STAGES))
present = set(data.events["event"].dropna().unique())
switched_off = stages_switched_off(view.rules)
for column, stage in zip(columns, STAGES, strict=True):
    needs, missing_text = STAGE_NEEDS.get(stage, ((), ""))
    label = stage.replace("_", " ")
    if counts[stage] == 0 and needs and not present.intersection(needs):
        column.metric(label, "—")
        reason = channel_report_text() if stage == "awareness" else ""
        column.caption(reason or empty_upload_text(stage) or missing_text)
    elif stage in switched_off:
        column.metric(label, "off")
        column.caption(
            f"every {label} rule is switched off in the sidebar: no lead can be in "
            "this stage, and no conversion through it is measured"
        )
    else:
        column.metric(label, f"{counts[stage]:,}")
kinds = customer_kinds(view.leads)
st.caption(
    "Customers: "
    + ", ".join(f"{fmt_int(n)} {CUSTOMER_KINDS[k]}" for k, n in kinds.items())
)

# Awareness traffic from GA4 reports: volume by channel, not people
traffic = awareness_traffic(data.aggregates)
if traffic is not None:
    st.subheader("Awareness traffic by channel")
    if traffic.by_period:
        st.altair_chart(
            awareness_chart(traffic.top_channels(), traffic.metric),
            width="stretch",
        )
    totals = traffic.totals().round().astype("int64")  # (counts: shown with commas)
    show_table(
        totals.rename_axis("Channel").reset_index(name=traffic.metric), hide_index=True
    )
    st.caption(
        f"{traffic.metric} from {traffic.source}. GA4 counts visits, not people, so "
        "these are not added to the awareness stage, and a second report counting "
        "the same traffic is not added to them."
    )

# Coverage notes
if data.notes:
    st.subheader("What the data can and cannot tell")
    for note in data.notes:
        st.markdown(f"- {note}")

# The data check panel
st.subheader("Data check")
failed = [r for r in data.reports if r.meta.get("failed")]
for report in failed:
    st.error(f"{report.file}: {report.problems[0].message}")
problems = pd.DataFrame(
    [
        {
            "File": r.file,
            "Row": r_row,
            "Column": p.column or MISSING,
            "Problem": p.message,
        }
        for r in data.reports
        if not r.meta.get("failed")
        for p in r.problems
        for r_row in [p.row]
    ]
)
if len(problems):
    problems["Row"] = problems["Row"].astype("Int64")  # (a whole-file problem: none)
    order = [
        (i, -1 if p.row is None else p.row)
        for i, r in enumerate(r for r in data.reports if not r.meta.get("failed"))
        for p in r.problems
    ]
    problems = problems.iloc[sorted(range(len(order)), key=order.__getitem__)]
level, verdict = data_check_verdict(data.reports, flagged=len(problems))
{"success": st.success, "warning": st.warning, "error": st.error}[level](verdict)
if len(problems):
    show_table(problems, hide_index=True, width="stretch", key="overview_problems")

excluded = pd.DataFrame(
    [
        {"File": r.file, "Reason": reason, "Rows of the file": n}
        for r in data.reports
        for reason, n in r.excluded_by.items()
        if n
    ]
)
if len(excluded):
    st.markdown(
        "**Rows excluded by a rule** (test, voided, cancelled, refunded orders)"
    )
    st.caption(
        "Counted in rows of the file: a Shopify order has one row per line item, so "
        "these differ from the order counts in the notes above, which count orders."
    )
    show_table(excluded, hide_index=True, width="stretch", key="overview_excluded")

purchases = data.purchases()
no_person = int(purchases["person_id"].isna().sum())
if len(purchases):
    st.markdown(
        f"**Orders without a person:** {no_person:,} of {len(purchases):,} purchases "
        "have no email or phone; they count as revenue but not as leads."
    )

rates = match_matrix(match_rates(data), short_kind)
if len(rates):
    st.markdown(
        "**People matched between sources** (email, then phone, then ids): the share "
        "of each row's people also found in the column's source"
    )
    show_table(
        rates.style.format(
            fmt_pct, subset=list(rates.columns[1:]), na_rep=MISSING
        ).format(fmt_int, subset=["People"]),
        width="stretch",
        key="overview_matches",
    )

# Questions only the user can answer: how to read a table of no known kind, and
# which way round ambiguous dates are. The answers stay in this session and the
# uploads are read again with them at once (pages.column_mapping).
unknown = unrecognised_files(data.reports)
if not view.is_sample:
    column_mapping.mapping_step(
        tuple(st.session_state.get(common.FILES_KEY) or ()),
        unknown,
        column_mapping.mapped_files(data.reports),
    )
    column_mapping.date_order_step(
        {
            r.file: r.meta["ambiguous_dates"]
            for r in data.reports
            if r.meta.get("ambiguous_dates")
        }
    )
