"""How every table of the app is drawn: :func:`show_table`.

Pages draw no table with ``st.dataframe`` themselves (a test checks), so that every
table writes a missing value and a day the same way.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from pipeline.formatting import MISSING, is_days

DATE_FORMAT = "YYYY-MM-DD"
"""How tables write a day (Streamlit's moment.js tokens)."""


def show_table(data: pd.DataFrame | Styler, where=None, **kwargs) -> None:
    """Draw a table with ``st.dataframe``, as every table of the app is drawn.

    Missing values read as :data:`pipeline.formatting.MISSING`: Streamlit writes
    "None" in an empty cell, and a Styler's ``na_rep`` does not reach those cells.
    Datetime columns that hold days (:func:`pipeline.formatting.is_days`) read as
    dates, and counts (integer columns of a plain frame) with thousands separators.
    Values are not turned into text, so numbers stay numbers and sort as numbers.

    Parameters
    ----------
    data
        The table, or a Styler of it.
    where
        The container to draw in (a column, say); the page itself when ``None``.
    **kwargs
        Passed to ``st.dataframe``; a ``column_config`` entry given here wins over
        the date one.
    """
    frame = data.data if isinstance(data, Styler) else data
    config = {
        name: st.column_config.DateColumn(format=DATE_FORMAT)
        for name in frame.columns
        if is_days(frame[name])
    }
    if not isinstance(data, Styler):  # (a Styler writes its own numbers)
        config |= {
            name: st.column_config.NumberColumn(format="localized")
            for name in frame.columns
            if pd.api.types.is_integer_dtype(frame[name])
        }
    config.update(kwargs.pop("column_config", None) or {})
    (where or st).dataframe(
        data, placeholder=MISSING, column_config=config or None, **kwargs
    )
