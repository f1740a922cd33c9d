"""Go: the harness' import repair (hand-checked strings), execution verdicts in the sandbox, and
every canonical/buggy solution (faithful: built from ``declaration``; corrected: helpers back)."""

import pytest

from humanevalpack_metric.languages import get_language
from humanevalpack_metric.languages.go import prompt_helpers, trim_testify_source
from humanevalpack_metric.outcome import Status
from humanevalpack_metric.problems import load_problems

from .language_runs import KINDS, prepared, run_all

SETUP = 'package main\n\nimport (\n    "testing"\n    "github.com/stretchr/testify/assert"\n)\n'
TEST = "func TestX(t *testing.T) {\n    assert.Equal(t, 1, X())\n}\n"
PITFALLS = {"Go/10", "Go/32", "Go/38", "Go/50"}  # helpers missing from `declaration`
# the canonical CheckDictCase depends on Go's randomised map order: fails ~1 run in 5
MAP_ORDER_DEPENDENT = "Go/95"


def problem(**fields) -> dict:
    row = {"task_id": "Go/0", "prompt": "", "declaration": "", "import": "", "test_setup": SETUP,
           "test": TEST, "entry_point": "X"}
    return {**row, **fields}


def go_program(body: str, test: str = TEST, corrected: bool = False) -> str:
    lang = get_language("go", corrected=corrected)
    return lang.program(lang.assemble(body, problem(test=test), "fixtests"), "\n" + test)


# -- assembly -------------------------------------------------------------------------------
def test_candidate_is_setup_plus_added_imports_plus_generation():
    generation = "\nfunc X(a float64) string {\n    return fmt.Sprint(math.Abs(a))\n}"
    candidate = get_language("go").assemble(generation, problem(), "fixtests")
    assert candidate == SETUP + "\n" + 'import (\n    "math"\n    "fmt"\n)\n' + generation


def test_reference_is_the_plain_test():
    lang = get_language("go")
    assert lang.program("CANDIDATE", "\n" + TEST) == "CANDIDATE\n\n" + TEST


def test_packages_the_generation_imports_are_removed_from_the_setup():
    setup = SETUP.replace('"testing"\n', '"testing"\n    "math"\n')
    generation = 'import (\n    "math"\n)\n\nfunc X() int {\n    return int(math.Sqrt(1))\n}'
    candidate = get_language("go").assemble(generation, problem(test_setup=setup), "synthesize")
    assert candidate == ('package main\n\nimport (\n    "testing"\n    \n'
                         '    "github.com/stretchr/testify/assert"\n)\n\n' + generation)


def test_uses_in_comment_lines_do_not_import_but_trailing_comments_do():
    commented = "// a list of strings.\nfunc X() int {\n    return 1\n}"
    assert get_language("go").assemble(commented, problem(), "fixtests") == SETUP + "\n" + commented
    trailing = "func X() int {\n    return 1 // see strings.Fields\n}"
    assert get_language("go").assemble(trailing, problem(), "fixtests") == (
        SETUP + "\n" + 'import (\n    "strings"\n)\n' + trailing)


def test_task_158_docstring_mentions_strings_without_importing_it(humanevalpack_dir):
    row = load_problems("go", humanevalpack_dir)[158]
    generation = row["prompt"] + row["canonical_solution"]
    assert "list of strings." in generation
    candidate = get_language("go").assemble(generation, row, "synthesize")
    assert candidate == row["test_setup"] + "\n" + generation


def test_nested_packages_get_the_harness_short_path_unless_corrected():
    generation = "func X() int {\n    return rand.Intn(1) + 1\n}"
    faithful = get_language("go").assemble(generation, problem(), "fixtests")
    corrected = get_language("go", corrected=True).assemble(generation, problem(), "fixtests")
    assert faithful == SETUP + "\n" + 'import (\n    "rand"\n)\n' + generation
    assert corrected == SETUP + "\n" + 'import (\n    "math/rand"\n)\n' + generation


