"""Leads and exports: scored leads, segments to act on, files for Klaviyo and ads."""

from __future__ import annotations

import streamlit as st

from pages.charts_leads import calibration_chart, coefficient_chart
from pages.common import current_view
from pages.tables import show_table
from pages.tables_leads import TEXT_LABELS, coefficients_table, in_words
from pipeline import clv_pricing, exports, report, scoring
from pipeline.formatting import fmt_int, fmt_money, fmt_number, fmt_pct
from pipeline.leads_reasons import no_intent_reason, no_leads_reason

st.title("Leads and exports")
view = current_view()
leads = view.leads

# Guard: scoring and exports need leads with an email or a phone.
identified = leads[leads["identified"].astype("boolean").fillna(False)]
if identified.empty:
    st.info(no_leads_reason(view.dataset, view.as_of))
    st.stop()

# Inputs.
left, middle, right = st.columns(3)
segment_name = left.selectbox(
    "Segment",
    list(exports.SEGMENTS),
    format_func=exports.SEGMENTS.get,
    key="segment",
    bind="query-params",
)
horizon = middle.slider(
    "Purchase window after the cut-off (days)",
    7,
    90,
    30,
    key="score_horizon_days",
    bind="query-params",
    help="The lead score predicts a purchase within this many days.",
)
top = right.slider(
    "High-value list length",
    10,
    500,
    100,
    step=10,
    key="high_value_top",
    bind="query-params",
)


# Work: the lead-score model and predicted values, kept per view in the session.
def _cached(name: str, key: tuple, build):
    store = st.session_state.setdefault("_lens_leads_cache", {})
    full = (name, view.data_key, *key)
    if full not in store:
        if len(store) > 16:
            store.clear()
        store[full] = build()
    return store[full]


rules_key = view.rules.to_json()
model_key = (rules_key, view.as_of.isoformat(), horizon)


def fit_model():
    slot = st.empty()
    with slot.status("Fitting the lead score…", expanded=False):
        try:
            model = scoring.fit_lead_score(
                view.dataset,
                view.as_of,
                stages_at=lambda day: view.engine.leads(view.rules, day),
                horizon_days=horizon,
            )
        except scoring.ScoringUnavailable as exc:
            model = str(exc)
    slot.empty()
    return model


model = _cached("model", model_key, fit_model)
# the customer models depend on the day, not the rules: fitted once per day
models = _cached(
    "models",
    (view.as_of.isoformat(),),
    lambda: clv_pricing.customer_models(view.dataset, view.as_of),
)
values, value_note = _cached(
    "values",
    (rules_key, view.as_of.isoformat()),
    lambda: scoring.predicted_values(
        view.dataset, leads, as_of=view.as_of, models=models
    ),
)
scores = None
if isinstance(model, scoring.LeadScoreModel):
    scores = _cached(
        "scores",
        model_key,
        lambda: scoring.score_leads(model, view.dataset, view.as_of, stages=leads),
    )
table = exports.lead_table(leads, view.dataset.people, scores, values)
currency = report.dataset_currency(view.dataset)
in_currency = f" ({currency})" if currency else " (no stated currency)"
chosen = exports.segment(table, segment_name, high_value_top=top)

# Output: the segment's leads.
st.subheader(exports.SEGMENTS[segment_name])
counts = exports.consent_counts(chosen)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Leads in segment", fmt_int(counts["leads"]))
c2.metric("Email consent", fmt_int(counts["email"]))
c3.metric("SMS consent", fmt_int(counts["sms"]))
c4.metric("No recorded consent", fmt_int(counts["neither"]))
st.caption(value_note)
# the per-lead sheet's columns, its opaque id last
SHOWN = [c for c in exports.LEAD_CSV_COLUMNS if c != "person_id"] + ["person_id"]

show_table(
    in_words(chosen.head(5000)),
    hide_index=True,
    column_order=SHOWN,
    column_config=TEXT_LABELS
    | {
        "p_win": st.column_config.NumberColumn("P(win)", format="%.1f %%"),
        "lead_score": st.column_config.ProgressColumn(
            "Lead score", min_value=0, max_value=100, format="%d"
        ),
        "predicted_clv": st.column_config.NumberColumn(
            f"Predicted CLV{in_currency}", format="%.2f"
        ),
        "expected_value": st.column_config.NumberColumn(
            f"Expected value{in_currency}",
            format="%.2f",
            help="P(win) × predicted CLV",
        ),
        "first_order_value": st.column_config.NumberColumn(
            f"First order{in_currency}", format="%.2f"
        ),
    },
    key="leads_table",
)
if len(chosen) > 5000:
    st.caption(f"Showing 5,000 of {fmt_int(len(chosen))} leads; the CSV has them all.")

