"""C++: prelude + generation cut before ``int main``, compile then run, the precompiled prelude
(same verdicts, used by g++), the CPP/23 pitfall in both modes, and every canonical/buggy
solution."""

import shutil
from pathlib import Path

import pytest

from humanevalpack_metric.languages import get_language
from humanevalpack_metric.languages.cpp import PRELUDE, _pch_is_used
from humanevalpack_metric.outcome import Status
from humanevalpack_metric.problems import load_problems
from humanevalpack_metric.sandbox import RunResult

from .language_runs import prepared, run_all, solution_programs

pytestmark = pytest.mark.toolchain

PRELUDE_TEXT = (
    "using namespace std;\n#include<stdlib.h>\n#include<algorithm>\n#include<cmath>\n"
    "#include<math.h>\n#include<numeric>\n#include<stdio.h>\n#include<vector>\n#include<set>\n"
    "#include<map>\n#include<queue>\n#include<stack>\n#include<list>\n#include<deque>\n"
    "#include<boost/any.hpp>\n#include<string>\n#include<climits>\n#include<cstring>\n"
    "#include<iostream>\n#include<sstream>\n#include<fstream>"
)
ADD = "#include<stdio.h>\nint add(int a, int b){\n    return a + b;\n}\n"
TEST = "\n#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(2, 3) == 5);\n}\n"


@pytest.fixture(scope="module")
def cpp():
    with prepared("cpp") as env:
        yield env


# -- assembly -----------------------------------------------------------------------------
def test_assemble_prepends_the_prelude_and_cuts_a_model_written_main():
    lang = get_language("cpp")
    assert PRELUDE == PRELUDE_TEXT
    generation = ADD + "int main(){\n    printf(\"%d\", add(1, 2));\n}\n"
    expected = PRELUDE_TEXT + "\n#include<stdio.h>\nint add(int a, int b){\n    return a + b;\n}"
    for task in ("fixtests", "fixdocs", "explainsynthesize", "synthesize"):
        assert lang.assemble(generation, {}, task) == expected


def test_assemble_cuts_at_the_first_int_main_anywhere_like_the_harness():
    lang = get_language("cpp")
    assembled = lang.assemble("// int main is below\nint f();", {}, "synthesize")
    assert assembled == PRELUDE_TEXT + "\n//"
    assert lang.assemble("", {}, "synthesize") == PRELUDE_TEXT


def test_program_and_precompiled_source_keep_the_reference_lines():
    lang = get_language("cpp")
    program = lang.program(lang.assemble(ADD, {}, "synthesize"), TEST)
    assert program == PRELUDE_TEXT + "\n" + ADD.rstrip() + "\n" + TEST
    lang.pch_header = "/cache/prelude.h"
    source, flags = lang._source(program)
    assert source == '#line 22 "test.cpp"\n' + ADD.rstrip() + "\n" + TEST
    assert flags == ["-Winvalid-pch", "-include", "/cache/prelude.h"]
    assert lang._source("int main(){}") == ("int main(){}", [])  # not assembled: as is


def test_a_compile_with_the_header_is_retried_even_if_another_thread_dropped_it(tmp_path):
    """The header a compile used decides the retry: another worker may turn the precompiled
    prelude off (unreadable in its sandbox) while this one is compiling with it."""
    lang = get_language("cpp")
    lang.compiler, lang.link_flags = "g++", []
    lang.pch_header = header = Path("/cache/pch/prelude.h")
    calls = []

    class RacingSandbox:
        def run(self, argv, workdir, timeout, **options):
            calls.append(argv)
            if len(calls) == 1:  # compiled with the header; meanwhile another thread gave up on it
                lang.pch_header = None
                return RunResult(1, "", f"<command-line>: fatal error: {header}: Permission denied\n",
                                 False, 0.1)
            return RunResult(0, "", "", False, 0.1)

    program = lang.program(lang.assemble(ADD, {}, "synthesize"), TEST)
    outcome = lang.execute(program, tmp_path, RacingSandbox(), timeout=5)
    assert outcome.status is Status.PASSED, outcome.result
    assert "-include" in calls[0] and "-include" not in calls[1] and calls[2] == ["./a.out"]


def test_names_and_defaults():
    lang = get_language("c++")
    assert (lang.name, lang.display_name, lang.task_prefix) == ("cpp", "C++", "CPP")
    assert lang.stop_words == ()
    assert lang.default_timeout == 60.0 and lang.compile_timeout == 60.0


# -- execution ----------------------------------------------------------------------------
def _program(lang, generation, test=TEST):
    return lang.program(lang.assemble(generation, {}, "synthesize"), test)


