"""The client report: one self-contained HTML file for the current view.

The report has four sections, funnel, velocity, customer value and attribution, each
built from the analysis modules when they can run on the data and otherwise saying
why not. Charts are Vega-Lite specs (made with Altair) rendered to SVG by
``vl-convert-python`` and written inline, so the file needs no script, font or
network: it opens from disk, offline, and prints as it shows.
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

from pipeline.formatting import fmt_days, fmt_int, fmt_money, fmt_number, fmt_pct
from pipeline.funnel import (
    days_to_convert,
    funnel_table,
    stage_win_rates,
    velocity_table,
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


def velocity_section(leads: pd.DataFrame, currency: str = "USD") -> Section:
    """Win rate, lead-to-customer time, pipeline velocity and value.

    The figures are the Funnel page's plain ones (:func:`pipeline.funnel.
    velocity_table`): no correction for leads too recent to have converted.
    """
    needed = {"entered_captured", "entered_customer", "identified", "orders"}
    if not needed <= set(leads.columns):
        return Section("Velocity", missing="the stage engine gave no entry times")
    figures = velocity_table(leads).set_index("metric")["value"]
    days = days_to_convert(leads)
    summary = [
        f"Win rate (identified leads who bought): {fmt_pct(figures['win rate'])}.",
        f"Median time from capture to first purchase: "
        f"{fmt_days(figures['median days to convert'])} over {fmt_int(len(days))} "
        "customers with both dates (customers captured at their first order count "
        "0 days).",
        f"Pipeline velocity: {fmt_money(figures['pipeline velocity'], currency)} a "
        f"day; pipeline value {fmt_money(figures['pipeline value'], currency)}.",
    ]
    charts = []
    if len(days):
        chart = histogram_chart(
            days.to_numpy(), "Days from capture to first purchase", "Days", "Customers"
        )
        charts.append(("Lead-to-customer time", chart))
    rates = stage_win_rates(leads)
    table = pd.DataFrame(
        {
            "Open stage": [STAGE_LABELS[s] for s in rates["stage"]],
            "Leads now": [fmt_int(n) for n in rates["leads"]],
            "Ever entered": [fmt_int(n) for n in rates["entered"]],
            "Bought": [fmt_int(n) for n in rates["won"]],
            "Win rate": [fmt_pct(v) for v in rates["win_rate"]],
            f"Value ({currency})": [fmt_money(v, currency) for v in rates["value"]],
        }
    )
    tables = [("Where the pipeline value sits", table)]
    return Section("Velocity", summary, charts, tables)


def customer_value_section(dataset: Dataset) -> Section:
    """BG/NBD and Gamma-Gamma CLV: distribution and population figures."""
    try:
        from pipeline import clv, clv_fit
    except ImportError as exc:  # pragma: no cover - only while a module is missing
        return Section("Customer value", missing=f"no CLV module ({exc})")
    try:
        summary = clv.purchase_summary(dataset)
        fits = clv_fit.fit_models(summary)
    except ValueError as exc:
        return Section("Customer value", missing=str(exc))
    if not fits.usable:
        return Section("Customer value", missing=" ".join(fits.status()))

    customers = clv_fit.customer_table(summary, fits)
    currency = dataset_currency(dataset)
    values = customers["clv"].replace([np.inf, -np.inf], np.nan).dropna()
    cap = float(values.quantile(0.99)) if len(values) else 0.0
    chart = histogram_chart(
        values.clip(upper=cap).to_numpy(),
        f"Predicted 12-month CLV per customer ({currency})",
        f"CLV ({currency})",
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
            "Unit": figures.get("unit", pd.Series(dtype=str)),
        }
    )
    summary_lines = fits.status() + [
        f"{fmt_int(len(customers))} customers; mean predicted 12-month CLV "
        f"{fmt_money(values.mean() if len(values) else None, currency)} "
        f"(histogram capped at the 99th percentile, {fmt_money(cap, currency)})."
    ]
    return Section(
        "Customer value", summary_lines, [("CLV", chart)], [("Population", table)]
    )


def attribution_section(dataset: Dataset) -> Section:
    """Credit per channel under every attribution model, side by side."""
    try:
        from pipeline.attribution.journeys import build_journeys
        from pipeline.attribution.models import attribute
    except ImportError as exc:  # pragma: no cover - only while a module is missing
        return Section("Attribution", missing=f"no attribution module ({exc})")
    try:
        journeys = build_journeys(dataset)
        result = attribute(journeys.paths)
    except ValueError as exc:
        return Section("Attribution", missing=str(exc))
    coverage = journeys.coverage
    no_touch = not np.isfinite(coverage) or coverage == 0
    if result.conversions.empty or result.total_conversions == 0 or no_touch:
        return Section(
            "Attribution",
            missing="no conversions with touches: upload GA4 sessions, Klaviyo "
            "events or ad clicks alongside the orders",
        )
    long = (
        result.conversions.rename_axis("channel")
        .reset_index()
        .melt(id_vars="channel", var_name="model", value_name="conversions")
    )
    chart = (
        alt.Chart(long, title="Conversions credited per channel, by model")
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None),
            x=alt.X("conversions:Q", title="Conversions credited"),
            color=alt.Color("model:N", title="Model"),
            yOffset="model:N",
            tooltip=["channel", "model", alt.Tooltip("conversions:Q", format=",.1f")],
        )
        .properties(width=520, height=max(160, 14 * len(long)))
    )
    table = result.conversions.map(lambda v: fmt_number(v, 1))
    table = table.rename_axis("Channel").reset_index()
    summary = [
        f"{fmt_int(result.total_conversions)} conversions, "
        f"{fmt_money(result.total_revenue, dataset_currency(dataset))} revenue; "
        f"{fmt_pct(journeys.coverage)} of conversions had a touch in the lookback "
        "window. Credit is not incrementality: it says which touches came before a "
        "purchase, not which caused it."
    ]
    return Section(
        "Attribution", summary, [("Attribution", chart)], [("Credit by model", table)]
    )


def dataset_currency(dataset: Dataset) -> str:
    """The most common order currency of the data (USD when there are no orders)."""
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


def view_sections(dataset: Dataset, leads: pd.DataFrame) -> list[Section]:
    """The report's four sections for one view, each built if it can be."""
    return [
        safe_section("Funnel", lambda: funnel_section(leads)),
        safe_section(
            "Velocity", lambda: velocity_section(leads, dataset_currency(dataset))
        ),
        safe_section("Customer value", lambda: customer_value_section(dataset)),
        safe_section("Attribution", lambda: attribution_section(dataset)),
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
) -> str:
    """The client report of one view: its sections rendered to self-contained HTML."""
    sources = ", ".join(file_names) if file_names else "the demo brand"
    subtitle = f"As of {as_of:%Y-%m-%d}. Data: {sources}."
    if rules_text:
        subtitle += f" Stage rules: {rules_text}."
    return render_report(view_sections(dataset, leads), "Pipeline report", subtitle)
