"""Adversarial tests of the sandbox: each asserts the outcome *and* that nothing escaped.

Most tests run in both modes (``bwrap`` and the ``rlimit`` fallback). Programs are small shell,
Python (``/usr/bin/python3``, or the interpreter under ``sys.base_prefix`` bound in read-only)
and C snippets. Leftover processes are found through a unique marker in their command line and
through the slot uid.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.processes import live_processes
from tests.support.sandbox_probes import cpu_time_source, limiting_cgroups, slot_leftovers

from humanevalpack_metric import sandbox as sandbox_module
from humanevalpack_metric.sandbox import (
    GiB,
    MiB,
    Limits,
    Sandbox,
    SandboxUnavailable,
    uid_processes,
)

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0

if os.access("/usr/bin/python3", os.X_OK):
    PYTHON, PYTHON_BINDS = "/usr/bin/python3", []
else:  # the running interpreter; its prefix may live under a hidden directory such as /root
    PYTHON, PYTHON_BINDS = os.path.join(sys.base_prefix, "bin", "python3"), [sys.base_prefix]


def _bwrap_ok() -> bool:
    try:
        Sandbox(ro_binds=PYTHON_BINDS, mode="bwrap")
    except SandboxUnavailable:
        return False
    return True


BWRAP = _bwrap_ok()


@pytest.fixture(scope="module", params=["bwrap", "rlimit", "rlimit-nocgroups"])
def sandbox(request) -> Sandbox:
    """Both modes; the fallback also without cgroups, where only the slot uid (or the
    environment marker) finds escaped processes."""
    if request.param == "bwrap":
        if not BWRAP:
            pytest.skip("bubblewrap cannot create namespaces here")
        return Sandbox(ro_binds=PYTHON_BINDS, mode="bwrap")
    with pytest.warns(RuntimeWarning, match="SANDBOX FALLBACK"):
        return Sandbox(ro_binds=PYTHON_BINDS, mode="rlimit", cgroups=None if request.param == "rlimit" else False)


@pytest.fixture(scope="module")
def bwrap_sandbox() -> Sandbox:
    if not BWRAP:
        pytest.skip("bubblewrap cannot create namespaces here")
    return Sandbox(ro_binds=PYTHON_BINDS, mode="bwrap")


@pytest.fixture
def workdir(sandbox):
    with sandbox.workdir() as path:
        yield path


@pytest.fixture
def marker() -> str:
    return f"octomark{uuid.uuid4().hex[:12]}"


def protected(sandbox: Sandbox) -> bool:
    """False only for the fallback without root, where programs run as the caller's uid."""
    return sandbox.mode == "bwrap" or sandbox.uid_slots


