"""Test that an upload of no known kind can be mapped in the app and then loads."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
UNKNOWN = (
    b"foo,bar,baz\n"
    b"ann@example.com,2024-05-01T10:00:00Z,12.5\n"
    b"bob@example.com,2024-05-02T10:00:00Z,3\n"
)


def test_unknown_file_is_mapped_in_the_app_and_loads_as_orders():
    """Test that the mapping form appears when nothing loads, and its answer loads."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = (("madeup.csv", UNKNOWN),)
    at.run()
    assert not at.exception
    assert "could not be recognised" in at.error[0].value

    at.selectbox(key="mapf_person").set_value("foo")
    at.selectbox(key="mapf_timestamp").set_value("bar")
    at.selectbox(key="mapf_event").set_value("always order")
    at.selectbox(key="mapf_value").set_value("baz")
    next(b for b in at.button if b.label == "Use this mapping").click()
    at.run()

    assert not at.exception
    assert at.session_state["_lens_mappings"] == [
        {"person": "foo", "timestamp": "bar", "event": "=order", "value": "baz"}
    ]
    report = at.session_state["_lens_view"].dataset.reports[0]
    assert (report.kind, report.rows_read, report.rows_loaded) == ("mapped", 2, 2)
    orders = at.session_state["_lens_view"].dataset.orders
    assert sorted(orders["net_value"]) == [3.0, 12.5]


def test_store_time_zone_setting_changes_the_dataset_zone():
    """Test that picking a store time zone in the sidebar reloads the data in it."""
    inferred = AppTest.from_file(APP, default_timeout=120)
    inferred.run()
    assert inferred.session_state["_lens_view"].dataset.timezone == "America/New_York"

    # AppTest keeps a sidebar widget's first value across reruns of a
    # st.navigation app, so the choice is made before the first run.
    chosen = AppTest.from_file(APP, default_timeout=120)
    chosen.session_state["timezone"] = "Europe/Berlin"
    chosen.run()

    assert not chosen.exception
    assert chosen.session_state["_lens_view"].dataset.timezone == "Europe/Berlin"


def test_unknown_file_beside_a_known_one_is_mapped_on_the_overview():
    """Test that the Overview offers the mapping for the unknown file, and uses it."""
    events = (
        b"person,timestamp,event,value\ncy@example.com,2024-05-03T09:00:00Z,order,40\n"
    )
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = (
        ("events.csv", events),
        ("madeup.csv", UNKNOWN),
    )
    at.run()
    assert not at.exception
    assert at.selectbox(key="map_file").options == ["madeup.csv"]

    at.selectbox(key="mapf_person").set_value("foo")
    at.selectbox(key="mapf_timestamp").set_value("bar")
    at.selectbox(key="mapf_event").set_value("always order")
    at.selectbox(key="mapf_value").set_value("baz")
    next(b for b in at.button if b.label == "Use this mapping").click()
    at.run()

    assert not at.exception
    (mapping,) = at.session_state["_lens_mappings"]
    assert mapping == {
        "person": "foo",
        "timestamp": "bar",
        "event": "=order",
        "value": "baz",
    }

    # AppTest reruns only the page after the first run of a st.navigation app, so
    # the reload the mapping triggers is checked in a new session that has it.
    again = AppTest.from_file(APP, default_timeout=120)
    again.session_state["_lens_files"] = at.session_state["_lens_files"]
    again.session_state["_lens_mappings"] = [mapping]
    again.run()
    assert not again.exception
    orders = again.session_state["_lens_view"].dataset.orders
    assert sorted(orders["net_value"]) == [3.0, 12.5, 40.0]


NEW_USER = (
    b"Email,Joined,Source,Amount\n"
    b"a@example.com,01/02/2024,web,10\nb@example.com,03/02/2024,web,20\n"
    b"c@example.com,05/02/2024,ad,30\nd@example.com,07/02/2024,ad,40\n"
)
"""A new user's table of no known kind, its dates either day or month first."""


