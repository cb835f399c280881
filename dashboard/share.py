"""Shareable views: the page, city, map model, mapped area and swipe layers live in the URL, so a
copied link (or a reload) opens the same view.

    /map_explorer?city=paris&model=unet-paris&area=2.28,48.81,2.42,48.9&left=image&right=prediction

``city`` is the sidebar's place (a city, or a site such as versailles with a ``date``); the page
is the URL's path (Streamlit's own). A link is read on the first run of a browser
session and checked; a part that no longer fits (unknown city, deleted model, a box outside the
scene, an unknown layer) falls back to its default with a plain message, never an error. From
then on every run writes the current view back, so the address bar is always a working link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from lulc_core.errors import LulcError
from lulc_core.geo import parse_bbox

CITY, DATE, MODEL, AREA, LEFT, RIGHT = "city", "date", "model", "area", "left", "right"
PAGE_KEYS = (AREA, LEFT, RIGHT)  # written by the Map explorer only
_LINK = "_shared_link"  # session state: the link as opened, and the parts already applied
_RUNS = "_shared_link_runs"  # session state: script runs so far in this session


def begin_run() -> None:
    """Call first thing in every run: the first run of a session keeps the link it was opened
    with (before any of our own writes change the address)."""
    if _LINK not in st.session_state:
        st.session_state[_LINK] = (st.query_params.to_dict(), set())
    st.session_state[_RUNS] = st.session_state.get(_RUNS, 0) + 1


def take(key: str) -> str | None:
    """The link's value for ``key``, only in the session's first run and only once; afterwards
    the widgets own the state."""
    if st.session_state.get(_RUNS) != 1:
        return None
    link, used = st.session_state[_LINK]
    if key in used or not link.get(key):
        return None
    used.add(key)
    return link[key]


def restore_choice(key: str, widget_key: str, choices: Sequence[str], what: str,
                   fallback: Callable[[], str]) -> None:
    """Put the link's ``key`` into a selectbox's state when it is one of ``choices``; otherwise
    say, in plain words, what is shown instead (``fallback()`` names it)."""
    value = take(key)
    if value is None:
        return
    if value in choices:
        st.session_state[widget_key] = value
    else:
        st.info(f"The link asks for the {what} '{value}', which this app does not have (any "
                f"more); showing {fallback()} instead.")


def restore_area(scene_bounds: tuple[float, float, float, float],
                 place: str) -> tuple[float, float, float, float] | None:
    """The link's (W, S, E, N) box when it is readable and overlaps the place's scene, else None
    with a plain message."""
    text = take(AREA)
    if text is None:
        return None
    try:
        box = parse_box(text)
    except LulcError:
        st.info(f"The link's area '{text}' is not a box (west,south,east,north in degrees); "
                "pick an area below.")
        return None
    w, s, e, n = scene_bounds
    if box[2] <= w or box[0] >= e or box[3] <= s or box[1] >= n:
        st.info(f"The link's area ({format_box(box)}) is outside the {place.title()} scene; "
                "pick an area below.")
        return None
    return box


def parse_box(text: str) -> tuple[float, float, float, float]:
    """(W, S, E, N) of a typed ``W,S,E,N`` box in degrees.

    Raises:
        AOIError, InvalidDataError: not four numbers, or not a box (the message says why).
    """
    return parse_bbox(text).bounds


def format_box(box: tuple[float, float, float, float]) -> str:
    """``W,S,E,N`` with up to 7 significant digits (about 1 m), as written in links."""
    return ",".join(f"{v:.7g}" for v in box)


def write(values: dict[str, str | None]) -> None:
    """Set the query parameters in ``values`` (None removes one); untouched ones stay."""
    for key, value in values.items():
        if value is None:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != value:
            st.query_params[key] = value
