"""Map explorer: pick an area on the map; satellite image, Urban Atlas truth and prediction side by
side, and the EuroSAT classes of its 640 m patches."""

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import areas, assets, maps, media, services, share, state, swipe
from lulc_core.errors import LulcError

DRAW, TYPE = "Draw on the map", "Type a box"

st.title("Map explorer")
place, scene, model_name = state.place(), state.scene(), state.segmenter()
if scene is None:
    st.info("No scene yet: run `lulc demo-data` (offline demo and the real Versailles sample) or "
            "`lulc fetch sentinel2 --city paris`.")
    st.stop()
if model_name is None:
    st.info("No segmentation model yet: run `lulc train segmenter --city paris`.")
    st.stop()
if scene.synthetic:
    st.warning("This is **synthetic demo data**: a made-up city layout textured with real "
               "EuroSAT images, not a real Sentinel-2 acquisition.")
else:
    st.info(maps.provenance(scene))
has_truth = scene.labels_source is not None
st.markdown(f"Place **{state.describe(place)}**"
            + (f" on **{scene.acquired}**" if scene.acquired else "")
            + f", map model **{model_name}** (change them in the sidebar). Choose an area, then "
            "compare what the satellite sees with "
            + ("the official land-use map and " if has_truth else "")
            + "the model's map.")

presets = maps.area_presets(place.name, scene)
area_key, box_key = f"map_area_{place.name}", f"map_bbox_{place.name}"
shared_box = share.restore_area(scene.bounds_wgs84, place.name)
if shared_box is not None:  # a shared link: its box as the preset it is, or typed in
    preset = next((name for name, aoi in presets.items() if aoi.bounds == shared_box), None)
    st.session_state[area_key] = preset or TYPE
    if preset is None:
        st.session_state[box_key] = share.format_box(shared_box)
choice = st.radio("Area to map", [*presets, DRAW, TYPE], horizontal=True, key=area_key, index=None)
bounds = None
if choice is None:
    st.info("Pick a ready-made area above, or draw your own rectangle on the map.")
elif choice in presets:
    bounds = presets[choice].bounds
elif choice == TYPE:
    example = next(iter(presets.values())).bounds if presets else scene.bounds_wgs84
    text = st.text_input("Box (west,south,east,north in degrees)", key=box_key,
                         placeholder="{:.2f},{:.2f},{:.2f},{:.2f}".format(*example))
    try:
        bounds = share.parse_box(text) if text else None
    except LulcError as e:
        st.error(f"Cannot read this box: {e}")
else:
    bounds = maps.drawn_bbox(st.session_state.get("map_view"))
    if bounds is None:
        st.info("Draw a rectangle with the square tool at the top left of the map (at most "
                "20 x 20 km); the maps below follow it.")

classifiers = [c.name for c in services.model_cards("classification")]
# The class layers start differently on real and synthetic scenes (below), so each kind has its
# own sliders: the browser would otherwise send back the other kind's values.
kind = "synthetic" if scene.synthetic else "real"
with st.expander("Map layers", expanded=False):
    cols = st.columns(5)
    basemap = cols[0].toggle("OpenStreetMap background", value=True, key="map_osm",
                             help="Needs internet; without it the background stays grey and the "
                                  "scene layers still show.")
    rgb_opacity = cols[1].slider("Satellite image", 0.0, 1.0, 1.0, 0.1, key="op_rgb")
    if has_truth:
        truth_opacity = cols[2].slider("Urban Atlas truth", 0.0, 1.0, 0.0, 0.1, key="op_truth")
    else:
        truth_opacity = 0.0
        cols[2].caption("Urban Atlas truth: not available for this scene.")
    # On a real scene the EuroSAT classifier is the one model trained on real imagery (the
    # segmenters learned from the synthetic demo scenes): its layer is the one shown first.
    pred_opacity = cols[3].slider("Prediction", 0.0, 1.0, 0.7 if scene.synthetic else 0.0, 0.1,
                                  key=f"op_pred_{kind}")
    patch_opacity = cols[4].slider("EuroSAT patches", 0.0, 1.0, 0.0 if scene.synthetic else 0.7,
                                   0.1, key=f"op_patch_{kind}", disabled=not classifiers,
                                   help="Each 64 x 64 px (640 m) patch of the area classified "
                                        "by a EuroSAT classifier.")
    classifier = None
    if classifiers:
        classifier = st.selectbox("Patch classifier", classifiers, key="map_patch_model")

