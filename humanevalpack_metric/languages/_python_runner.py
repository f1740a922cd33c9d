"""Run HumanEvalPack Python programs inside the sandbox the way the reference metric does.

This file is not imported by the package: :mod:`humanevalpack_metric.languages.python` runs it
as ``python -I -c <this source> <mode> ... --octopack-common <source>`` inside the sandbox. It
uses the standard library, and ``octopack_common`` (for its ``renice``) made from the source
passed on the command line (:func:`load_octopack_common` says why not by import).

Modes:

``once``
    Read one request (a JSON line) from stdin, run it, print one response (a JSON line).
``serve DIR``
    The warm "zygote": import the import-helper modules once, say ``{"ready": true}``, then
    answer requests read from the FIFO ``DIR/requests`` on the FIFO ``DIR/responses`` until
    end of file. Each program runs in a forked child, so it starts in microseconds with numpy
    already imported.

Both modes handle a request with the same function (:func:`handle`), so they give the same
verdicts. A request is ``{"program": source, "timeout": seconds}``; a response is
``{"status": ..., "detail": ..., "output": ..., "exit": ..., "duration": ...}`` with status
``passed``, ``failed``, ``timeout``, ``noverdict`` (the child vanished without a verdict) or
``error`` (our failure).

Reference semantics reproduced (``code_eval_octopack`` ``unsafe_execute``):

- the program runs in-process with ``exec(program, {})``: fresh globals, so ``__name__`` is
  ``"builtins"`` and ``if __name__ == "__main__":`` blocks do not run;
- in a fresh working directory, after the reliability guard (destructive ``os``, ``shutil`` and
  ``subprocess`` functions, ``exit``, ``quit`` and ``help`` become ``None``);
- ``sys.stdout``, ``sys.stderr`` and ``sys.stdin`` are one write-only text buffer (reading
  raises ``OSError``);
- a ``SIGALRM`` timer raises ``TimeoutException`` after ``timeout`` seconds -> ``timed out``;
- any other ``BaseException`` (``AssertionError``, ``SystemExit``, ``SyntaxError`` ...) ->
  ``failed: <str(exception)>``;
- the parent waits ``timeout + 1`` seconds; a child that dies without a verdict (``os._exit``,
  a crash, an exception whose ``str()`` raises) is reported as ``timed out``, like the
  reference's empty result list.
"""

import faulthandler
import io
import json
import os
import select
import shutil
import signal
import sys
import time
import types

# The modules the import helper (the first lines of every program) imports.
HELPER_MODULES = (
    "math", "re", "sys", "copy", "datetime", "itertools", "collections", "heapq", "statistics",
    "functools", "hashlib", "numpy", "string", "typing",
)
GRACE = 1.0  # the reference joins its child for timeout + 1 s before killing it
RENICE_PATIENCE = 0.4  # seconds to retry an autogroup change the kernel rate-limits
OUTPUT_CAP = 16 * 1024  # bytes of the child's raw stdout/stderr kept for diagnostics
DETAIL_CAP = 64 * 1024  # characters of str(exception) kept
SWALLOW_CAP = 1 << 20  # characters the swallowing buffer holds before it starts over

# What the reference's reliability guard sets to None, per module.
GUARDED = {
    "builtins": ("exit", "quit", "help"),
    "os": (
        "kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork",
        "forkpty", "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod",
        "fchown", "chmod", "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir",
    ),
    "shutil": ("rmtree", "move", "chown"),
    "subprocess": ("Popen",),
}
BLOCKED_MODULES = ("ipdb", "joblib", "resource", "psutil", "tkinter")


class TimeoutException(Exception):
    """Raised in the program by the alarm, like the reference's exception of the same name."""


class SwallowedIO(io.StringIO):
    """The reference's write-only buffer for stdout/stderr/stdin, with bounded memory.

    Writes behave like ``io.StringIO`` (same type checks and return values); the text is
    dropped once it grows past ``SWALLOW_CAP`` because nobody ever reads it.
    """

    def write(self, text):
        written = super().write(text)
        if self.tell() > SWALLOW_CAP:
            self.seek(0)
            self.truncate(0)
        return written

    def read(self, *args, **kwargs):
        raise OSError

    def readline(self, *args, **kwargs):
        raise OSError

    def readlines(self, *args, **kwargs):
        raise OSError

    def readable(self, *args, **kwargs):
        return False


def warm_up():
    """Import what every program and the guard import, so children find it in ``sys.modules``
    (the reference's parent process has them loaded too)."""
    for name in HELPER_MODULES + ("subprocess",):
        __import__(name)


