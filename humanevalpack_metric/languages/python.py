"""Python: the harness' import helper in front of the generation; runs like the reference.

**Assembly** (harness ``process_results``): ``("\\n".join(IMPORT_HELPER) + "\\n" + generation)
.strip()`` -- the whole string is stripped, so a generation with leading indentation keeps it
(and fails to parse, as in the reference). The task does not matter. The reference then runs
``candidate + "\\n" + "\\n" + test``; the test already ends with ``check(<entry_point>)``.

**Execution** follows the reference's in-process ``exec`` exactly (fresh globals, reliability
guard, swallowed I/O, ``SIGALRM`` timeout, any exception -> failed, a child that vanishes ->
timed out); :mod:`._python_runner` documents the details. It runs inside the sandbox in one of
two ways that share the same runner code and so give the same verdicts:

* **warm** (default): per sandbox, a pool of "zygote" interpreters that imported the
  import-helper modules (numpy included) once. Each program runs in a child forked from a
  zygote (new session, fresh working directory), so it costs a fork instead of an interpreter
  start and a numpy import (about 0.25 s). After every program the zygote kills whatever is
  left in its PID namespace. If a zygote dies or hangs during a program, it is killed and that
  program is run again the cold way, so it still gets a verdict.
* **cold** (``warm=False``): one sandboxed interpreter per program (same runner, mode ``once``).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import logging
import os
import select
import shutil
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import octopack_common

from ..outcome import Outcome, Status
from ..sandbox import Limits, Sandbox
from ..sandbox.procfs import kill_confirmed, parent_pid
from .base import Language, ToolchainMissing, sandbox_hidden

log = logging.getLogger(__name__)

# bigcode-evaluation-harness IMPORT_HELPER["python"] (taken from CodeGeeX), in order.
IMPORT_HELPER = (
    "import math",
    "import re",
    "import sys",
    "import copy",
    "import datetime",
    "import itertools",
    "import collections",
    "import heapq",
    "import statistics",
    "import functools",
    "import hashlib",
    "import numpy",
    "import numpy as np",
    "import string",
    "from typing import *",
    "from collections import *",
)

RUNNER = Path(__file__).with_name("_python_runner.py")
# One BLAS thread: the programs are tiny, and forking a process with BLAS threads is unsafe.
RUNNER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
GRACE = 1.0  # the runner waits timeout + 1 s for a program, like the reference's join
COLD_SLACK = 15.0  # interpreter start-up, numpy import and clean-up on top of that (cold path)
RESPONSE_SLACK = 5.0  # how late a zygote may answer before we call it hung
RUNNER_OUTPUT = 1 << 20  # the runner's stdout carries the response line: never truncate it
ZYGOTE_START_TIMEOUT = 60.0
ZYGOTE_LIFETIME = 24 * 3600.0  # the sandbox's wall limit for one zygote
ZYGOTE_MAX_AGE = 3600.0  # recycled between programs after this long...
ZYGOTE_MAX_RUNS = 5000  # ...or this many programs


class Python(Language):
    name = "python"
    display_name = "Python"
    task_prefix = "Python"
    aliases = ("py",)
    default_timeout = 10.0
    stop_words = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\nassert")

    def __init__(self, corrected: bool = False, warm: bool = True):
        super().__init__(corrected=corrected)
        self.warm = warm
        self.interpreter = sys.executable
        self._runner_source = RUNNER.read_text(encoding="utf-8")
        # the runner cannot import it in the sandbox (see _python_runner.load_octopack_common)
        self._common_source = inspect.getsource(octopack_common)
        self._idle: dict[int, list[_Zygote]] = {}  # id(sandbox) -> zygotes ready for work
        self._zygotes: set[_Zygote] = set()
        self._lock = threading.Lock()
        # stop the zygotes even if close() is never called (at garbage collection or exit)
        weakref.finalize(self, _close_all, self._zygotes, self._lock)

    # -- toolchain ------------------------------------------------------------------------
    def check_toolchain(self) -> None:
        if importlib.util.find_spec("numpy") is None:
            raise ToolchainMissing(
                f"numpy is not installed for {self.interpreter}: every HumanEvalPack Python "
                "program imports it (the harness' import helper). Install it with "
                f"`{self.interpreter} -m pip install numpy`."
            )

    def sandbox_ro_paths(self, cache_dir: Path) -> list[Path]:
        """The interpreter (e.g. pyenv under ``/root``), its venv and numpy's location."""
        paths = [sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix,
                 Path(self.interpreter).resolve().parent]
        spec = importlib.util.find_spec("numpy")
        if spec is not None and spec.submodule_search_locations:
            paths.append(Path(list(spec.submodule_search_locations)[0]).parent)
        return sandbox_hidden(paths)

    # -- programs -------------------------------------------------------------------------
    def assemble(self, generation: str, problem: dict, task: str) -> str:
        return ("\n".join(IMPORT_HELPER) + "\n" + generation).strip()

    def execute(self, program: str, workdir: Path, sandbox: Sandbox, timeout: float) -> Outcome:
        response = self._run_warm(program, sandbox, timeout) if self.warm else None
        if response is None:
            response = self._run_cold(program, workdir, sandbox, timeout)
        return _outcome(response)

    def close(self) -> None:
        with self._lock:
            self._idle.clear()
        _close_all(self._zygotes, self._lock)

    # -- the two ways to run ----------------------------------------------------------------
    def _runner_argv(self, sandbox: Sandbox, *mode: str) -> list[str]:
        sweep = ["--sweep"] if sandbox.mode == "bwrap" else []
        return [self.interpreter, "-I", "-c", self._runner_source, *mode, *sweep,
                "--octopack-common", self._common_source]

    def _run_cold(self, program: str, workdir: Path, sandbox: Sandbox, timeout: float) -> dict:
        """One sandboxed interpreter for this program."""
        request = _request(program, timeout, sandbox)
        wall = timeout + GRACE + COLD_SLACK
        result = sandbox.run(
            self._runner_argv(sandbox, "once"), workdir, timeout=wall,
            limits=Limits(cpu_seconds=wall, output=RUNNER_OUTPUT), env=RUNNER_ENV,
            stdin=request,
        )
        for line in reversed(result.stdout.splitlines()):
            try:
                response = json.loads(line)
            except ValueError:
                continue
            if isinstance(response, dict) and "status" in response:
                return response
        if result.timed_out:
            return {"status": "timeout", "duration": result.duration}
        if result.limit or (result.returncode or 0) < 0:  # the program took its runner down
            return {"status": "noverdict", "duration": result.duration,
                    "detail": f"the runner was stopped (limit={result.limit}, "
                              f"exit={result.returncode}) without a verdict"}
        return {"status": "error", "duration": result.duration,
                "detail": f"python runner failed (exit {result.returncode}): "
                          f"{result.stderr[-2000:]}"}

    def _run_warm(self, program: str, sandbox: Sandbox, timeout: float) -> dict | None:
        """Run in a zygote of this sandbox; None if no zygote could give a verdict."""
        try:
            zygote = self._checkout(sandbox)
        except ZygoteFailed as error:
            log.warning("python: warm interpreters unavailable (%s); running each program in its "
                        "own interpreter instead", error)
            self.warm = False
            return None
        response = zygote.run(program, timeout)
        if response is None or zygote.worn_out() or response.get("dirty"):
            if response is None:
                log.warning("python: a warm interpreter died or hung during a program; "
                            "re-running that program in its own interpreter")
            self._retire(zygote)
        else:
            with self._lock:
                self._idle.setdefault(id(sandbox), []).append(zygote)
        return response

    def _checkout(self, sandbox: Sandbox) -> "_Zygote":
        with self._lock:
            idle = self._idle.get(id(sandbox))
            if idle:
                return idle.pop()
        zygote = _Zygote(sandbox, self._runner_argv(sandbox, "serve"))
        with self._lock:
            self._zygotes.add(zygote)
        return zygote

    def _retire(self, zygote: "_Zygote") -> None:
        with self._lock:
            self._zygotes.discard(zygote)
        zygote.close()


