"""Pipeline Lens: the Streamlit entry point.

Run with ``streamlit run app.py``. The sidebar (uploads, "as of" date, stage rules)
is drawn here once for every page; each page is a thin script in ``pages/`` that
reads the current view from :func:`pages.common.current_view`.
"""

import streamlit as st

from pages import common

st.set_page_config(page_title="Pipeline Lens", page_icon="🔭", layout="wide")

common.sidebar()

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon="🧭", default=True),
        st.Page("pages/funnel.py", title="Funnel", icon="🔻"),
        st.Page("pages/customer_value.py", title="Customer value", icon="💎"),
        st.Page("pages/attribution.py", title="Attribution", icon="🧩"),
        st.Page("pages/leads.py", title="Leads and exports", icon="📤"),
    ]
)
navigation.run()