def reliability_guard():
    """Disable what the reference's reliability guard disables (not a security measure)."""
    import builtins
    import shutil as shutil_module
    import subprocess

    faulthandler.disable()
    os.environ["OMP_NUM_THREADS"] = "1"
    modules = {"builtins": builtins, "os": os, "shutil": shutil_module, "subprocess": subprocess}
    for module_name, names in GUARDED.items():
        for name in names:
            setattr(modules[module_name], name, None)
    for name in BLOCKED_MODULES:
        sys.modules[name] = None


def _on_alarm(signum, frame):
    raise TimeoutException("Timed out!")


def run_child(source, timeout, rundir, out_fd, verdict_fd):
    """In the forked child: isolate, run the program, write the verdict, exit. Never returns."""
    write, exit_now = os.write, os._exit
    try:
        os.setsid()
        os.chdir(rundir)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.closerange(3, verdict_fd)
        os.closerange(verdict_fd + 1, 1 << 16)
        reliability_guard()
        sink = SwallowedIO()
        sys.stdout = sys.stderr = sys.stdin = sink
    except BaseException as error:  # our failure: report it, do not blame the program
        _send(write, verdict_fd, {"status": "error", "detail": f"child setup: {error!r}"})
        exit_now(0)
    try:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(source, {})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        verdict = {"status": "passed"}
    except TimeoutException:
        verdict = {"status": "timeout"}
    except BaseException as error:
        try:
            detail = str(error)[:DETAIL_CAP]
        except BaseException:  # the reference's handler raises too: no verdict at all
            exit_now(1)
        verdict = {"status": "failed", "detail": detail}
    _send(write, verdict_fd, verdict)
    exit_now(0)


def _send(write, fd, message):
    data = (json.dumps(message) + "\n").encode("utf-8", "surrogatepass")
    while data:
        data = data[write(fd, data):]


def handle(request, scratch, sweep):
    """Run one program in a forked child and return the response dict."""
    started = time.monotonic()
    timeout = float(request["timeout"])
    os.makedirs(scratch, exist_ok=True)
    rundir = os.path.join(scratch, f"run-{os.getpid()}-{time.monotonic_ns()}")
    os.mkdir(rundir)
    verdict_r, verdict_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(verdict_r)
        os.close(out_r)
        run_child(request["program"], timeout, rundir, out_w, verdict_w)
    os.close(verdict_w)
    os.close(out_w)
    try:
        demote_after = request.get("demote_after")
        demote_at = started + float(demote_after) if demote_after else None
        verdict, output, killed = _watch(pid, verdict_r, out_r, started + timeout + GRACE,
                                         demote_at)
    finally:
        os.close(verdict_r)
        os.close(out_r)
        status = _kill_leftovers(pid, sweep)
        shutil.rmtree(rundir, ignore_errors=True)
    response = {
        "output": output.decode("utf-8", "replace"),
        "exit": _describe(status),
        "duration": time.monotonic() - started,
        "dirty": os.path.exists(rundir),
    }
    if verdict is not None:
        response.update(verdict)
    elif killed:
        response["status"] = "timeout"
    else:
        response.update(status="noverdict", detail=f"the program exited ({response['exit']}) "
                        "without a verdict; the reference reports this as timed out")
    return response


def load_octopack_common(source):
    """``octopack_common`` as a module, from its source (which the parent passes).

    Importing it by name does not work here: this runner runs as ``python -I -c`` inside the
    sandbox, and in a source checkout (an editable install) the module lives in the checkout,
    which the sandbox hides when it is under ``/home``, ``/root`` or ``/tmp`` -- binding it in
    would show the whole checkout to untrusted programs. So the parent ships the module's
    source, as it ships this runner's, and the one ``octopack_common.renice`` runs here."""
    module = types.ModuleType("octopack_common")
    exec(compile(source, "octopack_common.py", "exec"), module.__dict__)
    return module


_common = None  # octopack_common, set by main()


def _renice(pid, nice):
    """Set the child's session autogroup (the child is a session leader) and process group to
    ``nice``. Demoted (19), the child keeps running on the CPU nobody else wants; before it is
    killed it goes back to 0 (dying needs the CPU too), which an unprivileged process may do for
    an autogroup -- once per 100 ms machine-wide, hence the patience -- but not for a process."""
    _common.renice([pid], nice, group=True, patience=RENICE_PATIENCE)


def _exited(pid, wait=False):
    """Whether the child has exited (with ``wait``: once it has), without reaping it: as a
    zombie it keeps its pid -- its process group's id -- reserved until _kill_leftovers has
    killed the group. Reaped, the number may go to an unrelated new session (in the fallback
    this runner shares the host's pids), which a ``killpg`` of it would then kill."""
    flags = os.WEXITED | os.WNOWAIT | (0 if wait else os.WNOHANG)
    return os.waitid(os.P_PID, pid, flags) is not None


