"""City comparison: the cities side by side, their land use, how well their models map them."""

import pandas as pd
import streamlit as st

from dashboard import comparison, plots, services
from lulc_core.errors import LulcError


def attempt(loader, *args):
    """(result, None), or (None, the fix-it message) when the loader raises a LulcError."""
    try:
        return loader(*args), None
    except LulcError as e:
        return None, str(e)


st.title("City comparison")
st.markdown("Paris and Ankara next to each other: what the land is used for, and how well each "
            "city's own model maps it. Scores are measured on parts of each city that the model "
            "never saw while training.")

cities = list(comparison.CITY_NAMES)
scenes = {c: attempt(services.scene, c) for c in cities}
thumbnails = {c: attempt(services.city_thumbnails, c) for c in cities}
results = {c: attempt(services.city_evaluation, c) for c in cities}
evaluations = {c: ev for c, (ev, _) in results.items() if ev is not None}

synthetic = [c.title() for c in cities
             if (scenes[c][0] is not None and scenes[c][0].synthetic)
             or (c in evaluations and evaluations[c].card.synthetic)]
if synthetic:
    st.warning(f"**Synthetic demo data** ({', '.join(synthetic)}): made-up city layouts textured "
               "with real EuroSAT images, not real Sentinel-2 acquisitions. The pictures and "
               "scores show how the tool works, not how these cities are really used.")

for city, column in zip(cities, st.columns(len(cities))):
    column.subheader(city.title())
    pictures, error = thumbnails[city]
    if error:
        column.info(f"No picture of {city.title()}: {error}")
    else:
        caption = "Satellite image (Sentinel-2 true colour)"
        if pictures.size_km:
            caption += ", {:.0f} x {:.0f} km".format(*pictures.size_km)
        left, right = column.columns(2)
        left.image(pictures.rgb, caption=caption, width="stretch")
        if pictures.truth is None:
            right.info("No Urban Atlas map for this scene: `lulc import urban-atlas ...`.")
        else:
            right.image(comparison.class_picture(pictures.truth), width="stretch",
                        caption="Urban Atlas land use (colours as in the charts below)")
    evaluation, error = results[city]
    if error:
        column.warning(f"{city.title()}'s model ({comparison.city_model_name(city)}) cannot be "
                       f"read: {error}")
        continue
    report = evaluation.report
    left, right = column.columns(2)
    left.metric("mIoU", f"{report.miou:.3f}",
                help="Mean over the land-use classes of the overlap between where the model and "
                     "the Urban Atlas put a class, divided by where either puts it "
                     "(1 = perfect map, 0 = nothing right). Classes absent from the test area "
                     "are left out of the mean.")
    right.metric("Pixel accuracy", f"{report.accuracy:.1%}",
                 help="Share of the 10 m x 10 m pixels of the test area whose class the model got "
                      "right. Large classes (fields, forests) weigh most here; mIoU weighs every "
                      "class the same.")
    present = int(report.per_class["present"].sum())
    column.caption(f"Model `{evaluation.card.name}`, tested on {report.total / 1e4:,.0f} km² of "
                   f"{city.title()} ({report.total:,} pixels) where {present} of the "
                   f"{len(report.class_names)} classes occur.")

if not evaluations:
    st.info("No city model to compare yet: run `lulc train segmenter --city paris` (and ankara).")
    st.stop()

st.subheader("What the land is used for")
st.caption("Share of each city's test area in each land-use class, in the official Urban Atlas "
           "colours: the official map (truth) above what the model predicts. When a city's two "
           "bars look alike, the model gets the overall mix right, even if it puts some pixels "
           "in the wrong place.")
compositions = {c: comparison.composition(ev) for c, ev in evaluations.items()}
st.plotly_chart(plots.composition_figure(compositions), width="stretch", key="composition_chart")
with st.expander("Class shares as a table"):
    shares = pd.concat({f"{c.title()} {kind}": f.set_index("class")[f"{kind}_share"]
                        for c, f in compositions.items() for kind in ("truth", "predicted")},
                       axis=1)
    st.dataframe(shares, column_config={name: st.column_config.NumberColumn(format="percent")
                                        for name in shares.columns})

st.subheader("How well each land-use class is recognised")
ious = comparison.iou_table(evaluations)
scored = ious.groupby("class", sort=False)["present"].any()
st.caption("IoU per class: where the model and the Urban Atlas agree on a class, divided by "
           "where either of them puts it (1 = perfect, 0 = never right). 'absent' means the "
           "class does not occur in that city's test area, so it has no score (which is not a "
           "score of 0). Left out, absent everywhere: "
           f"{', '.join(scored.index[~scored]) or 'none'}.")
st.plotly_chart(plots.iou_figure(ious), width="stretch", key="iou_chart")

st.subheader("Does a city's model work in the other city?")
metric = st.radio("Score", ["miou", "pixel_accuracy"], horizontal=True, key="transfer_metric",
                  format_func={"miou": "mIoU", "pixel_accuracy": "pixel accuracy"}.get)
matrix, error = attempt(services.transfer_matrix, metric)
if error:
    st.info(f"No cross-city transfer matrix: {error}")
else:
    label = {"miou": "mIoU", "pixel_accuracy": "pixel accuracy"}[metric]
    st.caption(f"Each cell is the {label} of the model in its row on the city in its column. "
               "Outlined cells (the diagonal) are each model on its own city: trained on one "
               "part of the city, tested on another. The other cells are a city the model never "
               "saw: the further below the diagonal, the less the model carries over.")
    trained_on = {ev.card.name: c for c, ev in evaluations.items()}
    st.plotly_chart(plots.transfer_figure(matrix, trained_on, label), width="stretch",
                    key="transfer_chart")
    for city, row in comparison.transfer_summary(matrix, trained_on).iterrows():
        best = f"`{row['best_model']}` ({row['best']:.3f})"
        if pd.isna(row["own_model"]) or row["own_model"] == row["best_model"]:
            st.markdown(f"- **{city.title()}** is mapped best by {best}.")
        else:
            home = trained_on.get(row["best_model"], "another city").title()
            st.markdown(f"- **{city.title()}** is mapped best by {best}, trained on {home}: better "
                        f"than its own `{row['own_model']}` ({row['own']:.3f}).")
    st.caption("The matrix comes from a separate run (`lulc cross-city`), so its own-city cells "
               "can differ from the headline figures above in the last digit.")

with st.expander("Sample test patches: satellite, truth, prediction"):
    st.caption("Four 640 m x 640 m squares of each city's test area: what the satellite sees, "
               "what the Urban Atlas says, and what the model says, in the same colours.")
    for city, column in zip(evaluations, st.columns(len(evaluations))):
        column.markdown(f"**{city.title()}**")
        samples, error = attempt(services.gallery, city)
        if error:
            column.info(error)
            continue
        column.image(comparison.gallery_grid(samples), width=4 * 96,
                     caption="rows: satellite, truth (Urban Atlas), prediction")
