"""Pipeline Lens: the Streamlit entry point.

Run with ``streamlit run app.py``. The sidebar (uploads, "as of" date, stage rules)
is drawn here once for every page; each page is a thin script in ``pages/`` that
reads the current view from :func:`pages.common.current_view`.
"""

from pathlib import Path
from urllib.parse import urlparse

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


def addressed_title() -> str:
    """The title of the page the address names (the first page's at the root).

    Used when no upload can be used and the run stops before ``st.navigation``,
    so that the page still shows its own title.
    """
    last = urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    titles = {Path(path).stem: title for path, title, _ in PAGES}
    return titles.get(last, PAGES[0][1])


st.set_page_config(
    page_title="Pipeline Lens", page_icon=":material/insights:", layout="wide"
)

common.sidebar(addressed_title())

present = [(path, title, icon) for path, title, icon in PAGES if (HERE / path).exists()]
navigation = st.navigation(
    [
        st.Page(path, title=title, icon=icon, default=index == 0)
        for index, (path, title, icon) in enumerate(present)
    ]
)
navigation.run()
