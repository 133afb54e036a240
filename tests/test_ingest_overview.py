"""AppTest: the Overview page on uploaded real exports and on unusable uploads."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import real_bytes

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def uploaded(*files: tuple[str, bytes]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    # the uploads as the sidebar keeps them in the session (pages.common.FILES_KEY)
    at.session_state["_lens_files"] = tuple(files)
    at.run()
    return at


def page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def test_overview_on_orders_and_checkouts(real_dir):
    """Test the data check, coverage gap and missing-stage words on real exports."""
    at = uploaded(
        real_bytes("shopify/apparel_orders_2023_2024.csv"),
        real_bytes("shopify/apparel_abandoned_checkouts_2023_2026.csv"),
    )
    assert not at.exception, at.exception
    text = page_text(at)
    assert "no order after it" in text
    assert "no engagement events uploaded" in text
    assert "Orders without a person" in text
    tables = [d.value for d in at.dataframe]
    files = next(t for t in tables if "kind" in t.columns)
    assert list(files["kind"]) == ["shopify_orders", "shopify_checkouts"]
    assert list(files["rows read"]) == [11_336, 368]
    excluded = next(t for t in tables if "reason" in t.columns)
    assert set(excluded["reason"]) == {"cancelled", "refunded", "voided"}


def test_overview_shows_a_bad_file_as_an_error(real_dir):
    """Test an unreadable upload beside a good one is an st.error, not a crash."""
    at = uploaded(
        ("broken.csv", b"\x00\x01\x02\x03" * 64),
        real_bytes("shopify/cod_store_orders_utm_in_notes.csv"),
    )
    assert not at.exception, at.exception
    assert any("broken.csv" in e.value for e in at.error)
