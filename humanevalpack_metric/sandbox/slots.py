"""Slot uids: the unprivileged uids ``uid_base + i`` that runs execute as when we are root.

A slot is held exclusively across threads *and* processes through an ``flock`` on a per-uid
lock file, and across file systems by binding an abstract unix socket named after the uid (see
:func:`_claim`). A slot uid must not belong to a real account, because leftovers are found and
killed by uid: :func:`kill_uid` SIGKILLs every process of a uid in one atomic pass.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pwd
import socket
import subprocess
import threading
import time

from .errors import SandboxError
from .procfs import uid_processes

log = logging.getLogger(__name__)

LOCK_DIR = "/tmp/octopack-sandbox"
PROBE_UID = 65533  # never a slot; only used to check that dropping privileges works

# Run by the kill helper. It checks its own real uid first, with shell builtins only: run as
# root by mistake, ``kill -9 -1`` would kill every process on the machine.
_KILL_ALL = ('while read -r key uid _; do [ "$key" = Uid: ] && break; done < /proc/self/status; '
             '[ "$uid" = {uid} ] || exit 3; kill -9 -1 2>/dev/null; echo killed')


def uid_is_free(uid: int) -> bool:
    """A slot uid must not belong to a real account (we kill every process it owns)."""
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return True
    return False


def drop_privileges(setpriv: str, uid: int) -> tuple[str, ...]:
    """The ``setpriv`` argv prefix that runs a command as ``uid``: no groups, no capabilities
    (not even inheritable or in the bounding set), ``no_new_privs``."""
    return (setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--")


def _claim(uid: int) -> socket.socket | None:
    """Claim ``uid`` beyond our lock directory: bind the abstract unix socket
    ``octopack-sandbox-slot-<uid>``; None if another process holds it.

    The lock files are only as shared as ``/tmp``: a chroot (a fresh-machine check) or a
    service's private ``/tmp`` has its own, yet shares the uids -- and the uid sweep kills every
    process of a uid, so two such evaluators on one slot SIGKILL each other's runs (exit -9, no
    limit). An abstract socket's name is shared by every process of the network namespace,
    whatever its root or ``/tmp``, and is freed when its holder exits. (A fallback-mode program
    could hold a free slot's name until its own run is killed; bwrap runs have no access.)"""
    claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # close-on-exec by default
    try:
        claim.bind(f"\0octopack-sandbox-slot-{uid}")
    except OSError:  # EADDRINUSE: another evaluator (or a squatter) holds it
        claim.close()
        return None
    return claim


class Lease:
    """Exclusive use of one slot uid, held through an ``flock`` on a per-uid lock file and a
    bound abstract socket (``claim``)."""

    def __init__(self, index: int, uid: int, fd: int, claim: socket.socket):
        self.index, self.uid, self._fd, self._claim = index, uid, fd, claim

    def release(self) -> None:
        if self._fd >= 0:
            self._claim.close()
            os.close(self._fd)  # closing drops the flock
            self._fd = -1


class SlotPool:
    """Hands out slot uids ``uid_base + i``; exclusive across threads and processes.
    ``setpriv`` (if given) lets the leftover sweep start its helper without a fork."""

    def __init__(self, uid_base: int, count: int, lock_dir: str, setpriv: str | None = None):
        self.uid_base, self.count, self.lock_dir, self.setpriv = uid_base, count, lock_dir, setpriv
        os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        self._swept: set[int] = set()
        self._lock = threading.Lock()

    def _open(self, uid: int) -> int:
        return os.open(os.path.join(self.lock_dir, f"slot-{uid}.lock"), os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, slot: int | None, sweep: bool = True) -> Lease:
        if slot is not None:
            if not 0 <= slot < self.count:
                raise SandboxError(f"slot {slot} out of range 0..{self.count - 1}")
            uid = self.uid_base + slot
            fd = self._open(uid)
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another thread/process uses the slot
            while (claim := _claim(uid)) is None:  # ... or one with another /tmp
                time.sleep(0.02)
            lease = Lease(slot, uid, fd, claim)
            return self._fresh(lease) if sweep else lease
        while True:  # from the top: explicit slots (worker indices) are usually the low ones
            for index in reversed(range(self.count)):
                uid = self.uid_base + index
                fd = self._open(uid)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                claim = _claim(uid)
                if claim is None:
                    os.close(fd)
                    continue
                return self._fresh(Lease(index, uid, fd, claim))
            time.sleep(0.02)

    def _fresh(self, lease: Lease) -> Lease:
        """On first use of a uid in this process, kill leftovers of an earlier crashed run."""
        with self._lock:
            first = lease.uid not in self._swept
            self._swept.add(lease.uid)
        if first:
            kill_uid(lease.uid, setpriv=self.setpriv)
        return lease


def kill_uid(uid: int, patience: float = 2.0, setpriv: str | None = None) -> bool:
    """SIGKILL every process of ``uid`` from a helper running as that uid; True if none remain.

    ``kill(-1)`` reaches all processes the sender may signal (same uid, any PID namespace) in
    one atomic pass, so a fork bomb cannot outrun it. Its result says nothing (it succeeds
    whenever any other process exists), so we check ``/proc`` (zombies are fine) and repeat
    if needed."""
    if uid == 0:
        raise ValueError("refusing to kill every process of root")
    deadline = time.monotonic() + patience
    while True:
        _signal_all(uid, setpriv)
        if not uid_processes(uid):
            return True
        if time.monotonic() > deadline:
            log.error("sandbox: processes of uid %d survive SIGKILL: %s", uid, uid_processes(uid))
            return False
        time.sleep(0.01)


def _signal_all(uid: int, setpriv: str | None) -> None:
    """Run ``kill -9 -1`` as ``uid``. Through ``setpriv`` the helper starts with vfork;
    subprocess's ``user=`` would fork the whole caller."""
    script = _KILL_ALL.format(uid=uid)
    if setpriv:
        argv, switch = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "/bin/sh",
                        "-c", script], {}
    else:
        argv, switch = ["/bin/sh", "-c", script], {"user": uid, "group": uid, "extra_groups": []}
    done = subprocess.run(argv, env={"PATH": "/usr/bin:/bin"}, cwd="/", stdin=subprocess.DEVNULL,
                          capture_output=True, **switch)
    if done.stdout.strip() != b"killed":
        raise SandboxError(f"the kill helper for uid {uid} failed (exit {done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()}")