def _request(program: str, timeout: float, sandbox: Sandbox) -> bytes:
    """One runner request line. The runner demotes the program's process to idle CPU priority
    after the share of its timeout the sandbox demotes its own runs at (Sandbox.demote_fraction):
    the zygote hosts many programs, so the sandbox cannot do it for one of them."""
    request = {"program": program, "timeout": timeout}
    if sandbox.demote_fraction:
        request["demote_after"] = timeout * sandbox.demote_fraction
    return (json.dumps(request) + "\n").encode("utf-8", "surrogatepass")


def _close_all(zygotes: set, lock: threading.Lock) -> None:
    with lock:
        stopping = list(zygotes)
        zygotes.clear()
    for zygote in stopping:
        zygote.close()


class ZygoteFailed(RuntimeError):
    """A warm interpreter could not be started."""


class _Zygote:
    """One warm runner (``serve`` mode) inside ``sandbox``, spoken to through two FIFOs.

    ``Sandbox.run`` blocks until its command ends, so the zygote's run lives in a thread; the
    FIFOs sit in the zygote's work directory, which the sandbox binds writable.
    """

    def __init__(self, sandbox: Sandbox, argv: list[str]):
        self.sandbox = sandbox  # holding it keeps id(sandbox) unique while we live
        self.started = time.monotonic()
        self.runs = 0
        self.dir = Path(tempfile.mkdtemp(prefix="octopack-python-zygote-"))
        self._result = None
        self._req = self._resp = -1
        self._buffer = bytearray()
        try:
            os.mkfifo(self.dir / "requests", 0o600)
            os.mkfifo(self.dir / "responses", 0o600)
            self._resp = os.open(self.dir / "responses", os.O_RDONLY | os.O_NONBLOCK)
            self._thread = threading.Thread(target=self._serve, args=(argv + [str(self.dir)],),
                                            name="python-zygote", daemon=True)
            self._thread.start()
            deadline = time.monotonic() + ZYGOTE_START_TIMEOUT
            self._req = self._open_requests(deadline)
            line = self._read_line(deadline)
            ready = json.loads(line) if line is not None else {}
            if not ready.get("ready"):
                raise ZygoteFailed(f"no ready signal: {self._failure()}")
            _check_same_interpreter(ready)
        except BaseException:
            self.close()
            raise

    def _serve(self, argv: list[str]) -> None:
        try:
            self._result = self.sandbox.run(
                argv, self.dir, timeout=ZYGOTE_LIFETIME,
                limits=Limits(cpu_seconds=ZYGOTE_LIFETIME), env=RUNNER_ENV)
        except BaseException as error:  # reported by _failure()
            self._result = error

    def _failure(self) -> str:
        result = self._result
        if result is None:
            return "still starting"
        if isinstance(result, BaseException):
            return f"{type(result).__name__}: {result}"
        return f"exit {result.returncode}, limit {result.limit}: {result.stderr[-2000:]}"

    def _open_requests(self, deadline: float) -> int:
        """Open the request FIFO once the zygote listens on it (ENXIO until then)."""
        while True:
            try:
                return os.open(self.dir / "requests", os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != 6:  # ENXIO: no reader yet
                    raise
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ZygoteFailed(f"did not start: {self._failure()}")
            time.sleep(0.005)

    def run(self, program: str, timeout: float) -> dict | None:
        """The zygote's response for one program; None if it died or hung."""
        self.runs += 1
        deadline = time.monotonic() + timeout + GRACE + RESPONSE_SLACK
        request = _request(program, timeout, self.sandbox)
        try:
            _write_all(self._req, request, deadline)
            line = self._read_line(deadline)
            return json.loads(line) if line is not None else None
        except (OSError, TimeoutError, ValueError):
            return None

    def worn_out(self) -> bool:
        return (self.runs >= ZYGOTE_MAX_RUNS
                or time.monotonic() - self.started > ZYGOTE_MAX_AGE)

    def _read_line(self, deadline: float) -> bytes | None:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._resp], [], [], min(remaining, 0.5))
            if not ready:
                if not self._thread.is_alive():
                    return None
                continue
            try:
                chunk = os.read(self._resp, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                return None  # the zygote is gone
            self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return line

    def close(self) -> None:
        """Stop the zygote: end of file on its requests, else kill its sandbox."""
        if self._req >= 0:
            os.close(self._req)
            self._req = -1
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(5.0)
            if thread.is_alive():
                self._kill()
                thread.join(10.0)
        if self._resp >= 0:
            os.close(self._resp)
            self._resp = -1
        shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self) -> None:
        """Kill our sandboxed child whose command line names this zygote's directory.

        ``Sandbox.run`` does not hand out the process, and a hung zygote never reads the end
        of file on its requests. Once its first process dies, the sandbox kills the rest of
        the run. It is signalled through a pidfd, not by number: the sandbox's thread may reap
        it at any moment, and the number then goes to another process."""
        needle = str(self.dir).encode()
        me = os.getpid()

        def ours(pids: list[int]) -> list[int]:
            found = []
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        args = cmdline.read().split(b"\0")
                except OSError:
                    continue
                if needle in args and parent_pid(pid) == me:
                    found.append(pid)
            return found

        kill_confirmed(ours([int(entry) for entry in os.listdir("/proc") if entry.isdigit()]),
                       ours)