def _watch(pid, verdict_r, out_r, deadline, demote_at=None):
    """Collect the verdict line and capped output until the child exits or the deadline (then
    kill it); demote the child at ``demote_at``. The child is left unreaped (see _exited)."""
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    verdict_buf, output = bytearray(), bytearray()
    streams = {verdict_r: (verdict_buf, 4 * DETAIL_CAP), out_r: (output, OUTPUT_CAP)}
    exited, killed, demoted = False, False, False
    try:
        while not exited:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if demoted:
                    _renice(pid, 0)
                os.killpg(pid, signal.SIGKILL)
                killed = True
                break
            if demote_at is not None and time.monotonic() >= demote_at:
                _renice(pid, 19)
                demoted, demote_at = True, None
            watched = list(streams) + ([pidfd] if pidfd is not None else [])
            poll = remaining if pidfd is not None else min(remaining, 0.005)
            if demote_at is not None:
                poll = max(0.0, min(poll, demote_at - time.monotonic()))
            ready, _, _ = select.select(watched, [], [], poll)
            for fd in ready:
                if fd in streams and not _read_into(*streams[fd], fd):
                    del streams[fd]
            exited = _exited(pid)
        if not exited:
            _exited(pid, wait=True)  # the SIGKILL takes effect
        for fd, (buf, cap) in streams.items():  # what the child wrote just before exiting
            os.set_blocking(fd, False)
            try:
                while _read_into(buf, cap, fd):
                    pass
            except BlockingIOError:
                pass
    finally:
        if pidfd is not None:
            os.close(pidfd)
    verdict = None
    if b"\n" in verdict_buf:
        try:
            verdict = json.loads(verdict_buf.split(b"\n", 1)[0])
        except ValueError:
            verdict = None
    return verdict, bytes(output), killed


def _read_into(buf, cap, fd):
    """Read one chunk from ``fd``, keep up to ``cap`` bytes in ``buf``; False at end of file."""
    chunk = os.read(fd, 65536)
    if not chunk:
        return False
    buf += chunk[:max(cap - len(buf), 0)]
    return True


def _describe(status):
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _kill_leftovers(pid, sweep):
    """Kill the child's process group, then reap the child (only now: see _exited) and, in a
    private PID namespace, kill every other process; the child's wait status."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _, status = os.waitpid(pid, 0)
    if not sweep:
        return status
    me = os.getpid()
    for entry in os.listdir("/proc"):  # by number, but a reused one is again the run's
        if entry.isdigit() and int(entry) not in (1, me):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if me == 1:  # we are the namespace's init: reap what we killed
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
    return status


def _can_sweep(requested):
    """Sweeping kills every process we can see: only inside our own PID namespace."""
    return requested and (os.getpid() == 1 or os.getppid() == 1)


def _safe_handle(request, scratch, sweep):
    try:
        return handle(request, scratch, sweep)
    except Exception as error:  # our bug: keep serving, report it as ours
        return {"status": "error", "detail": f"runner: {error!r}"}


def serve(directory, sweep):
    warm_up()
    scratch = os.path.join(directory, "runs")
    with open(os.path.join(directory, "requests"), "rb") as requests, \
            open(os.path.join(directory, "responses"), "wb", buffering=0) as responses:
        ready = {"ready": True, "base_prefix": sys.base_prefix, "version": sys.version}
        responses.write((json.dumps(ready) + "\n").encode())
        for line in requests:
            response = _safe_handle(json.loads(line), scratch, sweep)
            responses.write((json.dumps(response) + "\n").encode("utf-8", "surrogatepass"))


def once(sweep):
    warm_up()
    request = json.loads(sys.stdin.buffer.readline())
    response = _safe_handle(request, os.path.join(os.getcwd(), "runs"), sweep)
    sys.stdout.write(json.dumps(response) + "\n")


USAGE = "usage: once | serve DIR, with --octopack-common SOURCE and optional --sweep"


def main(argv):
    global _common
    args = list(argv[1:])
    if "--octopack-common" not in args[:-1]:
        raise SystemExit(f"{USAGE} (got no --octopack-common)")
    at = args.index("--octopack-common")
    _common = load_octopack_common(args.pop(at + 1))
    del args[at]
    sys.argv[1:] = args  # programs see the arguments they always saw
    sweep = _can_sweep("--sweep" in args)
    args = [arg for arg in args if arg != "--sweep"]
    if args[:1] == ["serve"] and len(args) == 2:
        serve(args[1], sweep)
    elif args == ["once"]:
        once(sweep)
    else:
        raise SystemExit(f"{USAGE} (got {args})")


if __name__ == "__main__":
    main(sys.argv)
