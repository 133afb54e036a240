"""Test that an upload of no known kind can be mapped in the app and then loads."""

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
    assert at.session_state["_lens_mapping"] == {
        "person": "foo",
        "timestamp": "bar",
        "event": "=order",
        "value": "baz",
    }
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
        b"person,timestamp,event,value\n"
        b"cy@example.com,2024-05-03T09:00:00Z,order,40\n"
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
    mapping = at.session_state["_lens_mapping"]
    assert mapping == {
        "person": "foo", "timestamp": "bar", "event": "=order", "value": "baz"
    }

    # AppTest reruns only the page after the first run of a st.navigation app, so
    # the reload the mapping triggers is checked in a new session that has it.
    again = AppTest.from_file(APP, default_timeout=120)
    again.session_state["_lens_files"] = at.session_state["_lens_files"]
    again.session_state["_lens_mapping"] = mapping
    again.run()
    assert not again.exception
    orders = again.session_state["_lens_view"].dataset.orders
    assert sorted(orders["net_value"]) == [3.0, 12.5, 40.0]
