"""Overview: what the tool does, which data and models are here."""

import pandas as pd
import streamlit as st

from dashboard import services

st.title("Land use from satellite images")
st.markdown(
    "This tool looks at **Sentinel-2 satellite images** and says what the land is used for: "
    "housing, industry, roads, farmland, forest, water... It does two things:\n"
    "- **classifies** small 640 m x 640 m image tiles into 10 land-cover types (EuroSAT);\n"
    "- **maps** whole cities pixel by pixel (10 m) into the 27 land-use classes of the "
    "European **Urban Atlas**, with one model per city (Paris, Ankara)."
)

st.subheader("Cities and scenes")
scenes = services.scenes()
if not scenes:
    st.info("No scene yet. Build the offline demo scenes with `lulc demo-data`, or fetch real "
            "imagery with `lulc fetch sentinel2 --city paris`.")
for s in scenes:
    kind = ("**synthetic demo data** (a made-up city layout textured with real EuroSAT images, "
            "not a real acquisition)" if s.synthetic else f"real data from {s.source}")
    st.markdown(f"- **{s.name}**: {kind}; CRS {s.crs}, bands {', '.join(s.bands)}")

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
