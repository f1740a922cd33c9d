"""The OASST part of the OctoCoder mix (reference C.1): conversations filtered by the unwanted-phrase
list of the octopack repository, then their first question/answer pair.

**Conversations.** A row is read as a list of turns ``(role, content)``, whichever form it has
(``oasst_format="auto"`` decides per row):

* ``messages`` -- a list of ``{"role", "content"}`` dicts (``HuggingFaceH4/oasst1_guanaco``'s
  form: the released ``filter_oasst.py`` joins ``x["content"] for x in example["messages"]``);
* ``text`` -- Guanaco's single string ``### Human: ... ### Assistant: ...`` (as in
  ``timdettmers/openassistant-guanaco``), split at the markers;
* ``prompt`` / ``completion`` -- one question and its answer (the released
  ``oasstcommitpackft.jsonl`` rows, and ``bigcode/guanaco-commits``).

**The filter** (``filter_oasst.py``): the *dialogue* is every turn's content joined with single
spaces; the conversation is dropped when any phrase, lowercased, is a substring of the lowercased
dialogue -- all turns count, not only the pair that is kept. The phrase list ships as package data
(``commitpack_dataset/data/oasst_unwanted_phrases.json``: 233 entries in the source's order, 229
distinct after lowercasing; ``f\\*cking`` keeps its literal backslash, `` ESG `` its spaces).

**The pair**: the first ``user`` turn and the ``assistant`` turn right after it (a system turn is
skipped), stripped; ``prompt`` = the question, ``completion`` = the answer. A conversation without
such a pair is dropped (``oasst_no_answer``).

Drop reasons: ``oasst_unwanted_phrase``, ``oasst_no_answer``. Per phrase, :class:`OasstFilter`
counts the dropped conversations by the first phrase (in list order) they contain
(``phrase_counts``, summing to the drops) and by every phrase they contain (``phrase_hits``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

OASST_FORMATS = ("auto", "messages", "text", "prompt_completion")
PHRASES_FILE = "oasst_unwanted_phrases.json"
_TEXT_MARKER = re.compile(r"###\s*(Human|Assistant)\s*:", re.IGNORECASE)
_ROLES = {"human": "user", "assistant": "assistant"}


def unwanted_phrases(path: str | None = None) -> list[str]:
    """The phrases of ``path`` (a JSON list, or an object with ``phrases``), by default the shipped list."""
    if path is None:
        text = resources.files("commitpack_dataset").joinpath("data", PHRASES_FILE).read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    payload = json.loads(text)
    phrases = payload["phrases"] if isinstance(payload, Mapping) else payload
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
        raise ValueError(f"{path or PHRASES_FILE}: expected a list of non-empty phrases (or {{'phrases': [...]}})")
    return phrases


def text_turns(text: str) -> list[tuple[str, str]]:
    """The turns of a Guanaco ``### Human: ... ### Assistant: ...`` string."""
    parts = _TEXT_MARKER.split(text)
    # parts: [before the first marker, role, content, role, content, ...]
    return [(_ROLES[parts[i].lower()], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def row_format(row: Mapping[str, Any], oasst_format: str = "auto") -> str:
    """The form of one row (see the module docstring)."""
    if oasst_format != "auto":
        return oasst_format
    if row.get("messages"):
        return "messages"
    if row.get("text"):
        return "text"
    if row.get("prompt") is not None:
        return "prompt_completion"
    raise ValueError(f"cannot read a conversation from a row with columns {sorted(row)}: it needs messages, "
                     "text (### Human: ... ### Assistant: ...) or prompt/completion (set oasst_format)")


def turns(row: Mapping[str, Any], oasst_format: str = "auto") -> list[tuple[str, str]]:
    """``[(role, content), ...]`` of one conversation row."""
    kind = row_format(row, oasst_format)
    if kind == "messages":
        return [(str(m.get("role") or ""), "" if m.get("content") is None else str(m["content"]))
                for m in row.get("messages") or []]
    if kind == "text":
        return text_turns(str(row.get("text") or ""))
    if kind == "prompt_completion":
        return [("user", str(row.get("prompt") or "")), ("assistant", str(row.get("completion") or ""))]
    raise ValueError(f"unknown oasst_format {oasst_format!r}: use one of {', '.join(OASST_FORMATS)}")


def dialogue(conversation: Sequence[tuple[str, str]]) -> str:
    """Every turn's content joined with single spaces (what the phrases are searched in)."""
    return " ".join(content for _, content in conversation)


def first_pair(conversation: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The first user turn and the assistant turn right after it, stripped, or ``None``."""
    for position, (role, content) in enumerate(conversation):
        if role == "user":
            if position + 1 < len(conversation) and conversation[position + 1][0] == "assistant":
                question, answer = content.strip(), conversation[position + 1][1].strip()
                if question and answer:
                    return question, answer
            return None
    return None


class OasstFilter:
    """The unwanted-phrase filter and the first-pair rule, with per-reason and per-phrase counts."""

    def __init__(self, phrases: Sequence[str] | None = None, oasst_format: str = "auto"):
        if oasst_format not in OASST_FORMATS:
            raise ValueError(f"unknown oasst_format {oasst_format!r}: use one of {', '.join(OASST_FORMATS)}")
        phrases = unwanted_phrases() if phrases is None else list(phrases)
        self.phrases = list(dict.fromkeys(p.lower() for p in phrases))  # list order, distinct after lowering
        self.oasst_format = oasst_format
        self.drops: Counter = Counter()
        self.phrase_counts: Counter = Counter()
        self.phrase_hits: Counter = Counter()

    def unwanted(self, text: str) -> list[str]:
        """The phrases found in ``text`` (lowercased substring), in list order."""
        lowered = text.lower()
        return [phrase for phrase in self.phrases if phrase in lowered]

    def __call__(self, row: Mapping[str, Any]) -> tuple[bool, str]:
        """``(keep, reason)`` for one conversation row (counts are updated)."""
        conversation = turns(row, self.oasst_format)
        found = self.unwanted(dialogue(conversation))
        if found:
            self.drops["oasst_unwanted_phrase"] += 1
            self.phrase_counts[found[0]] += 1
            self.phrase_hits.update(found)
            return False, "oasst_unwanted_phrase"
        if first_pair(conversation) is None:
            self.drops["oasst_no_answer"] += 1
            return False, "oasst_no_answer"
        return True, ""

    def pairs(self, rows: Any, source: str = "oasst") -> list[dict]:
        """The mix rows (``prompt``, ``completion``, ``source``, ``lang``, ``origin``) of the kept
        conversations of ``rows`` (a ``datasets.Dataset`` or a sequence of dicts)."""
        kept = []
        for index in range(len(rows)):
            row = rows[index]
            keep, _ = self(row)
            if keep:
                question, answer = first_pair(turns(row, self.oasst_format))
                kept.append({"prompt": question, "completion": answer, "source": "oasst", "lang": "",
                             "origin": f"{source}:{index}"})
        return kept