@functools.lru_cache(maxsize=1)
def _warn_once(message: str) -> None:
    log.warning(message)


def _check_same_interpreter(ready: dict) -> None:
    """Warn if the sandboxed interpreter does not see its own installation (it then falls back
    to another standard library): the sandbox must expose ``sandbox_ro_paths`` readably."""
    if ready.get("base_prefix") != sys.base_prefix or ready.get("version") != sys.version:
        _warn_once(f"python: inside the sandbox the interpreter runs with prefix "
                   f"{ready.get('base_prefix')!r} (version {ready.get('version')!r}), not "
                   f"{sys.base_prefix!r}: it cannot read its installation there, so verdicts "
                   "may differ from the reference")


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the zygote does not read its requests")
        _, writable, _ = select.select([], [fd], [], remaining)
        if writable:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue


def _outcome(response: dict) -> Outcome:
    """A runner response -> Outcome with the reference's result strings."""
    status = response.get("status")
    detail = response.get("detail", "")
    duration = float(response.get("duration") or 0.0)
    if status == "passed":
        return Outcome(Status.PASSED, duration=duration)
    if status == "failed":
        return Outcome(Status.FAILED, detail, duration)
    if status == "timeout":
        return Outcome(Status.TIMEOUT, detail, duration)
    if status == "noverdict":  # the reference's empty result list reads "timed out"
        output = response.get("output", "")
        return Outcome(Status.TIMEOUT, detail + (f"\n{output[-2000:]}" if output else ""),
                       duration)
    return Outcome(Status.ERROR, detail or f"unexpected runner response {response!r}", duration)
