"""Plots people would rather look at than read (confusion matrix, label balance).

Figures are built without pyplot, so no GUI backend is touched (servers, notebooks alike).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix


def short_label(label: str, width: int = 38) -> str:
    label = str(label)
    return label if len(label) <= width else label[: width - 1] + "…"


def confusion_matrix_figure(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> Figure:
    """Row-normalised confusion matrix: each row shows where that department's items ended up."""
    matrix = confusion_matrix(y_true, y_pred, labels=list(labels))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.nan_to_num(matrix / matrix.sum(axis=1, keepdims=True))
    size = max(6.0, 0.45 * len(labels) + 3)
    fig = Figure(figsize=(size + 3, size))
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    names = [short_label(label) for label in labels]
    ax.set_xticks(range(len(labels)), [str(i + 1) for i in range(len(labels))])
    ax.set_yticks(range(len(labels)), [f"{i + 1}. {n}" for i, n in enumerate(names)], fontsize=7)
    ax.set_xlabel("voorspelde dienst (nummer)")
    ax.set_ylabel("juiste dienst")
    ax.set_title("Verwarringsmatrix (aandeel per juiste dienst)")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                    color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def label_balance_figure(balance: Mapping[str, int]) -> Figure:
    items = sorted(balance.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(9, 0.3 * len(items) + 1.5))
    ax = fig.subplots()
    ax.barh([short_label(k, 50) for k, _ in items], [v for _, v in items], color="#2b6cb0")
    ax.set_xlabel("aantal rijen")
    ax.set_title("Verdeling van de labels in de data")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig
