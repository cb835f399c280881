"""EuroSAT classifier: classify an image of your own, or browse the model's test images."""

import math

import pandas as pd
import streamlit as st

from dashboard import eurosat, services
from lulc_core.errors import InvalidDataError, LulcError

PER_PAGE = 24
PER_ROW = 6
ALL_CLASSES = "All classes"


def show_upload(name: str, data: bytes) -> None:
    try:
        image = eurosat.read_upload(data)
    except InvalidDataError as e:
        st.error(str(e))
        return
    try:
        model = services.model(name)
    except LulcError as e:  # weights missing or corrupted under artifacts/
        st.error(f"The classifier cannot be loaded: {e}")
        return
    prediction = eurosat.classify(model, image, top_k=3)
    left, right = st.columns([1, 2])
    left.image(services.enlarge(image), caption=f"{image.width} x {image.height} px")
    right.dataframe(
        pd.DataFrame(prediction.top, columns=["class", "probability"]), hide_index=True,
        column_config={"probability": st.column_config.ProgressColumn(
            min_value=0, max_value=1, format="%.3f")},
    )
    if prediction.note:
        st.info(f"Your image is {image.width} x {image.height} px. The classifier learned from "
                "64 x 64 px tiles (640 m across), so your image was resized"
                + (" and stretched to a square" if image.width != image.height else "")
                + " first. It is most reliable on tiles of about that size and scale.")


def first_page() -> None:
    st.session_state["clf_page"] = 1


def show_test_images(name: str, class_names: list[str]) -> None:
    try:
        table = services.test_predictions(name)
    except LulcError as e:
        st.info("The classifier's answers for its test images have not been saved yet. Run "
                f"`lulc evaluate --model {name}` once (a few minutes without a GPU), then reload "
                f"this page.\n\nDetails: {e}")
        return
    wrong = int((~table["correct"]).sum())
    st.markdown(f"**{wrong} of {len(table):,} test images misclassified** "
                f"({1 - wrong / len(table):.2%} correct). Test images were set aside before "
                "training: the classifier never saw them while learning.")
    root = eurosat.images_dir()
    if not root.is_dir():
        st.info(f"The EuroSAT images are not on this machine (looked in `{root}`), so they "
                "cannot be shown. Download them with `lulc fetch eurosat` (or point "
                "`LULC_EUROSAT_DIR` at a copy) and reload this page.")
        return
    mistakes = table.loc[~table["correct"], "true"].value_counts()
    left, right = st.columns([2, 1])
    true_class = left.selectbox(
        "True class", [ALL_CLASSES, *class_names], key="clf_true_class", on_change=first_page,
        format_func=lambda c: c if c == ALL_CLASSES else f"{c} ({mistakes.get(c, 0)} mistakes)",
    )
    mistakes_only = right.toggle("Only mistakes", key="clf_mistakes_only", on_change=first_page)
    rows = eurosat.browse_order(table, None if true_class == ALL_CLASSES else true_class, mistakes_only)
    if rows.empty:
        st.success("No mistakes here: every test image of this class was classified correctly.")
        return
    pages = math.ceil(len(rows) / PER_PAGE)
    if st.session_state.get("clf_page", 1) > pages:  # e.g. another classifier was chosen
        first_page()
    page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, key="clf_page")
    start = (page - 1) * PER_PAGE
    shown = rows.iloc[start : start + PER_PAGE]
    st.caption(f"Images {start + 1}-{start + len(shown)} of {len(rows):,}: mistakes first (the "
               "most confident mistakes at the top), then correct ones, least sure first. "
               "p is how sure the classifier was of its answer.")
    for offset in range(0, len(shown), PER_ROW):
        cells = shown.iloc[offset : offset + PER_ROW]
        for column, row in zip(st.columns(PER_ROW), cells.itertuples(), strict=False):
            with column:
                st.markdown(":green-badge[Correct]" if row.correct else ":red-badge[Mistake]")
                caption = f"true: {row.true} / predicted: {row.predicted} (p={row.p_predicted:.2f})"
                image = services.thumbnail(root / row.path)
                if image is None:
                    st.caption(f"{caption}. Image {row.path} is missing from `{root}`.")
                else:
                    st.image(image, caption=caption)


st.title("EuroSAT classifier")
st.markdown("The classifier looks at a small satellite image and says which of 10 land-cover "
            "types it shows: crops, forest, highway, river and so on. It learned from EuroSAT, "
            "Sentinel-2 true-colour tiles of 64 x 64 px, each 640 m across.")
cards = services.model_cards("classification")
if not cards:
    st.info("No classifier yet: run `lulc train classifier`.")
    st.stop()
default = next((i for i, c in enumerate(cards) if c.name == "efficientnet_lite0"), 0)
name = st.selectbox("Classifier", [c.name for c in cards], index=default, key="clf_model")
card = next(c for c in cards if c.name == name)

st.header("Classify your own image")
st.caption("A JPG or PNG of at most 2 MB, 32 to 1024 px a side and roughly square (at most twice "
           "as long as wide). Tiles of another size than 64 x 64 px are resized for the "
           "classifier, which works best on tiles of about 640 m across.")
upload = st.file_uploader("Image", type=["jpg", "jpeg", "png"], key="clf_upload")
if upload is not None:
    show_upload(name, upload.getvalue())

st.header("Browse test images")
show_test_images(name, [c.name for c in sorted(card.classes, key=lambda c: c.index)])
