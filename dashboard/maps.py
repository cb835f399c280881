"""The folium map of the Map explorer: ready-made areas, basemap, scene overlays, the chosen area,
drawing tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import numpy as np
import pandas as pd
from folium.plugins import Draw

from dashboard import assets
from dashboard.media import png_url
from lulc_core.geo import AOI, PRESET_AREAS

if TYPE_CHECKING:
    from lulc_core.data.scene import SceneManifest
    from lulc_core.overlays import Overlay
    from lulc_core.patch_map import PatchMap
    from lulc_core.predict import AreaPrediction

WHOLE_SCENE_KM2 = 100.0  # a scene up to 10 x 10 km (the interactive size) is itself a preset


def area_presets(place: str, scene: SceneManifest) -> dict[str, AOI]:
    """Ready-made areas of a place (``PRESET_AREAS``), and the whole scene when it is small."""
    from rasterio.warp import transform_bounds

    presets = dict(PRESET_AREAS.get(place, {}))
    w, s, e, n = transform_bounds("EPSG:4326", scene.crs, *scene.bounds_wgs84)
    width_km, height_km = (e - w) / 1e3, (n - s) / 1e3  # scene CRSs are UTM: metres
    if width_km * height_km <= WHOLE_SCENE_KM2:
        presets[f"Whole scene ({width_km:.0f} x {height_km:.0f} km)"] = AOI(scene.name, *scene.bounds_wgs84)
    return presets


def provenance(scene: SceneManifest) -> str:
    """Where a real scene comes from, in one paragraph (markdown): level, date, reflectance,
    cloud mask and the credit line its licence asks for."""
    text = f"**Real Sentinel-2 {scene.level}**" + (f", acquired {scene.acquired}" if scene.acquired else "")
    if scene.reflectance:
        text += (f"; reflectance = DN x {scene.reflectance.scale:g} {scene.reflectance.offset:+g} "
                 f"({scene.reflectance.source})")
    text += ". Cloud mask: " + ("Sentinel-2 SCL." if scene.cloud_mask else
                                "not available (no SCL in this scene): clouds are mapped as land.")
    return text + f" {scene.attribution or 'Source: ' + scene.source}."


def patch_legend(patches: PatchMap) -> pd.DataFrame:
    """Colour, class and share of the mapped patches of each class present."""
    shares = patches.shares()
    legend = pd.DataFrame({"colour": patches.colors, "class": patches.class_names,
                           "share %": [100 * shares[n] for n in patches.class_names]})
    return legend[legend["share %"] > 0]


def swatches(legend: pd.DataFrame):
    """A legend table styled for ``st.dataframe``: its ``colour`` column (``#rrggbb``) shown as
    a swatch of that colour."""
    return legend.style.map(lambda c: f"background-color: {c}; color: {c}", subset=["colour"])


def base_map(bounds_wgs84: tuple[float, float, float, float], basemap: bool) -> folium.Map:
    """A Leaflet map fitted to a (W, S, E, N) box, with OpenStreetMap tiles when ``basemap``
    (needs internet).

    The Leaflet / Leaflet.draw scripts come from Streamlit's static folder when they were
    installed (``python -m dashboard.assets``), so the map also works offline.
    """
    aoi = AOI("map", *bounds_wgs84)
    m = folium.Map(location=aoi.center, zoom_start=10, tiles="OpenStreetMap" if basemap else None,
                   control_scale=True, prefer_canvas=True)
    if assets.asset_mode() == "local":
        # Instance attributes: only what a Leaflet map with overlays needs, served locally.
        m.default_js = assets.urls(assets.MAP_JS)
        m.default_css = assets.urls(assets.MAP_CSS)
    m.fit_bounds([[aoi.south, aoi.west], [aoi.north, aoi.east]])
    return m


def prediction_overlay(area: AreaPrediction) -> Overlay:
    """The area's predicted classes in the legend's colours, warped for the web map."""
    from lulc_core.overlays import classes_overlay

    return classes_overlay(area.prediction, area.crs, area.transform)


def patch_overlay(patches: PatchMap) -> Overlay:
    """The EuroSAT class of each patch in the EuroSAT palette, warped for the web map."""
    from lulc_core.overlays import classes_overlay

    return classes_overlay(patches.classes, patches.crs, patches.transform, patches.palette())


def add_overlay(m: folium.Map | folium.FeatureGroup, image_url: str, bounds, name: str,
                opacity: float) -> None:
    """A picture (URL: served, or a data URL) stretched over its ((S, W), (N, E)) Web-Mercator
    bounds."""
    layer = folium.raster_layers.ImageOverlay(
        image="data:,", bounds=[list(bounds[0]), list(bounds[1])],
        opacity=opacity, name=name, interactive=False, zindex=1,
    )
    # Set after construction: folium takes a scheme-less URL (/app/static/...) for a file path
    # and would read it to inline it.
    layer.url = image_url
    layer.add_to(m)


def area_layer(bounds_wgs84: tuple[float, float, float, float],
               overlays: list[tuple[Overlay, str, float]], label: str) -> folium.FeatureGroup:
    """The mapped area: its class maps (overlay, name, opacity) and a magenta outline.

    A feature group that st_folium adds to the map already shown, so changing the area does not
    redraw the map (the view and the drawn rectangle stay).
    """
    group = folium.FeatureGroup(name=label)
    for overlay, name, opacity in overlays:
        if opacity > 0:
            add_overlay(group, png_url(overlay.image), overlay.bounds, name, opacity)
    w, s, e, n = bounds_wgs84
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
