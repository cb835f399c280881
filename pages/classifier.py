"""EuroSAT classifier: upload an image and see the three most likely land-cover classes."""

import io

import pandas as pd
import streamlit as st

from dashboard import services

MAX_BYTES = 2 * 1024 * 1024

st.title("EuroSAT classifier")
st.markdown("Upload a small satellite image (ideally 64 x 64 px, Sentinel-2 true colour) and "
            "the classifier says which of 10 land-cover types it shows.")
cards = services.model_cards("classification")
if not cards:
    st.info("No classifier yet: run `lulc train classifier`.")
    st.stop()
default = next((i for i, c in enumerate(cards) if c.name == "efficientnet_lite0"), 0)
name = st.selectbox("Classifier", [c.name for c in cards], index=default, key="clf_model")
upload = st.file_uploader("Image (JPG or PNG, at most 2 MB)", type=["jpg", "jpeg", "png"],
                          key="clf_upload")
if upload is not None:
    from PIL import Image, UnidentifiedImageError

    data = upload.getvalue()
    if len(data) > MAX_BYTES:
        st.error("That file is larger than 2 MB: upload a small image tile.")
        st.stop()
    try:
        image = Image.open(io.BytesIO(data)).convert("RGB")
    except (UnidentifiedImageError, OSError):
        st.error("That file is not a readable image: upload a JPG or PNG.")
        st.stop()
    if max(image.size) > 1024:
        st.error(f"The image is {image.size[0]} x {image.size[1]} px; upload a tile of at most "
                 "1024 px (EuroSAT tiles are 64 px).")
        st.stop()
    from lulc_core.classify import classify_images

    top = classify_images(services.model(name), [image], top_k=3)[0]
    left, right = st.columns([1, 2])
    left.image(image, caption=f"{image.size[0]} x {image.size[1]} px", width=192)
    right.dataframe(pd.DataFrame(top, columns=["class", "probability"]), hide_index=True,
                    column_config={"probability": st.column_config.ProgressColumn(min_value=0, max_value=1, format="%.3f")})
