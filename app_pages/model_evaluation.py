"""Model evaluation: headline numbers, learning curves, confusion matrix, per-class table."""

import streamlit as st

from dashboard import plots, services

st.title("Model evaluation")
cards = services.model_cards()
if not cards:
    st.info("No trained model yet: run `lulc train classifier` or `lulc train segmenter`.")
    st.stop()
names = [c.name for c in cards]
name = st.selectbox("Model", names, key="eval_model")
card = next(c for c in cards if c.name == name)
metric = "accuracy" if card.task == "classification" else "miou"

if card.synthetic:
    st.warning("This model was trained and tested on the **synthetic demo scene**: its scores "
               "describe that made-up data, not real Sentinel-2 imagery.")
cols = st.columns(3)
if card.task == "classification":
    cols[0].metric("Test accuracy", f"{card.metrics.get('accuracy', float('nan')):.2%}",
                   help="Share of held-out images whose class the model got right.")
    cols[1].metric("Test images", f"{card.metrics.get('test_images', card.metrics.get('total', 0)):,}")
else:
    cols[0].metric("Test mIoU", f"{card.metrics.get('miou', float('nan')):.3f}",
                   help="Mean over classes of overlap / union between predicted and true areas.")
    cols[1].metric("Pixel accuracy", f"{card.metrics.get('pixel_accuracy', float('nan')):.2%}")
cols[2].metric("Training time", f"{(card.training_seconds or 0) / 60:.1f} min", help=card.device)

history = services.history(name)
st.subheader("Learning curves")
st.caption("Loss should fall for both training and validation images; a rising validation "
           "loss would mean the model memorises its training images. The epoch with the best "
           "validation score is kept; the test scores above come from one pass after training.")
if history is not None and {f"val_{metric}", f"test_{metric}"} & set(history):
    st.plotly_chart(plots.curves_figure(history, metric), width="stretch")
else:
    st.info("No training history saved for this model.")

st.subheader("Confusion matrix")
st.caption("Each row is the true class, each column what the model said. A perfect model "
           "fills only the diagonal; off-diagonal cells show which classes it mixes up.")
cm = services.confusion(name)
if cm is None:
    st.info("No confusion matrix saved for this model.")
else:
    view = st.radio("View", ["absolute", "log", "row"], horizontal=True, key="cm_view",
                    format_func={"absolute": "counts", "log": "log scale",
                                 "row": "share of each true class"}.get)
    st.plotly_chart(plots.confusion_figure(cm[0], cm[1], view), width="stretch")

table = services.per_class(name)
if table is not None:
    with st.expander("Per-class scores (precision, recall, F1, IoU)"):
        st.caption("Classes with no true example in the test data are marked absent, not scored 0.")
        st.dataframe(table, column_config={c: st.column_config.NumberColumn(format="%.3f")
                                           for c in ("precision", "recall", "f1", "iou")})