def live_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker``."""
    return [pid for pid, _ in live_processes(marker)]


def assert_nothing_left(sandbox: Sandbox, marker: str, slot: int | None = None) -> None:
    assert live_with(marker) == [], f"processes with marker {marker} survived"
    if slot is not None and sandbox.uid_slots:
        assert slot_leftovers(sandbox, slot) == [], "processes of the slot uid survived"


def py(code: str) -> list[str]:
    return [PYTHON, "-c", textwrap.dedent(code)]


# -- basics ---------------------------------------------------------------------------------------
def test_slot_uids_are_the_default_exactly_as_root(sandbox):
    assert sandbox.uid_slots == IS_ROOT


def test_runs_in_workdir_with_clean_environment(sandbox, workdir, monkeypatch):
    monkeypatch.setenv("OCTOPACK_TEST_SECRET", "s3cr3t-token-value")
    (workdir / "in.txt").write_text("payload\n")
    res = sandbox.run(
        ["sh", "-c", f"pwd; cat in.txt; env; cat /proc/{os.getpid()}/environ; echo out > new.txt"],
        workdir, timeout=10, env={"EXTRA": "1"},
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == str(workdir) and lines[1] == "payload"
    assert f"HOME={workdir}" in lines and "EXTRA=1" in lines
    assert "s3cr3t" not in res.stdout + res.stderr
    assert (workdir / "new.txt").read_text() == "out\n"
    assert not res.timed_out and not res.truncated and res.limit is None


def test_stdin_round_trip_large(sandbox, workdir):
    data = os.urandom(3 * MiB)
    res = sandbox.run(["wc", "-c"], workdir, timeout=10, stdin=data)
    assert res.returncode == 0 and res.stdout.strip() == str(len(data))
    # a program that ignores a big stdin must not deadlock the feeder
    res = sandbox.run(["true"], workdir, timeout=10, stdin=data)
    assert res.returncode == 0 and not res.timed_out


def test_exit_codes_and_signals(sandbox, workdir):
    assert sandbox.run(["sh", "-c", "exit 3"], workdir, timeout=10).returncode == 3
    res = sandbox.run(["sh", "-c", "kill -SEGV $$"], workdir, timeout=10)
    assert res.returncode == -signal.SIGSEGV and res.signal == signal.SIGSEGV
    res = sandbox.run(["no-such-program-octopack"], workdir, timeout=10)
    assert res.returncode not in (0, None)


def test_home_and_host_tmp_hidden(sandbox, workdir, tmp_path):
    home_sentinel = Path.home() / f".octopack-sentinel-{uuid.uuid4().hex[:8]}"
    home_sentinel.write_text("home secret")
    tmp_sentinel = tmp_path / "tmp-secret.txt"
    tmp_sentinel.write_text("tmp secret")
    try:
        res = sandbox.run(
            ["sh", "-c", f"ls -a {Path.home()}; cat {home_sentinel} {tmp_sentinel}; ls /tmp"],
            workdir, timeout=10,
        )
        assert "secret" not in res.stdout
        if protected(sandbox):
            assert home_sentinel.name not in res.stdout
        if sandbox.mode == "bwrap":
            assert tmp_path.parts[2] not in res.stdout.split()  # e.g. pytest-of-root
    finally:
        home_sentinel.unlink()


def test_cannot_write_or_delete_outside_workdir(sandbox, workdir, tmp_path):
    if not protected(sandbox):
        pytest.skip("the fallback without root runs programs as the caller")
    targets = [tmp_path / "sentinel.txt", Path.home() / f".octopack-sentinel-{uuid.uuid4().hex[:8]}"]
    for target in targets:
        target.write_text("original")
    stamps = [t.stat().st_mtime_ns for t in targets]
    etc_probe = Path(f"/etc/octopack-pwned-{uuid.uuid4().hex[:8]}")
    script = "; ".join(
        f"echo pwned >> {t}; rm -f {t}; mv {t} {t}.moved" for t in targets
    ) + f"; touch {etc_probe}; mkdir /usr/octopack-pwned; echo done"
    try:
        res = sandbox.run(["sh", "-c", script], workdir, timeout=10)
        assert res.stdout.strip() == "done"
        for target, stamp in zip(targets, stamps):
            assert target.read_text() == "original" and target.stat().st_mtime_ns == stamp
        assert not etc_probe.exists() and not Path("/usr/octopack-pwned").exists()
    finally:
        targets[1].unlink(missing_ok=True)


def test_deep_ro_bind_under_hidden_dir_is_readable(tmp_path):
    """A toolchain bound from deep inside a hidden directory (``~/.pyenv/versions/x``) is
    reachable: bwrap's own parents would be 0700, the sandbox creates them 0755."""
    if not BWRAP:
        pytest.skip("bubblewrap cannot create namespaces here")
    top = Path.home() / f".octopack-test-{uuid.uuid4().hex[:8]}"
    tool = top / "versions" / "1.0"
    tool.mkdir(parents=True)
    (tool / "tool.txt").write_text("toolchain\n")
    sandbox_module.make_world_readable(top)
    try:
        sb = Sandbox(ro_binds=[tool, *PYTHON_BINDS], mode="bwrap")
        with sb.workdir() as wd:
            res = sb.run(["cat", str(tool / "tool.txt")], wd, timeout=10)
            assert res.stdout == "toolchain\n", res.stderr
            res = sb.run(["sh", "-c", f"echo x > {tool}/new"], wd, timeout=10)
            assert res.returncode != 0 and not (tool / "new").exists()
    finally:
        shutil.rmtree(top)


