"""Rust: the harness' declaration re-insertion (hand-checked strings), the rand-0.4 API shim
and its seeding, verdicts of one ``rustc --test`` per program, and every canonical/buggy
solution (corrected mode: deterministic; faithful mode: the four unseeded tests)."""

import pytest

from humanevalpack_metric.languages import get_language
from humanevalpack_metric.outcome import Status
from humanevalpack_metric.problems import load_problems

from .language_runs import KINDS, prepared, run_all, solution_programs

DECLARATION = "\nuse std::cmp::max;\nuse rand::Rng;\n\nfn add(x: i32, y: i32) -> i32{\n"
USES = "use std::cmp::max;\nuse rand::Rng;\n"
RANDOM_TASKS = {"Rust/32", "Rust/38", "Rust/50", "Rust/53"}


def assemble(generation: str) -> str:
    return get_language("rust").assemble(generation, {"declaration": DECLARATION}, "fixtests")


def rust_program(code: str, test_body: str) -> str:
    test = "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn it_works() {\n" \
           + test_body + "\n    }\n}\n"
    lang = get_language("rust")
    return lang.program(lang.assemble(code, {"declaration": ""}, "synthesize"), "\n" + test)


# -- assembly -------------------------------------------------------------------------------
def test_missing_declaration_lines_and_main_are_prepended():
    generation = "fn add(x: i32, y: i32) -> i32 {\n    x + y\n}"
    # the signature differs in spacing, but `fn add` is defined: it is not re-inserted
    assert assemble(generation) == "fn main(){}\nuse std::cmp::max;\nuse rand::Rng;\n" + generation


def test_lines_already_present_are_not_repeated():
    generation = "fn main(){}\nuse rand::Rng;\nfn add(x: i32, y: i32) -> i32{\n    x + y\n}"
    assert assemble(generation) == "use std::cmp::max;\n" + generation


def test_a_missing_function_gets_its_signature():
    assert assemble("    x + y\n}") == (
        "fn main(){}\n" + USES + "fn add(x: i32, y: i32) -> i32{\n    x + y\n}")


def test_everything_after_a_second_main_is_cut():
    kept = "fn main(){}\n" + USES + "fn add(x: i32, y: i32) -> i32{ x + y }\n"
    assert assemble(kept + "fn main() { add(1, 2); }") == kept


def test_prompt_based_generations_are_unchanged(humanevalpack_dir):
    lang = get_language("rust")
    for row in load_problems("rust", humanevalpack_dir)[:20]:
        generation = row["prompt"] + row["canonical_solution"]
        assert lang.assemble(generation, row, "synthesize") == generation
        fixtests = "fn main(){}\n" + row["declaration"] + row["canonical_solution"]
        assert lang.assemble(fixtests, row, "fixtests") == fixtests


def test_program_unknown_task_and_names():
    lang = get_language("rs")
    assert lang.program("C", "\nT") == "C\n\nT"
    with pytest.raises(ValueError, match="unknown task"):
        lang.assemble("", {"declaration": ""}, "explaindescribe")
    assert (lang.name, lang.display_name, lang.task_prefix) == ("rust", "Rust", "Rust")
    assert (lang.default_timeout, lang.compile_timeout) == (60.0, 300.0)


# -- execution --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rust():
    with prepared("rust") as env:
        yield env


@pytest.fixture(scope="module")
def rust_corrected():
    with prepared("rust", corrected=True) as env:
        yield env


