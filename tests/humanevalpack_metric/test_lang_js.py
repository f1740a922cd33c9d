"""JavaScript: generation unchanged, ``node test.js``, the pass-on-silence rule, js-md5 for
JavaScript/162, and every canonical/buggy solution."""

import json
import time

import pytest

from humanevalpack_metric.languages import get_language
from humanevalpack_metric.outcome import Status

from .language_runs import prepared, run_all, solution_programs

pytestmark = pytest.mark.toolchain


@pytest.fixture(scope="module")
def js():
    with prepared("javascript") as env:
        yield env


def test_assemble_passes_the_generation_unchanged_for_every_task():
    lang = get_language("javascript")
    generation = "\nconst add = (a, b) => {\n  return a + b\n}\n"
    for task in ("fixtests", "fixdocs", "explainsynthesize", "synthesize"):
        assert lang.assemble(generation, {}, task) == generation
    assert lang.program(generation, "\nT") == generation + "\n\nT"


def test_names_and_defaults():
    lang = get_language("js")
    assert (lang.name, lang.display_name, lang.task_prefix) == ("js", "JavaScript", "JavaScript")
    assert lang.stop_words == () and lang.default_timeout == 10.0


CASES = [
    ("silence passes", "const x = 1 + 1", "passed"),
    ("console.assert failing prints to stderr", "console.assert(1 === 2)",
     "failed: Assertion failed\n"),
    ("any stdout fails", "console.log('hi')", "failed: hi\n"),
    ("the exit code is ignored", "process.exit(3)", "passed"),
    ("stderr wins over stdout", "console.log('out'); console.error('err')", "failed: err\n"),
    ("js-md5 resolves through NODE_PATH",
     "const md5 = require('js-md5')\n"
     "console.assert(md5('Hello world') === '3e25960a79dbc69b674cd4ec67a72c62')", "passed"),
    ("infinite loop", "while (true) {}", "timed out"),
]


@pytest.mark.parametrize("program,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pass_on_silence(js, program, expected):
    assert js.run(program, timeout=2.0).result == expected


def test_uncaught_exceptions_fail_and_timeouts_have_their_own_status(js):
    thrown = js.run("throw new Error('boom')")
    assert thrown.status is Status.FAILED and "Error: boom" in thrown.detail
    looping = js.run("while (true) {}", timeout=1.0)
    assert looping.status is Status.TIMEOUT and looping.result == "timed out"


def test_prepare_installed_js_md5_once_and_is_fast_when_done(js):
    manifest = js.language.node_modules / "js-md5" / "package.json"
    assert js.cache_dir in manifest.parents
    assert json.loads(manifest.read_text())["version"] == "0.7.3"
    started = time.monotonic()
    js.language.prepare(js.cache_dir)
    assert time.monotonic() - started < 0.1


@pytest.mark.slow
def test_all_canonical_solutions_pass_and_all_buggy_ones_fail(js, humanevalpack_dir):
    run = run_all(js, solution_programs(js.language, humanevalpack_dir))
    print("\n" + run.summary("js"))
    assert len(run.outcomes) == 328
    assert run.unexpected() == []
