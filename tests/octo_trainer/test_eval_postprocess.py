"""Post-processing on hand-written generations whose correct truncation is known (stop words,
EOS, end of function, re-prefixing) through the runner's own path (prompt items ->
``score._code``), the generation-time stopping rules (never earlier than the truncation point),
the HumanEval/MBPP forms and the diff formats' patch application."""

from __future__ import annotations

import pytest

from humanevalpack_metric.benchmarks import load_humaneval, load_mbpp
from humanevalpack_metric.problems import load_problems
from humanevalpack_metric.tasks import postprocess
from octo_trainer.evaluation import diffs, plain
from octo_trainer.evaluation.prompts import humanevalpack_items, plain_items
from octo_trainer.evaluation.score import Generations, _code
from octo_trainer.evaluation.stopping import description_complete, function_complete
from octo_trainer.formats import get_format

LANGUAGES = ["python", "js", "java", "go", "cpp", "rust"]


@pytest.fixture(scope="module")
def packs(humanevalpack_dir):
    return {lang: load_problems(lang, humanevalpack_dir) for lang in LANGUAGES}


def _final(packs, task, language, completion, fmt="octocoder", eos=("<|im_end|>",)):
    """What the runner scores for ``completion`` of problem 0."""
    fmt = get_format(fmt)
    item = humanevalpack_items(task, language, packs[language][:1], fmt, 1, eos)[0]
    stop = tuple(dict.fromkeys([*fmt.stop_words, *eos]))
    return _code(Generations(task, language), item, completion, fmt, stop, "magicoder")


# (language, completion after the synthesize prompt, the body the harness keeps)
SYNTHESIZE = [
    ("python", "\n    return True\n\ndef helper():\n    pass", "\n    return True\n"),  # \ndef
    ("python", "\n    return True\nprint(has_close_elements([], 1))", "\n    return True"),
    ("python", "\n    return True\nx = 5\n", "\n    return True"),  # first unindented line
    ("python", "\n    return True<|endoftext|>\n    junk", "\n    return True"),  # end of text
    ("python", "\n    return True<|im_end|>more", "\n    return True"),  # the tokenizer's EOS
    ("js", "\n  return true;\n}\nconsole.log(hasCloseElements([], 1));", "\n  return true;\n}"),
    ("java", "\n        return true;\n    }\n}\npublic class Main {\n}", "\n        return true;\n    }\n}"),
    ("go", "\n\treturn true\n}\n\nfunc main() {\n}", "\n\treturn true\n}"),
    ("go", "\n\ttype pair struct{ a int }\n\treturn true\n}", "\n\ttype pair "),  # 'struct'
    ("cpp", "\n    return true;\n}\nint main(){ return 0; }", "\n    return true;\n}"),
    ("rust", "\n    true\n}\n\nfn main(){}", "\n    true\n}"),
    ("rust", "\n    if true { return true; }\n    false\n}\n// more", "\n    if true { return true; }\n    false\n}"),
]


@pytest.mark.parametrize("language, completion, body", SYNTHESIZE)
def test_synthesize_keeps_the_function_and_reprefixes_the_prompt(packs, language, completion, body):
    prompt = packs[language][0]["prompt"]
    assert _final(packs, "synthesize", language, completion) == prompt.rstrip() + body


def test_fix_reprefixes_the_prompt_base_and_starchat_stops_at_its_end_token(packs):
    problem = packs["python"][0]
    completion = "\n    return False  # done<|end|> junk"
    fixed = _final(packs, "fixtests", "python", completion, fmt="starchat")
    assert fixed == problem["declaration"].rstrip() + "\n    return False  # done"
    # octocoder has no <|end|> stop word: the rest of the line stays, as in the harness
    assert _final(packs, "fixtests", "python", completion).endswith("# done<|end|> junk")
    rust = _final(packs, "fixtests", "rust", "\n    false\n}\nfn other(){}")
    assert rust == ("fn main(){}\n" + packs["rust"][0]["declaration"]).rstrip() + "\n    false\n}"
    docs = _final(packs, "fixdocs", "js", "\n  return false;\n}\n")
    assert docs == packs["js"][0]["prompt"].rstrip() + "\n  return false;\n}"


def test_describe_caps_at_the_docstring_length_and_removes_quoted_solution_lines(packs):
    problem = packs["python"][0]
    cap = len(problem["docstring"])
    leak = next(line.strip() for line in problem["canonical_solution"].split("\n")
                if len(line.strip()) > 20)
    text = "  It checks pairs. " + leak + " " + "x" * (2 * cap)
    description = _final(packs, "explaindescribe", "python", text)
    assert len(description) <= cap and leak not in description
    assert description.startswith("It checks pairs.")
    # a whitespace-led stop word cuts only inside the stripped, capped text: not at its start
    assert _final(packs, "explaindescribe", "python", "\n# A heading\nmore") == "# A heading\nmore"
    assert _final(packs, "explaindescribe", "python", "Short.\n#tail") == "Short."


def _first_stop(text: str, check) -> int | None:
    for end in range(1, len(text) + 1):
        if check(text[:end]):
            return end
    return None