def test_the_form_starts_from_the_headers_not_the_first_column():
    """Test the new user's `Email,Joined,Source,Amount`: the person, time, channel
    and value start at the columns their headers name and the event is left empty
    (before, every select started at Email, so Time and Event read Email)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = (("signups.csv", NEW_USER),)
    at.run()
    assert not at.exception, at.exception
    chosen = {s.key: s.value for s in at.selectbox if s.key.startswith("mapf_")}
    assert chosen == {
        "mapf_person": "Email",
        "mapf_timestamp": "Joined",
        "mapf_event": None,
        "mapf_channel": "Source",
        "mapf_value": "Amount",
    }

    # using the form without an event says what is missing and maps nothing
    next(b for b in at.button if b.label == "Use this mapping").click()
    at.run()
    assert "_lens_mappings" not in at.session_state
    assert any(e.value.startswith("Choose the columns of the person") for e in at.error)


def test_an_applied_mapping_and_the_date_order_stay_on_the_page():
    """Test the new-user defect: once the mapping was used and the dates answered
    day first, the whole "Map columns" section (its Save button too) and the date
    question disappeared. Now the mapping shows under "Mapped files" with Save,
    Change (the form, set to the mapping) and Clear, and the date question keeps
    its answer, which can be changed."""
    mapping = {
        "person": "Email",
        "timestamp": "Joined",
        "event": "=signup",
        "channel": "Source",
    }
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = (("signups.csv", NEW_USER),)
    at.session_state["_lens_mappings"] = [mapping]
    at.session_state["_lens_dayfirst"] = True
    at.run()
    assert not at.exception, at.exception
    report = at.session_state["_lens_view"].dataset.reports[0]
    assert (report.kind, report.rows_loaded) == ("mapped", 4)
    assert str(report.date_min.date()) == "2024-02-01"  # 01/02 read day first

    (expander,) = [e for e in at.expander if e.label.startswith("Mapped files")]
    assert expander.label == "Mapped files: signups.csv"
    applied = next(d.value for d in at.dataframe if "Field" in d.value.columns)
    assert applied.to_dict("list") == {
        "Field": ["Person", "Time", "Event", "Channel"],
        "Column": ["Email", "Joined", "always signup", "Source"],
    }
    saved = at.get("download_button")
    assert any(b.proto.label == "Save this mapping" for b in saved)
    chosen = {s.key: s.value for s in at.selectbox if s.key.startswith("mapf_0_")}
    assert chosen["mapf_0_event"] == "always signup"
    assert chosen["mapf_0_value"] == "(none)"

    dates = at.radio(key="dates_dayfirst")
    assert dates.value == "day first (01/02 = 1 February)"
    assert "signups.csv" not in dates.label  # (named while unanswered only)
    assert "are read day first, as you answered" in dates.label

    at.button(key="map_clear_0").click()
    at.run()
    assert at.session_state["_lens_mappings"] == []


def test_no_usable_upload_keeps_the_page_and_the_sidebar():
    """Test the new-user defect: an empty .csv and a random binary .csv showed only
    "none of the 2 files could be used (...)", lower-case, without what to do, and
    no title or stage rules. Now the page keeps its title, says why in a sentence,
    gives each file's whole reason, and the sidebar keeps the rules."""
    noise = bytes(range(256)) * 12
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = (("zero.csv", b""), ("random.csv", noise))
    at.query_params["rule_engaged_opens_min_count"] = "5"
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    (error,) = at.error
    text = error.value
    assert text.startswith(
        "None of the 2 uploaded files could be used, so there is nothing to show yet."
    )
    assert "- **zero.csv**: the file is empty: export it again and upload the new " in (
        text
    )
    assert "- **random.csv**: the file is neither text nor a supported format" in text
    assert "export it again in one of these formats." in text
    assert at.sidebar.slider(key="rule_engaged_opens_min_count").value == 5
    assert at.sidebar.checkbox(key="rule_intent_cart_enabled").value is True


TWO_LAYOUTS = (
    ("signups_unknown.csv", b"Email,Joined,Source,Amount\nann@x.com,2024-03-01,ig,\n"),
    (
        "leads_other.csv",
        b"Contact Phone,Signed Up On,Platform,Spend\n"
        b"+1 415 555 0101,2024-03-04,tiktok,12.50\n"
        b"+1 415 555 0102,2024-03-05,instagram,\n",
    ),
    ("unknown3.csv", b"Who,When,What\nq@x.com,2024-05-01,signup\n"),
)
BY_EMAIL = {
    "person": "Email",
    "timestamp": "Joined",
    "event": "=signup",
    "channel": "Source",
    "value": "Amount",
}
BY_PHONE = {
    "person": "Contact Phone",
    "timestamp": "Signed Up On",
    "event": "=signup",
    "channel": "Platform",
    "value": "Spend",
}


