"""Streamlit entry point: page config, shared sidebar, navigation, shareable links. Pages live in
pages/."""

import streamlit as st

from dashboard import services, share, state

st.set_page_config(page_title="LULC mapping", layout="wide")
# A shared link (or a reload) brings its city and model along: set before the sidebar's widgets.
share.begin_run()
share.restore_choice(share.CITY, state.CITY_KEY, [s.name for s in services.scenes()], "city",
                     lambda: (state.city() or "").title())
share.restore_choice(share.MODEL, state.SEGMENTER_KEY,
                     [c.name for c in services.model_cards("segmentation")], "map model",
                     lambda: f"'{state.segmenter()}'")
state.sidebar()
page = st.navigation([
    st.Page("pages/overview.py", title="Overview", default=True),
    st.Page("pages/map_explorer.py", title="Map explorer"),
    st.Page("pages/city_comparison.py", title="City comparison"),
    st.Page("pages/model_evaluation.py", title="Model evaluation"),
    st.Page("pages/classifier.py", title="EuroSAT classifier"),
    st.Page("pages/training.py", title="Training"),
])
# The address bar always holds a working link: the sidebar's choice here, the page's own state
# (area, layers) written by the page itself.
share.write({share.CITY: state.city(), share.MODEL: state.segmenter(),
             **({} if page.url_path == "map_explorer" else dict.fromkeys(share.PAGE_KEYS))})
page.run()
