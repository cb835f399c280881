"""Streamlit entry point: page config, shared sidebar, navigation. Pages live in pages/."""

import streamlit as st

from dashboard.state import sidebar

st.set_page_config(page_title="LULC mapping", layout="wide")
sidebar()
page = st.navigation([
    st.Page("pages/overview.py", title="Overview", default=True),
    st.Page("pages/map_explorer.py", title="Map explorer"),
    st.Page("pages/city_comparison.py", title="City comparison"),
    st.Page("pages/model_evaluation.py", title="Model evaluation"),
    st.Page("pages/classifier.py", title="EuroSAT classifier"),
    st.Page("pages/training.py", title="Training"),
])
page.run()
