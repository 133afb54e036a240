"""The client report: one self-contained HTML file for the current view.

The report has four sections, funnel, velocity, customer value and attribution, each
built from the analysis modules when they can run on the data and otherwise saying
why not. The velocity section makes the Funnel page's own calls with its defaults
(:func:`pipeline.funnel.velocity_figures`, 90-day win horizon, new-customer value
from the customer models), so the report and the page agree for the same view.
Customer value and attribution run on one currency
(:func:`pipeline.clv_currency.in_one_currency`) and name what they left out:
amounts in different currencies are never added. Charts are Vega-Lite specs (made
with Altair) rendered to SVG by ``vl-convert-python`` and written inline, so the
file needs no script, font or network: it opens from disk, offline, and prints as
it shows.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc

from pipeline.clv_currency import CurrencyChoice, in_one_currency
from pipeline.formatting import (
    fmt_days,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_pct,
)
from pipeline.funnel import (
    OPEN_STAGES,
    NewCustomerValue,
    Velocity,
    customer_models,
    expected_new_customer_value,
    funnel_table,
    stages_without_data,
    velocity_figures,
)
from pipeline.model import STAGES, Dataset

log = logging.getLogger(__name__)

STAGE_LABELS: dict[str, str] = {
    "awareness": "Awareness",
    "captured": "Captured",
    "engaged": "Engaged",
    "purchase_intent": "Purchase intent",
    "customer": "Customer",
}
STAGE_COLORS = ["#9aa5b1", "#4c78a8", "#72b7b2", "#f58518", "#54a24b"]
WIN_HORIZON_DAYS = 90.0
"""The Funnel page's default win horizon (its slider starts at 90 days)."""
VALUE_WEEKS = 12
"""Weeks of pipeline-value history, as on the Funnel page."""


@dataclass
class Section:
    """One part of the report.

    Attributes
    ----------
    title
        The heading.
    summary
        Sentences under the heading (plain text).
    charts
        ``(caption, chart)`` pairs; each becomes an inline SVG.
    tables
        ``(caption, frame)`` pairs, already formatted for reading.
    missing
        Why the section could not be built (``None`` when it was).
    """

    title: str
    summary: list[str] = field(default_factory=list)
    charts: list[tuple[str, alt.TopLevelMixin]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    missing: str | None = None


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """An Altair chart as an SVG document, rendered offline by vl-convert."""
    svg = vlc.vegalite_to_svg(chart.to_dict())
    return svg[svg.index("<svg"):] if "<svg" in svg else svg


def histogram_chart(
    values: np.ndarray, title: str, x_title: str, y_title: str, bins: int = 30
) -> alt.Chart:
    """A histogram binned in numpy, so the chart carries ``bins`` rows, not the data."""
    counts, edges = np.histogram(values[np.isfinite(values)], bins=bins)
    frame = pd.DataFrame(
        {"low": edges[:-1], "high": edges[1:], "count": counts, "zero": 0}
    )
    return (
        alt.Chart(frame, title=title)
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("low:Q", title=x_title),
            x2="high:Q",
            y=alt.Y("count:Q", title=y_title),
            y2="zero:Q",
            tooltip=[
                alt.Tooltip("low:Q", title="From", format=",.1f"),
                alt.Tooltip("high:Q", title="To", format=",.1f"),
                alt.Tooltip("count:Q", title=y_title, format=","),
            ],
        )
        .properties(width=560, height=200)
    )


def _stage_counts(leads: pd.DataFrame) -> pd.DataFrame:
    counts = leads["stage"].astype("string").value_counts()
    return pd.DataFrame(
        {
            "stage": [STAGE_LABELS[s] for s in STAGES],
            "leads": [int(counts.get(s, 0)) for s in STAGES],
            "order": range(len(STAGES)),
        }
    )


def funnel_section(leads: pd.DataFrame) -> Section:
    """Stage counts as a funnel, and the share of each stage that reached the next.

    The figures are the Funnel page's (:func:`pipeline.funnel.funnel_table`): a lead
    has reached a stage when it is in that stage or a later one, or entered it once.
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
            "Went on to the next": [fmt_pct(v) for v in funnel["conversion"]],
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

    :func:`pipeline.funnel.customer_models` fitted to ``as_of``, priced by
    :func:`pipeline.funnel.expected_new_customer_value` (365 days, 10 % a year,
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

    Same call as the page: :func:`pipeline.funnel.velocity_figures` with the
    new-customer value (``None`` when the orders are in several currencies, so the
    value is in expected customers), 12 weeks, the store's time zone; no weekly
    replay of past days (``stages_at=None``), which only the weekly history uses.
    """
    if new_customer is None:
        new_customer = new_customer_value(dataset, as_of)
    mixed = len(order_currencies(dataset)) > 1
    return velocity_figures(
        leads, as_of, None if mixed else new_customer.value, horizon_days,
        VALUE_WEEKS, dataset.timezone or "UTC", stages_at=None,
    )


