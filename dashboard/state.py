"""The sidebar shared by every page (place, date and map model), defined once; pages read the
choice.

A place is a city's scene (Paris, Ankara) or the scenes of one site on several dates
(Versailles): see :class:`lulc_core.comparison.Place`. The widgets live in ``app.py``'s run,
before the page, so their values persist across pages.
"""

from __future__ import annotations

import streamlit as st

from dashboard import services
from lulc_core.comparison import Place
from lulc_core.data.samples import SITE
from lulc_core.data.scene import SceneManifest
from lulc_core.runs import city_model_name

PLACE_KEY = "city"  # session key of the place (named before there were sites; tests set it)
DATE_KEY = "scene_date"
SEGMENTER_KEY = "segmenter"


def describe(place: Place) -> str:
    """``Paris (synthetic demo)``, ``Versailles (real Sentinel-2 L2A)``: what the sidebar lists."""
    if place.synthetic:
        return f"{place.name.title()} (synthetic demo)"
    levels = sorted({s.level for s in place.scenes})
    return f"{place.name.title()} (real Sentinel-2 {'/'.join(levels)})"


def _default_segmenter(place: Place | None, names: list[str]) -> str | None:
    """The U-Net of the place's city (``unet-<city>``) when there is one, else the first one."""
    city = place.city if place else None
    own = city_model_name(city) if city else None
    return own if own in names else (names[0] if names else None)


def _place_changed() -> None:
    # A new place brings its own model and date along, unless the user picks others afterwards.
    names = [c.name for c in services.model_cards("segmentation")]
    st.session_state[SEGMENTER_KEY] = _default_segmenter(place(), names)
    st.session_state.pop(DATE_KEY, None)


def _missing_dates_note(shown: list[str]) -> str | None:
    """Why some dates of the real sample are not in the date switch, or None when all are."""
    importable, shared = services.sample_dates()
    missing = [d for d in importable if d not in shown]
    if missing:
        return (f"{', '.join(missing)} can be added: run `lulc demo-data --if-missing`.")
    if not shared:
        return ("Only the committed date ships with the project; `lulc demo-data` imports the "
                "other dates of this sample when the shared data folder "
                "(`../shared/data/real_s2`) is beside the clone.")
    return None


def sidebar() -> None:
    """Title, place, date and map model. Values: :func:`place`, :func:`scene`, :func:`segmenter`."""
    st.sidebar.title("LULC mapping")
    st.sidebar.caption(
        "Land use and land cover from Sentinel-2 imagery: EuroSAT classification and "
        "Urban Atlas segmentation for Paris and Ankara."
    )
    # Re-assigning a widget's own value keeps it when the user switches pages (Streamlit
    # otherwise drops the state of a widget as the page changes under st.navigation).
    for key in (PLACE_KEY, DATE_KEY, SEGMENTER_KEY):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    found = {p.name: p for p in services.places()}
    if found:
        st.sidebar.selectbox(
            "Place", list(found), key=PLACE_KEY, on_change=_place_changed,
            format_func=lambda n: describe(found[n]),
            help="The scene shown on the maps. 'Synthetic demo' scenes are made up offline; "
                 "'real' ones are Sentinel-2 acquisitions (`lulc fetch sentinel2`).",
        )
        chosen = place()
        dates = [s.acquired for s in chosen.scenes]
        if len(dates) > 1:
            if st.session_state.get(DATE_KEY) not in dates:
                st.session_state[DATE_KEY] = scene().acquired
            st.sidebar.radio("Date", dates, key=DATE_KEY, horizontal=True,
                             help="Acquisition date of the Sentinel-2 image: the same place on "
                                  "another day (clouds, haze and crops change).")
        if chosen.name == SITE:
            note = _missing_dates_note(dates)
            if note:
                st.sidebar.caption(note)
    names = [c.name for c in services.model_cards("segmentation")]
    if names:
        if st.session_state.get(SEGMENTER_KEY) not in names:
            st.session_state[SEGMENTER_KEY] = segmenter()
        st.sidebar.selectbox("Map model", names, key=SEGMENTER_KEY,
                             help="The segmentation model that draws the land-use map. Each "
                                  "city has its own; try another city's model to see how "
                                  "well it transfers.")


def place() -> Place | None:
    """The place chosen in the sidebar (the first one before any choice), or None when there is
    no scene."""
    found = services.places()
    chosen = st.session_state.get(PLACE_KEY)
    return next((p for p in found if p.name == chosen), found[0] if found else None)


def scene() -> SceneManifest | None:
    """The scene on the maps: the chosen place on the chosen date (by default the place's
    :meth:`~lulc_core.comparison.Place.scene_on` pick), or None when there is no scene."""
    chosen = place()
    return chosen.scene_on(st.session_state.get(DATE_KEY)) if chosen else None


def segmenter() -> str | None:
    """The segmentation model chosen in the sidebar (the place's city's own before any choice),
    or None when there is none."""
    names = [c.name for c in services.model_cards("segmentation")]
    chosen = st.session_state.get(SEGMENTER_KEY)
    return chosen if chosen in names else _default_segmenter(place(), names)