def test_symlink_planted_in_workdir_is_not_followed(sandbox, workdir):
    if not sandbox.uid_slots:
        pytest.skip("work dirs are only re-owned with slot uids")
    before = os.stat("/etc/passwd")
    res = sandbox.run(["sh", "-c", "ln -s /etc/passwd pw; ln -s /etc d; mkdir sub; ln -s /etc sub/e"],
                      workdir, timeout=10)
    assert res.returncode == 0, res.stderr
    sandbox.run(["true"], workdir, timeout=10, slot=7)  # re-owning the tree for another slot
    after = os.stat("/etc/passwd")
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)
    assert os.stat("/etc").st_uid == 0


# -- time -----------------------------------------------------------------------------------------
def test_infinite_loop_times_out_fast(sandbox, workdir, marker):
    res = sandbox.run(["sh", "-c", f"while :; do :; done # {marker}"], workdir, timeout=0.5, slot=1)
    assert res.timed_out and res.returncode is None and res.limit == "timeout"
    assert res.duration < 2.5
    assert_nothing_left(sandbox, marker, slot=1)


def test_cpu_limit_counts_as_timeout(sandbox, workdir, marker):
    res = sandbox.run(["sh", "-c", f"while :; do :; done # {marker}"], workdir, timeout=20,
                      limits=Limits(cpu_seconds=1))
    assert res.timed_out and res.limit == "cpu"
    assert res.duration < 10
    assert_nothing_left(sandbox, marker)


def test_sigterm_ignoring_daemons_die_with_the_run(sandbox, workdir, marker):
    code = f"""
        import os, signal, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:          # double-forked daemon, still holding stdout
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                while True:
                    time.sleep(1)  # {marker}
            os._exit(0)
        if os.fork() == 0:              # a daemon that detaches from the output pipes
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            while True:
                time.sleep(1)
        time.sleep(0.2)
        print("main done")
    """
    res = sandbox.run(py(code), workdir, timeout=10, slot=2)
    assert res.returncode == 0 and res.stdout == "main done\n", res.stderr
    assert res.duration < 5, "the run waited for its daemons"
    assert_nothing_left(sandbox, marker, slot=2)


def test_background_shell_job_killed(sandbox, workdir, marker):
    res = sandbox.run(["sh", "-c", f"(trap '' TERM HUP; sleep 1000; : {marker}) & echo started"],
                      workdir, timeout=10, slot=3)
    assert res.returncode == 0 and res.stdout == "started\n"
    assert_nothing_left(sandbox, marker, slot=3)


def test_killing_the_parent_does_not_hurt_the_caller(sandbox, workdir, marker):
    if not protected(sandbox):
        pytest.skip("the fallback without root cannot protect the caller")
    res = sandbox.run(["sh", "-c", f"kill -9 $PPID; kill -9 -1; echo after; sleep 0.2 # {marker}"],
                      workdir, timeout=10, slot=4)
    assert isinstance(res.returncode, int) and not res.timed_out
    res = sandbox.run(py(f"import os, signal; os.kill(os.getppid(), signal.SIGKILL)  # {marker}"),
                      workdir, timeout=10, slot=4)
    assert res.returncode is not None
    assert sandbox.run(["echo", "still here"], workdir, timeout=10).stdout == "still here\n"
    assert_nothing_left(sandbox, marker, slot=4)


def test_cpu_time_is_the_programs(sandbox, workdir):
    """``cpu_time`` counts the program and its children (here a grandchild of the sandbox that
    burns 0.3 s of CPU), not only the launcher; where it cannot be measured it is 0.0."""
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    res = sandbox.run(["sh", "-c", f"{PYTHON} -c '{burn}'; echo done"], workdir, timeout=20)
    assert res.returncode == 0 and res.stdout == "done\n", res.stderr
    source = cpu_time_source(sandbox)
    assert source in ("cgroup", "rusage", None)
    if source is None:
        assert res.cpu_time == 0.0
    else:
        assert 0.3 <= res.cpu_time < res.duration * (os.cpu_count() or 1) + 0.1, res


