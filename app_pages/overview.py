"""Overview: what the tool does, which data and models are here."""

import pandas as pd
import streamlit as st

from dashboard import services, state

st.title("Land use from satellite images")
st.markdown(
    "This tool looks at **Sentinel-2 satellite images** and says what the land is used for: "
    "housing, industry, roads, farmland, forest, water... It does two things:\n"
    "- **classifies** small 640 m x 640 m image tiles into 10 land-cover types (EuroSAT);\n"
    "- **maps** whole cities pixel by pixel (10 m) into the 27 land-use classes of the "
    "European **Urban Atlas**, with one model per city (Paris, Ankara)."
)

st.subheader("Places and scenes")
places = services.places()
if not places:
    st.info("No scene yet. Build the offline demo scenes and import the real Versailles sample "
            "with `lulc demo-data`, or fetch real imagery with `lulc fetch sentinel2 --city paris`.")
else:
    real = [f"{state.describe(p)}, {len(p.scenes)} date{'s' if len(p.scenes) > 1 else ''}"
            + ("" if any(s.labels_source for s in p.scenes) else ", no Urban Atlas truth")
            for p in places if not p.synthetic]
    synthetic = [p.name.title() for p in places if p.synthetic]
    lines = []
    if real:
        lines.append(f"- **Real satellite images**: {'; '.join(real)}. Sentinel-2 acquisitions, "
                     "mapped by the models as they are.")
    if synthetic:
        lines.append(f"- **Synthetic demo data**: {', '.join(synthetic)}. A made-up city layout "
                     "textured with real EuroSAT images, not a real acquisition: it shows how "
                     "the tool works, not how these cities are used.")
    st.markdown("\n".join(lines))
    table = services.scene_table()
    # Product names are long words that would run under the next column: a zero-width space
    # after each "_" lets them wrap.
    table["decided from"] = table["decided from"].str.replace("_", "_\u200b")
    st.table(table)
    st.caption("Reflectance: how the stored digital numbers (DN) become reflectance, decided once "
               "when the scene was imported, and what it was decided from. Products of "
               "processing baseline 04.00 and later (from 2022) carry an offset of -0.1; "
               "older ones have none.")

st.subheader("Trained models")
cards = services.model_cards()
if cards:
    rows = []
    for c in cards:
        headline = c.metrics.get("accuracy") if c.task == "classification" else c.metrics.get("miou")
        rows.append({"model": c.name, "task": c.task, "architecture": c.architecture,
                     "headline": "accuracy" if c.task == "classification" else "mIoU",
                     "score": headline, "trained on": "synthetic demo data" if c.synthetic else
                     c.data.get("source", "")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
        "score": st.column_config.NumberColumn(format="%.3f")})
else:
    st.info("No trained model found under artifacts/models: run `lulc train classifier`.")

with st.expander("How to use real data"):
    st.markdown(
        "1. `lulc fetch sentinel2 --city paris --start 2023-06-01 --end 2023-09-30` "
        "(Earth Search STAC, no account)\n"
        "2. `lulc import urban-atlas FR001L1_PARIS_UA2018_v013.zip --scene paris` "
        "(from the Copernicus Land Monitoring Service)\n"
        "3. `lulc prepare --city paris` then `lulc train segmenter --city paris`"
    )