def test_a_second_package_main_is_dropped():
    generation = "package main\n\nfunc X() int {\n    return 1\n}"
    assert get_language("go").assemble(generation, problem(), "fixtests") == (
        SETUP + "\n" + "\n\nfunc X() int {\n    return 1\n}")


def test_row_imports_outside_the_helper_list_are_rejected_and_tasks_checked():
    with pytest.raises(ValueError, match="not a Go helper package"):
        row = problem(**{"import": 'import (\n    "os"\n)\n'})
        get_language("go").assemble("", row, "fixtests")
    with pytest.raises(ValueError, match="unknown task"):
        get_language("go").assemble("", problem(), "explaindescribe")


def test_corrected_mode_restores_the_prompt_helpers(humanevalpack_dir):
    rows = {row["task_id"]: row for row in load_problems("go", humanevalpack_dir)}
    row = rows["Go/10"]
    generation = row["declaration"] + row["canonical_solution"]
    faithful = get_language("go").assemble(generation, row, "fixtests")
    corrected = get_language("go", corrected=True).assemble(generation, row, "fixtests")
    assert "func IsPalindrome(" not in faithful
    helper = prompt_helpers(row["prompt"], row["entry_point"])["IsPalindrome"]
    assert corrected.endswith(generation + "\n\n" + helper + "\n")
    assert helper.startswith("func IsPalindrome(str string) bool {") and helper.endswith("\n}")
    # a generation that defines the helper itself is left alone
    with_helper = row["prompt"] + row["canonical_solution"]
    assert get_language("go", corrected=True).assemble(with_helper, row, "synthesize") == \
        get_language("go").assemble(with_helper, row, "synthesize")
    helpers = {name for tid in PITFALLS
               for name in prompt_helpers(rows[tid]["prompt"], rows[tid]["entry_point"])}
    assert helpers == {"IsPalindrome", "Poly", "EncodeCyclic", "EncodeShift"}


def test_corrected_mode_drops_the_unused_prompt_import_of_task_27(humanevalpack_dir):
    row = load_problems("go", humanevalpack_dir)[27]
    generation = row["prompt"] + row["canonical_solution"]
    assert '"strings"' in get_language("go").assemble(generation, row, "synthesize")
    corrected = get_language("go", corrected=True).assemble(generation, row, "synthesize")
    assert corrected == row["test_setup"] + "\n" + generation.replace('"strings"', "", 1)
    # a generation that uses the package keeps its import
    uses = generation.replace("return string(result)", "return strings.TrimSpace(string(result))")
    assert '"strings"' in get_language("go", corrected=True).assemble(uses, row, "synthesize")


def test_testify_trimming_drops_http_functions_and_their_imports():
    equal = "// Equal asserts.\nfunc (a *Assertions) Equal(x, y interface{}) bool {\n" \
            "\treturn x == y\n}\n\n"
    source = ('package assert\n\nimport (\n\thttp "net/http"\n\turl "net/url"\n\ttime "time"\n)\n\n'
              "// HTTPBody asserts.\n"
              "func (a *Assertions) HTTPBody(h http.HandlerFunc, v url.Values) bool {\n"
              "\treturn true\n}\n\n" + equal +
              "func HTTPSuccess(h http.HandlerFunc) bool {\n\treturn true\n}\n")
    assert trim_testify_source(source) == (
        'package assert\n\nimport (\n\ttime "time"\n)\n\n// HTTPBody asserts.\n\n' + equal)


def test_names_timeouts_and_stop_words():
    lang = get_language("golang")
    assert (lang.name, lang.display_name, lang.task_prefix) == ("go", "Go", "Go")
    assert (lang.default_timeout, lang.compile_timeout) == (20.0, 60.0)
    assert lang.stop_words == ("\n//", "\nfunc main(", "struct", "\nfunc")


# -- execution --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def go():
    with prepared("go") as env:
        yield env