def test_limits_without_prlimit(sandbox, workdir, monkeypatch):
    """Without util-linux's ``prlimit`` (and ``setpriv``) to exec through, the forked child
    sets the rlimits (and, in the fallback, drops to the slot uid) itself."""
    monkeypatch.setattr(sandbox, "_launch_by_exec", False)
    res = sandbox.run(["sh", "-c", "ulimit -t; ulimit -n; id -u"], workdir, timeout=10,
                      limits=Limits(cpu_seconds=7, open_files=99))
    cpu, files, uid = res.stdout.split()
    assert (cpu, files) == ("7", "99"), res
    assert (60000 <= int(uid) < 60064) if sandbox.uid_slots else int(uid) == os.geteuid()


def test_bwrap_run_ends_with_its_namespace(bwrap_sandbox, monkeypatch, marker):
    """The fast path: a bwrap run is over once its PID namespace's init has exited -- no uid
    sweep (a helper process plus a /proc scan) and no sleeping -- and nothing survives it."""
    from humanevalpack_metric.sandbox import killer

    with bwrap_sandbox.workdir() as wd:
        bwrap_sandbox.run(["true"], wd, timeout=10, slot=11)  # a slot's first use sweeps it
        calls = []
        real_sleep = time.sleep
        monkeypatch.setattr(killer, "kill_uid", lambda *args, **kwargs: calls.append(args) or True)
        monkeypatch.setattr(time, "sleep", lambda seconds: calls.append(seconds) or real_sleep(seconds))
        res = bwrap_sandbox.run(["sh", "-c", f"(trap '' TERM HUP; sleep 1000; : {marker}) & echo ok"],
                                wd, timeout=10, slot=11)
    assert res.returncode == 0 and res.stdout == "ok\n", res
    assert calls == []
    assert_nothing_left(bwrap_sandbox, marker, slot=11)


def test_uid_sweep_helper_checks_its_uid(monkeypatch):
    """``kill -9 -1`` must only ever run as the slot uid: the helper checks its own uid first,
    and root is refused outright."""
    if not IS_ROOT:
        pytest.skip("slot uids need root")
    from humanevalpack_metric.sandbox import slots

    with pytest.raises(ValueError):
        slots.kill_uid(0)
    # the helper runs as 60012 but is told to expect 600121: it must refuse, not kill
    monkeypatch.setattr(slots, "_KILL_ALL", slots._KILL_ALL.replace("{uid}", "{uid}1"))
    for setpriv in (shutil.which("setpriv"), None):
        with pytest.raises(sandbox_module.SandboxError, match="kill helper"):
            slots.kill_uid(60012, setpriv=setpriv)


# -- processes, memory, disk, output -------------------------------------------------------------
@pytest.mark.slow
def test_fork_bomb_is_contained(sandbox, workdir, marker):
    if not sandbox.uid_slots and not limiting_cgroups(sandbox):
        pytest.skip("no per-run process limit without slot uids or cgroups")
    limits = Limits(processes=64)
    peak = []

    def watch():
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            peak.append(len(uid_processes(60005)) if sandbox.uid_slots else len(live_with(marker)))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    res = sandbox.run(["sh", "-c", f"f() {{ f | f & }}; f; sleep 100 # {marker}"], workdir,
                      timeout=3, limits=limits, slot=5)
    watcher.join()
    assert time.monotonic() - started < 8
    assert res.timed_out or res.returncode != 0
    assert max(peak) <= 64 + 8
    t0 = time.monotonic()
    subprocess.run(["true"], check=True)  # the machine still forks promptly
    assert time.monotonic() - t0 < 1
    assert_nothing_left(sandbox, marker, slot=5)


def test_process_limit(sandbox, workdir):
    if not sandbox.uid_slots and not limiting_cgroups(sandbox):
        pytest.skip("no per-run process limit without slot uids or cgroups")
    res = sandbox.run(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 0.3 & done; wait"],
                      workdir, timeout=10, limits=Limits(processes=6))
    assert "fork" in res.stderr.lower() or "resource temporarily unavailable" in res.stderr.lower()


