"""Map explorer: pick an area on the map; satellite image, Urban Atlas truth and prediction side by side."""

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import assets, maps, services, state
from lulc_core.errors import LulcError
from lulc_core.geo import AOI, PRESET_AREAS, parse_bbox

DRAW, TYPE = "Draw on the map", "Type a box"

st.title("Map explorer")
city, model_name = state.city(), state.segmenter()
if city is None:
    st.info("No scene yet: run `lulc demo-data` (offline demo) or `lulc fetch sentinel2 --city paris`.")
    st.stop()
if model_name is None:
    st.info("No segmentation model yet: run `lulc train segmenter --city paris`.")
    st.stop()
scene = services.scene(city)
if scene.synthetic:
    st.warning("This is **synthetic demo data**: a made-up city layout textured with real "
               "EuroSAT images, not a real Sentinel-2 acquisition.")
st.markdown(f"City **{city.title()}**, map model **{model_name}** (change both in the sidebar). "
            "Choose an area, then compare what the satellite sees with the official land-use "
            "map and the model's map.")

presets = PRESET_AREAS.get(city, {})
choice = st.radio("Area to map", [*presets, DRAW, TYPE], horizontal=True, key=f"map_area_{city}",
                  index=None)
bounds = None
if choice is None:
    st.info("Pick a ready-made area above, or draw your own rectangle on the map.")
elif choice in presets:
    bounds = presets[choice].bounds
elif choice == TYPE:
    text = st.text_input("Box (west,south,east,north in degrees)", key=f"map_bbox_{city}",
                         placeholder="2.28,48.81,2.42,48.90")
    try:
        bounds = parse_bbox(text).bounds if text else None
    except LulcError as e:
        st.error(f"Cannot read this box: {e}")
else:
    bounds = maps.drawn_bbox(st.session_state.get("map_view"))
    if bounds is None:
        st.info("Draw a rectangle with the square tool at the top left of the map (at most "
                "20 x 20 km); the maps below follow it.")

area, problem = None, None
if bounds is not None:
    try:
        area = services.area_prediction(model_name, city, bounds)
    except LulcError as e:
        problem = f"Cannot map this area: {e}"

with st.expander("Map layers", expanded=False):
    cols = st.columns(4)
    basemap = cols[0].toggle("OpenStreetMap background", value=True, key="map_osm",
                             help="Needs internet; without it the background stays grey and the "
                                  "scene layers still show.")
    rgb_opacity = cols[1].slider("Satellite image", 0.0, 1.0, 1.0, 0.1, key="op_rgb")
    truth_opacity = cols[2].slider("Urban Atlas truth", 0.0, 1.0, 0.0, 0.1, key="op_truth")
    pred_opacity = cols[3].slider("Prediction", 0.0, 1.0, 0.7, 0.1, key="op_pred")

m = maps.base_map(AOI(city, *scene.bounds_wgs84), basemap)
for layer, opacity, label in (("rgb", rgb_opacity, "Sentinel-2 true colour"),
                              ("truth", truth_opacity, "Urban Atlas (truth)")):
    if opacity > 0:
        try:
            maps.add_overlay(m, *services.scene_layer(city, layer), label, opacity)
        except LulcError as e:
            st.caption(f"{label} not shown: {e}")
maps.add_draw(m)
dynamic = None
if area is not None:
    dynamic = maps.area_layer(area, pred_opacity, f"Prediction ({model_name})")
st_folium(m, key="map_view", height=480, use_container_width=True,
          returned_objects=["last_active_drawing"], feature_group_to_add=dynamic, pixelated=True)
if assets.asset_mode() == "cdn":
    st.caption("Map scripts load from the internet (run `python -m dashboard.assets` to serve "
               "them locally for offline use).")

if problem:
    st.error(problem)
    st.stop()
if area is None:
    st.stop()

st.caption(f"Mapped {area.prediction.size / 1e4:.0f} km2 in {area.seconds:.1f} s. Left to right: "
           "what the satellite sees, what the Urban Atlas says the land is used for, what the "
           "model says, and how sure it is (dark = unsure).")
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
st.caption("Colours are the official Urban Atlas legend. Areas in km2 and as a share of the box.")
legend = pd.DataFrame({"colour": shown["color"], "class": shown["class"],
                       "truth km2": shown.get("truth_km2"), "truth %": shown.get("truth_pct"),
                       "predicted km2": shown["predicted_km2"], "predicted %": shown["predicted_pct"]})
st.dataframe(legend.style.map(lambda c: f"background-color: {c}; color: {c}", subset=["colour"]),
             hide_index=True, key="map_legend", column_config={
                 **{c: st.column_config.NumberColumn(format="%.2f") for c in ("truth km2", "predicted km2")},
                 **{c: st.column_config.NumberColumn(format="%.1f %%") for c in ("truth %", "predicted %")}})
card = services.model(model_name)[1]
left, right = st.columns(2)
left.download_button("Download prediction (GeoTIFF)", lambda: area.to_geotiff_bytes(card),
                     file_name=f"{city}-prediction.tif", mime="image/tiff", key="dl_tif")
right.download_button("Download areas (CSV)", table.to_csv(index=False), file_name=f"{city}-areas.csv",
                      mime="text/csv", key="dl_csv")
