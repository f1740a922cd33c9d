"""Ending a run kills the run and nothing else (a run SIGKILLed "from outside" gets exit -9
with no limit hit, and nobody to blame).

* A process group is only ever killed while its leader is unreaped. A group's id is its
  leader's pid. Once the leader is reaped that number is free, and the executor starts sessions
  (each its own group, pgid = the leader's pid) by the thousand, so a later ``killpg`` of the
  number could SIGKILL another run's program. The kernel keeps a pid reserved while its process
  is a zombie, so the sandbox and the Python runner notice the exit without reaping, kill the
  group, and reap last. These tests wrap ``os.killpg`` and check, at every call, that the
  target is still our unreaped child.
* A slot uid is used by one run at a time even across slot lock directories (two ``/tmp``'s),
  since the uid sweep kills every process of the uid.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.support.processes import live_processes

from humanevalpack_metric.languages import python as python_language
from humanevalpack_metric.sandbox import Sandbox, SandboxUnavailable, uid_processes

RUNNER = Path(python_language.__file__).with_name("_python_runner.py")


def _unreaped_child(pid: int) -> str | None:
    """None if ``pid`` is a child of ours that has not been reaped, else what it is."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "gone: already reaped, the number is free for reuse"
    if int(stat[1]) != os.getpid():
        return f"not our child (state {stat[0]}, parent {stat[1]}): the number was reused"
    return None


@pytest.fixture
def group_kills(monkeypatch):
    """Every ``os.killpg`` call of this process, with what was wrong with its target (if
    anything) at the moment of the call. Checked before the real call, only on our thread
    (other threads' calls are not the test's)."""
    calls: list[tuple[int, str | None]] = []
    real, me = os.killpg, threading.get_ident()

    def checked(pgid, sig):
        if threading.get_ident() == me:
            calls.append((pgid, _unreaped_child(pgid)))
        return real(pgid, sig)

    monkeypatch.setattr(os, "killpg", checked)
    return calls


def _sandbox(mode: str, **options) -> Sandbox:
    if mode == "bwrap":
        try:
            return Sandbox(mode="bwrap", **options)
        except SandboxUnavailable:
            pytest.skip("bubblewrap cannot create namespaces here")
    with pytest.warns(RuntimeWarning, match="SANDBOX FALLBACK"):
        return Sandbox(mode="rlimit", cgroups=False if mode == "rlimit-nocgroups" else None,
                       **options)


@pytest.mark.parametrize("leaves_a_child", [False, True], ids=["alone", "leaves-a-child"])
@pytest.mark.parametrize("mode", ["rlimit", "rlimit-nocgroups", "bwrap"])
def test_the_sandbox_kills_a_run_s_group_before_reaping_its_leader(mode, leaves_a_child,
                                                                   group_kills):
    """A program that exits at once (alone, or leaving a child behind in its group): the group
    is killed (the child dies with the run) while the leader is a zombie, never after it was
    reaped -- alone, its number would then be free for any new session."""
    sandbox = _sandbox(mode)
    marker = f"octomark{uuid.uuid4().hex[:12]}"
    child = f"sh -c 'sleep 30; true' {marker} & " if leaves_a_child else ""
    with sandbox.workdir() as workdir:
        result = sandbox.run(["/bin/sh", "-c", f"{child}echo started"], workdir, timeout=20)
    assert (result.returncode, result.stdout, result.limit) == (0, "started\n", None)
    assert live_processes(marker) == [], "the program's child outlived the run"
    if mode != "bwrap":  # there the PID namespace's init (a pidfd) is the one that must die
        assert group_kills, "the run's process group was never killed"
    assert [(pgid, wrong) for pgid, wrong in group_kills if wrong] == []


@pytest.fixture(scope="module")
def runner():
    """The Python runner's own code, loaded here to run its functions in this process (the
    sandbox runs it as ``python -I -c``, where nothing can be wrapped)."""
    spec = importlib.util.spec_from_file_location("octopack_python_runner_under_test", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# a program that leaves a process in its group (os.fork is disabled, posix.fork is not)
LEAVES_A_CHILD = ("import posix, time\npid = posix.fork()\nif pid == 0:\n    time.sleep(30)\n"
                  "    posix._exit(0)\nopen({path!r}, 'w').write(str(pid))\n")


@pytest.mark.parametrize("program, status", [
    (LEAVES_A_CHILD, "passed"),
    # outlives its alarm (it catches the exception) and is killed at the runner's deadline
    (LEAVES_A_CHILD + "while True:\n    try:\n        while True:\n            pass\n"
     "    except BaseException:\n        pass\n", "timeout"),
], ids=["exits", "times-out"])
def test_the_python_runner_kills_a_program_s_group_before_reaping_it(runner, group_kills, tmp_path,
                                                                      program, status):
    left = tmp_path / "child.pid"
    response = runner.handle({"program": program.format(path=str(left)), "timeout": 0.2},
                             str(tmp_path / "runs"), False)
    assert response["status"] == status, response
    child = int(left.read_text())
    deadline = time.monotonic() + 5  # it was SIGKILLed; its new parent (init) reaps it
    while _alive(child):
        assert time.monotonic() < deadline, "the program's child outlived the program"
        time.sleep(0.01)
    assert group_kills, "the program's process group was never killed"
    assert [(pgid, wrong) for pgid, wrong in group_kills if wrong] == []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_hung_zygote_is_killed_by_pidfd_and_its_run_ends(group_kills):
    """``_Zygote._kill`` (for a zygote that stopped answering) signals its sandbox run's first
    process through a pidfd, never by number; the sandbox then ends the whole run."""
    sandbox = _sandbox("rlimit")
    language = python_language.Python()
    zygote = python_language._Zygote(sandbox, language._runner_argv(sandbox, "serve"))
    try:
        zygote._kill()
        zygote._thread.join(10)
        assert not zygote._thread.is_alive(), "the zygote's sandbox run did not end"
        assert zygote._result.returncode == -9, zygote._failure()
        assert live_processes(str(zygote.dir)) == []
    finally:
        zygote.close()
        language.close()
    assert [(pgid, wrong) for pgid, wrong in group_kills if wrong] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="slot uids need root")
def test_a_slot_uid_is_not_shared_by_sandboxes_with_different_lock_directories(tmp_path):
    """Two evaluators whose slot locks live in different directories (a chroot's or a private
    ``/tmp``) share the slot uids. The second run waits for the first one's slot instead of
    sweeping its uid -- which would SIGKILL the first run's program."""
    uid = 61500  # a slot of these two sandboxes only
    first, second = (_sandbox("rlimit", uid_base=uid, slots=1, lock_dir=str(tmp_path / name))
                     for name in ("first", "second"))
    results = {}

    def run_first():
        with first.workdir() as workdir:
            results["first"] = first.run(["/bin/sh", "-c", "sleep 1; echo done"], workdir, 20)

    thread = threading.Thread(target=run_first)
    thread.start()
    deadline = time.monotonic() + 10
    while not uid_processes(uid) and thread.is_alive():
        assert time.monotonic() < deadline, "the first run did not start"
        time.sleep(0.01)
    with second.workdir() as workdir:
        results["second"] = second.run(["/bin/sh", "-c", "echo second"], workdir, 20)
    thread.join()
    assert [(r.returncode, r.stdout, r.limit) for r in (results["first"], results["second"])] \
        == [(0, "done\n", None), (0, "second\n", None)]
