"""When a sequence is finished: the harness's stopping rules as predicates over generated text.

The harness stops generating (``EndOfFunctionCriteria`` with the task's ``check_fn``) once a stop
word appears or the function is complete: for Python, a non-empty line that is not indented; for
the brace languages, as many ``}`` as ``{`` plus the ones the prompt left open (two for Java,
whose prompt opens the class and the method, else one). Diff formats use stop words only.

The same rules cut the completion afterwards (``humanevalpack_metric.tasks.postprocess``), at
the *first* point they hold, so stopping at that point while generating changes no score: it only
saves the tokens the post-processing would throw away. ExplainDescribe keeps the first
``len(docstring)`` characters of the stripped text, so a description is finished once that many
are there, or once a whitespace-led stop word (``\\n#``, ...) shows up inside them.

Stop *strings* are the backend's job (``GenerationRequest.stop``); these predicates are the rest,
and a local backend gets them through :func:`stop_check` (``TransformersBackend(stop_check=...)``),
which reads the rule an item put in its request's metadata.
"""

from __future__ import annotations

import re
from typing import Callable

from humanevalpack_metric.languages import get_language

#: A line that is not indented and not blank (the harness: ``line.strip() and line[0] not in
#: " \\t"``).
_UNINDENTED = re.compile(r"^(?![ \t])[^\n]*\S", re.MULTILINE)


def function_complete(language: str) -> Callable[[str], bool]:
    """The harness's ``check_fn`` heuristics (without the stop words) for one language."""
    name = get_language(language).name
    if name == "python":
        return lambda text: _UNINDENTED.search(text) is not None
    opened = 2 if name == "java" else 1
    return lambda text: text.count("{") + opened == text.count("}")


def description_complete(cap: int, words: list[str]) -> Callable[[str], bool]:
    """ExplainDescribe: the capped description cannot change any more."""
    def check(text: str) -> bool:
        kept = text.strip()
        return len(kept) >= cap or any(word in kept[:cap] for word in words)

    return check


def rule_predicate(rule: dict | None) -> Callable[[str], bool] | None:
    if not rule:
        return None
    if rule["kind"] == "function":
        return function_complete(rule["language"])
    if rule["kind"] == "describe":
        return description_complete(int(rule["cap"]), list(rule["words"]))
    raise ValueError(f"unknown stop rule {rule!r}")


def stop_check(request) -> Callable[[str], bool] | None:
    """``TransformersBackend(stop_check=stop_check)``: the rule of an evaluation request."""
    return rule_predicate((request.metadata or {}).get("stop_rule"))