def median_text(ttc) -> str:
    """The KM median as the Funnel page writes it ("not reached" when not)."""
    if np.isfinite(ttc.median_days):
        return fmt_days(ttc.median_days, 0)
    return "not reached" if ttc.converted else fmt_int(None)


def km_chart(ttc) -> alt.LayerChart:
    """The share of captured leads who became customers, with its 95 % band."""
    curve = ttc.curve.assign(
        converted=1 - ttc.curve["survival"],
        converted_low=1 - ttc.curve["high"],
        converted_high=1 - ttc.curve["low"],
    )
    base = alt.Chart(curve).encode(x=alt.X("days:Q", title="Days since capture"))
    band = base.mark_area(opacity=0.25, interpolate="step-after").encode(
        y=alt.Y("converted_low:Q", title="Became customers (share of captured)",
                axis=alt.Axis(format="%")),
        y2="converted_high:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(y="converted:Q")
    return alt.layer(band, line).properties(
        width=560, height=220,
        title=alt.Title(
            "Lead-to-customer time (Kaplan-Meier)",
            subtitle=f"{fmt_int(ttc.converted)} of {fmt_int(ttc.leads)} captured "
            "leads bought; band: pointwise 95 % interval",
        ),
    )


def velocity_section(
    dataset: Dataset,
    leads: pd.DataFrame,
    as_of: dt.date,
    horizon_days: float = WIN_HORIZON_DAYS,
) -> Section:
    """Win probabilities, time to customer and pipeline value, as the Funnel page.

    Every figure comes from :func:`view_velocity` (the page's
    :func:`pipeline.funnel.velocity_figures` call and defaults), so the report and
    the page agree for the same view: Kaplan-Meier win probabilities within
    ``horizon_days`` with 95 % intervals, the KM median capture-to-customer time
    (or "not reached" with the shares converted by 7 to 365 days), and the
    pipeline value with its approximate 95 % range.
    """
    needed = {"entered_captured", "entered_customer", "stage"}
    if not needed <= set(leads.columns):
        return Section("Velocity", missing="the stage engine gave no entry times")
    currencies = order_currencies(dataset)
    mixed = len(currencies) > 1
    currency = currencies[0] if len(currencies) == 1 else None
    new_customer = new_customer_value(dataset, as_of)
    velocity = view_velocity(dataset, leads, as_of, new_customer, horizon_days)
    no_data = stages_without_data(dataset)
    win = velocity.win.set_index("stage")
    ttc = velocity.time_to_customer
    value = velocity.value
    days = f"{horizon_days:,.0f} days"

    summary = [
        "Win probability within "
        f"{days} of entering the stage (Kaplan-Meier, open leads censored at the "
        "'as of' day): "
        + "; ".join(
            f"{STAGE_LABELS[stage].lower()} "
            + (f"not measured ({no_data[stage]})" if stage in no_data else (
                f"{fmt_pct(win.loc[stage, 'win_probability'])} (95 % interval "
                f"{fmt_interval(win.loc[stage, 'low'], win.loc[stage, 'high'])})"))
            for stage in OPEN_STAGES if stage in win.index
        )
        + ".",
    ]
    if np.isfinite(ttc.median_days):
        bounds = (ttc.median_low, ttc.median_high)
        interval = (
            f" (95 % interval {fmt_interval(*bounds, fmt_days, digits=0)})"
            if any(np.isfinite(b) for b in bounds) else ""
        )
        summary.append(
            f"Median days, capture to customer (Kaplan-Meier): {median_text(ttc)}"
            f"{interval}; {fmt_int(ttc.converted)} of "
            f"{fmt_int(ttc.leads)} captured leads bought."
        )
    else:
        summary.append(
            f"Median days, capture to customer (Kaplan-Meier): {median_text(ttc)}: "
            f"{fmt_int(ttc.converted)} of {fmt_int(ttc.leads)} captured leads "
            "bought, fewer than half within the follow-up; the shares who bought "
            "within a given time are in the table below."
        )
    expected = float(value.by_stage["expected_customers"].sum())
    if mixed:
        summary.append(
            f"Orders are in several currencies ({', '.join(currencies)}), which are "
            "never added up: pipeline value is shown in expected new customers, "
            f"{fmt_number(expected, 1)}, not money."
        )
    else:
        if new_customer.from_models:
            summary.append(
                f"A new customer is worth {fmt_money(new_customer.value, currency)}: "
                f"{fmt_money(new_customer.first_purchase, currency)} first purchase "
                f"+ {fmt_money(new_customer.future, currency)} predicted later. "
                + new_customer.how
            )
        else:
            summary.append(
                "A new customer is valued at "
                f"{fmt_money(new_customer.value, currency)}. " + new_customer.how
            )
        summary.append(
            f"Pipeline value {fmt_money(value.total, currency, 0)} (approximate "
            "95 % range "
            f"{fmt_interval(value.low, value.high, fmt_money, currency=currency, digits=0)}"  # noqa: E501
            f"): Σ over open leads of P(customer within {days} | stage, time "
            "already in the stage) × a new customer's value; "
            f"{fmt_number(expected, 1)} expected new customers."
        )

    charts = [] if ttc.curve.empty else [("Lead-to-customer time", km_chart(ttc))]
    win_table = pd.DataFrame(
        {
            "Open stage": velocity.win["stage"].map(STAGE_LABELS),
            "Open leads who entered": velocity.win["leads"].map(fmt_int),
            "Of those, customers by now": velocity.win["converted"].map(fmt_int),
            f"Win probability within {days}": [
                no_data.get(stage) or fmt_pct(p) for stage, p in
                zip(velocity.win["stage"], velocity.win["win_probability"],
                    strict=True)
            ],
            "95 % interval": [
                fmt_interval(lo, hi) for lo, hi in
                zip(velocity.win["low"], velocity.win["high"], strict=True)
            ],
        }
    )
    by = velocity.converted_by
    by_table = pd.DataFrame(
        {
            "Within": by["days"].map(lambda d: fmt_days(d, 0)),
            "Became customers": by["share"].map(fmt_pct),
            "95 % interval": [fmt_interval(lo, hi) for lo, hi in
                              zip(by["low"], by["high"], strict=True)],
        }
    )
    stage_value = pd.DataFrame(
        {
            "Open stage": value.by_stage["stage"].map(STAGE_LABELS),
            "Open leads": value.by_stage["open_leads"].map(fmt_int),
            "Mean win probability (given days in stage)": value.by_stage[
                "win_probability"].map(fmt_pct),
            "Expected customers": value.by_stage["expected_customers"].map(
                lambda v: fmt_number(v, 1)),
        }
        | ({} if mixed else {
            f"Value ({currency})" if currency else "Value": value.by_stage[
                "value"].map(lambda v: fmt_money(v, currency, 0)),
            "Approx. 95 % range": [
                fmt_interval(lo, hi, fmt_money, currency=currency, digits=0)
                for lo, hi in zip(value.by_stage["low"], value.by_stage["high"],
                                  strict=True)
            ],
        })
    )
    tables = [
        ("Win probability by stage", win_table),
        ("Captured leads who became customers within", by_table),
        ("Where the pipeline value sits", stage_value),
    ]
    return Section("Velocity", summary, charts, tables)


def currency_notes(choice: CurrencyChoice) -> list[str]:
    """Which currency a money section uses and which purchases it left out."""
    if choice.currency is None:
        return []
    used = choice.code or "no stated currency"
    notes = [f"Amounts in {used}: {choice.counts.get(choice.currency, 0):,} purchases"
             + (" (currencies are never added together)." if choice.left_out else ".")]
    notes += [
        line + "."
        for line in choice.warnings("not converted, and not in the figures here")
    ]
    return notes


def customer_value_section(dataset: Dataset, currency: str | None = None) -> Section:
    """BG/NBD and Gamma-Gamma CLV in one currency: distribution and population.

    The purchases of ``currency`` (default: the currency with the most purchases)
    are analysed (:func:`pipeline.clv_currency.in_one_currency`); the others are
    left out and the section says so, since amounts in different currencies are
    never added.
    """
    try:
        from pipeline import clv, clv_fit
    except ImportError as exc:  # pragma: no cover - only while a module is missing
        return Section("Customer value", missing=f"no CLV module ({exc})")
    one, choice = in_one_currency(dataset, currency)
    notes = currency_notes(choice)
    try:
        summary = clv.purchase_summary(one)
        fits = clv_fit.fit_models(summary)
    except ValueError as exc:
        return Section("Customer value", notes, missing=str(exc))
    if not fits.usable:
        return Section("Customer value", notes, missing=" ".join(fits.status()))

    customers = clv_fit.customer_table(summary, fits)
    currency = choice.code
    unit = currency or "no stated currency"
    values = customers["clv"].replace([np.inf, -np.inf], np.nan).dropna()
    cap = float(values.quantile(0.99)) if len(values) else 0.0
    chart = histogram_chart(
        values.clip(upper=cap).to_numpy(),
        f"Predicted 12-month CLV per customer ({unit})",
        f"CLV ({unit})",
        "Customers",
    )
    figures = clv_fit.population_figures(summary, fits)
    table = pd.DataFrame(
        {
            "Figure": figures.get("figure", pd.Series(dtype=str)),
            "Value": [fmt_number(v, 2) for v in figures.get("value", [])],
            "95 % interval": [
                f"{fmt_number(lo, 2)} – {fmt_number(hi, 2)}"
                for lo, hi in zip(figures.get("low", []), figures.get("high", []),
                                  strict=True)
            ],
            "Unit": figures.get("unit", pd.Series(dtype=str)).astype(str).str.replace(
                "currency", unit, regex=False),
        }
    )
    summary_lines = notes + fits.status() + [
        f"{fmt_int(len(customers))} customers; mean predicted 12-month CLV "
        f"{fmt_money(values.mean() if len(values) else None, currency)} "
        f"(histogram capped at the 99th percentile, {fmt_money(cap, currency)})."
    ]
    return Section(
        "Customer value", summary_lines, [("CLV", chart)], [("Population", table)]
    )


def attribution_section(dataset: Dataset, currency: str | None = None) -> Section:
    """Credit per channel under every attribution model, side by side.

    Runs on the purchases of one currency (:func:`pipeline.clv_currency.
    in_one_currency`), so revenue is never summed across currencies; models are
    named in words (:data:`pipeline.attribution.models.MODEL_LABELS`).
    ``currency`` as in :func:`customer_value_section`.
    """
    try:
        from pipeline.attribution.journeys import build_journeys
        from pipeline.attribution.models import MODEL_LABELS, attribute
    except ImportError as exc:  # pragma: no cover - only while a module is missing
        return Section("Attribution", missing=f"no attribution module ({exc})")
    one, choice = in_one_currency(dataset, currency)
    notes = currency_notes(choice)
    try:
        journeys = build_journeys(one)
        result = attribute(journeys.paths)
    except ValueError as exc:
        return Section("Attribution", notes, missing=str(exc))
    coverage = journeys.coverage
    no_touch = not np.isfinite(coverage) or coverage == 0
    if result.conversions.empty or result.total_conversions == 0 or no_touch:
        return Section(
            "Attribution", notes,
            missing="no conversions with touches: upload GA4 sessions, Klaviyo "
            "events or ad clicks alongside the orders",
        )
    credit = result.conversions.rename(
        columns=lambda m: MODEL_LABELS.get(m, str(m).replace("_", " ").capitalize())
    )
    long = (
        credit.rename_axis("channel")
        .reset_index()
        .melt(id_vars="channel", var_name="model", value_name="conversions")
    )
    chart = (
        alt.Chart(long, title="Conversions credited per channel, by model")
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None),
            x=alt.X("conversions:Q", title="Conversions credited"),
            color=alt.Color("model:N", title="Model", sort=list(credit.columns)),
            yOffset=alt.YOffset("model:N", sort=list(credit.columns)),
            tooltip=["channel", "model", alt.Tooltip("conversions:Q", format=",.1f")],
        )
        .properties(width=520, height=max(160, 14 * len(long)))
    )
    table = credit.map(lambda v: fmt_number(v, 1))
    table = table.rename_axis("Channel").reset_index()
    tables = [("Conversions credited, by model", table)]
    revenue = getattr(result, "revenue", None)
    if isinstance(revenue, pd.DataFrame) and len(revenue):
        code = choice.code
        money = revenue.rename(
            columns=lambda m: MODEL_LABELS.get(m, str(m).replace("_", " ").capitalize())
        ).map(lambda v: fmt_money(v, code, 0))
        tables.append((
            f"Revenue credited ({code or 'no stated currency'}), by model",
            money.rename_axis("Channel").reset_index(),
        ))
    summary = notes + [
        f"{fmt_int(result.total_conversions)} conversions, "
        f"{fmt_money(result.total_revenue, choice.code)} revenue; "
        f"{fmt_pct(journeys.coverage)} of conversions had a touch in the lookback "
        "window. Credit is not incrementality: it says which touches came before a "
        "purchase, not which caused it."
    ]
    return Section("Attribution", summary, [("Attribution", chart)], tables)


