"""Overview: what was loaded, the data check, stage counts and what is missing."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from pages.common import current_view
from pipeline.ingest import match_rates
from pipeline.ingest.mapping import candidates_in_upload, validate_mapping
from pipeline.model import EVENT_TYPES, STAGES, InputError

MAPPING_KEY = "_lens_mapping"
DAYFIRST_KEY = "_lens_dayfirst"
NONE = "(none)"

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

view = current_view()
data = view.dataset

st.title("Overview")
if view.is_sample:
    st.info("This is the demo brand. Upload your own exports in the sidebar.")

# What was loaded
st.subheader("What was loaded")
files = pd.DataFrame(
    [
        {
            "file": r.file,
            "kind": r.kind,
            "from": r.date_min.date() if r.date_min is not None else None,
            "to": r.date_max.date() if r.date_max is not None else None,
            "rows read": r.rows_read,
            "loaded": r.rows_loaded,
            "excluded": r.rows_excluded,
            "duplicate": r.rows_duplicate,
            "rejected": r.rows_rejected,
        }
        for r in data.reports
    ]
)
st.dataframe(files, hide_index=True, width="stretch", key="overview_files")
st.caption(f"Store time zone: {data.timezone}. Days, weeks and 'as of' use it.")

# Stage counts, and what is missing, in words
st.subheader("Leads by stage")
counts = view.leads["stage"].value_counts().reindex(list(STAGES), fill_value=0)
columns = st.columns(len(STAGES))
present = set(data.events["event"].dropna().unique())
for column, stage in zip(columns, STAGES, strict=True):
    needs, missing_text = STAGE_NEEDS.get(stage, ((), ""))
    if counts[stage] == 0 and needs and not present.intersection(needs):
        column.metric(stage.replace("_", " "), "—")
        column.caption(missing_text)
    else:
        column.metric(stage.replace("_", " "), f"{counts[stage]:,}")
if "customer_kind" in view.leads:
    kinds = view.leads["customer_kind"].value_counts()
    st.caption(
        "Customers: "
        + ", ".join(f"{int(n):,} {k.replace('_', ' ')}" for k, n in kinds.items())
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
        {"file": r.file, "row": p.row, "column": p.column, "problem": p.message}
        for r in data.reports
        if not r.meta.get("failed")
        for p in r.problems
    ]
)
if len(problems):
    st.error(f"{len(problems):,} rows were rejected or doubtful: see each below.")
    st.dataframe(problems, hide_index=True, width="stretch", key="overview_problems")
else:
    st.success(
        "Every row read was loaded, excluded by a rule or counted as a duplicate."
    )

excluded = pd.DataFrame(
    [
        {"file": r.file, "reason": reason, "rows": n}
        for r in data.reports
        for reason, n in r.excluded_by.items()
        if n
    ]
)
if len(excluded):
    st.markdown(
        "**Rows excluded by a rule** (test, voided, cancelled, refunded orders)"
    )
    st.dataframe(excluded, hide_index=True, width="stretch", key="overview_excluded")

purchases = data.purchases()
no_person = int(purchases["person_id"].isna().sum())
if len(purchases):
    st.markdown(
        f"**Orders without a person:** {no_person:,} of {len(purchases):,} purchases "
        "have no email or phone; they count as revenue but not as leads."
    )

rates = pd.DataFrame(match_rates(data))
if len(rates):
    rates["share"] = (rates["matched"] / rates["people"]).map("{:.0%}".format)
    st.markdown("**People matched between sources** (email, then phone, then ids)")
    st.dataframe(rates, hide_index=True, width="stretch", key="overview_matches")

# Questions only the user can answer: how to read a table of no known kind, and
# which way round ambiguous dates are. Answers stay in this session (MAPPING_KEY,
# DAYFIRST_KEY) and are applied the next time the uploads are read.
unknown = [
    r
    for r in data.reports
    if r.meta.get("failed") and "could not be recognised" in r.problems[0].message
]
if unknown and not view.is_sample:
    st.subheader("Map columns")
    st.caption(
        "These files are of no kind we know. Say which column holds what, and they "
        "load as events."
    )
    uploads = list(st.session_state.get("_lens_files") or ())
    report = unknown[0]
    columns = candidates_in_upload(uploads, report.file)
    if columns:
        with st.form(key="mapping_form"):
            st.markdown(f"**{report.file}**")
            person = st.selectbox(
                "Person (email, phone or id)", columns, key="map_person"
            )
            stamp = st.selectbox("Time", columns, key="map_timestamp")
            event = st.selectbox(
                "Event (a column, or one type for every row)",
                columns + [f"always {e}" for e in EVENT_TYPES],
                key="map_event",
            )
            channel = st.selectbox("Channel", [NONE, *columns], key="map_channel")
            value = st.selectbox("Value", [NONE, *columns], key="map_value")
            submitted = st.form_submit_button("Use this mapping")
        if submitted:
            mapping = {"person": person, "timestamp": stamp}
            mapping["event"] = "=" + event[7:] if event.startswith("always ") else event
            if channel != NONE:
                mapping["channel"] = channel
            if value != NONE:
                mapping["value"] = value
            st.session_state[MAPPING_KEY] = mapping
    preset = st.file_uploader("Or load a saved mapping", type="json", key="map_preset")
    if preset is not None:
        try:
            loaded = json.loads(preset.getvalue())
            validate_mapping(loaded, file=preset.name)
            st.session_state[MAPPING_KEY] = loaded
        except (json.JSONDecodeError, UnicodeDecodeError, InputError) as exc:
            st.error(f"{preset.name}: {exc}")
    if st.session_state.get(MAPPING_KEY):
        st.download_button(
            "Save this mapping",
            json.dumps(st.session_state[MAPPING_KEY], indent=2),
            file_name="mapping.json",
            mime="application/json",
            key="map_save",
        )

ambiguous = [r for r in data.reports if r.meta.get("ambiguous_dates")]
if ambiguous and not view.is_sample:
    st.subheader("How are dates written?")
    names = ", ".join(f"{r.file} ({r.meta['ambiguous_dates']})" for r in ambiguous)
    answer = st.radio(
        f"Dates such as 01/02/2024 in {names} could be either; no value tells.",
        ["month first (01/02 = 2 January)", "day first (01/02 = 1 February)"],
        key="dates_dayfirst",
    )
    st.session_state[DAYFIRST_KEY] = answer.startswith("day")
