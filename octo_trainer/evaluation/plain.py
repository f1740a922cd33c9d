"""HumanEval and MBPP in the prompt forms of the Magicoder and WizardCoder papers, and the
programs that score them (Python, in the metric's executor).

**Magicoder** (``experiments/text2code.py``): HumanEval's instruction is
``Write a solution to the following problem:`` + the stripped prompt in a ```` ```python ````
fence, and the answer is prefilled with ```` ```python ```` + that prompt, so the model writes the
body; MBPP's instruction is the problem text (a ``.`` appended when missing, then stripped) +
`` Your code should satisfy the following assertion:`` + the first test in a fence, prefilled
with ```` ```python ````. The completion is cut at the first ```` ``` ````.

**WizardCoder** (``WizardCoder/src/humaneval_gen.py``, ``mbpp_gen.py``, ``process_*.py``): the
instruction is ``Create a Python script for this problem:`` + the problem (HumanEval: the prompt;
MBPP: the text, ``Test examples:`` and every test, with task 493's long tests replaced by its
call) with four spaces written as tabs, and nothing prefilled. The completion (tabs back to four
spaces) is the code of its first ```` ```python ```` block when it has one, cut before
``if __name__ == "__main__":``, ``# Example usage`` and (MBPP) ``# Test examples``.

Programs: HumanEval as openai/human-eval runs it, ``prompt + completion + "\\n" + test + "\\n" +
f"check({entry_point})"``; MBPP as the code, its ``test_setup_code`` (MBPP/367's builds trees from
the ``Node`` class the solution defines), then the ``test_list`` asserts.
"""

from __future__ import annotations

MAGICODER_HUMANEVAL = "Write a solution to the following problem:\n```python\n{prompt}\n```"
MAGICODER_MBPP = ("{text} Your code should satisfy the following assertion:\n```python\n"
                  "{assertion}\n```")
WIZARDCODER = "Create a Python script for this problem:\n{problem}"
FENCE = "```"
#: MBPP/493's tests are too long for WizardCoder's prompt: it shows only the call.
WIZARDCODER_MBPP_493 = "\ncalculate_polygons(startx, starty, endx, endy, radius)"


def task_id(benchmark: str, problem: dict) -> str:
    return str(problem["task_id"]) if benchmark == "humaneval" else f"MBPP/{problem['task_id']}"


def prompt_pieces(benchmark: str, problem: dict, style: str) -> tuple[str, str, tuple[str, ...]]:
    """(instruction, prefilled answer, extra stop words) of one problem."""
    if style == "magicoder":
        if benchmark == "humaneval":
            prompt = problem["prompt"].strip()
            return MAGICODER_HUMANEVAL.format(prompt=prompt), f"{FENCE}python\n{prompt}", (FENCE,)
        text = problem["text"]
        if not text.endswith("."):
            text += "."
        instruction = MAGICODER_MBPP.format(text=text.strip(),
                                            assertion=problem["test_list"][0].strip())
        return instruction, f"{FENCE}python", (FENCE,)
    if style == "wizardcoder":
        if benchmark == "humaneval":
            problem_text = problem["prompt"]
        else:
            problem_text = f"\n{problem['text']}\nTest examples:"
            if problem["task_id"] == 493:
                problem_text += WIZARDCODER_MBPP_493
            else:
                problem_text += "".join(f"\n{test}" for test in problem["test_list"])
        return WIZARDCODER.format(problem=problem_text.replace("    ", "\t")), "", ()
    raise ValueError(f"unknown benchmark style {style!r}: use magicoder or wizardcoder")


def extract_code(benchmark: str, completion: str, style: str) -> str:
    """The code a completion (the text after the prompt) contributes to the program."""
    if style == "magicoder":
        end = completion.find(FENCE)
        return completion if end == -1 else completion[:end]
    code = completion.replace("\t", "    ")
    if benchmark == "humaneval":
        code = code.replace("\r", "")
    if f"{FENCE}python" in code:
        code = code[code.index(f"{FENCE}python"):].strip().replace(f"{FENCE}python", "")
        end = code.find(FENCE if benchmark == "humaneval" else f"\n{FENCE}")
        if end != -1:
            code = code[:end].strip()
    markers = ['if __name__ == "__main__":', "# Example usage"]
    if benchmark == "mbpp":
        markers.append("# Test examples")
    for marker in markers:
        if marker in code:
            code = code[: code.index(marker)].strip()
    return code


def candidate_and_test(benchmark: str, problem: dict, code: str) -> tuple[str, str]:
    """(candidate, test) such that ``candidate + "\\n" + test`` is the program to run."""
    if benchmark == "humaneval":
        return problem["prompt"] + code, problem["test"] + "\n" + f"check({problem['entry_point']})"
    setup = problem.get("test_setup_code") or ""  # runs before the tests, after the code
    return code, (setup + "\n" if setup else "") + "\n".join(problem["test_list"])
