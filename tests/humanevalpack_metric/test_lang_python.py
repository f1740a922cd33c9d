"""Python: the harness assembly, the reference's exec semantics in both execution paths (warm
zygote and one interpreter per program), and every canonical/buggy solution."""

import sys

import pytest

from humanevalpack_metric.languages import get_language
from humanevalpack_metric.outcome import Status

from .language_runs import prepared, run_all, solution_programs

HELPER = (
    "import math\nimport re\nimport sys\nimport copy\nimport datetime\nimport itertools\n"
    "import collections\nimport heapq\nimport statistics\nimport functools\nimport hashlib\n"
    "import numpy\nimport numpy as np\nimport string\nfrom typing import *\n"
    "from collections import *"
)


@pytest.fixture(scope="module", params=[True, False], ids=["warm", "cold"])
def python(request):
    with prepared("python", warm=request.param) as env:
        yield env


@pytest.fixture(scope="module")
def warm():
    with prepared("python", warm=True) as env:
        yield env


# -- assembly -----------------------------------------------------------------------------
def test_assemble_puts_the_import_helper_first_and_strips_the_whole_string():
    lang = get_language("python")
    generation = "def add(a, b):\n    return a + b\n\n"
    expected = HELPER + "\ndef add(a, b):\n    return a + b"
    assert lang.assemble(generation, {}, "fixtests") == expected


def test_assemble_keeps_leading_indentation_of_the_generation():
    # the harness strips helper + "\n" + generation as a whole, not the generation
    assembled = get_language("python").assemble("    return 1", {}, "synthesize")
    assert assembled == HELPER + "\n    return 1"


def test_assemble_ignores_the_task_and_program_appends_the_reference():
    lang = get_language("python")
    candidates = {lang.assemble("x = 1", {}, task)
                  for task in ("fixtests", "fixdocs", "explainsynthesize", "synthesize")}
    assert candidates == {HELPER + "\nx = 1"}
    assert lang.program("C", "\nT") == "C\n\nT"


def test_stop_words_and_names():
    lang = get_language("py")
    assert lang.stop_words == ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\nassert")
    assert (lang.name, lang.display_name, lang.task_prefix, lang.default_timeout) == (
        "python", "Python", "Python", 10.0)


def test_the_interpreter_installation_is_exposed_to_the_sandbox(tmp_path):
    paths = get_language("python").sandbox_ro_paths(tmp_path)
    hidden = ("/root", "/home", "/tmp", "/run", "/var/tmp")
    if sys.base_prefix.startswith(hidden):
        assert any(sys.base_prefix.startswith(str(p)) for p in paths)


# -- execution: the reference's verdicts, identical in both paths ----------------------------
CASES = [
    ("passes", "import numpy as np\nassert np.sum([1, 2]) == 3", "passed"),
    ("output is swallowed", "print('hello')\nimport sys\nprint('x', file=sys.stderr)", "passed"),
    ("assert with message", "assert 1 == 2, 'nope'", "failed: nope"),
    ("bare assert", "assert False", "failed: "),
    ("sys.exit(0) is an exception", "import sys\nsys.exit(0)", "failed: 0"),
    ("exit is disabled", "exit(0)", "failed: 'NoneType' object is not callable"),
    ("os.getcwd is disabled", "import os\nos.getcwd()",
     "failed: 'NoneType' object is not callable"),
    ("resource is blocked", "import resource",
     "failed: import of resource halted; None in sys.modules"),
    ("stdin is the write-only buffer", "input()", "failed: "),
    ("syntax error", "def f(:\n    pass", "failed: invalid syntax (<string>, line 1)"),
    ("__main__ blocks do not run", "if __name__ == '__main__':\n    raise ValueError('ran')",
     "passed"),
    ("os._exit leaves no verdict", "import os\nos._exit(0)", "timed out"),
    ("str() of the exception raises", "class E(Exception):\n    def __str__(self):\n"
     "        raise RuntimeError\nraise E()", "timed out"),
    ("infinite loop", "while True:\n    pass", "timed out"),
    ("alarm swallowed, killed at timeout + 1 s",
     "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n"
     "        pass", "timed out"),
    ("files go to a private cwd", "open('out.txt', 'w').write('x')", "passed"),
]


