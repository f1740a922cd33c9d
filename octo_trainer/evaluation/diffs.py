"""The diff formats' answers turned into code: the harness applies the model's diff to the buggy
function (``prompt_base + buggy_solution``) and scores the result.

* ``diff``: the completion is cut like any other (the diff stop words, then the harness's
  end-of-function truncation, which it also applies to diffs) and read as diff-match-patch patch
  text (``patch_fromText`` of the left-stripped text, ``patch_apply``); a patch that does not
  parse gives ``""``.
* ``diff-carper`` (CarperAI's diff model): the cut completion is appended to the prompt and the
  ``<NME> name / <BEF> code / <MSG> message / <DFF> diff`` record split; the hunk ends at the
  first line that does not start with a space, ``+``, ``-`` or ``@`` (and at a ``<NME>``), and is
  applied loosely, as the harness describes it: line numbers are ignored, lines that are not
  context, removals or additions are ignored, and each hunk replaces the first place at or after
  the previous hunk where its context and removed lines appear. An unparseable answer gives
  ``""``; a hunk that matches nowhere leaves the code unchanged. (The harness's own
  ``diff_eval`` module was not available to compare against; this follows its comments.)
"""

from __future__ import annotations

import re

from humanevalpack_metric.tasks import prompt_base, truncate_code

_CARPER = re.compile(r"<NME> (?P<name>.*?)\n<BEF> (?P<file>.*?)\n<MSG> (?P<message>.*?)\n<DFF>"
                     r" ?(?P<diff>.*)", re.DOTALL)
_END_OF_DIFF = re.compile("\n[^ +-@]+")


def buggy_code(problem: dict, task: str, language: str) -> str:
    return prompt_base(problem, task, language) + problem["buggy_solution"]


def apply_answer(kind: str, completion: str, prompt: str, problem: dict, task: str,
                 language: str, stop_words: tuple[str, ...]) -> str:
    """The fixed code a diff-format completion (the text after ``prompt``) yields."""
    cut = truncate_code(completion.rstrip(), language, stop_words, language_stop_words=False)
    old = buggy_code(problem, task, language)
    if kind == "dmp":
        return apply_dmp(cut, old)
    if kind == "carper":
        hunk = carper_hunk(prompt + cut)
        return apply_hunks(old, hunk) if hunk else ""
    raise ValueError(f"unknown diff kind {kind!r}: dmp or carper")


def apply_dmp(diff: str, old: str) -> str:
    from diff_match_patch import diff_match_patch

    dmp = diff_match_patch()
    try:
        fixed, _ = dmp.patch_apply(dmp.patch_fromText(diff.lstrip()), old)
    except Exception:  # noqa: BLE001 -- any malformed patch text, as the harness catches
        return ""
    return fixed


def carper_hunk(text: str) -> str:
    """The diff hunk of a ``<NME>...<DFF>`` record ('' when it does not parse)."""
    match = _CARPER.search(text)
    if not match:
        return ""
    hunk = _END_OF_DIFF.split(match["diff"])[0]
    nme = hunk.find("<NME>")
    return hunk[:nme] if nme != -1 else hunk


def apply_hunks(old: str, diff: str) -> str:
    """Apply unified-diff hunks loosely (see the module docstring)."""
    lines = old.split("\n")
    position = 0
    for before, after in _hunks(diff):
        if not before:
            lines[position:position] = after
            position += len(after)
            continue
        at = _find(lines, before, position)
        if at is None:
            continue
        lines[at : at + len(before)] = after
        position = at + len(after)
    return "\n".join(lines)


def _hunks(diff: str) -> list[tuple[list[str], list[str]]]:
    hunks, before, after = [], [], []
    for line in diff.split("\n"):
        if line.startswith("@@"):
            if before or after:
                hunks.append((before, after))
            before, after = [], []
        elif line.startswith(" "):
            before.append(line[1:])
            after.append(line[1:])
        elif line.startswith("-"):
            before.append(line[1:])
        elif line.startswith("+"):
            after.append(line[1:])
    if before or after:
        hunks.append((before, after))
    return hunks


def _find(lines: list[str], block: list[str], start: int) -> int | None:
    for normalise in (lambda s: s, lambda s: s.rstrip()):
        wanted = [normalise(b) for b in block]
        for at in range(start, len(lines) - len(block) + 1):
            if [normalise(x) for x in lines[at : at + len(block)]] == wanted:
                return at
    return None
