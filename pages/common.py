"""What every page shares: the sidebar (uploads, "as of", stage rules) and the view.

Nothing per user is kept in module globals or ``st.cache_resource``: uploaded bytes
live in the session's memory and in ``st.cache_data`` keyed on the bytes themselves.

The view is shareable: the "as of" date and every stage-rule widget are bound to the
URL's query parameters (``bind="query-params"``, keyed by the widget key), so a copied
link reopens the same settings. Rule presets save to and load from a JSON file
(:meth:`pipeline.rules.StageRules.to_json`), and one button restores the defaults.
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

from pipeline.ingest import load_files
from pipeline.ingest.mapping import candidates_in_upload, validate_mapping
from pipeline.model import EVENT_TYPES, Dataset, InputError
from pipeline.rules import RULE_NAMES, StageRules
from pipeline.stages import StageEngine

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
VIEW_KEY = "_lens_view"
PRESET_APPLIED_KEY = "_lens_preset_applied"
FILES_KEY = "_lens_files"
DATA_KEY = "_lens_data_key"
MAPPING_KEY = "_lens_mapping"
DAYFIRST_KEY = "_lens_dayfirst"
INFERRED_ZONE = "inferred from the data"
NONE = "(none)"
SAMPLE_SUFFIXES = {
    ".csv", ".gz", ".zip", ".json", ".ndjson", ".parquet", ".xlsx", ".tsv"
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
) -> tuple[Dataset | None, str | None]:
    """Load uploaded files once per distinct content and settings.

    Returns the dataset, or ``None`` and the message saying why nothing could be
    used; the failure is cached too, so a file that cannot be read is not parsed
    again on every page.
    """
    mapping = json.loads(mapping_json) if mapping_json else None
    try:
        return load_files(
            list(files), timezone=timezone, mapping=mapping, dayfirst=dayfirst
        ), None
    except InputError as exc:
        return None, str(exc)


def mapping_form(
    files: tuple[tuple[str, bytes], ...], names: list[str] | None = None
) -> None:
    """Ask which column holds what, for uploads of no known kind.

    Parameters
    ----------
    files
        The uploads, as (name, bytes).
    names
        The files to offer (``archive.zip/inner.csv`` too); all uploads when ``None``.

    The answer is kept in the session (``MAPPING_KEY``) and used at once: the
    uploads are read again with it. A mapping can be saved to JSON and loaded back.
    """
    names = names or [name for name, _ in files]
    st.subheader("Map columns")
    st.caption(
        "These files are of no kind we know. Say which column holds the person, the "
        "time and the event, and they load as events. The mapping is kept for this "
        "session; save it to reuse it."
    )
    name = st.selectbox("File", names, key="map_file")
    columns = candidates_in_upload(list(files), name)
    if not columns:
        st.warning(f"{name}: no table could be read from it, so it cannot be mapped.")
    else:
        with st.form(key="mapping_form"):
            person = st.selectbox(
                "Person (email, phone or id)", columns, key="mapf_person"
            )
            stamp = st.selectbox("Time", columns, key="mapf_timestamp")
            event = st.selectbox(
                "Event (a column, or one type for every row)",
                columns + [f"always {e}" for e in EVENT_TYPES],
                key="mapf_event",
            )
            channel = st.selectbox("Channel", [NONE, *columns], key="mapf_channel")
            value = st.selectbox("Value", [NONE, *columns], key="mapf_value")
            submitted = st.form_submit_button("Use this mapping")
        if submitted:
            mapping = {"person": person, "timestamp": stamp}
            mapping["event"] = "=" + event[7:] if event.startswith("always ") else event
            if channel != NONE:
                mapping["channel"] = channel
            if value != NONE:
                mapping["value"] = value
            use_mapping(mapping)

    preset = st.file_uploader("Or load a saved mapping", type="json", key="map_preset")
    if preset is not None:
        try:
            loaded = json.loads(preset.getvalue())
            validate_mapping(loaded, file=preset.name)
        except (json.JSONDecodeError, UnicodeDecodeError, InputError) as exc:
            st.error(f"{preset.name}: {exc}")
        else:
            use_mapping(loaded)
    if st.session_state.get(MAPPING_KEY):
        st.download_button(
            "Save this mapping",
            json.dumps(st.session_state[MAPPING_KEY], indent=2),
            file_name="mapping.json",
            mime="application/json",
            key="map_save",
        )


def use_mapping(mapping: dict) -> None:
    """Keep ``mapping`` for this session and read the uploads again with it."""
    if st.session_state.get(MAPPING_KEY) != mapping:
        st.session_state[MAPPING_KEY] = mapping
        st.rerun()


def use_dayfirst(dayfirst: bool | None) -> None:
    """Keep the user's answer on date order and read the uploads again with it."""
    if st.session_state.get(DAYFIRST_KEY) != dayfirst:
        st.session_state[DAYFIRST_KEY] = dayfirst
        st.rerun()