area, patches, problem, patch_problem = None, None, None, None
if bounds is not None:
    try:
        area = services.area_prediction(model_name, scene.name, bounds)
    except LulcError as e:
        problem = f"Cannot map this area: {e}"
if area is not None and classifier and patch_opacity > 0:
    try:
        patches = services.patch_map(classifier, scene.name, bounds)
    except LulcError as e:  # e.g. an area smaller than one patch: the U-Net map still shows
        patch_problem = f"EuroSAT patches not shown: {e}"
share.write({share.AREA: share.format_box(bounds) if area is not None else None,
             **({} if area is not None else {share.LEFT: None, share.RIGHT: None})})

m = maps.base_map(scene.bounds_wgs84, basemap)
for layer, opacity, label in (("rgb", rgb_opacity, "Sentinel-2 true colour"),
                              ("truth", truth_opacity, "Urban Atlas (truth)")):
    if opacity > 0:
        try:
            maps.add_overlay(m, *services.scene_layer(scene.name, layer), label, opacity)
        except LulcError as e:
            st.caption(f"{label} not shown: {e}")
maps.add_draw(m)
dynamic = None
if area is not None:
    overlays = []
    if pred_opacity > 0:
        overlays.append((maps.prediction_overlay(area), f"Prediction ({model_name})",
                         pred_opacity))
    if patches is not None:
        overlays.append((maps.patch_overlay(patches), f"EuroSAT patches ({classifier})",
                         patch_opacity))
    dynamic = maps.area_layer(area.bounds_wgs84, overlays, "Mapped area")
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

summary = areas.summarise(area)
st.info(summary.text, icon=":material/summarize:")

st.subheader("Compare two layers")
st.caption("Drag the round handle on the map: the left layer shows left of the line, the right "
           "layer right of it.")
layers = swipe.available(area, patches is not None)
picks = st.columns(2)
for side, param, default in (("left", share.LEFT, 0), ("right", share.RIGHT, 1)):
    key = f"swipe_{side}"
    share.restore_choice(param, key, layers, f"{side} layer",
                         lambda d=default: swipe.LAYERS[swipe.DEFAULT_PAIR[d]])
    if st.session_state.get(key) not in layers:
        st.session_state[key] = swipe.DEFAULT_PAIR[default]
    picks[default].selectbox(f"{side.title()} of the line", layers, key=key,
                             format_func=swipe.LAYERS.get)
left_layer, right_layer = st.session_state["swipe_left"], st.session_state["swipe_right"]
share.write({share.LEFT: left_layer, share.RIGHT: right_layer})
map_col, legend_col = st.columns([2, 1])
with map_col:
    swipe_view = swipe.swipe_map(area, left_layer, right_layer, model_name, scene, classifier,
                                 basemap)
    st_folium(swipe_view, key="swipe_map", height=520, use_container_width=True,
              returned_objects=[], pixelated=True)
legend_col.dataframe(maps.swatches(swipe.legend(area)), hide_index=True, key="swipe_legend",
                     height=520, column_config={
                         "colour": st.column_config.Column(width="small"),
                         **{c: st.column_config.NumberColumn(format="%.1f", width="small")
                            for c in swipe.SHARES}})
if "patches" in (left_layer, right_layer):
    legend_col.dataframe(maps.swatches(maps.patch_legend(patches)), hide_index=True,
                         key="swipe_patch_legend",
                         column_config={"share %": st.column_config.NumberColumn(format="%.1f")})

