"""Questions only the user can answer: which column holds what in a table of no known
kind, and which way round ambiguous dates are written.

Each answer is kept in the session and the uploads are read again with it at once.
Both stay on the page once answered, so that they can be seen and changed: each
mapping in use (one per layout of table) under "Mapped files" with the files it
read (save, change or clear it), the date order under "How are dates written?". A
column mapping saves to JSON and loads back; the command line takes the same file
(``--mapping``, once per layout).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from pages.tables import show_table
from pipeline.ingest.mapping import candidates_in_upload, validate_mapping
from pipeline.mapping_guess import starting_mapping
from pipeline.model import EVENT_TYPES, FileReport, InputError

MAPPING_KEY = "_lens_mappings"
PRESET_KEY = "_lens_mapping_preset"
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
    files: tuple[tuple[str, bytes], ...], unknown: list[str], mapped: dict[str, dict]
) -> None:
    """The column-mapping step: a form for tables of no known kind, and each
    mapping in use (one per layout), which can be seen, saved, changed and cleared.

    Parameters
    ----------
    files
        The uploads, as (name, bytes).
    unknown
        The files of no known kind (a mapping could read them).
    mapped
        The files read with a mapping, each with the mapping it was read with.
    """
    mappings = session_mappings()
    if unknown:
        st.subheader("Map columns")
        st.caption(
            "These files are of no kind we know. Say which column holds the person, "
            "the time and the event, and they load as events. Each layout of table "
            "gets a mapping of its own; the mappings are kept for this session, and "
            "each can be saved to reuse it."
        )
        mapping_form(files, unknown)
        saved_mapping_loader()
    for index, mapping in enumerate(mappings):
        names = [name for name, used in mapped.items() if used == mapping]
        label = f"Mapped files: {', '.join(names) or 'none'}"
        with st.expander(label, expanded=not names):
            applied_mapping(mapping, names, index)
            st.markdown("**Change the mapping**")
            mapping_form(files, names or unknown or [n for n, _ in files], index)


def session_mappings() -> list[dict]:
    """The mappings in use in this session, one per layout (a single mapping kept
    by an older session counts as a list of one)."""
    kept = st.session_state.get(MAPPING_KEY) or []
    return [kept] if isinstance(kept, dict) else list(kept)


def mapped_files(reports: list[FileReport]) -> dict[str, dict]:
    """The files read with a column mapping, each with the mapping it was read with."""
    return {
        r.file: r.meta.get("mapping") or {} for r in reports if r.kind == "mapped"
    }


def applied_mapping(mapping: dict, mapped: list[str], index: int) -> None:
    """One mapping in use, field by field, with buttons to save and clear it."""
    if mapped:
        st.markdown(f"Read with this mapping: {', '.join(mapped)}.")
    else:
        st.markdown(
            "No file has every column this mapping names, so none was read with it: "
            "change or clear it."
        )
    rows = [
        {
            "Field": FIELD_LABELS.get(field, field),
            "Column": f"always {target[1:]}" if target.startswith("=") else target,
        }
        for field, target in mapping.items()
    ]
    show_table(pd.DataFrame(rows), hide_index=True, key=f"map_applied_{index}")
    buttons = st.container(horizontal=True)
    stem = Path(mapped[0]).stem if mapped else f"mapping_{index + 1}"
    buttons.download_button(
        "Save this mapping",
        json.dumps(mapping, indent=2),
        file_name=f"{stem}_mapping.json",
        mime="application/json",
        key=f"map_save_{index}",
    )
    buttons.button(
        "Clear the mapping",
        key=f"map_clear_{index}",
        on_click=clear_mapping,
        args=(index,),
    )


def mapping_form(
    files: tuple[tuple[str, bytes], ...], names: list[str], index: int | None = None
) -> None:
    """Ask which column holds what, for the files ``names`` (``archive.zip/inner.csv``
    too).

    A new mapping (``index`` ``None``) starts from the chosen file's headers
    (:func:`pipeline.mapping_guess.guessed_mapping`), a field no header names
    empty: never at a column that merely comes first. Changing the mapping at
    ``index`` starts from it when the file has its columns, else from the headers
    (:func:`pipeline.mapping_guess.starting_mapping`). The answer is kept in the
    session (``MAPPING_KEY``) and used at once: the uploads are read again with it.
    """
    suffix = "" if index is None else f"_{index}"
    name = st.selectbox("File", names, key=f"map_file{suffix}")
    columns = candidates_in_upload(list(files), name)
    if not columns:
        st.warning(f"{name}: no table could be read from it, so it cannot be mapped.")
        return
    current = None if index is None else session_mappings()[index]
    shown = json.dumps([name, current], sort_keys=True)
    start_form(suffix, shown, form_defaults(columns, current))
    events = columns + [f"always {e}" for e in EVENT_TYPES]
    with st.form(key=f"mapping_form{suffix}"):
        person = st.selectbox(
            "Person (email, phone or id)",
            columns,
            placeholder=CHOOSE,
            key=f"mapf{suffix}_person",
        )
        stamp = st.selectbox(
            "Time",
            columns,
            placeholder=CHOOSE,
            key=f"mapf{suffix}_timestamp",
        )
        event = st.selectbox(
            "Event (a column, or one type for every row)",
            events,
            placeholder="Choose a column or an event type",
            key=f"mapf{suffix}_event",
        )
        channel = st.selectbox(
            "Channel",
            [NONE, *columns],
            key=f"mapf{suffix}_channel",
        )
        value = st.selectbox(
            "Value",
            [NONE, *columns],
            key=f"mapf{suffix}_value",
        )
        submitted = st.form_submit_button("Use this mapping")
    if not submitted:
        return
    if None in (person, stamp, event):
        st.error(
            "Choose the columns of the person and the time, and the event "
            "(a column, or one event type for every row)."
        )
        return
    use_mapping(chosen_mapping(person, stamp, event, channel, value), index)


def start_form(suffix: str, shown: str, start: dict[str, str | None]) -> None:
    """Set the form's fields to ``start`` whenever it is shown for another file or
    mapping (``shown``), so that it starts from that file's own columns, never from
    the answers for the last one (set through the session, so the browser's select
    boxes follow too)."""
    seen = f"_lens_map_form_shown{suffix}"
    if st.session_state.get(seen) == shown:
        return
    for field, choice in start.items():
        empty = NONE if field in ("channel", "value") else None
        st.session_state[f"mapf{suffix}_{field}"] = choice or empty
    st.session_state[seen] = shown


def saved_mapping_loader() -> None:
    """Load a saved mapping (or a list of them) as another mapping in use, once per
    file uploaded."""
    preset = st.file_uploader("Or load a saved mapping", type="json", key="map_preset")
    if preset is None or st.session_state.get(PRESET_KEY) == preset.file_id:
        return
    try:
        loaded = json.loads(preset.getvalue())
        for mapping in [loaded] if isinstance(loaded, dict) else loaded:
            validate_mapping(mapping, file=preset.name)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, InputError) as exc:
        st.error(f"{preset.name}: {exc}")
        return
    st.session_state[PRESET_KEY] = preset.file_id
    for mapping in [loaded] if isinstance(loaded, dict) else loaded:
        use_mapping(mapping, rerun=False)
    st.rerun()


def form_defaults(columns: list[str], current: dict | None) -> dict[str, str | None]:
    """Where each field of the form starts: the ``current`` mapping's choices when
    the file has its columns, else the guesses from the file's headers (``None``:
    empty).

    The event is an option of the form: a column, or ``always <event type>``; a
    constant of another field is not an option, and starts empty.
    """
    start = starting_mapping(columns, current)
    for field, target in start.items():
        if target is not None and target.startswith("="):
            start[field] = f"always {target[1:]}" if field == "event" else None
    return start


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


def use_mapping(mapping: dict, index: int | None = None, rerun: bool = True) -> None:
    """Keep ``mapping`` for this session, in place of the one at ``index`` or beside
    the others, and read the uploads again with it."""
    mappings = session_mappings()
    if index is not None:
        mappings[index] = mapping
    elif mapping not in mappings:
        mappings.append(mapping)
    if st.session_state.get(MAPPING_KEY) != mappings:
        st.session_state[MAPPING_KEY] = mappings
        if rerun:
            st.rerun()


def clear_mapping(index: int) -> None:
    """Button callback: forget one mapping, so its files are read without it."""
    mappings = session_mappings()
    del mappings[index]
    st.session_state[MAPPING_KEY] = mappings


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
