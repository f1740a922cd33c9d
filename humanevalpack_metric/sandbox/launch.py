"""How a run's first process starts: with the run's rlimits and, in the fallback mode, as its
slot uid with ``no_new_privs`` (bwrap sets ``no_new_privs`` itself).

Normally the run execs through util-linux's ``prlimit`` (and, in the fallback, ``setpriv``),
so that subprocess can start it with ``vfork``. Without those tools a ``preexec_fn`` does the
same between fork and exec; that forces a full ``fork`` of the caller, which costs tens of
milliseconds in a big evaluator process (page tables, then copy-on-write faults in both).
"""

from __future__ import annotations

import ctypes
import os
import resource
from typing import Callable

from .limits import Limits, cpu_limit
from .procfs import user_tasks
from .slots import drop_privileges

_PR_SET_NO_NEW_PRIVS = 38
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: used by the child setup
_PRLIMIT_NAMES = {resource.RLIMIT_CPU: "cpu", resource.RLIMIT_AS: "as", resource.RLIMIT_DATA: "data",
                  resource.RLIMIT_FSIZE: "fsize", resource.RLIMIT_NOFILE: "nofile",
                  resource.RLIMIT_CORE: "core", resource.RLIMIT_NPROC: "nproc"}

Rlimits = list[tuple[int, int, int]]  # (resource, soft, hard)


def rlimits(limits: Limits, timeout: float, *, root: bool, uid_slots: bool) -> Rlimits:
    """The rlimits of a run. ``RLIMIT_NPROC`` is per uid and ignored for root: with slot uids
    it is the run's process limit; without root, the caller's current task count is added."""
    cpu = cpu_limit(limits, timeout)
    wanted = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL 1 s later
        (resource.RLIMIT_AS, limits.address_space, limits.address_space),
        (resource.RLIMIT_DATA, limits.data, limits.data),
        (resource.RLIMIT_FSIZE, limits.file_size, limits.file_size),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if limits.processes is not None and uid_slots:
        wanted.append((resource.RLIMIT_NPROC, limits.processes, limits.processes))
    elif limits.processes is not None and not root:
        # RLIMIT_NPROC counts all tasks of our uid: leave room for the ones that exist
        nproc = user_tasks(os.getuid()) + limits.processes
        wanted.append((resource.RLIMIT_NPROC, nproc, nproc))
    chosen = []
    for res, soft, hard in wanted:
        if soft is None:
            continue
        ceiling = resource.getrlimit(res)[1]
        if not root and ceiling != resource.RLIM_INFINITY:  # cannot be raised
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        chosen.append((res, soft, hard))
    return chosen


def exec_prefix(limits: Rlimits, prlimit: str, setpriv: str | None, uid: int | None) -> list[str]:
    """The argv prefix that applies ``limits`` and execs the rest; with ``setpriv`` (the
    fallback mode) it also drops to ``uid`` (if given) and sets ``no_new_privs``."""
    prefix = [prlimit, *(f"--{_PRLIMIT_NAMES[res]}={soft}:{hard}" for res, soft, hard in limits), "--"]
    if setpriv:
        prefix += drop_privileges(setpriv, uid) if uid is not None else (setpriv, "--no-new-privs", "--")
    return prefix


def child_setup(limits: Rlimits, uid: int | None) -> Callable[[], None]:
    """A ``preexec_fn`` (used without ``prlimit``): set ``limits``, ``no_new_privs`` and, if
    given, drop to ``uid`` (the fallback mode; bwrap mode drops inside, via setpriv)."""

    def setup() -> None:
        for res, soft, hard in limits:
            resource.setrlimit(res, (soft, hard))
        if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

    return setup
