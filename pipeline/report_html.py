"""The report's HTML: its sections, and one self-contained document that renders them.

A :class:`Section` holds a heading, sentences, charts and tables, or the reason it
could not be built. :func:`render_report` writes the sections as one HTML document:
charts are Vega-Lite specs (made with Altair) rendered to SVG by ``vl-convert-python``
(:func:`chart_svg`) and written inline, so the file needs no script, font or network:
it opens from disk, offline, and prints as it shows.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

import altair as alt
import pandas as pd
import vl_convert as vlc


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
