"""Scripted "models" for the evaluation runner's tests: answer each prompt the scripted
OpenAI-compatible server receives from the benchmark data itself.

:class:`ReferenceModel` finds the problem a prompt is about (by what the prompt contains, not by
asking the runner) and answers in the shape a model following the format would:

* Fix / Synthesize / ExplainSynthesize: the text after the prefilled code that completes it to
  the canonical solution (``mode="buggy"``: Fix prompts get the buggy solution back);
* ExplainDescribe: the problem's docstring as the description;
* HumanEval / MBPP (Magicoder form): the body or code, then the closing fence.
"""

from __future__ import annotations

from pathlib import Path

from humanevalpack_metric.benchmarks import load_humaneval, load_mbpp
from humanevalpack_metric.languages import LANGUAGES, get_language
from humanevalpack_metric.problems import load_problems


def after(base: str, full: str) -> str:
    """What a model writes after ``base`` (stripped, as in the prompt) to produce ``full``."""
    return full[len(base.rstrip()):]


def declaration_base(problem: dict, language: str) -> str:
    return ("fn main(){}\n" if language == "rust" else "") + problem["declaration"]


class ReferenceModel:
    def __init__(self, data_dir: Path, mode: str = "perfect"):
        self.mode = mode
        self.packs = {lang: load_problems(lang, data_dir / "humanevalpack") for lang in LANGUAGES}
        self.humaneval = load_humaneval(data_dir / "benchmarks" / "HumanEval.jsonl.gz")
        self.mbpp = load_mbpp(data_dir / "benchmarks" / "mbpp.jsonl")

    def __call__(self, request) -> str:
        prompt = request.body["prompt"]
        if "Write a solution to the following problem:" in prompt:
            problem = next(p for p in self.humaneval if p["prompt"].strip() in prompt)
            return after(problem["prompt"], problem["prompt"] + problem["canonical_solution"]) + "\n```"
        if "Your code should satisfy the following assertion" in prompt:
            problem = next(p for p in self.mbpp if p["test_list"][0].strip() in prompt)
            return "\n" + problem["code"] + "\n```"
        if "Provide a concise natural language description" in prompt:
            language, problem = self._find(lambda p, lang: (
                declaration_base(p, lang) + p["canonical_solution"]) in prompt)
            return problem["docstring"]
        if "according to the description" in prompt:
            display = prompt.split("Write functional code in ", 1)[1].split(" according", 1)[0]
            language = next(l for l in LANGUAGES if get_language(l).display_name == display)
            # the description was capped and had solution lines removed: match the declaration
            candidates = [p for p in self.packs[language]
                          if prompt.endswith(declaration_base(p, language).rstrip())]
            problem = next((p for p in candidates if p["docstring"].strip() in prompt),
                           candidates[0])
            base = declaration_base(problem, language)
            return after(base, base + problem["canonical_solution"])
        if "Fix bugs in " in prompt:
            language, problem = self._find(lambda p, lang: p["buggy_solution"] in prompt and (
                prompt.endswith(declaration_base(p, lang).rstrip())
                or prompt.endswith(p["prompt"].rstrip())))
            docs = prompt.endswith(problem["prompt"].rstrip())
            base = problem["prompt"] if docs else declaration_base(problem, language)
            solution = problem["buggy_solution" if self.mode == "buggy" else "canonical_solution"]
            return after(base, base + solution)
        language, problem = self._find(lambda p, lang: prompt.endswith(p["prompt"].rstrip()))
        return after(problem["prompt"], problem["prompt"] + problem["canonical_solution"])

    def _find(self, matches) -> tuple[str, dict]:
        for language, problems in self.packs.items():
            for problem in problems:
                if matches(problem, language):
                    return language, problem
        raise LookupError("no problem matches the prompt")
