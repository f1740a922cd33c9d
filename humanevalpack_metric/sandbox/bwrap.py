"""bubblewrap command lines: the namespaces and mounts of a run, and whether they work here.

As root, bwrap runs privileged (no user namespace, so it can bind toolchains from under the
0700 ``/root``) and the command drops to its slot uid inside the sandbox with ``setpriv``.
Without root, bwrap creates a user namespace (and, where supported, forbids nested ones).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Mapping, Sequence

from .limits import MiB, Limits
from .slots import PROBE_UID, drop_privileges

_PROBES: dict[tuple, bool] = {}  # command -> whether it ran (cached per process)


def _probe(cmd: tuple[str, ...]) -> bool:
    if cmd not in _PROBES:
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=10, cwd="/")
            _PROBES[cmd] = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _PROBES[cmd] = False
    return _PROBES[cmd]


class Bubblewrap:
    """Builds the bwrap command line of a run for one sandbox configuration.

    ``hidden``: directories covered with an empty tmpfs; ``ro_binds``: host paths shown
    read-only at the same place; ``uid_slots``: privileged bwrap plus ``setpriv``."""

    def __init__(self, path: str | None, setpriv: str | None, uid_slots: bool,
                 hidden: Sequence[str], ro_binds: Sequence[str]):
        self.path, self.setpriv, self.uid_slots = path, setpriv, uid_slots
        self.hidden, self.ro_binds = tuple(hidden), tuple(ro_binds)
        self._extra: tuple[str, ...] = ()  # options the unprivileged probe found to work

    def unavailable(self) -> str | None:
        """None if bwrap isolates as configured here, else why not."""
        if not self.path:
            return "bwrap not installed"
        base = (self.path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--die-with-parent")
        if self.uid_slots:
            if not self.setpriv:
                return "setpriv (util-linux) is needed to drop to slot uids inside bwrap"
            cmd = base + self._namespaces() + ("--", *drop_privileges(self.setpriv, PROBE_UID), "true")
            return None if _probe(cmd) else "privileged bwrap + setpriv failed"
        for extra in (("--unshare-user", "--disable-userns"), ()):
            if _probe(base + ("--unshare-all", *extra, "true")):
                self._extra = extra
                return None
        return "cannot create namespaces (user namespaces disabled?)"

    def _namespaces(self) -> tuple[str, ...]:
        if self.uid_slots:  # privileged bwrap: no user namespace, so the slot uid stays real
            return ("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                    "--cap-add", "CAP_SETPCAP")
        return ("--unshare-all", *self._extra)

    def command(self, argv: Sequence[str], workdir: Path, env: Mapping[str, str], uid: int | None,
                limits: Limits, info_fd: int | None = None) -> list[str]:
        """The command line that runs ``argv`` in ``workdir`` (as ``uid``, if given) with exactly
        ``env``; bwrap reports the host pid of the sandbox's init process on ``info_fd``."""
        cmd = [self.path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        if info_fd is not None:
            cmd += ["--info-fd", str(info_fd)]
        for hidden in self.hidden:
            writable = hidden in ("/tmp", "/var/tmp")
            size = limits.tmpfs_size if writable else MiB
            cmd += ["--perms", "1777" if writable else "0755", "--size", str(size), "--tmpfs", hidden]
        cmd += ["--perms", "1777", "--size", str(limits.tmpfs_size), "--tmpfs", "/dev/shm"]
        cmd += self._hidden_parents(workdir)
        for path in self.ro_binds:
            cmd += ["--ro-bind", path, path]
        cmd += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir), *self._namespaces(),
                "--die-with-parent", "--new-session", "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        cmd.append("--")
        if uid is not None:
            cmd += drop_privileges(self.setpriv, uid)
        return cmd + list(argv)

    def _hidden_parents(self, workdir: Path) -> list[str]:
        """``--dir`` arguments that create, as 0755, the parents of the binds and the work dir
        that lie in a hidden tmpfs (bwrap would create them 0700: untraversable for a slot uid).
        """
        hidden = [Path(h) for h in self.hidden]
        binds = [Path(b) for b in self.ro_binds]
        parents = set()
        for path in [*binds, workdir]:
            for parent in path.parents:
                in_tmpfs = any(h in parent.parents for h in hidden)
                in_bind = any(b == parent or b in parent.parents for b in binds)
                if in_tmpfs and not in_bind:
                    parents.add(parent)
        ordered = sorted(parents, key=lambda p: len(p.parts))
        return [arg for p in ordered for arg in ("--perms", "0755", "--dir", str(p))]