@pytest.mark.parametrize("language", LANGUAGES)
def test_stopping_while_generating_never_changes_the_kept_code(packs, language):
    """For every canonical and buggy solution followed by more code, stopping at the first
    prefix the end-of-function rule accepts yields the same post-processed code as the whole."""
    check = function_complete(language)
    tails = {"python": "\n\ndef extra():\n    return 1\n", "go": "\nfunc extra() {\n}\n"}
    stopped = 0
    for problem in packs[language][:60]:
        for solution in (problem["canonical_solution"], problem["buggy_solution"]):
            full = solution + tails.get(language, "\nint extra() { return 1; }\n")
            end = _first_stop(full, check)
            if end is None:
                continue
            stopped += 1
            assert (postprocess(full[:end], problem, "synthesize", language)
                    == postprocess(full, problem, "synthesize", language))
    assert stopped > 50


def test_a_finished_description_does_not_change_any_more(packs):
    for problem in packs["python"][:40]:
        words = ["\n#", "\nclass", "\ndef"]
        check = description_complete(len(problem["docstring"]), words)
        full = "  " + problem["docstring"] + "\n# notes\n" + problem["docstring"]
        end = _first_stop(full, check)
        assert end is not None
        assert (postprocess(full[:end], problem, "explaindescribe", "python")
                == postprocess(full, problem, "explaindescribe", "python"))


def test_function_complete_follows_the_harness_per_language():
    python = function_complete("python")
    assert not python("\n    return 1\n\n    \n") and python("\n    return 1\nx")
    assert not python("\n\r\n") and python("\n\rx")  # strip() blank vs not
    java, js = function_complete("java"), function_complete("js")
    assert not java("return 1;\n    }") and java("return 1;\n    }\n}")
    assert js("return 1;\n}") and not js("if (x) {\n  return 1;\n}")


def test_humaneval_and_mbpp_forms(test_data_dir):
    humaneval = load_humaneval(test_data_dir / "benchmarks" / "HumanEval.jsonl.gz")[:1]
    mbpp = load_mbpp(test_data_dir / "benchmarks" / "mbpp.jsonl")[:1]
    fmt = get_format("magicoder")
    item = plain_items("humaneval", humaneval, fmt, "magicoder", 1)[0]
    prompt = humaneval[0]["prompt"].strip()
    assert item.prompt.endswith("@@ Instruction\nWrite a solution to the following problem:\n"
                                f"```python\n{prompt}\n```\n\n@@ Response\n```python\n{prompt}")
    assert "```" in item.stop and item.task_id == "HumanEval/0"
    assert plain.extract_code("humaneval", "\n    return 1\n```\nmore", "magicoder") == "\n    return 1\n"
    mbpp_item = plain_items("mbpp", mbpp, fmt, "magicoder", 1)[0]
    assert mbpp_item.task_id == "MBPP/11" and mbpp_item.prompt.endswith("@@ Response\n```python")
    assert (f"{mbpp[0]['text']} Your code should satisfy the following assertion:\n```python\n"
            f"{mbpp[0]['test_list'][0]}\n```") in mbpp_item.prompt
    wizard = plain_items("mbpp", mbpp, get_format("wizardcoder"), "wizardcoder", 1)[0]
    assert "Create a Python script for this problem:\n\n" + mbpp[0]["text"] + "\nTest examples:\n" \
        in wizard.prompt
    answer = "Sure:\n```python\ndef f(x):\n\treturn x\n```\n# Test examples\nprint(f(1))"
    assert plain.extract_code("mbpp", answer, "wizardcoder") == "def f(x):\n    return x"
    candidate, test = plain.candidate_and_test("humaneval", humaneval[0], "\n    return 1\n")
    assert candidate.startswith(humaneval[0]["prompt"]) and test.endswith("check(has_close_elements)")
    # MBPP/367's test_setup_code builds trees from the Node class the solution defines
    trees = next(p for p in load_mbpp(test_data_dir / "benchmarks" / "mbpp.jsonl")
                 if p["task_id"] == 367)
    candidate, test = plain.candidate_and_test("mbpp", trees, trees["code"])
    program = candidate + "\n" + test
    assert program.index("class Node") < program.index("root = Node(1)") < program.index("assert")


def test_diff_formats_apply_the_models_patch_to_the_buggy_code(packs):
    from diff_match_patch import diff_match_patch

    problem = packs["js"][0]
    buggy = diffs.buggy_code(problem, "fixdocs", "js")
    fixed = problem["prompt"] + problem["canonical_solution"]
    dmp = diff_match_patch()
    patch = dmp.patch_toText(dmp.patch_make(buggy, fixed))
    assert diffs.apply_dmp(patch, buggy) == fixed
    assert diffs.apply_dmp("not a patch @@", buggy) == ""
    hunk = "@@ -1,2 +1,2 @@\n a\n-b\n+B\n c"
    assert diffs.apply_hunks("x\na\nb\nc\nd", hunk) == "x\na\nB\nc\nd"
    assert diffs.apply_hunks("x\ny", hunk) == "x\ny"  # matches nowhere: unchanged
    record = "<NME> f.py\n<BEF> old\n<MSG> Fix\n<DFF> @@ -1 +1 @@\n-b\n+B\nTrailing prose"
    assert diffs.carper_hunk(record) == "@@ -1 +1 @@\n-b\n+B"
    assert diffs.carper_hunk("no record") == ""
