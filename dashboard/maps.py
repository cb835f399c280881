"""The folium map of the Map explorer: basemap, scene overlays, the chosen area, drawing tools."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import folium
import numpy as np
from folium.plugins import Draw
from PIL import Image

from dashboard import assets
from lulc_core.geo import AOI
from lulc_core.overlays import classes_overlay

if TYPE_CHECKING:
    from lulc_core.predict import AreaPrediction


def png_data_url(rgba: np.ndarray) -> str:
    """uint8 (H, W, 3|4) picture -> ``data:image/png;base64,...`` for an image overlay."""
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def base_map(aoi: AOI, basemap: bool) -> folium.Map:
    """A Leaflet map centred on ``aoi``, with OpenStreetMap tiles when ``basemap`` (needs internet).

    The Leaflet / Leaflet.draw scripts come from Streamlit's static folder when they were
    installed (``python -m dashboard.assets``), so the map also works offline.
    """
    m = folium.Map(location=aoi.center, zoom_start=10, tiles="OpenStreetMap" if basemap else None,
                   control_scale=True, prefer_canvas=True)
    if assets.asset_mode() == "local":
        # Instance attributes: only what a Leaflet map with overlays needs, served locally.
        m.default_js = assets.urls(assets.MAP_JS)
        m.default_css = assets.urls(assets.MAP_CSS)
    m.fit_bounds([[aoi.south, aoi.west], [aoi.north, aoi.east]])
    return m


def add_overlay(m: folium.Map | folium.FeatureGroup, image_url: str, bounds, name: str,
                opacity: float) -> None:
    """A picture (URL) stretched over its ((S, W), (N, E)) Web-Mercator bounds."""
    folium.raster_layers.ImageOverlay(
        image=image_url, bounds=[list(bounds[0]), list(bounds[1])],
        opacity=opacity, name=name, interactive=False, zindex=1,
    ).add_to(m)


def area_layer(area: "AreaPrediction", opacity: float, label: str) -> folium.FeatureGroup:
    """The mapped area: its prediction in legend colours and a magenta outline.

    A feature group that st_folium adds to the map already shown, so changing the area does not
    redraw the map (the view and the drawn rectangle stay).
    """
    group = folium.FeatureGroup(name=label)
    if opacity > 0:
        overlay = classes_overlay(area.prediction, area.crs, area.transform)
        add_overlay(group, png_data_url(overlay.image), overlay.bounds, label, opacity)
    w, s, e, n = area.bounds_wgs84
    folium.Rectangle([[s, w], [n, e]], color="#ff00ff", weight=3, fill=False,
                     tooltip="mapped area").add_to(group)
    return group


def add_draw(m: folium.Map) -> None:
    """Leaflet.draw with only the rectangle tool (the area to map)."""
    draw = Draw(
        draw_options={"polyline": False, "polygon": False, "circle": False, "marker": False,
                      "circlemarker": False, "rectangle": {"shapeOptions": {"color": "#ff00ff"}}},
        edit_options={"edit": False, "remove": True},
    )
    if assets.asset_mode() == "local":
        draw.default_js = assets.urls(assets.DRAW_JS)
        draw.default_css = assets.urls(assets.DRAW_CSS)
    draw.add_to(m)


def drawn_bbox(state: dict | None) -> tuple[float, float, float, float] | None:
    """(W, S, E, N) of the last rectangle drawn on the map, from st_folium's return value."""
    feature = (state or {}).get("last_active_drawing")
    if not feature:
        return None
    coords = np.asarray(feature.get("geometry", {}).get("coordinates", [[]])[0], dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2:
        return None
    return (float(coords[:, 0].min()), float(coords[:, 1].min()),
            float(coords[:, 0].max()), float(coords[:, 1].max()))
