"""What every page shares: the sidebar (uploads, "as of", stage rules) and the view.

Nothing per user is kept in module globals or ``st.cache_resource``: uploaded bytes
live in the session's memory and in ``st.cache_data`` keyed on the bytes themselves.

The view is shareable: the "as of" date and every stage-rule widget are bound to the
URL's query parameters (``bind="query-params"``, keyed by the widget key), so a copied
link reopens the same settings. The rule widgets and presets are in
:mod:`pages.sidebar_rules`; the column mapping and date-order questions in
:mod:`pages.column_mapping`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from pages.column_mapping import (
    DAYFIRST_KEY,
    mapped_files,
    mapping_step,
    session_mappings,
)
from pages.sidebar_rules import load_preset, restore_default_rules, rules_from_widgets
from pipeline.data_check import why_no_row_loaded
from pipeline.ingest import load_files, unrecognised_files
from pipeline.model import Dataset, FileReport, InputError, Problem
from pipeline.rules import StageRules
from pipeline.stages import StageEngine

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
VIEW_KEY = "_lens_view"
FILES_KEY = "_lens_files"
DATA_KEY = "_lens_data_key"
INFERRED_ZONE = "inferred from the data"
SAMPLE_SUFFIXES = {
    ".csv",
    ".gz",
    ".zip",
    ".json",
    ".ndjson",
    ".parquet",
    ".xlsx",
    ".tsv",
}
UPLOAD_HELP = (
    "Shopify orders, customers and abandoned checkouts; GA4 reports or its BigQuery "
    "export; Klaviyo profiles, events and reports; Meta or Google Ads spend; or an "
    "events CSV (person, timestamp, event, ...). Files stay in this session's memory; "
    "nothing is written to disk. Up to 1 GB per file."
)


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
    data_key: str = ""


def sample_files() -> list[tuple[str, bytes]]:
    """The bundled demo brand's export files, as (name, bytes)."""
    if not SAMPLE_DIR.is_dir():
        return []
    return [
        (path.name, path.read_bytes())
        for path in sorted(SAMPLE_DIR.iterdir())
        if path.is_file() and path.suffix in SAMPLE_SUFFIXES
    ]


@st.cache_data(show_spinner="Reading your exports…", max_entries=8)
def cached_dataset(
    files: tuple[tuple[str, bytes], ...],
    timezone: str | None,
    mapping_json: str | None = None,
    dayfirst: bool | None = None,
) -> tuple[Dataset | None, list[FileReport]]:
    """Load uploaded files once per distinct content and settings (``mapping_json``:
    the column mappings in use, a JSON list, one per layout).

    Returns the dataset, or ``None`` and every file's report saying why it could
    not be used (:func:`pipeline.ingest.unrecognised_files` tells which a column
    mapping could read); the failure is cached too, so a file that cannot be read
    is not parsed again on every page.
    """
    mapping = json.loads(mapping_json) if mapping_json else None
    try:
        return load_files(
            list(files), timezone=timezone, mapping=mapping, dayfirst=dayfirst
        ), []
    except InputError as exc:
        whole = FileReport(exc.file or "the upload", "unreadable")
        whole.problems.append(Problem(None, None, exc.reason))
        return None, getattr(exc, "reports", None) or [whole]


def timezone_choice() -> str | None:
    """The store time zone the user picked in the sidebar, or ``None`` to infer it."""
    zones = [INFERRED_ZONE, *sorted(available_timezones())]
    zone = st.sidebar.selectbox(
        "Store time zone",
        zones,
        key="timezone",
        bind="query-params",
        help="Days, weeks and 'as of' are counted in this zone. By default it is "
        "inferred from Shopify's UTC offsets (else UTC).",
    )
    return None if zone == INFERRED_ZONE else zone


def content_key(files: tuple[tuple[str, bytes], ...]) -> str:
    """A short digest of the files' names and bytes, naming the data in caches."""
    digest = hashlib.blake2b(digest_size=12)
    for name, data in files:
        digest.update(name.encode())
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def session_engine(dataset: Dataset, key: str) -> StageEngine:
    """The stage engine of this session's data, built once per dataset."""
    cache = st.session_state.setdefault("_lens_engines", {})
    if key not in cache:
        cache.clear()
        slot = st.empty()
        with slot.status("Building the event layer…", expanded=False):
            cache[key] = StageEngine(dataset)
        slot.empty()
    return cache[key]


def store_uploads() -> None:
    """Uploader callback: keep the uploaded files' bytes in this session's memory.

    The files live in the session, not only in the widget, so that they stay loaded
    while the user moves between pages.
    """
    uploads = st.session_state.get("uploads") or []
    st.session_state[FILES_KEY] = tuple((u.name, u.getvalue()) for u in uploads)


def clear_uploads() -> None:
    """Button callback: forget the uploaded files and show the demo brand again."""
    st.session_state[FILES_KEY] = ()


