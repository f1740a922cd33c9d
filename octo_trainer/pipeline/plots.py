"""The report's PNGs (matplotlib, Agg): drop reasons per filtering stage and the training loss."""

from __future__ import annotations

import json
from pathlib import Path

#: Colours per stage of the drop chart.
COLOURS = {"mine": "#4c72b0", "filter": "#dd8452", "oss_instruct": "#55a868", "evol_instruct": "#c44e52",
           "mix": "#8172b3"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def drop_chart(drops: dict[str, dict[str, int]], target: Path, top: int = 14) -> Path | None:
    """One horizontal bar panel per stage: its ``top`` drop reasons by count."""
    stages = [(name, counts) for name, counts in drops.items() if counts and sum(counts.values())]
    if not stages:
        return None
    plt = _pyplot()
    heights = [min(top, len(counts)) for _, counts in stages]
    figure, axes = plt.subplots(len(stages), 1, figsize=(9, 1.2 + 0.32 * sum(heights) + 0.6 * len(stages)),
                                gridspec_kw={"height_ratios": heights}, squeeze=False)
    for axis, (name, counts) in zip(axes[:, 0], stages):
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
        labels = [reason for reason, _ in ranked][::-1]
        values = [count for _, count in ranked][::-1]
        axis.barh(labels, values, color=COLOURS.get(name, "#777777"))
        for y, value in enumerate(values):
            axis.text(value, y, f" {value}", va="center", fontsize=8)
        axis.set_title(f"{name}: rows dropped per reason ({sum(counts.values())} in all)", fontsize=10, loc="left")
        axis.set_xlabel("rows dropped")
        axis.tick_params(axis="y", labelsize=8)
        axis.set_xlim(0, max(values) * 1.15 + 1)
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return target


def loss_curve(trainer_state: Path, target: Path) -> Path | None:
    """Training loss per logged step, from ``trainer_state.json``'s ``log_history``."""
    if not trainer_state.is_file():
        return None
    history = json.loads(trainer_state.read_text(encoding="utf-8")).get("log_history", [])
    points = [(entry["step"], entry["loss"]) for entry in history if "loss" in entry and "step" in entry]
    if not points:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.6))
    steps, losses = zip(*points)
    axis.plot(steps, losses, marker="o", markersize=3, color="#4c72b0", label="training loss")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss")
    axis.set_title("Fine-tuning: training loss (trainer_state.json)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return target
