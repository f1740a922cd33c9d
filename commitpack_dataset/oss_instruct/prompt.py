"""The teacher prompt (our own wording, reference D.3's structure), the parsing of its answer
(D.4, with a reason for every rejection) and the SFT view of a row (C.4).

Two chat messages: a one-sentence system message casting the teacher as a skilled author of
programming problems and precise solutions; a user message that (1) asks for one problem inspired
by a code snippet, answered in exactly two sections marked ``[Problem Description]`` and
``[Solution]``, (2) shows the snippet in a fenced block under a heading, and (3) says what each
section needs: a self-contained problem, a correct and complete solution of that problem. With
the execution check on, a third section ``[Tests]`` asks for tests of the solution in the form the
language's sandbox runs (``execution.py``).

Parsing, as the released script: the first line containing ``[problem description]`` and the
first containing ``[solution]`` (case-insensitive) are the headers; the problem is the lines
strictly between them, the solution every line after the solution header (up to a ``[tests]``
header when tests were asked for), both stripped.
"""

from __future__ import annotations

import dataclasses

SYSTEM_MESSAGE = ("You are an expert at designing clear, high-quality programming problems and at "
                  "writing exact, working solutions to them.")

PROBLEM_MARKER = "[Problem Description]"
SOLUTION_MARKER = "[Solution]"
TESTS_MARKER = "[Tests]"

_USER_TEMPLATE = """\
Take the code snippet below as a loose source of inspiration and design one high-quality \
programming problem from it, together with its solution.

Write your answer in exactly {count} sections, in this order, each introduced by its marker on a \
line of its own: {markers}.

Code snippet for inspiration:
```
{snippet}
```

What each section needs:
1. {problem}: a complete, self-contained statement of the problem. You may assume common \
programming knowledge, but state every piece of context, every variable and every piece of code \
the problem relies on.
2. {solution}: a comprehensive, correct solution that solves exactly the problem stated in \
{problem}.{tests}
"""

_TESTS_ITEM = """
3. {tests}: {instructions} Put only the tests in this section, in one fenced code block; they \
must pass against your solution."""

#: The SFT instruction of an OSS-Instruct row (Magicoder's training view).
SFT_INSTRUCTION = "Write a solution to the following coding problem:\n{problem}"


def user_message(snippet: str, test_instructions: str | None = None) -> str:
    """The user message for one seed snippet (``test_instructions``: ask for ``[Tests]`` too)."""
    markers = [PROBLEM_MARKER, SOLUTION_MARKER] + ([TESTS_MARKER] if test_instructions else [])
    tests = _TESTS_ITEM.format(tests=TESTS_MARKER, instructions=test_instructions) if test_instructions else ""
    return _USER_TEMPLATE.format(count="three" if test_instructions else "two",
                                 markers=", ".join(markers), snippet=snippet.rstrip("\n"),
                                 problem=PROBLEM_MARKER, solution=SOLUTION_MARKER, tests=tests)


def messages(snippet: str, test_instructions: str | None = None) -> tuple[dict[str, str], ...]:
    return ({"role": "system", "content": SYSTEM_MESSAGE},
            {"role": "user", "content": user_message(snippet, test_instructions)})


@dataclasses.dataclass(frozen=True)
class Parsed:
    """A parsed answer, or the reason it was rejected (``reason`` set, texts empty)."""

    problem: str = ""
    solution: str = ""
    tests: str = ""
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def _first(lines: list[str], marker: str, after: int = -1) -> int | None:
    needle = marker.lower()
    return next((i for i, line in enumerate(lines) if i > after and needle in line.lower()), None)


def parse_answer(text: str, with_tests: bool = False) -> Parsed:
    """Problem and solution (and tests) of a teacher answer, or the rejection reason:
    ``parse_no_problem_header``, ``parse_no_solution_header``, ``parse_headers_out_of_order``,
    ``parse_empty_problem``, ``parse_empty_solution``; with tests also ``parse_no_tests_header``
    and ``parse_empty_tests``."""
    lines = text.splitlines(keepends=True)
    problem_at = _first(lines, PROBLEM_MARKER)
    solution_at = _first(lines, SOLUTION_MARKER)
    if problem_at is None:
        return Parsed(reason="parse_no_problem_header")
    if solution_at is None:
        return Parsed(reason="parse_no_solution_header")
    if problem_at >= solution_at:
        return Parsed(reason="parse_headers_out_of_order")
    end = len(lines)
    if with_tests:
        tests_at = _first(lines, TESTS_MARKER, after=solution_at)
        if tests_at is None:
            return Parsed(reason="parse_no_tests_header")
        end = tests_at
    problem = "".join(lines[problem_at + 1:solution_at]).strip()
    solution = "".join(lines[solution_at + 1:end]).strip()
    tests = "".join(lines[end + 1:]).strip() if with_tests else ""
    if not problem:
        return Parsed(reason="parse_empty_problem")
    if not solution:
        return Parsed(reason="parse_empty_solution")
    if with_tests and not tests:
        return Parsed(reason="parse_empty_tests")
    return Parsed(problem, solution, tests)


def sft_view(problem: str, solution: str) -> dict[str, str]:
    """``instruction`` / ``response`` of a row, ready for SFT (reference C.4)."""
    return {"instruction": SFT_INSTRUCTION.format(problem=problem), "response": solution}


def code_blocks(text: str) -> str:
    """The contents of the fenced code blocks of ``text`` joined by a blank line, or the whole
    text when it has none (what the execution check runs)."""
    blocks, current = [], None
    for line in text.splitlines(keepends=True):
        if line.strip().startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return "\n".join(block.rstrip("\n") + "\n" for block in blocks) if blocks else text.strip() + "\n"


def prompts_fingerprint() -> str:
    """``sha256:<hex>`` of every prompt text this module sends or trains on (for the card)."""
    import hashlib

    texts = (SYSTEM_MESSAGE, _USER_TEMPLATE, _TESTS_ITEM, SFT_INSTRUCTION)
    return "sha256:" + hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()
