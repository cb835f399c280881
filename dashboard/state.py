"""The sidebar shared by every page, defined once."""

from __future__ import annotations

import streamlit as st


def sidebar() -> None:
    st.sidebar.title("LULC mapping")
    st.sidebar.caption(
        "Land use and land cover from Sentinel-2 imagery: EuroSAT classification and "
        "Urban Atlas segmentation for Paris and Ankara."
    )