def test_passing_failing_and_crashing_programs(cpp):
    lang = cpp.language
    assert cpp.run(_program(lang, ADD)).result == "passed"
    wrong = cpp.run(_program(lang, ADD.replace("a + b", "a - b")))
    assert wrong.status is Status.FAILED and "Assertion" in wrong.detail
    exits = cpp.run(_program(lang, ADD, "\nint main(){ return 3; }\n"))
    assert exits.status is Status.FAILED


def test_compile_errors_are_their_own_status(cpp):
    outcome = cpp.run(_program(cpp.language, "int add(int a, int b){ return a + }\n"))
    assert outcome.status is Status.COMPILE_ERROR
    assert outcome.result.startswith("failed: compilation error: ") and "error" in outcome.detail


def test_run_timeout(cpp):
    looping = _program(cpp.language, ADD, "\nint main(){ while (true) {} }\n")
    outcome = cpp.run(looping, timeout=1.0)
    assert outcome.status is Status.TIMEOUT and outcome.result == "timed out"


def test_gold_links_when_available(cpp):
    assert cpp.language.link_flags == (["-fuse-ld=gold"] if shutil.which("ld.gold") else [])


def test_the_precompiled_prelude_is_built_once_and_used(cpp):
    header = cpp.language.pch_header
    assert header is not None and header.with_suffix(".h.gch").is_file()
    assert _pch_is_used(cpp.language.compiler, header)
    cpp.language.prepare(cpp.cache_dir)  # idempotent
    assert cpp.language.pch_header == header


TRICKY = {
    "uses boost::any": "int add(int a, int b){ boost::any x = a; "
                       "return boost::any_cast<int>(x) + b; }\n",
    "redefines a macro": "#define max(a, b) ((a) + (b))\n"
                         "int add(int a, int b){ return max(a, b); }\n",
    "includes more headers": "#include<bits/stdc++.h>\nint add(int a, int b){ return a + b; }\n",
    "reads __LINE__": "int add(int a, int b){ return a + b + (__LINE__ == 22 ? 0 : 1); }\n",
    "does not compile": "int add(int a, int b){ return a + c; }\n",
    "shadows a prelude function": "int abs(int a, int b){ return a; }\n"
                                  "int add(int a, int b){ return a + b; }\n",
}


@pytest.mark.parametrize("generation", list(TRICKY.values()), ids=list(TRICKY))
def test_fast_build_gives_the_reference_builds_verdicts(cpp, generation):
    lang = cpp.language
    program = _program(lang, generation)
    fast = cpp.run(program)
    saved = lang.pch_header, lang.link_flags
    lang.pch_header, lang.link_flags = None, []  # g++ -std=c++11 test.cpp -lcrypto -lssl
    try:
        plain = cpp.run(program)
    finally:
        lang.pch_header, lang.link_flags = saved
    assert fast.status == plain.status


# -- CPP/23: libc strlen shadows the task's function ------------------------------------------
def _cpp23(lang, humanevalpack_dir, kind):
    problem = load_problems("cpp", humanevalpack_dir)[23]
    return lang.program(lang.assemble(problem["prompt"] + problem[kind], problem, "synthesize"),
                        "\n" + problem["test"])


def test_cpp23_buggy_solution_passes_in_faithful_mode(cpp, humanevalpack_dir):
    assert cpp.run(_cpp23(cpp.language, humanevalpack_dir, "buggy_solution")).passed


def test_cpp23_corrected_mode_calls_the_tasks_strlen(humanevalpack_dir):
    with prepared("cpp", corrected=True) as fixed:
        program = _cpp23(fixed.language, humanevalpack_dir, "buggy_solution")
        assert "#define strlen(s) strlen(std::string(s))" in program
        assert not fixed.run(program).passed
        assert fixed.run(_cpp23(fixed.language, humanevalpack_dir, "canonical_solution")).passed
        # candidates without a strlen(string) are left alone
        assert fixed.language.program("int f();", "\nT") == "int f();\n\nT"


@pytest.mark.slow
def test_all_canonical_solutions_pass_and_all_buggy_ones_fail(cpp, humanevalpack_dir):
    run = run_all(cpp, solution_programs(cpp.language, humanevalpack_dir))
    print("\n" + run.summary("cpp (precompiled prelude)"))
    assert len(run.outcomes) == 328
    # documented pitfall G.9: libc strlen answers CPP/23's tests in faithful mode
    assert run.unexpected() == [("CPP/23", "buggy_solution", "passed")]
