"""Slot uids: the unprivileged uids ``uid_base + i`` that runs execute as when we are root.

A slot is held exclusively across threads *and* processes through an ``flock`` on a per-uid
lock file. A slot uid must not belong to a real account, because leftovers are found and
killed by uid: :func:`kill_uid` SIGKILLs every process of a uid in one atomic pass.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pwd
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


class Lease:
    """Exclusive use of one slot uid, held through an ``flock`` on a per-uid lock file."""

    def __init__(self, index: int, uid: int, fd: int):
        self.index, self.uid, self._fd = index, uid, fd

    def release(self) -> None:
        if self._fd >= 0:
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
            fd = self._open(self.uid_base + slot)
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another thread/process uses the slot
            lease = Lease(slot, self.uid_base + slot, fd)
            return self._fresh(lease) if sweep else lease
        while True:  # from the top: explicit slots (worker indices) are usually the low ones
            for index in reversed(range(self.count)):
                fd = self._open(self.uid_base + index)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return self._fresh(Lease(index, self.uid_base + index, fd))
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
