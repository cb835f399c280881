"""Plotly figures for the pages (no data loading here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def confusion_figure(cm: np.ndarray, names: list[str], view: str) -> go.Figure:
    """Heatmap of a confusion matrix: ``absolute``, ``log`` (log10(1+n)) or ``row`` (row share)."""
    cm = np.asarray(cm, dtype=float)
    if view == "log":
        z, label = np.log10(1 + cm), "log10(1 + count)"
    elif view == "row":
        z, label = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1), "share of the true class"
    else:
        z, label = cm, "count"
    fig = px.imshow(z, x=names, y=names, color_continuous_scale="Blues", aspect="auto",
                    labels={"x": "predicted class", "y": "true class", "color": label})
    fig.update_traces(customdata=cm, hovertemplate="true %{y}<br>predicted %{x}<br>count %{customdata:.0f}<extra></extra>")
    fig.update_layout(height=max(400, 22 * len(names)), margin=dict(l=10, r=10, t=30, b=10))
    return fig


def curves_figure(history: pd.DataFrame, metric: str) -> go.Figure:
    """Training and validation loss and the validation metric per epoch (``test_`` columns in
    histories of legacy runs, which chose their epoch on the test split)."""
    split = "val" if f"val_{metric}" in history else "test"
    label = "validation" if split == "val" else "test"
    fig = go.Figure()
    fig.add_scatter(x=history["epoch"], y=history["train_loss"], name="training loss")
    fig.add_scatter(x=history["epoch"], y=history[f"{split}_loss"], name=f"{label} loss")
    fig.add_scatter(x=history["epoch"], y=history[f"{split}_{metric}"], name=f"{label} {metric}", yaxis="y2")
    fig.update_layout(xaxis_title="epoch", yaxis_title="loss",
                      yaxis2=dict(title=metric, overlaying="y", side="right", range=[0, 1]),
                      height=380, margin=dict(l=10, r=10, t=30, b=10))
    return fig


CITY_COLORS = px.colors.qualitative.Safe  # colour-blind safe; one per city, in page order


def composition_figure(compositions: dict[str, pd.DataFrame]) -> go.Figure:
    """100 % stacked bars of class shares, truth above prediction for each city.

    Args:
        compositions: city -> ``lulc_core.comparison.composition`` frame (``class``, ``color``,
            ``truth_share``, ``predicted_share``). Classes with no pixel anywhere are left out.
    """
    bars = {f"{city.title()}: {label}": frame.set_index("class")[column]
            for city, frame in compositions.items()
            for label, column in (("Urban Atlas (truth)", "truth_share"),
                                  ("model prediction", "predicted_share"))}
    colors = pd.concat([f.set_index("class")["color"] for f in compositions.values()])
    colors = colors[~colors.index.duplicated()]  # union of the cities' classes, legend order
    shares = pd.DataFrame(bars).reindex(colors.index).fillna(0.0)  # classes x bars
    fig = go.Figure()
    for name, row in shares[shares.sum(axis=1) > 0].iterrows():
        fig.add_bar(y=list(row.index), x=row.to_numpy(), name=name, orientation="h",
                    marker=dict(color=colors[name], line=dict(color="rgba(0,0,0,0.3)", width=0.5)),
                    hovertemplate="%{y}<br>%{fullData.name}: %{x:.1%}<extra></extra>")
    fig.update_layout(barmode="stack", height=max(420, 80 + 21 * len(fig.data)),
                      xaxis=dict(title="share of the test area", tickformat=".0%", range=[0, 1]),
                      yaxis=dict(autorange="reversed"),
                      legend=dict(title="Urban Atlas class", traceorder="normal"),
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


def iou_figure(table: pd.DataFrame) -> go.Figure:
    """Per-class IoU, one bar per city; a class absent from a city's test area says "absent".

    Args:
        table: ``lulc_core.comparison.iou_table`` frame (``city``, ``class``, ``iou``,
            ``present``, ``support``). Classes absent from every city are left out.
    """
    scored = table.groupby("class", sort=False)["present"].transform("any")
    table = table[scored]
    fig = go.Figure()
    for k, (city, rows) in enumerate(table.groupby("city", sort=False)):
        absent = ~rows["present"]
        fig.add_bar(
            y=rows["class"], x=rows["iou"].fillna(0), name=city.title(), orientation="h",
            marker_color=CITY_COLORS[k % len(CITY_COLORS)],
            text=np.where(absent, "absent", rows["iou"].map("{:.2f}".format)),
            textposition="outside", cliponaxis=False,
            customdata=np.stack([np.where(absent, "absent from the test area", "scored"),
                                 rows["support"]], axis=-1),
            hovertemplate=(f"{city.title()}<br>%{{y}}<br>IoU %{{text}} (%{{customdata[0]}}, "
                           "%{customdata[1]:,} true pixels)<extra></extra>"),
        )
    n_classes = table["class"].nunique()
    fig.update_layout(barmode="group", height=max(420, 18 * n_classes * max(1, len(fig.data))),
                      xaxis=dict(title="IoU (1 = perfect overlap)", range=[0, 1.08]),
                      yaxis=dict(autorange="reversed"), legend=dict(title="city"),
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


def transfer_figure(matrix: pd.DataFrame, trained_on: dict[str, str], metric: str) -> go.Figure:
    """Annotated heatmap: model (row) tested on city (column); own-city cells outlined.

    Args:
        matrix: ``lulc_core.comparison.transfer_matrix`` (models x cities).
        trained_on: model -> city it was trained on (models missing here get no outline).
        metric: label of the values, e.g. ``"mIoU"``.
    """
    rows = [f"{m} (trained on {trained_on[m].title()})" if m in trained_on else m
            for m in matrix.index]
    columns = [c.title() for c in matrix.columns]
    fig = px.imshow(matrix.to_numpy(), x=columns, y=rows, zmin=0, zmax=1, text_auto=".3f",
                    color_continuous_scale="Blues", aspect="auto",
                    labels={"x": "tested on", "y": "model", "color": metric})
    fig.update_traces(
        hovertemplate="%{y}<br>tested on %{x}<br>" + metric + " %{z:.3f}<extra></extra>")
    for i, model in enumerate(matrix.index):
        if trained_on.get(model) in matrix.columns:
            j = list(matrix.columns).index(trained_on[model])
            fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                          line=dict(color="#d62728", width=3))
    fig.update_layout(height=140 + 90 * len(rows), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(side="top"))
    return fig