def timezone_choice() -> str | None:
    """The store time zone the user picked in the sidebar, or ``None`` to infer it."""
    zones = [INFERRED_ZONE, *sorted(available_timezones())]
    zone = st.sidebar.selectbox(
        "Store time zone", zones, key="timezone", bind="query-params",
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


def rule_key(name: str, field: str) -> str:
    """The widget key (and URL parameter) of one field of one stage rule."""
    return f"rule_{name}_{field}"


def rules_from_state(rules: StageRules) -> None:
    """Put ``rules`` into the rule widgets' session state (presets, defaults)."""
    for name in RULE_NAMES:
        rule = rules.rules[name]
        st.session_state[rule_key(name, "enabled")] = rule.enabled
        st.session_state[rule_key(name, "min_count")] = rule.min_count
        st.session_state[rule_key(name, "window_days")] = rule.window_days


def restore_default_rules() -> None:
    """Button callback: every stage rule back to its default."""
    rules_from_state(StageRules())
    st.session_state[PRESET_APPLIED_KEY] = None


def rules_from_widgets(container=None) -> StageRules:
    """Draw the stage-rule widgets and return the rules they set.

    Every widget is bound to a query parameter named by its key, so the URL carries
    the rules.
    """
    box = container if container is not None else st.sidebar
    rules = StageRules()
    box.subheader("Stage rules")
    for name in RULE_NAMES:
        rule = rules.rules[name]
        stage = rule.stage.replace("_", " ")
        with box.expander(f"{stage}: {rule.label}"):
            enabled = st.checkbox(
                "Rule on", value=rule.enabled, key=rule_key(name, "enabled"),
                bind="query-params",
            )
            count = st.slider(
                "At least (events)", 1, 20, rule.min_count,
                key=rule_key(name, "min_count"), disabled=not enabled,
                bind="query-params",
            )
            window = st.slider(
                "Within (days)", 1, 90, rule.window_days,
                key=rule_key(name, "window_days"), disabled=not enabled,
                bind="query-params",
            )
        rules = rules.with_rule(
            name, enabled=enabled, min_count=count, window_days=window
        )
    return rules


def load_preset(container) -> None:
    """The preset uploader: apply an uploaded rules JSON once, before the widgets."""
    upload = container.file_uploader(
        "Load a rules preset (JSON)", type=["json"], key="preset_load",
        help="A file saved with 'Save rules preset'.",
    )
    if upload is None:
        return
    data = upload.getvalue()
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    if st.session_state.get(PRESET_APPLIED_KEY) == digest:
        return
    try:
        rules = StageRules.from_json(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        container.error(
            f"file {upload.name!r}: not a rules preset ({exc}). Save one with "
            "'Save rules preset' and load that file."
        )
        return
    rules_from_state(rules)
    st.session_state[PRESET_APPLIED_KEY] = digest
    container.success(f"Rules loaded from {upload.name}.")


def sidebar() -> None:
    """Draw the sidebar and store the resulting :class:`View` in the session."""
    st.sidebar.title("Pipeline Lens")
    uploads = st.sidebar.file_uploader(
        "Upload exports", accept_multiple_files=True, key="uploads", help=UPLOAD_HELP,
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

    mapping = st.session_state.get(MAPPING_KEY)
    dataset, failure = cached_dataset(
        files,
        timezone_choice(),
        json.dumps(mapping, sort_keys=True) if mapping else None,
        st.session_state.get(DAYFIRST_KEY),
    )
    if dataset is None:
        st.error(failure)
        if not is_sample:
            mapping_form(files)
        st.stop()
    key = content_key(files)
    if dataset.timezone != "UTC" or mapping or st.session_state.get(DAYFIRST_KEY):
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
        "As of", value=engine.default_as_of, key="as_of", bind="query-params",
        help="Stages are evaluated at the end of this day (store time zone).",
    )
    rules_box = st.sidebar.container()
    presets = st.sidebar.expander("Rule presets")
    load_preset(presets)
    rules = rules_from_widgets(rules_box)
    presets.download_button(
        "Save rules preset", rules.to_json(), file_name="stage_rules.json",
        mime="application/json", key="preset_save",
    )
    st.sidebar.button(
        "Restore default rules", key="restore_defaults", on_click=restore_default_rules,
        disabled=rules == StageRules(),
    )
    st.sidebar.caption("The page's address keeps these settings: copy it to share.")

    leads = engine.leads(rules, as_of)
    st.session_state[VIEW_KEY] = View(
        dataset, engine, rules, as_of, leads, is_sample, tuple(n for n, _ in files), key
    )


def current_view() -> View:
    """The view the sidebar set up for this run."""
    return st.session_state[VIEW_KEY]
