"""Drop statistics: sum drop-count files, print the table, draw the bar chart (``commitpack stats``)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

from octopack_common import atomic_path

from commitpack_dataset.cli.errors import CliError


def load_drop_counts(paths: Sequence[str]) -> Counter:
    """Sum the ``drop_counts`` of drop-count JSON files: ours, a builder's shard files, or directories
    of them (e.g. ``<builder cache>/drop_counts``)."""
    total: Counter = Counter()
    expanded = [p for raw in paths for p in (sorted(Path(raw).glob("*.json")) if Path(raw).is_dir() else [Path(raw)])]
    for path in expanded:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            total.update({str(k): int(v) for k, v in payload["drop_counts"].items()})
        except FileNotFoundError as error:
            raise CliError(f"drop counts file not found: {path}") from error
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CliError(f"{path} is not a drop counts file: {error!r}") from error
    return total


def bar_chart(counts: Counter, target: Path, title: str = "Dropped commits per reason", xlabel: str = "commits") -> None:
    """A horizontal bar chart of ``counts`` (most frequent on top) saved as PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reasons = counts.most_common()[::-1] or [("(no drops)", 0)]
    figure, axes = plt.subplots(figsize=(8, 1 + 0.35 * len(reasons)))
    try:
        axes.barh([reason for reason, _ in reasons], [count for _, count in reasons], color="tab:blue")
        axes.set_xlabel(xlabel)
        axes.set_title(title)
        figure.tight_layout()
        with atomic_path(target) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
    finally:
        plt.close(figure)


def report_drops(counts: Counter, png: Optional[str] = None) -> None:
    """Print the drop table; draw the bar chart into ``png`` when given."""
    from commitpack_dataset.construction import drop_table

    print(drop_table(counts))
    if png:
        bar_chart(counts, Path(png))
        print(f"chart -> {png}")


def command_stats(args: argparse.Namespace) -> int:
    """Print the summed drop table; draw the bar chart when ``--png`` is given."""
    report_drops(load_drop_counts(args.drop_counts), args.png)
    return 0
