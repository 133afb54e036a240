"""What every page shares: the sidebar (uploads, "as of", stage rules) and the view.

Nothing per user is kept in module globals or ``st.cache_resource``: uploaded bytes
live in the session's memory and in ``st.cache_data`` keyed on the bytes themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from pipeline.ingest import load_files
from pipeline.model import Dataset, InputError
from pipeline.rules import RULE_NAMES, StageRules
from pipeline.stages import StageEngine

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
VIEW_KEY = "_lens_view"


@dataclass
class View:
    """The current view: data, rules, date and the leads' stages under them."""

    dataset: Dataset
    engine: StageEngine
    rules: StageRules
    as_of: dt.date
    leads: pd.DataFrame
    is_sample: bool
    file_names: tuple[str, ...]


def sample_files() -> list[tuple[str, bytes]]:
    """The bundled demo brand's export files, as (name, bytes)."""
    return [
        (path.name, path.read_bytes())
        for path in sorted(SAMPLE_DIR.iterdir())
        if path.is_file() and path.suffix in {".csv", ".gz", ".zip", ".json", ".ndjson"}
    ]


@st.cache_data(show_spinner="Reading your exports…", max_entries=8)
def cached_dataset(files: tuple[tuple[str, bytes], ...], timezone: str | None) -> Dataset:
    """Load uploaded files once per distinct content and time zone."""
    return load_files(list(files), timezone=timezone)


def session_engine(dataset: Dataset, key: str) -> StageEngine:
    """The stage engine of this session's data, built once per dataset."""
    cache = st.session_state.setdefault("_lens_engines", {})
    if key not in cache:
        cache.clear()
        cache[key] = StageEngine(dataset)
    return cache[key]


def rules_from_widgets() -> StageRules:
    """Draw the stage-rule widgets and return the rules they set."""
    rules = StageRules()
    st.sidebar.subheader("Stage rules")
    for name in RULE_NAMES:
        rule = rules.rules[name]
        with st.sidebar.expander(f"{rule.stage.replace('_', ' ')}: {rule.label}"):
            enabled = st.checkbox("Rule on", value=rule.enabled, key=f"rule_{name}_enabled")
            count = st.slider(
                "At least (events)", 1, 20, rule.min_count, key=f"rule_{name}_min_count",
                disabled=not enabled,
            )
            window = st.slider(
                "Within (days)", 1, 90, rule.window_days, key=f"rule_{name}_window_days",
                disabled=not enabled,
            )
        rules = rules.with_rule(name, enabled=enabled, min_count=count, window_days=window)
    return rules


def sidebar() -> None:
    """Draw the sidebar and store the resulting :class:`View` in the session."""
    st.sidebar.title("Pipeline Lens")
    uploads = st.sidebar.file_uploader(
        "Upload exports (Shopify, GA4, Klaviyo, ads, events CSV)",
        accept_multiple_files=True,
        key="uploads",
        help="Files stay in this session's memory; nothing is written to disk.",
    )
    files = tuple((u.name, u.getvalue()) for u in uploads or [])
    is_sample = not files
    if is_sample:
        files = tuple(sample_files())
        st.sidebar.caption("Showing the demo brand. Upload your exports to see yours.")

    try:
        dataset = cached_dataset(files, None)
    except InputError as exc:
        st.error(str(exc))
        st.stop()
    key = str(hash(files))
    engine = session_engine(dataset, key)

    as_of = st.sidebar.date_input("As of", value=engine.default_as_of, key="as_of")
    rules = rules_from_widgets()
    leads = engine.leads(rules, as_of)
    st.session_state[VIEW_KEY] = View(
        dataset, engine, rules, as_of, leads, is_sample, tuple(n for n, _ in files)
    )


def current_view() -> View:
    """The view the sidebar set up for this run."""
    return st.session_state[VIEW_KEY]
