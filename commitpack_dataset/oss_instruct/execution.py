"""The optional execution check (beyond Magicoder; SelfCodeAlign's idea, reference D.8).

The teacher is also asked for a ``[Tests]`` section; the code blocks of the solution and of the
tests are joined into one program per language and run in the sandbox of
``humanevalpack_metric`` (its ``Executor``: bubblewrap, limits, one pool) -- for every language
HumanEvalPack executes. A row whose program does not pass is dropped with the reason
``execution_<status>`` (``failed``, ``compile_error``, ``timeout``, ``error``); a passing row keeps
the verdict (``execution = "passed"``) and its tests.

What the teacher is told to write, and how the program is put together, per language:

| config | sandbox | tests | program |
|---|---|---|---|
| python | python | top-level ``assert`` statements | solution + tests |
| javascript | js | ``console.assert`` / ``require("assert")`` calls | solution + tests |
| cpp | cpp | an ``int main()`` with ``assert`` | the solution without its own ``main`` + tests |
| java | java | ``public class Main`` whose ``main`` throws ``AssertionError`` | imports first, solution classes not public |
| go | go | ``func TestXxx(t *testing.T)`` functions | ``package main``, merged imports, solution, tests |
| rust | rust | a ``#[cfg(test)] mod tests`` with ``#[test]`` functions | solution + tests |
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from commitpack_dataset.oss_instruct.prompt import code_blocks

#: OSS-Instruct config -> HumanEvalPack sandbox language.
SANDBOX_LANGUAGES = {"python": "python", "javascript": "js", "cpp": "cpp", "java": "java", "go": "go",
                     "rust": "rust"}

TEST_INSTRUCTIONS = {
    "python": "tests of the solution as plain top-level `assert` statements (no test framework).",
    "javascript": "tests of the solution as `console.assert(...)` calls at the top level (no test "
                  "framework, nothing printed when they pass).",
    "cpp": "a complete `int main()` that checks the solution with `assert` from <cassert> and returns "
           "0; the solution itself must not define `main`.",
    "java": "a `public class Main` whose `main` method checks the solution and throws an "
            "`AssertionError` when a check fails; the solution's classes must not be public.",
    "go": "Go test functions `func TestXxx(t *testing.T)` in package main that check the solution "
          "with `t.Errorf`; no package clause, and only standard-library imports.",
    "rust": "a `#[cfg(test)] mod tests { use super::*; ... }` module whose `#[test]` functions check "
            "the solution with `assert!` / `assert_eq!`.",
}


def check_supported(language: str) -> None:
    if language not in SANDBOX_LANGUAGES:
        raise ValueError(f"the execution check runs only the languages HumanEvalPack executes "
                         f"({', '.join(SANDBOX_LANGUAGES)}), not {language!r}: set execution_check=False")


_MAIN = re.compile(r"^\s*int\s+main\s*\(", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+[\w.*]+\s*;\s*$", re.MULTILINE)
_PUBLIC_CLASS = re.compile(r"^public\s+((?:final\s+|abstract\s+)*(?:class|interface|enum|record)\b)", re.MULTILINE)
_GO_PACKAGE = re.compile(r"^\s*package\s+\w+\s*$", re.MULTILINE)
_GO_IMPORTS = re.compile(r'^\s*import\s*(?:\(\s*(.*?)\s*\)|("[^"]+"))', re.MULTILINE | re.DOTALL)


def _cpp(solution: str, tests: str) -> str:
    from humanevalpack_metric.languages.cpp import PRELUDE

    match = _MAIN.search(solution)
    body = solution[:match.start()] if match else solution
    return f"{PRELUDE}\n{body}\n#undef NDEBUG\n#include <cassert>\n{tests}"


def _java(solution: str, tests: str) -> str:
    imports = dict.fromkeys(m.group(0).strip() for text in (solution, tests) for m in _IMPORT.finditer(text))
    solution = _PUBLIC_CLASS.sub(r"\1", _IMPORT.sub("", solution))
    return "\n".join([*imports, "", solution.strip(), "", _IMPORT.sub("", tests).strip(), ""])


def _go(solution: str, tests: str) -> str:
    imports = {'"testing"': None}
    for text in (solution, tests):
        for block, single in _GO_IMPORTS.findall(text):
            for name in re.findall(r'(?:\w+\s+)?"[^"]+"', block) if block else [single]:
                imports[name.strip()] = None
    strip = lambda text: _GO_IMPORTS.sub("", _GO_PACKAGE.sub("", text)).strip()  # noqa: E731
    block = "\n".join(f"    {name}" for name in imports)
    return f"package main\n\nimport (\n{block}\n)\n\n{strip(solution)}\n\n{strip(tests)}\n"


def program(language: str, solution: str, tests: str) -> str:
    """The program that checks ``solution`` against ``tests`` (section texts as the teacher
    wrote them; their fenced code blocks are used)."""
    check_supported(language)
    solution, tests = code_blocks(solution), code_blocks(tests)
    if language == "cpp":
        return _cpp(solution, tests)
    if language == "java":
        return _java(solution, tests)
    if language == "go":
        return _go(solution, tests)
    return f"{solution}\n{tests}"


@dataclasses.dataclass(frozen=True)
class Verdict:
    status: str  # passed, failed, compile_error, timeout, error
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def run_checks(language: str, pairs: Sequence[tuple[str, str]], *, timeout: float | None = None,
               num_workers: int | None = None, executor=None) -> list[Verdict]:
    """Run each ``(solution, tests)`` pair in the sandbox; verdicts in order. Needs the
    ``HF_ALLOW_CODE_EVAL=1`` opt-in, like the metric."""
    from humanevalpack_metric.executor import Executor
    from humanevalpack_metric.settings import require_code_eval_opt_in

    require_code_eval_opt_in()
    if not pairs:
        return []
    programs = [program(language, solution, tests) for solution, tests in pairs]
    own = executor is None
    executor = executor or Executor(num_workers=num_workers, progress=False)
    try:
        outcomes, _ = executor.run(SANDBOX_LANGUAGES[language], programs, timeout=timeout,
                                   desc=f"oss-instruct execution check ({language})")
    finally:
        if own:
            executor.close()
    return [Verdict(o.status.value, o.detail[:500]) for o in outcomes]
