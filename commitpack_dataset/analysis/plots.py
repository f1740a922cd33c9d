"""The PNG figures of the analysis, one dataset or several side by side (matplotlib, Agg).

Each figure has a title, labelled axes and a legend; a dataset keeps its colour in every figure.
The category figure says which embedding model stood in for Magicoder's INSTRUCTOR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, target: Path) -> None:
    from octopack_common import atomic_path

    with atomic_path(target) as temporary:
        figure.savefig(temporary, format="png", dpi=110)


def dataset_colors(labels: Sequence[str]) -> dict[str, tuple]:
    plt = _pyplot()
    palette = plt.get_cmap("tab10")
    return {label: palette(index % 10) for index, label in enumerate(labels)}


def category_figure(counts: Mapping[str, Mapping[str, int]], categories: Sequence[str], target: Path,
                    note: str) -> None:
    """One donut per dataset: the share of its rows in each category; a shared legend; ``note``
    (what was embedded, by which model) under the figure."""
    plt = _pyplot()
    labels = list(counts)
    columns = min(4, max(1, len(labels)))
    rows = math.ceil(len(labels) / columns)
    palette = plt.get_cmap("tab10" if len(categories) <= 10 else "tab20")
    colors = [palette(i % palette.N) for i in range(len(categories))]
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4.0 * rows + 2.2), squeeze=False)
    try:
        for index, axis in enumerate(axes.flat):
            if index >= len(labels):
                axis.axis("off")
                continue
            label = labels[index]
            values = [counts[label].get(name, 0) for name in categories]
            total = sum(values)
            if total == 0:
                axis.text(0.5, 0.5, "no rows", ha="center", va="center")
                axis.axis("off")
            else:
                axis.pie(values, colors=colors, startangle=90, counterclock=False,
                         wedgeprops={"width": 0.55, "edgecolor": "white"},
                         autopct=lambda share: f"{share:.0f}%" if share >= 4 else "", pctdistance=0.72,
                         textprops={"fontsize": 9})
                axis.set_aspect("equal")
            axis.set_title(f"{label}\n({total} rows)", fontsize=11)
        handles = [plt.matplotlib.patches.Patch(color=color, label=name) for color, name in zip(colors, categories)]
        figure.legend(handles=handles, loc="lower center", ncol=2, fontsize=9, frameon=False,
                      bbox_to_anchor=(0.5, 0.06))
        figure.suptitle("Coding-task categories: each row assigned to its most similar category", fontsize=13)
        figure.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=8.5, style="italic", wrap=True)
        figure.tight_layout(rect=(0, 0.2 + 0.05 / rows, 1, 0.95))
        _save(figure, target)
    finally:
        plt.close(figure)


def _share_curve(bins: Mapping[int, int], total: float, width: int) -> tuple[list, list]:
    """Bin centres and the share (%) of rows per bin, empty bins included (0)."""
    if not bins:
        return [], []
    starts = range(0, max(bins) + width, width)
    return [b + width / 2 for b in starts], [100.0 * bins.get(b, 0) / total if total else 0.0 for b in starts]


def length_figure(bins: Mapping[str, Mapping[str, Mapping[int, int]]], means: Mapping[str, Mapping[str, float]],
                  rows: Mapping[str, int], caps: Mapping[str, int], tokenizer: str, target: Path,
                  width: int = 20) -> None:
    """Two panels (instructions, responses): per dataset the share of rows per ``width``-token bin;
    each panel's x axis is cut at ``caps[field]`` tokens."""
    plt = _pyplot()
    labels = list(bins)
    colors = dataset_colors(labels)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=False)
    try:
        for axis, field, title in zip(axes, ("instruction", "response"), ("Instructions", "Responses")):
            for label in labels:
                centres, ys = _share_curve(bins[label][field], rows[label], width)
                axis.plot(centres, ys, color=colors[label], linewidth=1.6,
                          label=f"{label} (mean {means[label][field]:.0f})")
                axis.fill_between(centres, 0, ys, color=colors[label], alpha=0.22)
            axis.set_xlim(0, caps[field])
            axis.set_ylim(bottom=0)
            axis.set_title(f"{title} (x axis cut at {caps[field]} tokens)")
            axis.set_xlabel(f"number of tokens ({tokenizer})")
            axis.set_ylabel(f"% of rows per {width}-token bin")
            axis.legend(fontsize=9)
            axis.grid(alpha=0.3)
        figure.suptitle("Token length distribution", fontsize=13)
        figure.tight_layout()
        _save(figure, target)
    finally:
        plt.close(figure)


def similarity_figure(distributions: Mapping[str, Mapping[float, float]], means: Mapping[str, float],
                      cap: float, target: Path) -> None:
    """Per dataset the share of rows per similarity score (0.01 steps), its mean dotted."""
    plt = _pyplot()
    labels = list(distributions)
    colors = dataset_colors(labels)
    figure, axis = plt.subplots(figsize=(8, 4.8))
    try:
        for label in labels:
            shares = {round(float(k), 2): v for k, v in distributions[label].items()}
            xs = [step / 100 for step in range(0, int(round(max(shares, default=0) * 100)) + 1)]
            ys = [100.0 * shares.get(x, 0.0) for x in xs]  # empty steps drawn at 0
            axis.plot(xs, ys, color=colors[label], linewidth=1.6, label=f"{label}; mean {means[label]:.3f}")
            axis.fill_between(xs, 0, ys, color=colors[label], alpha=0.22)
            axis.axvline(means[label], color=colors[label], linestyle=":", linewidth=1.4)
        axis.set_xlim(0, cap)
        axis.set_ylim(bottom=0)
        axis.set_xlabel("highest TF-IDF cosine similarity to a HumanEval task")
        axis.set_ylabel("% of rows (scores rounded to 0.01)")
        axis.set_title("Similarity to HumanEval (one TF-IDF fitted on every text; dotted: means)")
        axis.legend(fontsize=9)
        axis.grid(alpha=0.3)
        figure.tight_layout()
        _save(figure, target)
    finally:
        plt.close(figure)