@pytest.mark.toolchain
@pytest.mark.parametrize("body, status", [
    ("func X() int {\n    return 1\n}", Status.PASSED),
    ("func X() int {\n    return 2\n}", Status.FAILED),
    ("func X() int {\n    return undefinedName\n}", Status.COMPILE_ERROR),
    # `go test` vets: a printf mistake fails the build in the reference too
    ('func X() int {\n    _ = fmt.Sprintf("%d", "text")\n    return 1\n}', Status.COMPILE_ERROR),
    # the paper's go.mod says go 1.18: the min builtin (go 1.21) does not exist there
    ("func X() int {\n    return min(1, 2)\n}", Status.COMPILE_ERROR),
    ("func X() int {\n    for {\n    }\n}", Status.TIMEOUT),
])
def test_verdicts(go, body, status):
    outcome = go.run(go_program(body), timeout=3)
    assert outcome.status is status, outcome.result


def test_failure_detail_is_the_test_output(go):
    outcome = go.run(go_program("func X() int {\n    return 2\n}"))
    assert outcome.status is Status.FAILED and "Not equal" in outcome.detail


def test_the_shared_build_cache_is_read_only_for_programs(go):
    test = ('func TestX(t *testing.T) {\n'
            '    err := os.WriteFile(os.Getenv("GOCACHE")+"/poison", []byte("x"), 0o644)\n'
            '    assert.NotNil(t, err)\n}\n')
    body = 'import "os"\n\nfunc X() int {\n    return 1\n}'
    outcome = go.run(go_program(body, test=test))
    assert outcome.status is Status.PASSED, outcome.result


# corrected mode only changes assembly for Go, so its programs run on the same prepared toolchain
@pytest.mark.toolchain
def test_task_27_from_the_prompt_fails_to_compile_unless_corrected(go, humanevalpack_dir):
    row = load_problems("go", humanevalpack_dir)[27]

    def outcome(lang, kind):
        return go.run(lang.program(lang.assemble(row["prompt"] + row[kind], row, "synthesize"),
                                   "\n" + row["test"]))

    corrected = get_language("go", corrected=True)
    assert outcome(go.language, "canonical_solution").status is Status.COMPILE_ERROR
    assert outcome(corrected, "canonical_solution").passed
    assert outcome(corrected, "buggy_solution").status is Status.FAILED


@pytest.mark.slow
def test_all_solutions_built_from_the_declaration(go, humanevalpack_dir):
    """FixTests-style programs: faithful verdicts, with the four helper-less tasks failing to
    compile exactly as in the reference; corrected mode makes those pass/fail as intended."""
    rows = load_problems("go", humanevalpack_dir)
    jobs = [(row["task_id"], kind, go_program_from(go.language, row, kind))
            for row in rows for kind in KINDS]
    run = run_all(go, jobs)
    print("\n" + run.summary("go faithful (declaration + solution)"))
    order_dependent = run.outcomes[(MAP_ORDER_DEPENDENT, "canonical_solution")]
    assert order_dependent.passed or "TestCheckDictCase" in order_dependent.result
    assert [item for item in run.unexpected() if item[0] != MAP_ORDER_DEPENDENT] == sorted(
        (tid, "canonical_solution", run.outcomes[(tid, "canonical_solution")].result[:200])
        for tid in PITFALLS)
    assert all(run.outcomes[(tid, "canonical_solution")].status is Status.COMPILE_ERROR
               for tid in PITFALLS)

    corrected = get_language("go", corrected=True)
    fixed = run_all(go, [(row["task_id"], kind, go_program_from(corrected, row, kind))
                         for row in rows if row["task_id"] in PITFALLS for kind in KINDS])
    assert fixed.unexpected() == []


def go_program_from(lang, row: dict, kind: str) -> str:
    candidate = lang.assemble(row["declaration"] + row[kind], row, "fixtests")
    return lang.program(candidate, "\n" + row["test"])
