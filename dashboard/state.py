"""The sidebar shared by every page (city and map model), defined once; pages read the choice.

The widgets live in ``app.py``'s run, before the page, so their values persist across pages.
"""

from __future__ import annotations

import streamlit as st

from dashboard import services
from lulc_core.comparison import city_model_name

CITY_KEY = "city"
SEGMENTER_KEY = "segmenter"


def _default_segmenter(city: str | None, names: list[str]) -> str | None:
    """The city's own U-Net (``unet-<city>``) when there is one, else the first segmenter."""
    own = city_model_name(city) if city else None
    return own if own in names else (names[0] if names else None)


def _city_changed() -> None:
    # A new city brings its own model along, unless the user picks another one afterwards.
    names = [c.name for c in services.model_cards("segmentation")]
    st.session_state[SEGMENTER_KEY] = _default_segmenter(st.session_state.get(CITY_KEY), names)


def sidebar() -> None:
    """Title, the city and the map model. Values: :func:`city` and :func:`segmenter`."""
    st.sidebar.title("LULC mapping")
    st.sidebar.caption(
        "Land use and land cover from Sentinel-2 imagery: EuroSAT classification and "
        "Urban Atlas segmentation for Paris and Ankara."
    )
    # Re-assigning a widget's own value keeps it when the user switches pages (Streamlit
    # otherwise drops the state of a widget as the page changes under st.navigation).
    for key in (CITY_KEY, SEGMENTER_KEY):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    scenes = services.scenes()
    if scenes:
        synthetic = {s.name: s.synthetic for s in scenes}
        st.sidebar.selectbox(
            "City", list(synthetic), key=CITY_KEY, on_change=_city_changed,
            format_func=lambda n: f"{n.title()} (synthetic demo)" if synthetic[n] else n.title(),
            help="The scene shown on the maps. 'Synthetic demo' scenes are made up offline; "
                 "fetch real ones with `lulc fetch sentinel2`.",
        )
    names = [c.name for c in services.model_cards("segmentation")]
    if names:
        if st.session_state.get(SEGMENTER_KEY) not in names:
            st.session_state[SEGMENTER_KEY] = segmenter()
        st.sidebar.selectbox("Map model", names, key=SEGMENTER_KEY,
                             help="The segmentation model that draws the land-use map. Each "
                                  "city has its own; try another city's model to see how "
                                  "well it transfers.")


def city() -> str | None:
    """The city (scene name) chosen in the sidebar (the first scene before any choice), or None
    when there is no scene."""
    names = [s.name for s in services.scenes()]
    chosen = st.session_state.get(CITY_KEY)
    return chosen if chosen in names else (names[0] if names else None)


def segmenter() -> str | None:
    """The segmentation model chosen in the sidebar (the city's own before any choice), or None
    when there is none."""
    names = [c.name for c in services.model_cards("segmentation")]
    chosen = st.session_state.get(SEGMENTER_KEY)
    return chosen if chosen in names else _default_segmenter(city(), names)
