"""A card as a Hub user sees it: one self-contained HTML page (metadata chips, evaluation box, body).

The Hub shows a card's YAML metadata as a header of chips (license, languages, tasks, size, tags,
libraries, base model, datasets) and its ``model-index`` as an "Evaluation results" box, then the
Markdown body rendered as GitHub-flavoured Markdown (HTML comments hidden, other raw HTML escaped,
as the Hub sanitises it). :func:`card_html` does the same with ``markdown-it-py`` (CommonMark,
tables, strikethrough), so cards can be looked at in a browser -- or screenshotted in headless
Chromium -- before they are pushed.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from hub_cards.metadata import card_body, read_front_matter

_STYLE = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1f2937; margin: 0; background: #fff; }
header { border-bottom: 1px solid #e5e7eb; padding: 18px 32px 12px; background: #f9fafb; }
header .repo { font-size: 20px; font-weight: bold; margin-bottom: 10px; }
header .repo .kind { color: #6b7280; font-weight: normal; font-size: 14px; margin-right: 8px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.group { display: inline-flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-right: 10px; }
.group b { color: #6b7280; font-weight: normal; font-size: 12px; }
.chip { border: 1px solid #d1d5db; border-radius: 6px; padding: 2px 8px; font-size: 12px; background: #fff; }
main { display: flex; gap: 28px; padding: 8px 32px 32px; }
article { flex: 1; min-width: 0; max-width: 900px; font-size: 14px; line-height: 1.5; }
aside { width: 300px; flex-shrink: 0; font-size: 12px; }
aside h3 { font-size: 14px; margin: 16px 0 6px; }
aside table { width: 100%; }
article h1 { font-size: 26px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
article h2 { font-size: 20px; border-bottom: 1px solid #f3f4f6; margin-top: 22px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
code { background: #f3f4f6; border-radius: 4px; padding: 0 3px; font-size: 12px; }
pre { background: #f3f4f6; border-radius: 6px; padding: 10px; overflow-x: auto; }
pre code { padding: 0; }
blockquote { border-left: 4px solid #d1d5db; margin: 8px 0; padding: 2px 12px; color: #374151; }
"""
_CHIPS = (("license", "License"), ("language", "Languages"), ("task_categories", "Tasks"),
          ("size_categories", "Size"), ("pipeline_tag", "Pipeline"), ("library_name", "Library"),
          ("base_model", "Base model"), ("datasets", "Datasets"), ("source_datasets", "Sources"),
          ("sdk", "SDK"), ("tags", "Tags"))


def markdown_to_html(text: str) -> str:
    """The Markdown body as HTML, the way the Hub renders a card: HTML comments are not shown, other
    raw HTML is escaped."""
    from markdown_it import MarkdownIt

    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).render(text)


def _chips(metadata: dict[str, Any]) -> str:
    groups = []
    for key, label in _CHIPS:
        value = metadata.get(key)
        if not value:
            continue
        chips = "".join(f'<span class="chip">{html.escape(str(item))}</span>'
                        for item in (value if isinstance(value, list) else [value]))
        groups.append(f'<span class="group"><b>{label}:</b>{chips}</span>')
    return "".join(groups)


def _evaluation_box(metadata: dict[str, Any]) -> str:
    rows = []
    for model in metadata.get("model-index") or []:
        for result in model.get("results") or []:
            dataset = (result.get("dataset") or {}).get("name", "")
            for metric in result.get("metrics") or []:
                value = metric.get("value")
                shown = f"{100 * value:.1f}" if isinstance(value, float) and 0 <= value <= 1 else value
                rows.append(f"<tr><td>{html.escape(str(dataset))}</td><td>{html.escape(str(metric.get('type')))}"
                            f"</td><td>{html.escape(str(shown))}</td></tr>")
    if not rows:
        return ""
    return ('<h3>Evaluation results</h3><table><tr><th>dataset</th><th>metric</th><th>value</th></tr>'
            + "".join(rows) + "</table>")


def card_html(card_text: str, *, repo_id: str = "", repo_type: str = "model") -> str:
    """A standalone HTML page of a card (see module docstring)."""
    metadata = read_front_matter(card_text) or {}
    kind = {"model": "Model", "dataset": "Dataset", "space": "Space"}.get(repo_type, repo_type)
    title = html.escape(repo_id or str(metadata.get("pretty_name") or metadata.get("title") or "card"))
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<header><div class="repo"><span class="kind">{kind}</span>{title}</div>'
        f'<div class="chips">{_chips(metadata)}</div></header>'
        f"<main><article>{markdown_to_html(card_body(card_text))}</article>"
        + (f"<aside>{box}</aside>" if (box := _evaluation_box(metadata)) else "")
        + "</main></body></html>"
    )


def write_card_html(card_text: str, path: str | Path, **options: Any) -> Path:
    """Write :func:`card_html` to ``path`` (atomically); return the path."""
    from octopack_common import write_text_atomic

    write_text_atomic(path, card_html(card_text, **options))
    return Path(path)
