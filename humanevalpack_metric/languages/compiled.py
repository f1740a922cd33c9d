"""The shared base of the compiled languages (C++, Rust, Go, Java).

A compiled language's :meth:`CompiledLanguage.execute` is always the same four steps:

1. **compile** (:meth:`CompiledLanguage.compile`): write the program into its work dir and build
   it in the sandbox, with the language's own ``compile_timeout``;
2. **classify the build** (:meth:`CompiledLanguage.compile_failure`): a compile that timed out is
   ``TIMEOUT`` ("compilation timed out"), one that exited non-zero is ``COMPILE_ERROR`` with the
   compiler's stderr (else stdout), as the reference reports it;
3. **run** (:meth:`CompiledLanguage.run`) what was built, with the program's ``timeout``;
4. **classify the run** (:meth:`CompiledLanguage.run_outcome`): timed out -> ``TIMEOUT``, exit 0
   -> ``PASSED``, else ``FAILED`` with :meth:`CompiledLanguage.failure_detail`.

A language whose reference command compiles and runs in one step (Go's ``go test``, which also
vets) overrides :meth:`~CompiledLanguage.execute` instead: splitting it would change verdicts.

One-time toolchain work (prebuilt crates, a warm build cache, the compile server) goes through
:meth:`CompiledLanguage.build_toolchain`: :func:`octopack_common.ensure_built` of
``<cache_dir>/<name>``, keyed by what the build depends on (:func:`tool_version` of each tool,
:func:`tree_digest` of shipped sources), so a new toolchain rebuilds it. Toolchain commands run
on the host with :func:`octopack_common.run_checked`: they are trusted, programs never are.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from octopack_common import ensure_built, run_checked

from ..outcome import Outcome, Status
from ..sandbox import RunResult, Sandbox
from .base import Language


def tree_digest(root: str | os.PathLike[str]) -> str:
    """A short hash of every file's relative path and content under ``root``."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def tool_version(argv: Sequence[str]) -> str:
    """First line of a tool's version output (``rustc --version``, ``java -version``, ...)."""
    proc = run_checked(argv, f"`{' '.join(map(str, argv))}`", timeout=60)
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if text else ""


class CompiledLanguage(Language):
    """Compile, then run; see the module docstring."""

    compile_timeout: ClassVar[float]  # seconds for the compile phase (the run has its own)

    def __init__(self, corrected: bool = False):
        super().__init__(corrected=corrected)
        self._stamp: dict | None = None

    # -- toolchain ------------------------------------------------------------------------
    def build_toolchain(self, cache_dir: Path, key: dict,
                        build: Callable[[Path], dict]) -> dict:
        """Build ``<cache_dir>/<name>`` once per ``key`` (any process, any thread) and remember
        its stamp: the facts ``build`` returned, read by :attr:`stamp` at execution time."""
        self.cache_dir = Path(cache_dir)
        self._stamp = ensure_built(self.cache_dir / self.name, key, build)
        return self._stamp

    @property
    def stamp(self) -> dict:
        if self._stamp is None:
            raise RuntimeError(f"{type(self).__name__}.prepare(cache_dir) must run before "
                               "execute()")
        return self._stamp

    # -- programs -------------------------------------------------------------------------
    def execute(self, program: str, workdir: Path, sandbox: Sandbox, timeout: float) -> Outcome:
        started = time.monotonic()
        workdir = Path(workdir)
        failure = self.compile(program, workdir, sandbox)
        if failure is not None:
            status, detail = failure
            return Outcome(status, detail, time.monotonic() - started)
        ran = self.run(workdir, sandbox, timeout)
        return self.run_outcome(ran, time.monotonic() - started)

    def compile(self, program: str, workdir: Path, sandbox: Sandbox) -> tuple[Status, str] | None:
        """Write ``program`` into ``workdir`` and build it there: None when it built, else
        ``(status, detail)`` (usually :meth:`compile_failure` of the compiler's run)."""
        raise NotImplementedError

    def run(self, workdir: Path, sandbox: Sandbox, timeout: float) -> RunResult:
        """Run what :meth:`compile` built in ``workdir``."""
        raise NotImplementedError

    @staticmethod
    def compile_failure(compiled: RunResult) -> tuple[Status, str] | None:
        """The verdict of a compiler's run: None when it succeeded."""
        if compiled.timed_out:
            return Status.TIMEOUT, "compilation timed out"
        if compiled.returncode != 0:
            return Status.COMPILE_ERROR, compiled.stderr or compiled.stdout
        return None

    def run_outcome(self, ran: RunResult, duration: float) -> Outcome:
        """The verdict of the program's run."""
        if ran.timed_out:
            return Outcome(Status.TIMEOUT, "", duration)
        if ran.returncode == 0:
            return Outcome(Status.PASSED, "", duration)
        return Outcome(Status.FAILED, self.failure_detail(ran), duration)

    def failure_detail(self, ran: RunResult) -> str:
        """What a failed run reports: its stderr, else its stdout, else its exit code."""
        return ran.stderr or ran.stdout or f"exit code {ran.returncode}"
