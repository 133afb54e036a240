"""Pipeline Lens: the Streamlit entry point.

Run with ``streamlit run app.py``. The sidebar (uploads, "as of" date, stage rules)
is drawn here once for every page; each page is a thin script in ``pages/`` that
reads the current view from :func:`pages.common.current_view`.
"""

from pathlib import Path

import streamlit as st

from pages import common

HERE = Path(__file__).resolve().parent
PAGES = [
    ("pages/overview.py", "Overview", ":material/explore:"),
    ("pages/funnel.py", "Funnel", ":material/filter_alt:"),
    ("pages/customer_value.py", "Customer value", ":material/diamond:"),
    ("pages/attribution.py", "Attribution", ":material/hub:"),
    ("pages/leads.py", "Leads and exports", ":material/ios_share:"),
]

st.set_page_config(
    page_title="Pipeline Lens", page_icon=":material/insights:", layout="wide"
)

common.sidebar()

present = [(path, title, icon) for path, title, icon in PAGES if (HERE / path).exists()]
navigation = st.navigation(
    [
        st.Page(path, title=title, icon=icon, default=index == 0)
        for index, (path, title, icon) in enumerate(present)
    ]
)
navigation.run()
