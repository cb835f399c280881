"""Map explorer: satellite image, Urban Atlas truth and model prediction side by side."""

import pandas as pd
import streamlit as st

from dashboard import services
from lulc_core.errors import LulcError
from lulc_core.geo import parse_bbox

PRESETS = {
    "paris": {"Centre (10 x 10 km)": "2.28,48.81,2.42,48.90", "West: Bois de Boulogne": "2.18,48.82,2.32,48.91"},
    "ankara": {"Centre (10 x 10 km)": "32.79,39.88,32.91,39.97"},
}

st.title("Map explorer")
scenes = services.scenes()
if not scenes:
    st.info("No scene yet: run `lulc demo-data` (offline demo) or `lulc fetch sentinel2 --city paris`.")
    st.stop()
city = st.selectbox("City", [s.name for s in scenes], key="map_city")
scene = next(s for s in scenes if s.name == city)
if scene.synthetic:
    st.warning("This is **synthetic demo data**: a made-up city layout textured with real "
               "EuroSAT images, not a real Sentinel-2 acquisition.")
segmenters = [c.name for c in services.model_cards("segmentation")]
if not segmenters:
    st.info("No segmentation model yet: run `lulc train segmenter --city paris`.")
    st.stop()
default = segmenters.index(f"unet-{city}") if f"unet-{city}" in segmenters else 0
model_name = st.selectbox("Model", segmenters, index=default, key="map_model")
presets = PRESETS.get(city, {})
choice = st.radio("Area", [*presets, "Custom box"], horizontal=True, key=f"map_area_{city}")
bbox = st.text_input("Box (west,south,east,north in degrees)", presets.get(choice, ""),
                     key=f"map_bbox_{city}_{choice}", disabled=choice != "Custom box")

try:
    area = services.area_prediction(model_name, city, parse_bbox(bbox), bbox)
except LulcError as e:
    st.error(f"Cannot map this area: {e}")
    st.stop()

st.caption(f"Predicted in {area.seconds:.1f} s. Left to right: what the satellite sees, what the "
           "Urban Atlas says the land is used for, what the model says, and how sure it is "
           "(dark = unsure).")
from lulc_core.render import colorize, confidence_image  # noqa: E402

cols = st.columns(4)
cols[0].image(area.rgb, caption="Sentinel-2 true colour", width="stretch")
cols[1].image(colorize(area.truth) if area.truth is not None else area.rgb,
              caption="Urban Atlas (ground truth)" if area.truth is not None else "no ground truth",
              width="stretch")
cols[2].image(colorize(area.prediction), caption=f"Prediction ({model_name})", width="stretch")
cols[3].image(confidence_image(area.confidence), caption="Confidence", width="stretch")

table = area.area_table
shown = table[(table["predicted_km2"] > 0) | (table.get("truth_km2", 0) > 0)]
st.subheader("Legend and area per class")
legend = pd.DataFrame({"colour": shown["color"], "class": shown["class"],
                       "truth km2": shown.get("truth_km2"), "predicted km2": shown["predicted_km2"],
                       "predicted %": shown["predicted_pct"]})
st.dataframe(legend.style.map(lambda c: f"background-color: {c}; color: {c}", subset=["colour"]),
             hide_index=True)
card = services.model(model_name)[1]
left, right = st.columns(2)
left.download_button("Download prediction (GeoTIFF)", area.to_geotiff_bytes(card),
                     file_name=f"{city}-prediction.tif", mime="image/tiff", key="dl_tif")
right.download_button("Download areas (CSV)", table.to_csv(index=False), file_name=f"{city}-areas.csv",
                      mime="text/csv", key="dl_csv")
