"""Questions only the user can answer: which column holds what in a table of no known
kind, and which way round ambiguous dates are written.

Each answer is kept in the session and the uploads are read again with it at once.
A column mapping saves to JSON and loads back; the command line takes the same file
(``--mapping``).
"""

from __future__ import annotations

import json

import streamlit as st

from pipeline.ingest.mapping import candidates_in_upload, validate_mapping
from pipeline.model import EVENT_TYPES, InputError

MAPPING_KEY = "_lens_mapping"
DAYFIRST_KEY = "_lens_dayfirst"
NONE = "(none)"


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