km2 = area.prediction.size / 1e4
st.caption(f"Mapped {km2:.{0 if km2 >= 1 else 2}f} km2 in {area.seconds:.1f} s. Left to right: "
           "what the satellite sees, "
           + ("what the Urban Atlas says the land is used for, " if area.truth is not None else "")
           + "what the model says, and how sure it is (dark = unsure).")
cols = st.columns(4)
cols[0].image(media.png_url(areas.picture(area, "image")), caption="Sentinel-2 true colour",
              width="stretch")
if area.truth is not None:
    cols[1].image(media.png_url(areas.picture(area, "truth")),
                  caption="Urban Atlas (ground truth)", width="stretch")
else:
    cols[1].info("**Urban Atlas truth**: not available for this "
                 + ("scene" if scene.synthetic else "sample") + ", so there is nothing to score "
                 "the map against here.")
cols[2].image(media.png_url(areas.picture(area, "prediction")),
              caption=f"Prediction ({model_name})", width="stretch")
cols[3].image(media.png_url(areas.picture(area, "confidence")), caption="Confidence",
              width="stretch")

table = area.area_table
truth_columns = {"truth km2": "truth_km2", "truth %": "truth_pct"} if area.truth is not None else {}
shown = table[(table["predicted_km2"] > 0) | (table.get("truth_km2", 0) > 0)]
st.subheader("Legend and area per class")
st.caption("Colours are the official Urban Atlas legend. Areas in km2 and as a share of the box"
           + ("." if truth_columns else ", as the model predicts them (no truth here)."))
legend = pd.DataFrame({"colour": shown["color"], "class": shown["class"],
                       **{label: shown[c] for label, c in truth_columns.items()},
                       "predicted km2": shown["predicted_km2"], "predicted %": shown["predicted_pct"]})
st.dataframe(maps.swatches(legend), hide_index=True, key="map_legend", column_config={
    **{c: st.column_config.NumberColumn(format="%.2f") for c in ("truth km2", "predicted km2")},
    **{c: st.column_config.NumberColumn(format="%.1f %%") for c in ("truth %", "predicted %")}})
card = services.model(model_name)[1]
title = (f"{place.name.title()}" + (f", {scene.acquired}" if scene.acquired else "")
         + f": {choice if choice in presets else 'box ' + share.format_box(bounds)}")


report_col, tif_col, csv_col = st.columns(3)
report_col.download_button("Download one-page report (PDF)",
                           lambda: areas.report(area, card, scene, title, summary),
                           file_name=f"{scene.name}-report.pdf", mime="application/pdf",
                           key="dl_report", type="primary",
                           help="A4 page for people who were not at the demo: the four pictures, "
                                "the legend with areas, the summary above, the model's scores "
                                "and where the data comes from.")
tif_col.download_button("Download prediction (GeoTIFF)", lambda: area.to_geotiff_bytes(card),
                        file_name=f"{scene.name}-prediction.tif", mime="image/tiff", key="dl_tif")
csv_col.download_button("Download areas (CSV)", table.to_csv(index=False),
                        file_name=f"{scene.name}-areas.csv", mime="text/csv", key="dl_csv")

if patch_problem:
    st.caption(patch_problem)
if patches is not None:
    st.subheader(f"EuroSAT patches ({classifier})")
    st.caption(f"{patches.mapped_cells} patches of 640 m x 640 m, each "
               "given one of the 10 EuroSAT land-cover classes by a classifier trained on real "
               "Sentinel-2 images, shown as the 'EuroSAT patches' layer on the map. EuroSAT was "
               f"made from Level-1C (top-of-atmosphere) tiles: this {patches.level} image is "
               f"brought to that look first ('{patches.harmonisation}'). A patch with more than "
               f"{areas.max_nodata_share():.0%} of its pixels without data (scene edges) is left out.")
    st.dataframe(maps.swatches(maps.patch_legend(patches)), hide_index=True, key="map_patch_legend",
                 column_config={"share %": st.column_config.NumberColumn(format="%.1f %%")})
