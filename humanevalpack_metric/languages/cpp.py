"""C++: the harness' prelude + the generation cut before ``int main``; ``g++`` then ``./a.out``.

**Assembly** (harness ``process_results``, any task): ``(PRELUDE + "\\n" +
generation.split("int main")[0]).strip()``, where the prelude is ``using namespace std;`` followed
by 20 ``#include`` lines (in that order: GCC accepts the ``using`` first). The reference then
compiles ``candidate + "\\n" + "\\n" + test`` (the test brings ``#undef NDEBUG``, ``assert.h``
and ``int main``).

**Verdict** (``code_eval_octopack``): ``g++ -std=c++11 test.cpp -lcrypto -lssl`` failing ->
compile error (``failed: compilation error: <stderr>``); ``./a.out`` exit 0 -> passed, else
``failed: <stderr or stdout>``; timeouts -> ``timed out``. The harness gives compiling and
running 60 s each (:attr:`Cpp.compile_timeout`, :attr:`Cpp.default_timeout`).

**Speed**: parsing the prelude's headers (Boost included) is most of a compile (0.57 s of
0.8 s). :meth:`Cpp.prepare` precompiles the prelude once into a header (``prelude.h.gch``,
built with the same ``-std=c++11`` and default ``-O0`` as every program, so the generated code
is the same). A program that starts with the prelude is compiled as ``-include prelude.h`` plus
the rest of its text, behind a ``#line`` directive that keeps line numbers and the file name
(``test.cpp``) of the reference; ``-Winvalid-pch`` reports a header GCC refused to use (that
costs time, never correctness). ``-pipe`` avoids temporary files. Linking is the other big
cost: ``gold`` links in 0.02 s of CPU instead of ``ld.bfd``'s 0.06 s, so it is used when it
works (:attr:`Cpp.fast_linker`). Only the layout of the executable differs; address-space
randomisation already varies addresses from run to run.

**CPP/23 pitfall** (reference-data bug, reproduced by default): the task defines
``int strlen(string)``, but the prelude's ``<cstring>`` declares libc ``strlen(const char*)``,
an exact match for the tests' string literals, so the tests never call the task's function and
every answer that compiles passes. With ``corrected=True``, :meth:`Cpp.program` puts
``#define strlen(s) strlen(std::string(s))`` between a candidate that defines ``strlen`` on a
``string`` and the tests: every test call then passes a ``std::string``, for which libc's
``strlen`` is not viable, so the task's function is called. The macro comes after the
candidate, so the candidate's own code (which may use libc ``strlen``) is untouched.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from octopack_common import CommandFailed, ensure_built, run_checked

from ..outcome import Status
from ..sandbox import RunResult, Sandbox, make_world_readable
from .base import Tool, ToolchainMissing, sandbox_hidden
from .compiled import CompiledLanguage, tool_version

log = logging.getLogger(__name__)

# bigcode-evaluation-harness IMPORT_HELPER["cpp"], in order.
PRELUDE_LINES = (
    "using namespace std;",
    "#include<stdlib.h>",
    "#include<algorithm>",
    "#include<cmath>",
    "#include<math.h>",
    "#include<numeric>",
    "#include<stdio.h>",
    "#include<vector>",
    "#include<set>",
    "#include<map>",
    "#include<queue>",
    "#include<stack>",
    "#include<list>",
    "#include<deque>",
    "#include<boost/any.hpp>",
    "#include<string>",
    "#include<climits>",
    "#include<cstring>",
    "#include<iostream>",
    "#include<sstream>",
    "#include<fstream>",
)
PRELUDE = "\n".join(PRELUDE_LINES)
STANDARD = "-std=c++11"  # the reference's only compile flag (so -O0)
LIBRARIES = ("-lcrypto", "-lssl")  # the reference links them for CPP/162 (MD5)
GOLD = "-fuse-ld=gold"
INSTALL_HINT = "Install them with `apt-get install g++ libboost-dev libssl-dev`."

STRLEN_FIX = ("#define strlen(s) strlen(std::string(s))"
              "  // octopack corrected mode: the tests call the task's strlen (CPP/23)")
_STRING_STRLEN = re.compile(r"\bstrlen\s*\(\s*(?:const\s+)?(?:std\s*::\s*)?string\b")


class Cpp(CompiledLanguage):
    name = "cpp"
    display_name = "C++"
    task_prefix = "CPP"
    aliases = ("c++",)
    default_timeout = 60.0  # run phase
    compile_timeout = 60.0  # compile phase: the harness gives each phase the same 60 s
    stop_words = ()
    tools = (Tool("g++", f"The C++ tasks need g++, Boost and OpenSSL headers. {INSTALL_HINT}"),)

    def __init__(self, corrected: bool = False, precompiled_header: bool = True,
                 fast_linker: bool = True):
        super().__init__(corrected=corrected)
        self.precompiled_header = precompiled_header
        self.fast_linker = fast_linker
        self.pch_header: Path | None = None  # set by prepare() when the PCH is usable
        self.link_flags: list[str] = []  # set by prepare(): ["-fuse-ld=gold"] when it works
        self._warned_invalid_pch = False

    # -- toolchain ------------------------------------------------------------------------
    def check_toolchain(self) -> None:
        _check_libraries(self.tools[0].path())

    def prepare(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.compiler = self.tools[0].path()
        if self.precompiled_header:
            self.pch_header = _precompiled_prelude(self.compiler, cache_dir)
        self.link_flags = [GOLD] if self.fast_linker and _links_with(self.compiler, GOLD) else []

    def sandbox_ro_paths(self, cache_dir: Path) -> list[Path]:
        compiler = shutil.which("g++")
        prefix = [Path(compiler).resolve().parent.parent] if compiler else []
        return sandbox_hidden([cache_dir, *prefix])

    # -- programs -------------------------------------------------------------------------
    def assemble(self, generation: str, problem: dict, task: str) -> str:
        return (PRELUDE + "\n" + generation.split("int main")[0]).strip()

    def program(self, candidate: str, reference: str) -> str:
        if self.corrected and "strlen(" in reference and _STRING_STRLEN.search(candidate):
            return candidate + "\n" + STRLEN_FIX + "\n" + reference
        return super().program(candidate, reference)

    def compile(self, program: str, workdir: Path, sandbox: Sandbox) -> tuple[Status, str] | None:
        header = self.pch_header  # before compiling: another thread may turn it off meanwhile
        compiled = self._run_compiler(program, workdir, sandbox)
        if header is not None and compiled.returncode != 0 and str(header) in compiled.stderr:
            # our header is not readable in this sandbox: a setup problem, never the program's
            log.error("cpp: the precompiled prelude is not usable inside the sandbox (expose %s "
                      "via sandbox_ro_paths); compiling without it: %s", header.parent,
                      compiled.stderr[:500])
            self.pch_header = None
            compiled = self._run_compiler(program, workdir, sandbox)
        failure = self.compile_failure(compiled)
        if failure is None:
            self._check_pch_used(compiled.stderr)
        return failure

    def run(self, workdir: Path, sandbox: Sandbox, timeout: float) -> RunResult:
        return sandbox.run(["./a.out"], workdir, timeout=timeout)

    def _run_compiler(self, program: str, workdir: Path, sandbox: Sandbox) -> RunResult:
        source, flags = self._source(program)
        (workdir / "test.cpp").write_text(source, encoding="utf-8")
        return sandbox.run([self.compiler, STANDARD, "-pipe", *flags, "test.cpp", *LIBRARIES,
                            *self.link_flags], workdir, timeout=self.compile_timeout)

    def _source(self, program: str) -> tuple[str, list[str]]:
        """The file to compile and the extra flags: with the precompiled prelude when usable."""
        if self.pch_header is None or not program.startswith(PRELUDE + "\n"):
            return program, []
        rest = program[len(PRELUDE) + 1:]
        line = f'#line {len(PRELUDE_LINES) + 1} "test.cpp"\n'
        return line + rest, ["-Winvalid-pch", "-include", str(self.pch_header)]

    def _check_pch_used(self, stderr: str) -> None:
        if self.pch_header is not None and ".gch" in stderr and not self._warned_invalid_pch:
            self._warned_invalid_pch = True
            log.warning("cpp: g++ did not use the precompiled prelude (compiles are slower, "
                        "verdicts unaffected): %s", stderr[:1000])


PROBE = "#include<boost/any.hpp>\n#include<openssl/md5.h>\nint main(){ return 0; }\n"
# each piece of PROBE alone: what it is, a program needing only it, its libraries, its package
_PIECES = (
    ("Boost headers (boost/any.hpp, every C++ program)", "#include<boost/any.hpp>\n", (),
     "libboost-dev"),
    ("OpenSSL headers (openssl/md5.h, CPP/162)", "#include<openssl/md5.h>\n", (), "libssl-dev"),
    ("OpenSSL libraries (-lcrypto -lssl, CPP/162)", "", LIBRARIES, "libssl-dev"),
)


def _build_probe(compiler: str, *flags: str, source: str = PROBE,
                 libraries: tuple[str, ...] = LIBRARIES) -> None:
    """Compile and link a program that needs Boost and OpenSSL (CommandFailed if g++ cannot)."""
    with tempfile.TemporaryDirectory(prefix="octopack-cpp-probe-") as tmp:
        run_checked([compiler, STANDARD, "-x", "c++", "-", "-o", os.path.join(tmp, "probe"),
                     *libraries, *flags], "building a C++ program with Boost and OpenSSL",
                    input=source, timeout=120)


@functools.lru_cache(maxsize=None)
def _links_with(compiler: str, flag: str) -> bool:
    try:
        _build_probe(compiler, flag)
    except CommandFailed:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _check_libraries(compiler: str) -> None:
    """Build the probe once per process; explain what is missing if that fails."""
    try:
        _build_probe(compiler)
    except CommandFailed as failed:
        missing = []
        for what, include, libraries, package in _PIECES:  # name each piece that is missing
            try:
                _build_probe(compiler, source=include + "int main(){ return 0; }\n",
                             libraries=libraries)
            except CommandFailed:
                missing.append(f"{what}: `apt-get install {package}`")
        raise ToolchainMissing("\n".join(missing) or (
            f"g++ cannot build a program using Boost (boost/any.hpp, every C++ program) and "
            f"OpenSSL (openssl/md5.h, -lcrypto -lssl, CPP/162): {failed.stderr.strip()[-1500:]}\n"
            f"{INSTALL_HINT}")) from None


def _precompiled_prelude(compiler: str, cache_dir: Path) -> Path | None:
    """``prelude.h`` with its ``.gch`` next to it, built once per compiler and prelude (the
    directory name hashes both); None, with a warning, if g++ does not use it."""
    key = {"compiler": os.path.realpath(compiler), "version": tool_version([compiler, "--version"]),
           "standard": STANDARD, "prelude": hashlib.sha256(PRELUDE.encode()).hexdigest()[:16]}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    directory = cache_dir / f"pch-{name}"
    stamp = ensure_built(directory, key, lambda target: _build_pch(compiler, target))
    if not stamp["used"]:
        log.warning("cpp: g++ does not use the precompiled prelude in %s; compiling without it "
                    "(slower, same verdicts)", directory)
        return None
    return directory / stamp["header"]


def _build_pch(compiler: str, directory: Path) -> dict:
    """Precompile the prelude into ``directory`` and check that g++ picks it up."""
    header = directory / "prelude.h"
    header.write_text(PRELUDE + "\n", encoding="utf-8")
    try:
        run_checked([compiler, STANDARD, "-x", "c++-header", "prelude.h", "-o", "prelude.h.gch"],
                    "precompiling the C++ prelude", cwd=directory, timeout=300)
    except CommandFailed as failed:
        raise ToolchainMissing(f"g++ cannot compile the C++ prelude: "
                               f"{failed.stderr.strip()[-1500:]}\n{INSTALL_HINT}") from None
    make_world_readable(directory)  # the sandbox's slot uids read it
    return {"header": header.name, "used": _pch_is_used(compiler, header)}


def _pch_is_used(compiler: str, header: Path) -> bool:
    """``g++ -H`` marks a precompiled header it loads with ``!``."""
    try:
        proc = run_checked([compiler, STANDARD, "-Winvalid-pch", "-H", "-fsyntax-only",
                            "-include", str(header), "-x", "c++", "-"],
                           "checking the precompiled C++ prelude", input="int main(){}\n",
                           timeout=120)
    except CommandFailed:
        return False
    return f"! {header}.gch" in proc.stderr
