"""The Attribution page's settings: journeys and model parameters, in an expander.

Every widget is bound to the URL's query parameters, so a copied link reopens the
same settings; its key is its name in tests.
"""

from __future__ import annotations

import streamlit as st

from pipeline.attribution.journeys import JourneySettings
from pipeline.attribution.models import ModelSettings


def attribution_settings() -> tuple[JourneySettings, ModelSettings]:
    """Draw the settings expander and return the journey and model settings."""
    with st.expander("Settings", expanded=False):
        left, right = st.columns(2)
        lookback = left.slider(
            "Lookback window (days)",
            1,
            90,
            30,
            key="attr_lookback_days",
            bind="query-params",
        )
        opens = left.checkbox(
            "Count email opens as touches (Apple MPP makes them unreliable)",
            value=False,
            key="attr_opens_as_touches",
            bind="query-params",
        )
        collapse = left.checkbox(
            "Collapse repeats of a channel",
            value=False,
            key="attr_collapse_repeats",
            bind="query-params",
        )
        cut = left.checkbox(
            "Start each journey after the previous order",
            value=True,
            key="attr_cut_at_conversions",
            bind="query-params",
        )
        first_only = left.checkbox(
            "First purchases only",
            value=False,
            key="attr_first_purchase_only",
            bind="query-params",
        )
        half_life = right.slider(
            "Time decay half-life (days)",
            1,
            30,
            7,
            key="attr_half_life",
            bind="query-params",
        )
        first_share = right.slider(
            "Position based: first touch (%)",
            0,
            100,
            40,
            key="attr_first_share",
            bind="query-params",
        )
        last_share = _last_share(right, 100 - first_share)
        order = right.selectbox(
            "Markov order", [1, 2, 3], key="attr_markov_order", bind="query-params"
        )
    journeys = JourneySettings(lookback, opens, cut, first_only)
    models = ModelSettings(
        half_life, first_share / 100, last_share / 100, order, collapse_repeats=collapse
    )
    return journeys, models


def _last_share(where, room: int) -> int:
    """The position-based model's last-touch share (%), at most ``room``: what the
    first touch leaves. With no room left the slider gives way to a note."""
    key = "attr_last_share"
    if room == 0:
        where.caption("Position based: last touch 0 % (the first touch takes all).")
        return 0
    if st.session_state.get(key, 0) > room:  # (the first-touch share just grew)
        st.session_state[key] = room
    return where.slider(
        "Position based: last touch (%)",
        0,
        room,
        min(40, room),
        key=key,
        bind="query-params",
    )