def dataset_currency(dataset: Dataset) -> str:
    """The most common order currency of the data (USD when there are no orders).

    Kept for the Leads page; the report's money sections use
    :func:`pipeline.clv_currency.in_one_currency` instead.
    """
    currencies = dataset.orders["currency"].dropna().astype("string")
    return str(currencies.mode().iloc[0]) if len(currencies) else "USD"


SectionBuilder = Callable[[], Section]


def safe_section(title: str, build: SectionBuilder) -> Section:
    """Run one section's builder; an unexpected error becomes the section's note."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - one failing section must not sink all
        log.exception("report section %s failed", title)
        reason = f"could not be built: {type(exc).__name__}: {exc}"
        return Section(title, missing=reason)


def view_sections(
    dataset: Dataset,
    leads: pd.DataFrame,
    as_of: dt.date,
    currency: str | None = None,
) -> list[Section]:
    """The report's four sections for one view, each built if it can be.

    ``currency`` chooses the currency of the customer-value and attribution
    sections (default: the one with the most purchases); velocity follows the
    Funnel page, which counts expected customers when orders mix currencies.
    """
    return [
        safe_section("Funnel", lambda: funnel_section(leads)),
        safe_section("Velocity", lambda: velocity_section(dataset, leads, as_of)),
        safe_section(
            "Customer value", lambda: customer_value_section(dataset, currency)
        ),
        safe_section("Attribution", lambda: attribution_section(dataset, currency)),
    ]


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:60rem;color:#1f2933;background:#fff;line-height:1.45;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #e4e7eb;padding-bottom:.2rem;
margin-top:2.2rem}.meta{color:#52606d}.missing{background:#fff8e1;
border-left:4px solid #f0b429;padding:.6rem .9rem}figure{margin:1rem 0}
table{border-collapse:collapse;margin:.8rem 0;
font-size:.92rem}th,td{border-bottom:1px solid #e4e7eb;padding:.3rem .7rem;
text-align:right}th:first-child,td:first-child{text-align:left}
@media print{h2{break-before:auto}figure{break-inside:avoid}}
"""


