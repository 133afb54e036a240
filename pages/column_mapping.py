"""Questions only the user can answer: which column holds what in a table of no known
kind, and which way round ambiguous dates are written.

Each answer is kept in the session and the uploads are read again with it at once.
Both stay on the page once answered, so that they can be seen and changed: the
mapping in use under "Mapped files" (save, change or clear it), the date order
under "How are dates written?". A column mapping saves to JSON and loads back; the
command line takes the same file (``--mapping``).
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from pages.tables import show_table
from pipeline.ingest.mapping import candidates_in_upload, validate_mapping
from pipeline.mapping_guess import guessed_mapping
from pipeline.model import EVENT_TYPES, InputError

MAPPING_KEY = "_lens_mapping"
DAYFIRST_KEY = "_lens_dayfirst"
DATES_FILES_KEY = "_lens_dayfirst_files"
NONE = "(none)"
CHOOSE = "Choose a column"
DATE_ORDERS = ["month first (01/02 = 2 January)", "day first (01/02 = 1 February)"]
FIELD_LABELS = {
    "person": "Person",
    "timestamp": "Time",
    "event": "Event",
    "channel": "Channel",
    "source": "Source",
    "medium": "Medium",
    "campaign": "Campaign",
    "product": "Product",
    "order_id": "Order id",
    "value": "Value",
    "currency": "Currency",
}


def mapping_step(
    files: tuple[tuple[str, bytes], ...], unknown: list[str], mapped: list[str]
) -> None:
    """The column-mapping step: a form for tables of no known kind, and the mapping
    in use, which can be seen, saved, changed and cleared.

    Parameters
    ----------
    files
        The uploads, as (name, bytes).
    unknown
        The files of no known kind (a mapping could read them).
    mapped
        The files read with the mapping in use.
    """
    mapping = st.session_state.get(MAPPING_KEY)
    names = [*unknown, *mapped] or [name for name, _ in files]
    if unknown:
        st.subheader("Map columns")
        st.caption(
            "These files are of no kind we know. Say which column holds the person, "
            "the time and the event, and they load as events. The mapping is kept "
            "for this session; save it to reuse it."
        )
        mapping_form(files, names, mapping)
        if mapping:
            applied_mapping(mapping, mapped)
    elif mapping:
        with st.expander(f"Mapped files: {', '.join(mapped) or 'none'}"):
            applied_mapping(mapping, mapped)
            st.markdown("**Change the mapping**")
            mapping_form(files, names, mapping)


def applied_mapping(mapping: dict, mapped: list[str]) -> None:
    """The mapping in use, field by field, with buttons to save and clear it."""
    if mapped:
        st.markdown(f"Read with this mapping: {', '.join(mapped)}.")
    else:
        st.markdown("No file could be read with this mapping: change or clear it.")
    rows = [
        {
            "Field": FIELD_LABELS.get(field, field),
            "Column": f"always {target[1:]}" if target.startswith("=") else target,
        }
        for field, target in mapping.items()
    ]
    show_table(pd.DataFrame(rows), hide_index=True, key="map_applied")
    buttons = st.container(horizontal=True)
    buttons.download_button(
        "Save this mapping",
        json.dumps(mapping, indent=2),
        file_name="mapping.json",
        mime="application/json",
        key="map_save",
    )
    buttons.button("Clear the mapping", key="map_clear", on_click=clear_mapping)


def mapping_form(
    files: tuple[tuple[str, bytes], ...],
    names: list[str],
    current: dict | None = None,
) -> None:
    """Ask which column holds what, for the files ``names`` (``archive.zip/inner.csv``
    too).

    Each field starts at the ``current`` mapping's column, else at the column its
    header suggests (:func:`pipeline.mapping_guess.guessed_mapping`), else empty:
    never at a column that merely comes first. The answer is kept in the session
    (``MAPPING_KEY``) and used at once: the uploads are read again with it. A saved
    mapping can be loaded instead.
    """
    name = st.selectbox("File", names, key="map_file")
    columns = candidates_in_upload(list(files), name)
    if not columns:
        st.warning(f"{name}: no table could be read from it, so it cannot be mapped.")
    else:
        start = form_defaults(columns, current)
        events = columns + [f"always {e}" for e in EVENT_TYPES]
        with st.form(key="mapping_form"):
            person = st.selectbox(
                "Person (email, phone or id)",
                columns,
                index=position(columns, start["person"]),
                placeholder=CHOOSE,
                key="mapf_person",
            )
            stamp = st.selectbox(
                "Time",
                columns,
                index=position(columns, start["timestamp"]),
                placeholder=CHOOSE,
                key="mapf_timestamp",
            )
            event = st.selectbox(
                "Event (a column, or one type for every row)",
                events,
                index=position(events, start["event"]),
                placeholder="Choose a column or an event type",
                key="mapf_event",
            )
            channel = st.selectbox(
                "Channel",
                [NONE, *columns],
                index=position([NONE, *columns], start["channel"]) or 0,
                key="mapf_channel",
            )
            value = st.selectbox(
                "Value",
                [NONE, *columns],
                index=position([NONE, *columns], start["value"]) or 0,
                key="mapf_value",
            )
            submitted = st.form_submit_button("Use this mapping")
        if submitted:
            if None in (person, stamp, event):
                st.error(
                    "Choose the columns of the person and the time, and the event "
                    "(a column, or one event type for every row)."
                )
            else:
                use_mapping(chosen_mapping(person, stamp, event, channel, value))

    preset = st.file_uploader("Or load a saved mapping", type="json", key="map_preset")
    if preset is not None:
        try:
            loaded = json.loads(preset.getvalue())
            validate_mapping(loaded, file=preset.name)
        except (json.JSONDecodeError, UnicodeDecodeError, InputError) as exc:
            st.error(f"{preset.name}: {exc}")
        else:
            use_mapping(loaded)


def form_defaults(columns: list[str], current: dict | None) -> dict[str, str | None]:
    """Where each field of the form starts: the current mapping's choices (a field
    it leaves out, or a column the file lacks, empty), else the guesses from the
    headers (``None``: empty).

    The event is an option of the form: a column, or ``always <event type>``.
    """
    start = guessed_mapping(columns)
    if current:
        start = dict.fromkeys(start)
    lower = {c.strip().lower(): c for c in columns}
    for field, target in (current or {}).items():
        if field not in start:
            continue
        if target.startswith("="):
            start[field] = f"always {target[1:]}" if field == "event" else None
        elif target.strip().lower() in lower:
            start[field] = lower[target.strip().lower()]
        elif field == "event" and target in EVENT_TYPES:
            start[field] = f"always {target}"
    return start


def position(options: list[str], choice: str | None) -> int | None:
    """The index of ``choice`` in ``options``, or ``None`` (an empty select)."""
    return options.index(choice) if choice in options else None


def chosen_mapping(
    person: str, stamp: str, event: str, channel: str, value: str
) -> dict[str, str]:
    """The mapping the form's answers make (an "always" event is a constant)."""
    mapping = {"person": person, "timestamp": stamp}
    mapping["event"] = "=" + event[7:] if event.startswith("always ") else event
    if channel != NONE:
        mapping["channel"] = channel
    if value != NONE:
        mapping["value"] = value
    return mapping


