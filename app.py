"""Streamlit entry point: page config, shared sidebar, navigation, shareable links. Pages live in
app_pages/ (not pages/: beside the entry script that name turns on Streamlit's legacy multipage
mode, in which a page URL opened first runs without this file, its sidebar and navigation)."""

import streamlit as st

from dashboard import services, share, state

st.set_page_config(page_title="LULC mapping", layout="wide")
# A shared link (or a reload) brings its place, date and model along: set before the sidebar's
# widgets are drawn.
share.begin_run()
share.restore_choice(share.CITY, state.PLACE_KEY, [p.name for p in services.places()], "place",
                     lambda: state.describe(state.place()))
if state.place() is not None:
    share.restore_choice(share.DATE, state.DATE_KEY, [s.acquired for s in state.place().scenes],
                         "date", lambda: state.scene().acquired)
share.restore_choice(share.MODEL, state.SEGMENTER_KEY,
                     [c.name for c in services.model_cards("segmentation")], "map model",
                     lambda: f"'{state.segmenter()}'")
state.sidebar()
page = st.navigation([
    st.Page("app_pages/overview.py", title="Overview", default=True),
    st.Page("app_pages/map_explorer.py", title="Map explorer"),
    st.Page("app_pages/city_comparison.py", title="City comparison"),
    st.Page("app_pages/model_evaluation.py", title="Model evaluation"),
    st.Page("app_pages/classifier.py", title="EuroSAT classifier"),
    st.Page("app_pages/training.py", title="Training"),
])
# The address bar always holds a working link: the sidebar's choice here, the page's own state
# (area, layers) written by the page itself.
place = state.place()
share.write({
    share.CITY: place.name if place else None,
    share.DATE: state.scene().acquired if place and len(place.scenes) > 1 else None,
    share.MODEL: state.segmenter(),
    **({} if page.url_path == "map_explorer" else dict.fromkeys(share.PAGE_KEYS)),
})
page.run()
