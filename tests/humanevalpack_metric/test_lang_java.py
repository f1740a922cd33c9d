"""Java: the harness' ``Main`` removal, the reference's exit-code verdicts through the compile
server and through plain javac, server recovery, and every canonical/buggy solution."""

import pytest

from humanevalpack_metric.languages import get_language
from humanevalpack_metric.outcome import Status

from .language_runs import prepared, run_all, solution_programs

TEST = ("public class Main {\n    public static void main(String[] args) {\n"
        "        Solution s = new Solution();\n"
        "        if (s.f() != 1) {\n            throw new AssertionError();\n        }\n    }\n}\n")


def java_program(solution_body: str, test: str = TEST) -> str:
    lang = get_language("java")
    generation = ("import java.util.*;\n\nclass Solution {\n    public int f() {\n"
                  + solution_body + "\n    }\n}")
    return lang.program(lang.assemble(generation, {}, "synthesize"), "\n" + test)


# -- assembly -------------------------------------------------------------------------------
def test_assemble_removes_the_empty_main_class_and_strips():
    lang = get_language("java")
    generation = "\nclass Solution {\n    int f() { return 1; }\n}\npublic class Main {\n    }\n\n"
    expected = "class Solution {\n    int f() { return 1; }\n}"
    assert lang.assemble(generation, {}, "fixtests") == expected
    # only the exact literal goes: a Main with a body is the model's and stays
    kept = "class Solution {}\npublic class Main {\n    int x;\n}"
    assert lang.assemble(kept, {}, "fixtests") == kept


def test_program_is_candidate_newline_reference():
    program = get_language("java").program("class Solution {}", "\n" + TEST)
    assert program == "class Solution {}\n\n" + TEST


def test_unknown_tasks_are_rejected_and_names():
    lang = get_language("java")
    with pytest.raises(ValueError, match="unknown task"):
        lang.assemble("", {}, "explaindescribe")
    assert (lang.name, lang.display_name, lang.task_prefix) == ("java", "Java", "Java")
    assert (lang.default_timeout, lang.compile_timeout) == (10.0, 25.0)


# -- execution --------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[True, False], ids=["server", "javac"])
def java(request):
    with prepared("java", compile_server=request.param) as env:
        yield env


@pytest.fixture(scope="module")
def served():
    with prepared("java") as env:
        yield env


CASES = [
    ("        return 1;", Status.PASSED, ""),
    ("        return 2;", Status.FAILED, "wrong answer"),  # exit 1 with AssertionError
    ("        return undefinedName;", Status.COMPILE_ERROR, "cannot find symbol"),
    ("        throw new IllegalStateException(\"boom\");", Status.FAILED, "IllegalStateException"),
    ("        System.exit(3); return 1;", Status.FAILED, "unknown error"),  # not exit 0 or 1
    ("        System.exit(0); return 1;", Status.PASSED, ""),  # as in the reference
    ("        while (true) { }", Status.TIMEOUT, ""),
]


@pytest.mark.toolchain
@pytest.mark.parametrize("body, status, detail", CASES, ids=[str(i) for i in range(len(CASES))])
def test_reference_verdicts(java, body, status, detail):
    outcome = java.run(java_program(body), timeout=3)
    assert outcome.status is status, outcome.result
    assert detail in outcome.detail


def test_a_package_declaration_compiles_but_main_is_not_found_as_in_the_reference(served):
    outcome = served.run("package demo;\n" + java_program("        return 1;"))
    assert outcome.status is Status.FAILED and "Main" in outcome.detail


def test_several_classes_and_nested_ones_reach_the_run(served):
    body = "        return new Helper().one() + new Object() { int z() { return 0; } }.z();"
    program = java_program(body) + "\nclass Helper {\n    int one() { return 1; }\n}\n"
    assert served.run(program).status is Status.PASSED


def test_the_server_is_reused_and_restarted_after_a_compile_timeout(served):
    lang = served.language
    assert served.run(java_program("        return 1;")).passed
    first = lang._local.server
    assert served.run(java_program("        return 2;")).status is Status.FAILED
    assert lang._local.server is first  # one warm server per worker thread
    lang.compile_timeout = 0.001
    try:
        assert served.run(java_program("        return 1;")).status is Status.TIMEOUT
    finally:
        lang.compile_timeout = 25.0
    assert served.run(java_program("        return 1;")).passed  # a fresh server took over
    assert lang._local.server is not first


def test_a_server_that_cannot_start_falls_back_to_javac(tmp_path):
    with prepared("java") as env:
        env.language._stamp = {**env.language._stamp, "classes": str(tmp_path / "missing")}
        assert env.run(java_program("        return 1;")).passed
        assert env.language._local.unavailable  # no second start attempt in this thread
        assert env.run(java_program("        return 2;")).status is Status.FAILED


@pytest.mark.slow
def test_all_canonical_solutions_pass_and_all_buggy_ones_fail(served, humanevalpack_dir):
    run = run_all(served, solution_programs(served.language, humanevalpack_dir))
    print("\n" + run.summary("java (compile server)"))
    assert run.unexpected() == []