@pytest.mark.parametrize(
    "limits",
    [Limits(address_space=512 * MiB), Limits.managed(data=256 * MiB)],
    ids=["address_space", "data"],
)
def test_memory_bomb_fails_cleanly(sandbox, workdir, limits):
    code = """
        chunks = []
        while True:
            chunks.append(b"x" * (32 << 20))
    """
    res = sandbox.run(py(code), workdir, timeout=20, limits=limits)
    assert res.returncode != 0 and not res.timed_out
    assert "MemoryError" in res.stderr
    assert res.duration < 10


@pytest.mark.slow
def test_memory_bomb_with_default_limits_keeps_the_machine_responsive(sandbox, workdir, marker):
    code = f"""
        chunks = []                 # fills memory page by page up to the 4 GiB default
        while True:
            chunks.append(b"x" * (64 << 20))  # {marker}
    """
    res = sandbox.run(py(code), workdir, timeout=30)
    assert res.returncode != 0 and not res.timed_out
    assert "MemoryError" in res.stderr or res.limit == "memory"
    t0 = time.monotonic()
    subprocess.run(["true"], check=True)
    assert time.monotonic() - t0 < 1
    assert_nothing_left(sandbox, marker)


def test_cgroup_memory_limit_kills_whole_run(sandbox, workdir, marker):
    code = f"""
        import os
        for _ in range(3):
            os.fork()               # 8 processes, each well under any per-process limit
        data = b"x" * (64 << 20)    # 8 x 64 MiB > 256 MiB for the whole run
        import time; time.sleep(5)  # {marker}
    """
    res = sandbox.run(py(code), workdir, timeout=20, limits=Limits(memory=256 * MiB))
    if "memory" in limiting_cgroups(sandbox):
        assert res.limit == "memory" and res.returncode != 0
    else:  # documented: without a memory cgroup only per-process limits bound a run
        assert res.limit is None and res.returncode == 0
    assert_nothing_left(sandbox, marker)


def test_big_file_is_cut_at_file_size(sandbox, workdir):
    res = sandbox.run(["sh", "-c", "head -c 100000000 /dev/zero > big; echo rc=$?"], workdir,
                      timeout=20, limits=Limits(file_size=8 * MiB))
    assert "rc=0" not in res.stdout
    assert (workdir / "big").stat().st_size <= 8 * MiB


@pytest.mark.slow
def test_disk_filler_is_stopped(sandbox, workdir):
    script = "i=0; while :; do head -c 4000000 /dev/zero > f$i || exit 9; i=$((i+1)); done"
    res = sandbox.run(["sh", "-c", script], workdir, timeout=30,
                      limits=Limits(file_size=4 * MiB, disk=64 * MiB))
    assert res.limit == "disk" and res.returncode != 0 and not res.timed_out
    used = sum(p.stat().st_size for p in workdir.iterdir())
    assert 64 * MiB < used < 2 * GiB


def test_private_tmp_is_size_limited(bwrap_sandbox):
    with bwrap_sandbox.workdir() as wd:
        res = bwrap_sandbox.run(["sh", "-c", "head -c 100000000 /dev/zero > /tmp/fill; ls -l /tmp/fill"],
                                wd, timeout=20, limits=Limits(tmpfs_size=16 * MiB))
    assert "No space left" in res.stderr
    assert not Path("/tmp/fill").exists()


def test_huge_output_truncated_and_killed(sandbox, workdir, marker):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = sandbox.run(["sh", "-c", f"yes octopack-output-{marker}"], workdir, timeout=20, slot=6)
    assert res.truncated and res.limit == "output" and not res.timed_out
    assert len(res.stdout.encode()) == Limits().output
    assert res.duration < 5
    res = sandbox.run(py("import sys\nwhile True: sys.stderr.write('e' * 65536)"), workdir,
                      timeout=20, limits=Limits(output=1000))
    assert res.truncated and res.limit == "output" and len(res.stderr) == 1000
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64 * 1024  # KiB
    assert_nothing_left(sandbox, marker, slot=6)


def test_output_a_little_over_the_cap_is_only_truncated(sandbox, workdir):
    res = sandbox.run(["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a; exit 0"], workdir,
                      timeout=10, limits=Limits(output=100000))
    assert res.returncode == 0 and res.truncated and res.limit is None
    assert res.stdout == "a" * 100000