def test_a_second_layout_gets_its_own_mapping_and_its_own_guesses():
    """Test the new-user defects: mapping a second layout dropped the first (it went
    back to "could not be recognised"), and its form started from the first
    mapping (Person and Time "Choose a column", Value "(none)" beside a Spend
    column, Event "always signup"). Now the form starts from the second file's
    headers and its mapping is kept beside the first."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = TWO_LAYOUTS
    at.session_state["_lens_mappings"] = [BY_EMAIL]
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="map_file").options == ["leads_other.csv", "unknown3.csv"]
    chosen = {s.key: s.value for s in at.selectbox if s.key.startswith("mapf_")}
    assert {k: v for k, v in chosen.items() if not k.startswith("mapf_0")} == {
        "mapf_person": "Contact Phone",
        "mapf_timestamp": "Signed Up On",
        "mapf_event": None,
        "mapf_channel": "Platform",
        "mapf_value": "Spend",
    }

    # another file starts from its own headers, not from the last file's answers
    at.selectbox(key="mapf_event").set_value("always signup")
    at.selectbox(key="map_file").set_value("unknown3.csv")
    at.run()
    assert (
        at.selectbox(key="mapf_timestamp").value,
        at.selectbox(key="mapf_event").value,
    ) == ("When", None)
    at.selectbox(key="map_file").set_value("leads_other.csv")
    at.run()
    assert at.selectbox(key="mapf_value").value == "Spend"

    at.selectbox(key="mapf_event").set_value("always signup")
    next(b for b in at.button if b.label == "Use this mapping").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["_lens_mappings"] == [BY_EMAIL, BY_PHONE]

    # (AppTest reruns only the page: the reload is checked in a new session)
    again = AppTest.from_file(APP, default_timeout=120)
    again.session_state["_lens_files"] = TWO_LAYOUTS
    again.session_state["_lens_mappings"] = [BY_EMAIL, BY_PHONE]
    again.run()
    assert not again.exception, again.exception
    reports = again.session_state["_lens_view"].dataset.reports
    assert [(r.file, r.kind, r.rows_loaded) for r in reports] == [
        ("signups_unknown.csv", "mapped", 1),
        ("leads_other.csv", "mapped", 2),
        ("unknown3.csv", "unknown", 0),
    ]
    assert [e.label for e in again.expander if e.label.startswith("Mapped")] == [
        "Mapped files: signups_unknown.csv",
        "Mapped files: leads_other.csv",
    ]
    assert again.selectbox(key="map_file").options == ["unknown3.csv"]
    assert again.selectbox(key="mapf_1_person").value == "Contact Phone"
    labels = [b.proto.label for b in again.get("download_button")]
    assert labels.count("Save this mapping") == 2

    again.button(key="map_clear_0").click()
    again.run()
    assert again.session_state["_lens_mappings"] == [BY_PHONE]


def test_a_saved_single_mapping_still_loads():
    """Test a mapping saved as one JSON object (as before lists) loads as a mapping
    in use, beside the one there was, and only once."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = TWO_LAYOUTS
    at.session_state["_lens_mappings"] = [BY_EMAIL]
    at.run()
    saved = json.dumps(BY_PHONE).encode()
    preset = next(u for u in at.get("file_uploader") if u.key == "map_preset")
    preset.set_value(("mapping.json", saved, "application/json"))
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["_lens_mappings"] == [BY_EMAIL, BY_PHONE]


def test_a_header_only_file_beside_unusable_ones_is_nothing_usable():
    """Test the new-user defect: a header-only file uploaded with unusable files
    showed a dashboard of 0 and "—" tiles while the CLI said "no row of any file
    could be used". Now the page says nothing could be used, with each file's
    reason, the header-only file's included."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_lens_files"] = (
        ("header_only.csv", b"person,timestamp,event,value\n"),
        ("random.csv", bytes(range(256)) * 12),
    )
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    (error,) = at.error
    assert error.value.startswith(
        "None of the 2 uploaded files could be used, so there is nothing to show yet."
    )
    assert (
        "- **header_only.csv**: the file has a header and no rows: export it again "
        "for a date range that holds data." in error.value
    )
    assert "- **random.csv**: the file is neither text nor a supported format" in (
        error.value
    )
    assert not at.metric  # (no tiles of 0 and —)