def sidebar(title: str = "Pipeline Lens") -> None:
    """Draw the sidebar and store the resulting :class:`View` in the session.

    When no upload can be used, the page shows its ``title`` and every file's
    reason with what to do, the sidebar keeps its uploads and stage rules so that
    the user can fix the upload, and the run stops there.
    """
    st.sidebar.title("Pipeline Lens")
    uploads = st.sidebar.file_uploader(
        "Upload exports",
        accept_multiple_files=True,
        key="uploads",
        help=UPLOAD_HELP,
        on_change=store_uploads,
    )
    if FILES_KEY not in st.session_state and uploads:
        store_uploads()
    files = st.session_state.get(FILES_KEY) or ()
    if files:
        names = ", ".join(name for name, _ in files)
        st.sidebar.caption(f"Using {len(files)} uploaded file(s): {names}")
        st.sidebar.button(
            "Back to the demo brand", key="clear_uploads", on_click=clear_uploads
        )
    is_sample = not files
    if is_sample:
        files = tuple(sample_files())
        if not files:
            st.info(
                "Upload your exports in the sidebar to start: Shopify orders (and "
                "abandoned checkouts, customers), Klaviyo profiles and events, GA4 "
                "reports or an events CSV. The demo brand is not installed here "
                "(run `python -m pipeline sample` to make it)."
            )
            st.stop()
        st.sidebar.caption("Showing the demo brand. Upload your exports to see yours.")

    mapping = session_mappings()
    dayfirst = st.session_state.get(DAYFIRST_KEY)
    dataset, failed = cached_dataset(
        files,
        timezone_choice(),
        json.dumps(mapping, sort_keys=True) if mapping else None,
        dayfirst,
    )
    if dataset is not None and not any(r.rows_loaded for r in dataset.reports):
        failed, dataset = dataset.reports, None  # (read, but not one row loaded)
    if dataset is None:
        rule_settings()
        st.title(title)
        nothing_usable(failed)
        if not is_sample:
            mapping_step(files, unrecognised_files(failed), mapped_files(failed))
        st.stop()
    key = content_key(files)
    if dataset.timezone != "UTC" or mapping or dayfirst is not None:
        settings = f"{dataset.timezone}|{json.dumps(mapping, sort_keys=True)}|"
        settings += str(st.session_state.get(DAYFIRST_KEY))
        key = f"{key}-{hashlib.blake2b(settings.encode(), digest_size=6).hexdigest()}"
    engine = session_engine(dataset, key)

    # New data: an "as of" left at the old data's last day moves to the new data's
    # last day; a date someone chose (or a shared URL set) stays.
    previous = st.session_state.get(DATA_KEY)
    if previous is not None and previous[0] != key:
        if st.session_state.get("as_of") in (None, previous[1]):
            st.session_state["as_of"] = engine.default_as_of
    st.session_state[DATA_KEY] = (key, engine.default_as_of)
    as_of = st.sidebar.date_input(
        "As of",
        value=engine.default_as_of,
        key="as_of",
        bind="query-params",
        help="Stages are evaluated at the end of this day (store time zone).",
    )
    rules = rule_settings()

    leads = engine.leads(rules, as_of)
    st.session_state[VIEW_KEY] = View(
        dataset, engine, rules, as_of, leads, is_sample, tuple(n for n, _ in files), key
    )


def rule_settings() -> StageRules:
    """The sidebar's stage rules, rule presets and restore button: the rules set."""
    rules_box = st.sidebar.container()
    presets = st.sidebar.expander("Rule presets")
    load_preset(presets)
    rules = rules_from_widgets(rules_box)
    presets.download_button(
        "Save rules preset",
        rules.to_json(),
        file_name="stage_rules.json",
        mime="application/json",
        key="preset_save",
    )
    st.sidebar.button(
        "Restore default rules",
        key="restore_defaults",
        on_click=restore_default_rules,
        disabled=rules == StageRules(),
    )
    st.sidebar.caption("The page's address keeps these settings: copy it to share.")
    return rules


def nothing_usable(failed: list[FileReport]) -> None:
    """Why no upload could be used: each file's reason with what to do (a file
    that was read but loaded no row says why, a header and no rows included)."""
    if len(failed) == 1:
        head = "The uploaded file could not be used, so there is nothing to show yet."
    else:
        head = (
            f"None of the {len(failed)} uploaded files could be used, so there is "
            "nothing to show yet."
        )
    lines = "\n".join(
        f"- **{name}**: {reason}" for name, reason in file_reasons(failed)
    )
    them = "it" if len(failed) == 1 else "them"
    st.error(
        f"{head} Replace {them} in the sidebar, or go back to the demo brand; the "
        f"stage rules there are kept.\n\n{lines}"
    )


def file_reasons(reports: list[FileReport]) -> list[tuple[str, str]]:
    """Each file with why it loaded nothing, ending with a full stop: a file that
    could not be read gives its problem, one that was read the reason none of its
    rows loaded (``"the file has a header and no rows: ..."``)."""
    return [(r.file, why_no_row_loaded(r).rstrip(".") + ".") for r in reports]


def current_view() -> View:
    """The view the sidebar set up for this run.

    A page opened by its address before anyone has opened the app since the server
    started is run by Streamlit alone, without ``app.py`` (Streamlit takes a
    ``pages/`` folder for an old-style multipage app until ``st.navigation`` is first
    called). The run then starts again through ``app.py``, on the same page with the
    same settings.
    """
    if VIEW_KEY not in st.session_state and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    return st.session_state[VIEW_KEY]