def render_report(
    sections: list[Section],
    title: str = "Pipeline report",
    subtitle: str = "",
    generated: dt.datetime | None = None,
) -> str:
    """The report as one HTML document with every chart inline as SVG.

    Parameters
    ----------
    sections
        The sections, in order.
    title, subtitle
        The heading and the line under it (data, rules, date).
    generated
        When the report was made (now, in UTC, by default).
    """
    generated = generated or dt.datetime.now(dt.UTC)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(subtitle)}</p>' if subtitle else "",
        f'<p class="meta">Made {generated:%Y-%m-%d %H:%M} UTC by Pipeline Lens.</p>',
    ]
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.missing:
            parts.append(
                f'<p class="missing">Not shown: {html.escape(section.missing)}</p>'
            )
        for line in section.summary:
            parts.append(f"<p>{html.escape(line)}</p>")
        for caption, chart in section.charts:
            label = html.escape(caption)
            parts.append(
                f'<figure class="chart" aria-label="{label}">{chart_svg(chart)}'
                "</figure>"
            )
        for caption, frame in section.tables:
            if len(frame):
                parts.append(f"<h3>{html.escape(caption)}</h3>")
                parts.append(frame.to_html(index=False, border=0, escape=True))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def view_report(
    dataset: Dataset,
    leads: pd.DataFrame,
    as_of: dt.date,
    file_names: tuple[str, ...] = (),
    rules_text: str = "",
    currency: str | None = None,
) -> str:
    """The client report of one view: its sections rendered to self-contained HTML.

    Parameters
    ----------
    dataset, leads, as_of
        The view: the loaded data, its leads under the stage rules, and the day.
    file_names
        The files the data came from (the subtitle says "the demo brand" without).
    rules_text
        The stage rules in words, for the subtitle.
    currency
        The currency of the customer-value and attribution sections (default: the
        one with the most purchases); other currencies are named and left out.

    Returns
    -------
    str
        One HTML document, every chart an inline SVG, nothing fetched.
    """
    sources = ", ".join(file_names) if file_names else "the demo brand"
    subtitle = f"As of {as_of:%Y-%m-%d}. Data: {sources}."
    if rules_text:
        subtitle += f" Stage rules: {rules_text}."
    sections = view_sections(dataset, leads, as_of, currency)
    return render_report(sections, "Pipeline report", subtitle)
