"""octopack_common: cache dir, lock, atomic files, stamped builds, checked commands, renice."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

import octopack_common
from octopack_common import (
    CommandFailed,
    atomic_open,
    atomic_path,
    cache_dir,
    ensure_built,
    file_lock,
    read_stamp,
    renice,
    run_checked,
    run_git,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


# -- cache dir and lock ---------------------------------------------------------------------------
def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("OCTOPACK_CACHE_DIR", str(tmp_path / "configured"))
    assert cache_dir() == tmp_path / "configured"
    monkeypatch.delenv("OCTOPACK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "octopack"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "octopack"


def _hold_lock(lock, started, seconds):
    with file_lock(lock):
        started.set()
        time.sleep(seconds)


def test_file_lock_excludes_another_process(tmp_path):
    lock = tmp_path / "sub" / "x.lock"
    context = multiprocessing.get_context("fork")
    started = context.Event()
    holder = context.Process(target=_hold_lock, args=(lock, started, 0.5))
    holder.start()
    assert started.wait(10)
    waited = time.monotonic()
    with file_lock(lock):
        waited = time.monotonic() - waited
    holder.join(10)
    assert waited > 0.3  # blocked until the holder let go


# -- atomic files ---------------------------------------------------------------------------------
def test_atomic_writers_replace_whole_files_and_leave_no_temporaries(tmp_path):
    target = tmp_path / "new" / "out.json"
    write_json_atomic(target, {"b": 1, "a": "é"})
    assert target.read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'
    write_json_atomic(target, {"b": 1, "a": 2}, indent=None, sort_keys=False)
    assert target.read_text() == '{"b": 1, "a": 2}\n'
    write_text_atomic(target, "text")
    assert target.read_text() == "text"
    write_bytes_atomic(target, b"\0bytes")
    assert target.read_bytes() == b"\0bytes"
    with atomic_open(target, "w", fsync=False) as handle:
        handle.write("opened")
    assert target.read_text() == "opened"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(target, "a"):
            pass


# -- build once, stamped --------------------------------------------------------------------------
def _slow_build(directory):
    with open(directory.parent / "builds.log", "a") as log:
        log.write("build\n")
    time.sleep(0.5)
    (directory / "artifact").write_text("made")
    return {"artifact": str(directory / "artifact")}


def _prepare(directory, queue):
    queue.put(ensure_built(directory, {"version": 1}, _slow_build))


def test_concurrent_processes_build_once_and_share_the_stamp(tmp_path):
    directory = tmp_path / "cache"
    queue = multiprocessing.get_context("fork").Queue()
    workers = [multiprocessing.get_context("fork").Process(target=_prepare, args=(directory, queue))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    stamps = [queue.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert (tmp_path / "builds.log").read_text() == "build\n"
    assert all(stamp == stamps[0] for stamp in stamps)
    assert stamps[0]["key"] == {"version": 1} and (directory / "artifact").read_text() == "made"


def test_a_new_key_rebuilds_and_a_half_built_directory_is_redone(tmp_path):
    directory = tmp_path / "cache"
    ensure_built(directory, {"version": 1}, _slow_build)
    ensure_built(directory, {"version": 1}, _slow_build)  # fast path: nothing to do
    ensure_built(directory, {"version": 2}, _slow_build)  # toolchain changed
    (directory / "stamp.json").unlink()  # as if a build died before its stamp
    (directory / "leftover").write_text("x")
    stamp = ensure_built(directory, {"version": 2}, _slow_build)
    assert (tmp_path / "builds.log").read_text() == "build\n" * 3
    assert not (directory / "leftover").exists()
    assert read_stamp(directory) == stamp == json.loads((directory / "stamp.json").read_text())


def test_read_stamp_takes_a_name_and_rejects_what_is_not_an_object(tmp_path):
    assert read_stamp(tmp_path) is None
    (tmp_path / "other.json").write_text('{"key": 1}')
    assert read_stamp(tmp_path, "other.json") == {"key": 1}
    for garbage in ("{not json", "[1, 2]"):
        (tmp_path / "stamp.json").write_text(garbage)
        assert read_stamp(tmp_path) is None


# -- trusted host commands ------------------------------------------------------------------------
def test_run_checked_returns_output_and_raises_with_it():
    assert run_checked([sys.executable, "-c", "print('ok')"], "printing").stdout == "ok\n"
    with pytest.raises(CommandFailed) as failed:
        run_checked([sys.executable, "-c", "import sys; print('out'); sys.exit('bad news')"],
                    "the failing step")
    error = failed.value
    assert isinstance(error, RuntimeError) and error.returncode == 1
    assert error.stdout == "out\n" and "bad news" in error.stderr
    assert str(error).startswith("the failing step failed (exit 1): ")
    assert "bad news" in str(error)


def test_run_git_runs_in_the_repository(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert run_git(tmp_path, "rev-parse", "--show-toplevel").stdout.strip() == str(tmp_path)
    with pytest.raises(CommandFailed, match=r"git rev-parse in .* failed"):
        run_git(tmp_path, "rev-parse", "HEAD")  # no commit yet


# -- renice ---------------------------------------------------------------------------------------
def _sleeper() -> subprocess.Popen:
    """``sleep`` in a session (so its own autogroup) of its own; never renice ours."""
    return subprocess.Popen(["sleep", "30"], start_new_session=True)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    members.append(int(entry))
            except OSError:
                continue
    return sorted(members)


def test_renice_sets_the_process_and_its_group():
    # a session leader (a shell, exec'd into sleep) with a second sleep in its process group
    leader = subprocess.Popen(["sh", "-c", "sleep 30 & exec sleep 31"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(_group_members(leader.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        member = next(pid for pid in _group_members(leader.pid) if pid != leader.pid)
        assert renice([leader.pid], 5) == 1
        assert os.getpriority(os.PRIO_PROCESS, leader.pid) == 5
        assert os.getpriority(os.PRIO_PROCESS, member) == 0
        assert renice([leader.pid], 7, group=True) == 1
        assert os.getpriority(os.PRIO_PROCESS, member) == 7
        autogroup = f"/proc/{leader.pid}/autogroup"
        if os.path.exists(autogroup):
            with open(autogroup) as handle:
                assert handle.read().split()[-1] == "7"  # e.g. "/autogroup-123 nice 7"
    finally:
        os.killpg(leader.pid, 9)
        leader.wait()
    assert renice([leader.pid], 19) == 0  # gone: nothing reniced, no error


def test_renice_waits_out_the_autogroup_rate_limit(monkeypatch):
    """Without CAP_SYS_ADMIN the kernel refuses a second autogroup change within 100 ms with
    EAGAIN; ``patience`` retries it (simulated: the first two writes are refused)."""
    refusals, opened = [2], []
    real_open = open

    def rate_limited_open(path, mode="r", *args, **kwargs):
        if str(path).endswith("/autogroup") and "w" in mode:
            opened.append(path)
            if refusals[0]:
                refusals[0] -= 1
                raise BlockingIOError("rate limited")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(octopack_common, "open", rate_limited_open, raising=False)
    child = _sleeper()
    try:
        renice([child.pid], 3, patience=0.0)
        assert len(opened) == 1  # no patience: one refused try
        opened.clear()
        renice([child.pid], 3, patience=1.0)
        assert len(opened) == 2  # refused once more, then written
    finally:
        child.kill()
        child.wait()