ADD = "fn add(x: i32, y: i32) -> i32 {\n    x + y\n}\n"
CASES = [
    (ADD, "assert_eq!(add(1, 2), 3);", Status.PASSED),
    (ADD, "assert_eq!(add(1, 2), 4);", Status.FAILED),
    (ADD + "fn broken() -> i32 { \"text\" }", "assert_eq!(add(1, 2), 3);", Status.COMPILE_ERROR),
    # deny-by-default lints fail the build, as under cargo
    (ADD + "fn over() -> u8 { 255 + 1 }", "assert_eq!(add(1, 2), 3);", Status.COMPILE_ERROR),
    # overflow checks are on, as in cargo's dev/test profile
    (ADD, "let big = std::hint::black_box(i32::MAX);\n        assert_eq!(add(big, 1), 0);",
     Status.FAILED),
    (ADD, "loop {}", Status.TIMEOUT),
    # the three crates of the reference project
    ("use regex::Regex;\nuse md5;\n" + ADD,
     'assert_eq!(Regex::new(r"[.?!]\\s*").unwrap().split("a. b").count(), 2);\n'
     '        let digest = md5::compute("Hello world");\n'
     '        assert_eq!(format!("{:x}", digest), "3e25960a79dbc69b674cd4ec67a72c62");',
     Status.PASSED),
    # the rand 0.4 API of Rust/32, 38, 50 and 53, and a bit more
    ("use rand::Rng;\n" + ADD,
     "let mut rng = rand::thread_rng();\n"
     "        let a: i32 = rng.gen_range(0, 4);\n        assert!((0..4).contains(&a));\n"
     "        let c: char = rng.gen_range(b'a', b'z' + 1).into();\n"
     "        assert!(c.is_ascii_lowercase());\n"
     "        let _: i32 = rng.gen();\n        let _ = rand::random::<u32>() % 11;\n"
     "        let mut v = vec![1, 2, 3];\n        rng.shuffle(&mut v);\n"
     "        assert!(rng.choose(&v).is_some());",
     Status.PASSED),
]


@pytest.mark.toolchain
@pytest.mark.parametrize("code, test_body, status", CASES, ids=[str(i) for i in range(len(CASES))])
def test_verdicts(rust, code, test_body, status):
    outcome = rust.run(rust_program(code, test_body), timeout=3)
    assert outcome.status is status, outcome.result


SAME_STREAM_IN_TWO_THREADS = (
    "let draw = || {\n"
    "            let mut rng = rand::thread_rng();\n"
    "            (rng.gen::<u64>(), rand::random::<u64>())\n"
    "        };\n"
    "        let other = std::thread::spawn(draw).join().unwrap();\n"
    "        assert_eq!(draw(), other);"
)


def test_faithful_mode_is_unseeded_and_corrected_mode_seeds_every_thread(rust, rust_corrected):
    program = rust_program("use rand::Rng;\n" + ADD, SAME_STREAM_IN_TWO_THREADS)
    assert rust.run(program).status is Status.FAILED
    assert rust_corrected.run(program).status is Status.PASSED


@pytest.mark.slow
def test_all_solutions_in_corrected_mode(rust_corrected, humanevalpack_dir):
    """Deterministic: the seeded shim makes Rust/32 converge and the buggy 32/38/50/53 fail."""
    run = run_all(rust_corrected, solution_programs(rust_corrected.language, humanevalpack_dir))
    print("\n" + run.summary("rust corrected"))
    assert run.unexpected() == []


@pytest.mark.slow
def test_unseeded_tasks_in_faithful_mode(rust, humanevalpack_dir):
    """Faithful mode is unseeded like the reference: Rust/32's canonical solution passes or
    times out depending on the random polynomials; everything else is stable."""
    rows = [row for row in load_problems("rust", humanevalpack_dir)
            if row["task_id"] in RANDOM_TASKS]
    lang = rust.language
    for row in rows:
        for kind in KINDS:
            program = lang.program(lang.assemble(row["prompt"] + row[kind], row, "synthesize"),
                                   "\n" + row["test"])
            outcome = rust.run(program, timeout=10)
            if kind == "buggy_solution":
                assert not outcome.passed, row["task_id"]
            elif row["task_id"] == "Rust/32":
                # Newton's method on unseeded random polynomials: it converges, loops until the
                # timeout, or diverges (a NaN fails the test's assertion) -- never a compile error
                assert outcome.status in (Status.PASSED, Status.TIMEOUT, Status.FAILED), \
                    outcome.result
                if outcome.status is Status.FAILED:
                    assert "panicked" in outcome.result, outcome.result
            else:
                assert outcome.passed, (row["task_id"], outcome.result)