def use_mapping(mapping: dict) -> None:
    """Keep ``mapping`` for this session and read the uploads again with it."""
    if st.session_state.get(MAPPING_KEY) != mapping:
        st.session_state[MAPPING_KEY] = mapping
        st.rerun()


def clear_mapping() -> None:
    """Button callback: forget the mapping, so the uploads are read without it."""
    st.session_state.pop(MAPPING_KEY, None)


def date_order_step(ambiguous: dict[str, str]) -> None:
    """Ask which way round dates such as 01/02/2024 are written, and keep asking
    once answered, so that the answer can be seen and changed.

    Parameters
    ----------
    ambiguous
        File -> the column whose dates could be either, for the files read without
        an answer; empty once the uploads were read with one.
    """
    answer = st.session_state.get(DAYFIRST_KEY)
    if ambiguous:
        st.session_state[DATES_FILES_KEY] = ambiguous
    if not ambiguous and answer is None:
        return
    where = st.session_state.get(DATES_FILES_KEY) or ambiguous
    names = ", ".join(f"{name} ({column})" for name, column in where.items())
    dates = f"Dates such as 01/02/2024 in {names}" if names else "Dates such as 01/02"
    st.subheader("How are dates written?")
    if answer is None:
        question = f"{dates} could be either; no value tells."
        st.caption("Until you answer, they are read month first.")
    else:
        way = "day" if answer else "month"
        question = f"{dates} are read {way} first, as you answered. Change it here."
    choice = st.radio(
        question,
        DATE_ORDERS,
        index=None if answer is None else int(answer),
        key="dates_dayfirst",
    )
    if choice is not None:
        use_dayfirst(choice.startswith("day"))


def use_dayfirst(dayfirst: bool | None) -> None:
    """Keep the user's answer on date order and read the uploads again with it."""
    if st.session_state.get(DAYFIRST_KEY) != dayfirst:
        st.session_state[DAYFIRST_KEY] = dayfirst
        st.rerun()
