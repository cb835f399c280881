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
    """Train/test loss and the test metric per epoch."""
    fig = go.Figure()
    fig.add_scatter(x=history["epoch"], y=history["train_loss"], name="training loss")
    fig.add_scatter(x=history["epoch"], y=history["test_loss"], name="test loss")
    fig.add_scatter(x=history["epoch"], y=history[f"test_{metric}"], name=f"test {metric}", yaxis="y2")
    fig.update_layout(xaxis_title="epoch", yaxis_title="loss",
                      yaxis2=dict(title=metric, overlaying="y", side="right", range=[0, 1]),
                      height=380, margin=dict(l=10, r=10, t=30, b=10))
    return fig
