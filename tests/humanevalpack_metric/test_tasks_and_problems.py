"""Problem loading (local JSONL) and the harness' prompt pieces and post-processing."""

import importlib

import pytest

from humanevalpack_metric import languages
from humanevalpack_metric.languages import LANGUAGES, language_class
from humanevalpack_metric.languages.rust import Rust
from humanevalpack_metric.problems import FEATURES, load_problems
from humanevalpack_metric.tasks import parse_task, postprocess, prompt_parts, truncate_code


def test_local_problems_are_normalised_to_the_hub_features(humanevalpack_dir):
    for language in ("python", "js", "java", "go", "cpp", "rust"):
        problems = load_problems(language, humanevalpack_dir)
        assert len(problems) == 164
        assert all(tuple(p) == FEATURES for p in problems)
        assert [p["task_id"].rsplit("/", 1)[1] for p in problems] == [str(i) for i in range(164)]
    python = load_problems("python", humanevalpack_dir)
    assert python[0]["import"] == "" and python[0]["test_setup"] == ""
    assert "text" not in python[0]
    go = load_problems("golang", humanevalpack_dir)
    assert "testify" in go[0]["test_setup"]


def test_missing_local_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="one JSONL per language"):
        load_problems("rust", tmp_path)


def test_unknown_language_lists_the_choices():
    with pytest.raises(ValueError, match="python, js, java, go, cpp, rust"):
        load_problems("cobol", ".")


def test_the_registry_answers_to_each_class_name_and_aliases(monkeypatch):
    """Names come from the classes: an alias added to a class is all it takes (no second
    table), case-insensitively."""
    for name in LANGUAGES:
        cls = language_class(name)
        assert cls.name == name
        for alias in cls.aliases:
            assert language_class(alias) is language_class(alias.upper()) is cls
    assert {a for n in LANGUAGES for a in language_class(n).aliases} == {
        "py", "javascript", "golang", "c++", "rs"}
    monkeypatch.setattr(Rust, "aliases", ("rs", "rustlang"))
    try:
        importlib.reload(languages)  # the registry is built when the package is imported
        assert languages.language_class("RustLang") is Rust
        with pytest.raises(ValueError, match=r"aliases: .*rustlang"):
            languages.language_class("cobol")
    finally:
        monkeypatch.undo()
        importlib.reload(languages)
    with pytest.raises(ValueError):
        languages.language_class("rustlang")


def test_task_names_parse_like_the_harness():
    assert parse_task("humanevalfixtests-js") == ("fixtests", "js")
    assert parse_task("humanevalsynthesize-javascript") == ("synthesize", "js")
    assert parse_task("explainsynthesize") == ("explainsynthesize", None)
    with pytest.raises(ValueError, match="fixtests"):
        parse_task("humanevalfixcode-python")


def test_prompt_parts_follow_the_task_table(humanevalpack_dir):
    rust = load_problems("rust", humanevalpack_dir)[0]
    fix = prompt_parts(rust, "fixtests", "rust")
    assert fix.instruction == f"Fix bugs in {rust['entry_point']}."
    assert fix.prompt_base == "fn main(){}\n" + rust["declaration"]
    assert fix.context == fix.prompt_base + rust["buggy_solution"] + "\n" + rust["test"]
    docs = prompt_parts(rust, "fixdocs", "rust")
    assert docs.prompt_base == rust["prompt"] and rust["test"] not in docs.context
    synth = prompt_parts(rust, "synthesize", "rust")
    assert synth.context is None and synth.instruction == rust["instruction"].strip()
    describe = prompt_parts(rust, "explaindescribe", "rust")
    assert str(len(rust["docstring"])) in describe.instruction and describe.prompt_base == ""
    with pytest.raises(ValueError, match="description"):
        prompt_parts(rust, "explainsynthesize", "rust")


def test_python_truncation_stops_at_the_first_unindented_line():
    completion = "\n    return a + b\n\nprint(add(1, 2))\n"
    assert truncate_code(completion, "python") == "\n    return a + b\n"
    assert truncate_code("\n    x = 1\n# trailing comment", "python") == "\n    x = 1"


def test_brace_languages_cut_where_the_function_closes():
    assert truncate_code("\n  return 1;\n}\nint main() {}", "cpp") == "\n  return 1;\n}"
    # Java starts two braces deep (class and method)
    assert truncate_code("\n return 1;\n }\n}\nclass X {}", "java") == "\n return 1;\n }\n}"
    # no closing brace reached: cut after the last one
    assert truncate_code("\n if (x) { y(); }\n junk", "go") == "\n if (x) { y(); }"


def test_postprocess_reprefixes_prompt_or_prompt_base(humanevalpack_dir):
    problem = load_problems("python", humanevalpack_dir)[0]
    body = "\n    return True\n\ndef other(): pass"
    synth = postprocess(body, problem, "synthesize", "python")
    assert synth == problem["prompt"].rstrip() + "\n    return True\n"
    fix = postprocess(body, problem, "fixtests", "python")
    assert fix.startswith(problem["declaration"].rstrip()) and fix.endswith("return True\n")


def test_explain_describe_caps_length_and_removes_quoted_code(humanevalpack_dir):
    problem = load_problems("python", humanevalpack_dir)[0]
    quoted = next(l.strip() for l in problem["canonical_solution"].split("\n") if len(l.strip()) > 20)
    text = postprocess("  Checks closeness. " + quoted + " " + "x" * 2000, problem,
                       "explaindescribe", "python")
    assert len(text) <= len(problem["docstring"])
    assert quoted not in text and text.startswith("Checks closeness.")