def test_no_network(bwrap_sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    code = f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=2)
            print("connected")
        except OSError as exc:
            print("blocked", exc)
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("resolved")
        except OSError as exc:
            print("no dns", exc)
    """
    with bwrap_sandbox.workdir() as wd:
        res = bwrap_sandbox.run(py(code), wd, timeout=10)
    assert "blocked" in res.stdout and "connected" not in res.stdout and "resolved" not in res.stdout
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


# -- slots and concurrency -------------------------------------------------------------------------
def test_concurrent_slots_do_not_interfere(sandbox):
    def job(index: int):
        with sandbox.workdir() as wd:
            if index == 3:
                return sandbox.run(["sh", "-c", "while :; do :; done"], wd, timeout=0.5, slot=index)
            script = f"echo {index} > mine; sleep 0.3; cat mine; id -u; ls"
            return sandbox.run(["sh", "-c", script], wd, timeout=10, slot=index)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(job, range(4)))
    assert results[3].timed_out
    uids = set()
    for index, res in enumerate(results[:3]):
        lines = res.stdout.split()
        assert res.returncode == 0 and lines[0] == str(index) and lines[2:] == ["mine"], res
        uids.add(lines[1])
    if sandbox.uid_slots:
        assert uids == {"60000", "60001", "60002"}


def test_same_slot_is_exclusive(sandbox):
    if not sandbox.uid_slots:
        pytest.skip("slots need root")
    with sandbox.workdir() as wd1, sandbox.workdir() as wd2:
        start = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(sandbox.run, ["sleep", "0.3"], wd, 10, slot=9) for wd in (wd1, wd2)]
            results = [job.result() for job in jobs]
            assert all(res.returncode == 0 for res in results), results
        assert time.monotonic() - start >= 0.6


def test_any_free_slot_when_none_given(sandbox, workdir):
    res = sandbox.run(["id", "-u"], workdir, timeout=10)
    uid = int(res.stdout)
    assert (60000 <= uid < 60064) if sandbox.uid_slots else uid == os.geteuid()


# -- mode selection --------------------------------------------------------------------------------
def test_missing_bwrap_falls_back_loudly(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        Sandbox(mode="bwrap")
    with pytest.warns(RuntimeWarning, match="SANDBOX FALLBACK"):
        fallback = Sandbox(mode="auto")
    assert fallback.mode == "rlimit"


def test_fallback_work_dir_reachability(tmp_path):
    """Private temp parents (mkdtemp's 0700) get o+x; other unsearchable parents are refused."""
    if not IS_ROOT:
        pytest.skip("slot uids need root")
    with pytest.warns(RuntimeWarning):
        fallback = Sandbox(mode="rlimit")
    private = tmp_path / "private"
    (private / "wd").mkdir(parents=True)
    os.chmod(private, 0o700)
    assert fallback.run(["pwd"], private / "wd", timeout=5).stdout.strip() == str(private / "wd")
    assert os.stat(private).st_mode & 0o777 == 0o701
    outside = Path.home() / f".octopack-test-{uuid.uuid4().hex[:8]}"
    (outside / "wd").mkdir(parents=True)
    try:
        with pytest.raises(sandbox_module.SandboxError, match="Sandbox.workdir"):
            fallback.run(["true"], outside / "wd", timeout=5)
    finally:
        shutil.rmtree(outside)


def test_fallback_refuses_a_read_only_path_slot_uids_cannot_reach(tmp_path):
    """Without bubblewrap nothing binds a toolchain cache into view: a parent the slot uids
    cannot pass (root's 0700 home, say) would fail every Go/Rust program, so the fallback
    refuses it, naming the parent and the fix; our private temp parents get o+x instead."""
    if not IS_ROOT:
        pytest.skip("slot uids need root")
    private = Path.home() / f".octopack-test-{uuid.uuid4().hex[:8]}"
    (private / "cache").mkdir(parents=True)
    os.chmod(private, 0o700)
    try:
        with pytest.warns(RuntimeWarning), pytest.raises(SandboxUnavailable) as refused:
            Sandbox(ro_binds=[private / "cache"], mode="rlimit")
        assert f"{private} is mode 0700" in str(refused.value)
        assert "OCTOPACK_CACHE_DIR" in str(refused.value)
        if BWRAP:  # bwrap binds it into a fresh tmpfs: nothing to refuse
            Sandbox(ro_binds=[private / "cache"], mode="bwrap")
    finally:
        shutil.rmtree(private)
    temp_private = tmp_path / "private"
    (temp_private / "cache").mkdir(parents=True)
    (temp_private / "cache" / "lib.txt").write_text("toolchain\n")
    os.chmod(temp_private, 0o700)
    with pytest.warns(RuntimeWarning):
        fallback = Sandbox(ro_binds=[temp_private / "cache"], mode="rlimit")
    with fallback.workdir() as wd:
        result = fallback.run(["cat", str(temp_private / "cache" / "lib.txt")], wd, timeout=5)
    assert (result.returncode, result.stdout) == (0, "toolchain\n")


@pytest.mark.toolchain
def test_c_daemon_that_hides_from_proc_is_killed(sandbox, workdir, marker):
    if not shutil.which("cc"):
        pytest.skip("no C compiler")
    (workdir / "evil.c").write_text(textwrap.dedent(f"""
        #include <signal.h>
        #include <stdio.h>
        #include <sys/prctl.h>
        #include <unistd.h>
        int main(void) {{
            if (fork() == 0) {{
                setsid();
                if (fork() == 0) {{
                    signal(SIGTERM, SIG_IGN); signal(SIGHUP, SIG_IGN);
                    prctl(PR_SET_DUMPABLE, 0);      /* /proc/<pid> now looks root-owned */
                    char *argv[] = {{"sleep", "1000", "{marker}", NULL}};
                    execv("/bin/sleep", argv);
                }}
                _exit(0);
            }}
            puts("parent exits");
            return 0;
        }}
    """))
    subprocess.run(["cc", "-o", str(workdir / "evil"), str(workdir / "evil.c")], check=True)
    res = sandbox.run(["./evil"], workdir, timeout=10, slot=8)
    assert res.returncode == 0 and res.stdout == "parent exits\n"
    assert_nothing_left(sandbox, marker, slot=8)


@pytest.mark.slow
def test_unprivileged_caller_gets_bwrap():
    """A non-root caller (uid 60100 via setpriv): bwrap with a user namespace, and the fallback,
    both kill the whole tree; RLIMIT_NPROC (with headroom for the caller's tasks) stops a bomb."""
    if not IS_ROOT or not BWRAP or not shutil.which("setpriv") or not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("needs root (to switch uid), bwrap, setpriv and /usr/bin/python3")
    marker = f"octomark{uuid.uuid4().hex[:12]}"
    script = textwrap.dedent(f"""
        import json, time, warnings
        from humanevalpack_metric.sandbox import Limits, Sandbox
        warnings.simplefilter("ignore")
        daemon = ["sh", "-c", "(trap '' TERM; sleep 1000; : {marker}) & echo ok"]
        bomb = ["sh", "-c", "f() {{ f | f & }}; f; sleep 100 # {marker}"]
        out = {{}}
        for mode in ("bwrap", "rlimit"):
            sb = Sandbox(mode=mode)
            with sb.workdir() as wd:
                out[mode] = {{
                    "slots": sb.uid_slots,
                    "daemon": sb.run(daemon, wd, 10).stdout,
                    "loop": sb.run(["sh", "-c", "while :; do :; done"], wd, 1).timed_out,
                    "uid": sb.run(["id", "-u"], wd, 10).stdout.strip(),
                }}
                if mode == "bwrap":
                    out[mode]["ppid"] = sb.run(["sh", "-c", "kill -9 $PPID; echo x"], wd, 10).returncode is not None
                    started = time.monotonic()
                    sb.run(bomb, wd, 2, limits=Limits(processes=32))
                    out[mode]["bomb_s"] = round(time.monotonic() - started)
        print(json.dumps(out))
    """)
    proc = subprocess.run(
        ["setpriv", "--reuid=60100", "--regid=60100", "--clear-groups", "/usr/bin/python3", "-c", script],
        capture_output=True, text=True, timeout=60, cwd="/", env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    common = {"slots": False, "daemon": "ok\n", "loop": True, "uid": "60100"}
    assert out["rlimit"] == common  # the fallback finds escaped processes by their marker
    assert out["bwrap"] == {**common, "ppid": True, "bomb_s": out["bwrap"]["bomb_s"]}
    assert out["bwrap"]["bomb_s"] < 6
    assert live_with(marker) == []


# -- demotion ----------------------------------------------------------------------------------
SPIN = """
    import os, time
    os.sched_setaffinity(0, {{{cpu}}})  # both runs on one CPU: they compete for it
    start = time.monotonic()
    counts = [0, 0]
    while (now := time.monotonic() - start) < {seconds}:
        if now < 1.5:
            counts[0] += 1
        elif now > 2.5:
            counts[1] += 1
    print(os.getpriority(os.PRIO_PROCESS, 0), counts[0] / 1.5, counts[1] / ({seconds} - 2.5))
"""


def test_a_run_past_its_demotion_point_yields_the_cpu(sandbox):
    """Two loops share one CPU; the run whose timeout is short is demoted at 2 s (a quarter of
    8 s) and from then on gets a small share, the other keeps running at full priority."""
    demoting = Sandbox(ro_binds=PYTHON_BINDS, mode=sandbox.mode, cgroups=sandbox._cgroups is not None,
                       demote_fraction=0.25)
    cpu = min(os.sched_getaffinity(0))

    def spin(seconds: float, timeout: float, slot: int):
        with demoting.workdir() as wd:
            return demoting.run(py(SPIN.format(cpu=cpu, seconds=seconds)), wd, timeout=timeout,
                                slot=slot)

    with ThreadPoolExecutor(2) as pool:
        short = pool.submit(spin, 4.0, 8.0, 5)
        long = pool.submit(spin, 4.5, 60.0, 6)
        demoted, kept = short.result(), long.result()
    nice, before, after = map(float, demoted.stdout.split())
    assert demoted.returncode == 0 and demoted.demoted and nice == 19
    assert after < 0.3 * before, demoted.stdout
    kept_nice, _, kept_after = map(float, kept.stdout.split())
    assert not kept.demoted and kept_nice == 0 and kept_after > 3 * after, (kept.stdout, after)
    with pytest.raises(ValueError, match="demote_fraction"):
        Sandbox(mode=sandbox.mode, demote_fraction=0)


def test_demote_and_promote_set_the_process_and_its_autogroup(tmp_path):
    from humanevalpack_metric.sandbox.priority import demote, promote

    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        autogroup = Path(f"/proc/{child.pid}/autogroup")
        assert demote([child.pid]) == 1 and os.getpriority(os.PRIO_PROCESS, child.pid) == 19
        if autogroup.exists():  # kernels with sched_autogroup
            assert autogroup.read_text().strip().endswith("nice 19")
        if IS_ROOT:  # raising a process's priority again needs CAP_SYS_NICE
            assert promote([child.pid]) == 1 and os.getpriority(os.PRIO_PROCESS, child.pid) == 0
        if autogroup.exists():
            promote([child.pid])
            assert autogroup.read_text().strip().endswith("nice 0")
    finally:
        child.kill()
        child.wait()


def test_a_demoted_run_is_promoted_before_it_is_killed(sandbox, workdir, marker, monkeypatch):
    """Dying needs the CPU: a run at nice 19 on a busy machine could take seconds to exit."""
    from humanevalpack_metric.sandbox import killer as killer_module

    seen = []
    real_promote = killer_module.promote

    def promote(pids):
        pids = list(pids)
        seen.append(sorted(os.getpriority(os.PRIO_PROCESS, pid) for pid in pids))
        return real_promote(pids)

    monkeypatch.setattr(killer_module, "promote", promote)
    demoting = Sandbox(ro_binds=PYTHON_BINDS, mode=sandbox.mode, demote_fraction=0.25,
                       cgroups=sandbox._cgroups is not None)
    res = demoting.run(["sh", "-c", f"while :; do :; done # {marker}"], workdir, timeout=2.0)
    assert res.timed_out and res.demoted
    assert seen and 19 in seen[0], seen
    assert_nothing_left(demoting, marker)
