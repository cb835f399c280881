"""The swipe map: two layers of the mapped area either side of a draggable divider
(leaflet-side-by-side), to show people where the model and the official map differ."""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import numpy as np
import pandas as pd
import streamlit as st
from folium.plugins import SideBySideLayers
from folium.template import Template

from dashboard import areas, assets, maps, media, services
from lulc_core.classes import NODATA_INDEX

if TYPE_CHECKING:
    from lulc_core.data.scene import SceneManifest
    from lulc_core.predict import AreaPrediction

# layer key (as written in shared links) -> what people read
LAYERS: dict[str, str] = {
    "image": "Satellite image",
    "truth": "Official map (Urban Atlas)",
    "prediction": "Model's map",
    "confidence": "Confidence (dark = unsure)",
    "patches": "EuroSAT patches",
}
DEFAULT_PAIR = ("image", "prediction")
SHARES = ("truth %", "model %")  # the legend's number columns


def available(area: AreaPrediction, patches: bool) -> list[str]:
    """The layer keys this area can show: ``truth`` only with Urban Atlas truth, ``patches``
    only when a patch classification map was made."""
    return [k for k in LAYERS
            if (k != "truth" or area.truth is not None) and (k != "patches" or patches)]


def legend(area: AreaPrediction) -> pd.DataFrame:
    """The legend beside the swipe map: colour, everyday class name, share of the area on the
    official map (when there is one) and on the model's map."""
    from lulc_core.summary import plain_legend

    table = plain_legend(area).rename(columns={
        "color": "colour", "name": "class", "truth_pct": SHARES[0], "predicted_pct": SHARES[1]})
    return table[["colour", "class", *(SHARES if area.truth is not None else SHARES[1:])]]


def layer_url(layer: str, model_name: str, scene: SceneManifest,
              bounds: tuple[float, float, float, float],
              classifier: str | None) -> tuple[str, tuple]:
    """(PNG data URL, Leaflet bounds) of one layer of a mapped area at the area's own resolution
    (10 m pixels; the patch map's 640 m cells), warped for the web map; cached per model
    version, scene version, box and layer."""
    weights = services.model(classifier if layer == "patches" else model_name)[1].weights_sha256
    image, overlay_bounds = _layer_picture(layer, model_name, classifier, weights, scene.name,
                                           scene.created, bounds)
    # a served file, not a data URL inside the map's HTML (resent on every run of every session)
    return media.png_url(image), overlay_bounds


@st.cache_data(max_entries=32, show_spinner=False)
def _layer_picture(layer: str, model_name: str, classifier: str | None, weights: str | None,
               scene: str, scene_created: str | None,
               bounds: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple]:
    from lulc_core.overlays import picture_overlay

    if layer == "patches":
        overlay = maps.patch_overlay(services.patch_map(classifier, scene, bounds))
    else:
        area = services.area_prediction(model_name, scene, bounds)
        overlay = picture_overlay(areas.picture(area, layer), area.prediction != NODATA_INDEX,
                                  area.crs, area.transform)
    return overlay.image, overlay.bounds


class _SideBySideOverlays(SideBySideLayers):
    """folium's SideBySideLayers for image overlays, with the plugin served locally.

    The plugin clips ``layer.getContainer()``, which only tile layers have; each overlay sits in
    its own map pane (positioned like a tile container), and the pane is what gets clipped.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            [{{ this.layer_left.get_name() }}, {{ this.layer_right.get_name() }}].forEach(
                function (layer) { layer.getContainer = function () { return this.getPane(); }; });
            var {{ this.get_name() }} = L.control.sideBySide(
                {{ this.layer_left.get_name() }}, {{ this.layer_right.get_name() }}
            ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, layer_left, layer_right) -> None:
        super().__init__(layer_left, layer_right)
        if assets.asset_mode() == "local":
            self.default_js = assets.urls(assets.SIDE_BY_SIDE_JS)
            self.default_css = assets.urls(assets.SIDE_BY_SIDE_CSS)


def swipe_map(area: AreaPrediction, left: str, right: str, model_name: str, scene: SceneManifest,
              classifier: str | None, basemap: bool) -> folium.Map:
    """A map of the area with ``left`` and ``right`` layers either side of a draggable divider."""
    w, s, e, n = area.bounds_wgs84
    m = maps.base_map(area.bounds_wgs84, basemap)
    overlays = []
    for side, layer in (("left", left), ("right", right)):
        folium.map.CustomPane(f"swipe-{side}", z_index=400 + (side == "right")).add_to(m)
        url, bounds = layer_url(layer, model_name, scene, area.bounds_wgs84, classifier)
        overlay = folium.raster_layers.ImageOverlay(
            image="data:,", bounds=[list(bounds[0]), list(bounds[1])], name=LAYERS[layer],
            interactive=False, pane=f"swipe-{side}")
        overlay.url = url  # after construction, as in maps.add_overlay (a served path, not a file)
        overlay.add_to(m)
        overlays.append(overlay)
    folium.Rectangle([[s, w], [n, e]], color="#ff00ff", weight=2, fill=False).add_to(m)
    _SideBySideOverlays(*overlays).add_to(m)
    return m