@pytest.mark.parametrize("program,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reference_semantics(python, program, expected):
    outcome = python.run(program, timeout=1.0)
    assert outcome.result == expected


def test_timeouts_are_their_own_status(python):
    outcome = python.run("while True:\n    pass", timeout=1.0)
    assert outcome.status is Status.TIMEOUT and not outcome.passed
    assert 0.9 < outcome.duration < 5


def test_a_program_running_past_half_its_timeout_is_demoted(python):
    """The runner drops a program to idle CPU priority at half its timeout (the sandbox's
    demote_fraction); before that it runs at normal priority."""
    checks = ("import os, time\n"
              "assert os.getpriority(os.PRIO_PROCESS, 0) == 0\n"
              "time.sleep(1.3)\n"
              "assert os.getpriority(os.PRIO_PROCESS, 0) == 19\n")
    assert python.run(checks, timeout=2.0).passed
    assert python.run(checks, timeout=4.0).status is Status.FAILED  # not yet demoted at 1.3 s


def test_every_program_gets_a_fresh_directory(python):
    assert python.run("open('leak.txt', 'w').write('x')").passed
    assert python.run("import os\nassert not os.path.exists('leak.txt')").passed


def test_leftover_processes_are_killed_after_each_program(warm):
    if warm.sandbox.mode != "bwrap":
        pytest.skip("needs the sandbox's PID namespace")
    daemon = ("import posix, time\nif posix.fork() == 0:\n    posix.setsid()\n"
              "    time.sleep(60)\ntime.sleep(0.2)")
    assert warm.run(daemon).passed
    # in the zygote's PID namespace: bwrap's init, the zygote and this program only
    count = ("import os\nlive = [p for p in os.listdir('/proc') if p.isdigit()\n"
             "        and open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0] != 'Z']\n"
             "assert len(live) == 3, live")
    assert warm.run(count).passed


def test_a_program_that_kills_its_zygote_still_gets_a_verdict(warm):
    killer = "import posix\nposix.kill(posix.getppid(), 9)"
    outcome = warm.run(killer, timeout=2.0)
    assert outcome.status is Status.TIMEOUT  # its runner vanished: the reference's empty result
    assert warm.run("assert 1 + 1 == 2").passed  # a fresh zygote takes over


def test_warm_is_much_faster_than_a_fresh_interpreter(warm):
    warm.run("pass")  # start the zygote
    outcome = warm.run("import numpy\nassert numpy.ones(3).sum() == 3")
    assert outcome.passed and outcome.duration < 0.2


# -- all solutions ---------------------------------------------------------------------------
@pytest.mark.slow
def test_all_canonical_solutions_pass_and_all_buggy_ones_fail(warm, humanevalpack_dir):
    run = run_all(warm, solution_programs(warm.language, humanevalpack_dir))
    print("\n" + run.summary("python warm"))
    assert len(run.outcomes) == 328
    assert run.unexpected() == []


@pytest.mark.slow
def test_cold_path_gives_the_same_verdicts(humanevalpack_dir):
    with prepared("python", warm=False) as cold, prepared("python", warm=True) as hot:
        jobs = solution_programs(cold.language, humanevalpack_dir, every=4)
        cold_run, hot_run = run_all(cold, jobs), run_all(hot, jobs)
    print("\n" + cold_run.summary("python cold (every 4th problem)"))
    print(hot_run.summary("python warm (every 4th problem)"))
    assert {k: o.result for k, o in cold_run.outcomes.items()} == {
        k: o.result for k, o in hot_run.outcomes.items()}