# Downloads.
st.subheader("Downloads")
files = [
    ("Lead sheet (CSV)", exports.leads_csv(chosen), "download_leads"),
    (
        "Klaviyo profiles (CSV)",
        exports.klaviyo_profiles_csv(chosen),
        "download_klaviyo",
    ),
    ("Meta custom audience (CSV)", exports.meta_audience_csv(chosen), "download_meta"),
    (
        "Google Ads Customer Match (CSV)",
        exports.google_customer_match_csv(chosen),
        "download_google",
    ),
]
columns = st.columns(len(files))
for column, (label, export, key) in zip(columns, files, strict=True):
    column.download_button(
        label,
        export.data,
        file_name=export.file_name,
        mime=export.mime,
        key=key,
        on_click="ignore",
        disabled=export.rows == 0,
    )
    note = f"{fmt_int(export.rows)} people"
    if export.excluded_no_consent:
        note += (
            f"; {fmt_int(export.excluded_no_consent)} without marketing consent "
            "left out"
        )
    if export.excluded_no_identifier:
        note += (
            f"; {fmt_int(export.excluded_no_identifier)} without a usable email "
            "or phone"
        )
    column.caption(note)
st.caption(
    "Klaviyo and ad-platform files hold only leads with recorded email or SMS "
    "marketing consent. The lead sheet escapes cells a spreadsheet would run as "
    "formulas; platform files keep their documented layout exactly."
)

st.download_button(
    "Client report (HTML, opens offline)",
    lambda: report.view_report(
        view.dataset,
        leads,
        view.as_of,
        view.file_names if not view.is_sample else (),
        rules=view.rules,
    ),
    file_name=f"pipeline_report_{view.as_of:%Y-%m-%d}.html",
    mime="text/html",
    key="download_report",
    on_click="ignore",
    type="primary",
)

high_value = exports.segment(table, "high_value", high_value_top=top)
st.subheader("High-value leads for one-to-one outreach")
st.caption(
    "Purchase-intent leads ranked by expected value, P(win) × predicted CLV. "
    f"Top {fmt_int(len(high_value))}, worth "
    f"{fmt_money(high_value['expected_value'].sum(), currency)}"
    f"{'' if currency else ' (no stated currency)'} in expectation."
)
if high_value.empty:
    st.info(no_intent_reason(view.dataset, view.rules, view.as_of))
else:
    show_table(
        in_words(
            high_value[
                [
                    "email",
                    "phone",
                    "p_win",
                    "predicted_clv",
                    "expected_value",
                    "consent_email",
                    "consent_sms",
                    "person_id",
                ]
            ]
        ),
        hide_index=True,
        column_config=TEXT_LABELS
        | {
            "p_win": st.column_config.NumberColumn("P(win)", format="%.1f %%"),
            "predicted_clv": st.column_config.NumberColumn(
                f"Predicted CLV{in_currency}", format="%.2f"
            ),
            "expected_value": st.column_config.NumberColumn(
                f"Expected value{in_currency}", format="%.2f"
            ),
        },
        key="high_value_table",
    )

# The lead-score model.
st.subheader("How the lead score is made")
if not isinstance(model, scoring.LeadScoreModel):
    st.info(model)
    st.stop()

st.write(
    f"Logistic regression fitted on the {fmt_int(model.n_train)} open leads of "
    f"{model.train_cutoff:%Y-%m-%d} ({fmt_int(model.positives_train)} bought within "
    f"{model.horizon_days} days), checked on the {fmt_int(model.n_test)} open leads of "
    f"{model.test_cutoff:%Y-%m-%d}, a later period it never saw "
    f"({fmt_int(model.positives_test)} bought). Features use only events up to each "
    "cut-off."
)
if model.outcome_end is not None and model.outcome_end < view.as_of:
    st.caption(
        f"The order data ends on {model.outcome_end:%Y-%m-%d}: purchases after it "
        "cannot be known, so the fit and the check end there."
    )
if model.penalised_:
    st.warning(
        "A feature separates buyers from non-buyers completely, so plain maximum "
        "likelihood has no answer: the coefficients come from a ridge fit (normal "
        "prior, standard deviation 2.5 on the log-odds) and their intervals are "
        "approximate."
    )
if model.auc_ > 0.97:
    st.warning(
        "An AUC this close to 1 usually means a feature carries the outcome itself "
        "(for example an entry point that only buyers get, such as a customer-account "
        "export). Check the coefficients below before acting on the scores."
    )
m1, m2 = st.columns(2)
m1.metric(
    "AUC on the later period",
    fmt_number(model.auc_, 3),
    help="0.5 is a coin toss, 1 a perfect ranking.",
)
m2.metric(
    "Purchase rate, later period",
    fmt_pct(model.positives_test / model.n_test if model.n_test else None),
)

if len(model.calibration_):
    st.altair_chart(calibration_chart(model.calibration_), width="stretch")

coefs = model.coefficients_[model.coefficients_["term"] != "const"]
if coefs.empty:
    st.info(
        "No feature varies among these leads (one entry point, no engagement "
        "events), so the score is the base rate alone. Upload Klaviyo profiles and "
        "events or GA4 data to score leads by how they engage."
    )
    st.stop()
st.altair_chart(coefficient_chart(coefs), width="stretch")
show_table(
    coefficients_table(model.coefficients_),
    hide_index=True,
    height="content",
    key="coefficients_table",
)
