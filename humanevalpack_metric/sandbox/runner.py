"""The :class:`Sandbox`: choosing the isolation this machine allows, and running one untrusted
command under it (see the package docstring for the layers)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import signal
import stat
import subprocess
import time
import uuid
import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence

from . import launch
from .bwrap import Bubblewrap
from .cgroups import shared_cgroups
from .errors import SandboxError, SandboxUnavailable
from .killer import MARKER_VAR, Killer
from .limits import Limits, RunResult, cpu_limit
from .slots import LOCK_DIR, SlotPool, uid_is_free
from .watch import Watch
from .workdirs import MAX_WALK_ENTRIES, fresh_workdir, hand_over, tree_usage, unsearchable_parent

log = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_OWN_TASKS = 3  # the sandbox's processes in a run's pids group, besides the program's
_RUN_IDS = itertools.count()


def fallback_unreachable(path: str | os.PathLike) -> str | None:
    """Why slot uids in the fallback could not reach ``path`` (None when they can). There is no
    mount namespace to bind it into view: they pass through the host's directories, and a parent
    they cannot pass would fail every program that needs ``path`` (a toolchain's cache) -- each
    would score 0 -- so the fallback refuses it, naming the fix. A path not made yet is judged
    by its existing parents."""
    parent = unsearchable_parent(Path(os.path.abspath(path)), hidden=())
    if parent is None:
        return None
    return (f"the sandbox's fallback (no bubblewrap) runs programs as slot uids on the host's files, and "
            f"they cannot reach {path}: {parent} is mode {stat.S_IMODE(os.stat(parent).st_mode):04o}. Put "
            f"octopack's caches where every user can pass, e.g. `export OCTOPACK_CACHE_DIR=/var/cache/octopack` "
            f"and run `octopack toolchains prepare` again; or make bubblewrap work here "
            f"(`apt-get install bubblewrap`, user namespaces allowed)")


class Sandbox:
    """Runs commands isolated from the host and from each other.

    ``ro_binds``: host paths made visible read-only at the same path (toolchains and caches
    under hidden directories such as ``/root``). ``mode``: ``"auto"`` (bwrap if it works, else
    the fallback with a warning), ``"bwrap"`` (or raise :class:`SandboxUnavailable`) or
    ``"rlimit"`` (the fallback, with a warning). ``uid_slots``: run as per-slot uids (default:
    when root). ``slots``: how many slot uids ``uid_base .. uid_base+slots-1`` exist.
    ``cgroups``: use writable cgroups (default: when available). ``hidden``: extra host
    directories to cover with an empty tmpfs. ``demote_fraction``: a run still going after this
    share of its timeout drops to idle CPU priority (priority.py) so that a program looping
    until its timeout cannot slow down the others; it keeps its deadline. None: never.
    """

    HIDDEN = ("/root", "/home", "/run", "/tmp", "/var/tmp")

    def __init__(
        self,
        ro_binds: Sequence[str | os.PathLike] = (),
        mode: str = "auto",
        *,
        uid_slots: bool | None = None,
        slots: int = 64,
        uid_base: int = 60000,
        cgroups: bool | None = None,
        hidden: Sequence[str] = (),
        lock_dir: str = LOCK_DIR,
        demote_fraction: float | None = 0.5,
    ):
        if mode not in ("auto", "bwrap", "rlimit"):
            raise ValueError(f"unknown sandbox mode {mode!r}: use 'auto', 'bwrap' or 'rlimit'")
        if demote_fraction is not None and not 0 < demote_fraction <= 1:
            raise ValueError(f"demote_fraction must be in (0, 1] or None, got {demote_fraction}")
        self.demote_fraction = demote_fraction
        self.ro_binds = [os.path.abspath(p) for p in ro_binds]
        self.hidden = tuple(h for h in (*self.HIDDEN, *hidden) if os.path.isdir(h))
        self.root = os.geteuid() == 0
        self.uid_slots = self.root if uid_slots is None else uid_slots
        if self.uid_slots and not self.root:
            raise SandboxUnavailable("uid_slots needs root (to switch to the slot uids)")
        self.bwrap = shutil.which("bwrap")
        self.setpriv = shutil.which("setpriv")
        self.prlimit = shutil.which("prlimit")
        self._bubblewrap = Bubblewrap(self.bwrap, self.setpriv, self.uid_slots, self.hidden,
                                      self.ro_binds)
        self.mode = "rlimit"
        if mode != "rlimit":
            reason = self._bubblewrap.unavailable()
            if reason is None:
                self.mode = "bwrap"
            elif mode == "bwrap":
                raise SandboxUnavailable(
                    f"bubblewrap cannot isolate here ({reason}): install it with "
                    "`apt-get install bubblewrap` and allow user namespaces, or use mode='rlimit'"
                )
            else:
                self._warn_fallback(reason)
        else:
            self._warn_fallback("mode='rlimit' requested")
        # start runs by exec'ing through prlimit (and setpriv), not a preexec_fn: see launch.py
        self._launch_by_exec = bool(self.prlimit) and (self.mode == "bwrap" or bool(self.setpriv))
        self._slots = SlotPool(uid_base, slots, lock_dir, self.setpriv) if self.uid_slots else None
        if self._slots:
            taken = [u for u in range(uid_base, uid_base + slots) if not uid_is_free(u)]
            if taken:
                raise SandboxUnavailable(f"slot uids {taken} belong to real accounts; pick another uid_base")
        self._cgroups = shared_cgroups() if (cgroups is None or cgroups) and self.root else None
        if cgroups and not (self._cgroups and self._cgroups.limiting):
            raise SandboxUnavailable("no writable cgroup v1 pids/memory hierarchy found")
        self._check_ro_binds()

    # -- set-up ------------------------------------------------------------------------------
    def _warn_fallback(self, reason: str) -> None:
        message = (
            f"SANDBOX FALLBACK ({reason}): untrusted programs run with resource limits and a "
            "process group only -- no filesystem, network or PID isolation"
            + ("; slot uids still contain and kill them." if self.uid_slots else
               "; they run as YOUR user and can read your files and signal your processes.")
            + " Install `bubblewrap` for real isolation."
        )
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        log.warning(message)

    def _check_ro_binds(self) -> None:
        for path in self.ro_binds:
            if not os.path.exists(path):
                raise SandboxError(f"ro_bind {path} does not exist")
            if not self.uid_slots:
                continue
            if self.mode == "rlimit" and (problem := fallback_unreachable(path)) is not None:
                raise SandboxUnavailable(problem)
            mode = os.stat(path).st_mode
            need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
            if mode & need != need:
                log.warning("sandbox: %s is not world-readable; slot uids cannot read it "
                            "(use make_world_readable)", path)

    # -- work directories ----------------------------------------------------------------------
    def workdir(self, base: str | os.PathLike | None = None) -> contextlib.AbstractContextManager[Path]:
        """A fresh empty work directory, removed afterwards (reachable by slot uids)."""
        return fresh_workdir(base)

    # -- command construction -------------------------------------------------------------------
    def _command(self, argv: Sequence[str], workdir: Path, env: Mapping[str, str], uid: int | None,
                 limits: Limits, timeout: float, info_fd: int | None
                 ) -> tuple[list[str], Callable[[], None] | None]:
        """The command line that runs ``argv`` with its rlimits, and the ``preexec_fn`` needed
        without ``prlimit`` (see launch.py). In bwrap mode, bwrap reports the host pid of the
        sandbox's init process on ``info_fd``."""
        chosen = launch.rlimits(limits, timeout, root=self.root, uid_slots=self.uid_slots)
        wrapped = list(argv)
        if self.mode == "bwrap":
            wrapped = self._bubblewrap.command(argv, workdir, env, uid, limits, info_fd)
            uid = None  # it drops to the slot uid inside the sandbox
        if not self._launch_by_exec:
            return wrapped, launch.child_setup(chosen, uid)
        setpriv = self.setpriv if self.mode != "bwrap" else None
        return launch.exec_prefix(chosen, self.prlimit, setpriv, uid) + wrapped, None

    # -- running ---------------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        workdir: str | os.PathLike,
        timeout: float,
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        *,
        slot: int | None = None,
    ) -> RunResult:
        """Run ``argv`` in ``workdir`` (its only writable host path) and return what happened.

        Everything the program started is dead when this returns. ``env`` is the program's
        complete environment apart from defaults for PATH, HOME, TMPDIR and LANG. ``slot``
        selects the slot uid (see the package docstring); thread-safe."""
        limits = limits or Limits()
        workdir = Path(workdir).resolve()
        if not workdir.is_dir():
            raise SandboxError(f"work dir {workdir} does not exist")
        env = {"PATH": DEFAULT_PATH, "HOME": str(workdir), "TMPDIR": str(workdir),
               "LANG": "C.UTF-8", **(env or {})}
        lease = self._slots.acquire(slot) if self._slots else None
        uid = lease.uid if lease else None
        marker = None
        if uid is None and self.mode != "bwrap":
            marker = uuid.uuid4().hex
            env[MARKER_VAR] = marker
        group = f"run-{next(_RUN_IDS)}"
        kill = Killer(in_namespace=self.mode == "bwrap", uid=uid, marker=marker,
                      cgroups=self._cgroups, group=group, setpriv=self.setpriv)
        info = None  # read end of bwrap's --info-fd pipe
        try:
            if uid is not None:
                slot_uids = range(self._slots.uid_base, self._slots.uid_base + self._slots.count)
                hand_over(workdir, uid, slot_uids, self.hidden if self.mode == "bwrap" else ())
            groups, ooms = self._cgroups.prepare(group, limits, _OWN_TASKS) if self._cgroups else ({}, 0)
            guards = self._guards(limits, workdir, group, ooms)
            info, info_w = os.pipe() if self.mode == "bwrap" else (None, None)
            start = time.monotonic()
            try:
                cmd, setup = self._command(argv, workdir, env, uid, limits, timeout, info_w)
                with self._cgroups.hosting(groups) if groups else contextlib.nullcontext():
                    proc = subprocess.Popen(
                        cmd,
                        cwd=workdir,
                        env=env if self.mode != "bwrap" else {"PATH": DEFAULT_PATH},
                        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        preexec_fn=setup,
                        start_new_session=True,
                        pass_fds=() if info_w is None else (info_w,),
                    )
            except (FileNotFoundError, PermissionError) as exc:  # fallback mode: bad argv[0]
                return RunResult(127 if isinstance(exc, FileNotFoundError) else 126, "",
                                 f"sandbox: cannot execute {argv[0]}: {exc}", False,
                                 time.monotonic() - start)
            finally:
                if info_w is not None:
                    os.close(info_w)
            kill.proc = proc
            demote_at = start + timeout * self.demote_fraction if self.demote_fraction else None
            watch = Watch(proc, stdin, limits, timeout, start, guards, kill, info, demote_at)
            info = None  # the watch closes it
            try:
                watch.loop()
            finally:
                kill.everything(final=True)
                status, own_cpu = watch.reap()  # only now: the group's id was reserved till here
            cpu = self._cgroups.cpu_seconds(group) if self._cgroups else None
            if cpu is None:  # the rusage of what we reaped: in bwrap mode, only bwrap itself
                cpu = own_cpu if self.mode != "bwrap" else 0.0
            return self._result(watch, status, cpu, limits, timeout, start,
                                self._cgroups.oom_kills(group) > ooms if self._cgroups else False)
        finally:
            if info is not None:
                os.close(info)
            kill.close()
            if self._cgroups:
                self._cgroups.remove(group)
            if lease:
                lease.release()

    def _guards(self, limits: Limits, workdir: Path, group: str, ooms: int) -> list:
        """Checks polled while the program runs; each returns the name of a hit limit or None."""
        guards = []
        if limits.disk is not None:
            def disk() -> str | None:
                used, entries = tree_usage(workdir)
                return "disk" if used > limits.disk or entries > MAX_WALK_ENTRIES else None
            guards.append(disk)
        if self._cgroups and "memory" in self._cgroups.roots:
            # the OOM killer picks one victim; we end the whole run instead
            guards.append(lambda: "memory" if self._cgroups.oom_kills(group) > ooms else None)
        return guards

    def _result(self, watch: Watch, status: int, cpu: float, limits: Limits, timeout: float,
                start: float, oom: bool) -> RunResult:
        code = os.waitstatus_to_exitcode(status)
        if self.mode == "bwrap" and 128 < code <= 128 + 64:
            code = -(code - 128)  # bwrap reports a child killed by signal N as 128 + N
        limit = watch.limit
        if limit is None and code == -signal.SIGXCPU:
            limit = "cpu"
        if limit is None and oom:
            limit = "memory"
        # the hard CPU limit kills with SIGKILL; the run's CPU time bounds any one process's
        if limit is None and code == -signal.SIGKILL and cpu >= cpu_limit(limits, timeout) - 0.05:
            limit = "cpu"
        timed_out = limit in ("timeout", "cpu")
        return RunResult(
            returncode=None if timed_out else code,
            stdout=watch.text(1),
            stderr=watch.text(2),
            timed_out=timed_out,
            duration=time.monotonic() - start,
            truncated=watch.truncated,
            limit=limit,
            cpu_time=cpu,
            demoted=watch.demoted,
        )

