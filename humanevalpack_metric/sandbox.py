"""Run one untrusted command in isolation.

``bubblewrap`` gives each run no network, a read-only view of the system, a private writable
work directory and its own PID namespace (everything in it dies with the run). Where namespaces
are unavailable we fall back to resource limits + a process group, with a loud warning.
Resource limits (CPU time, address space, file size) and output caps apply in both modes.
"""

from __future__ import annotations

import os
import resource
import selectors
import shutil
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """Per-run resource limits. ``None`` disables a limit."""

    cpu_seconds: float | None = None  # defaults to the wall timeout + 1 s
    address_space: int | None = 4 * GiB
    file_size: int | None = 64 * MiB
    processes: int | None = 256
    output: int = 64 * 1024  # bytes kept per stream; the rest is drained and dropped


@dataclass
class RunResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    truncated: bool = False


class SandboxUnavailable(RuntimeError):
    pass


def _bwrap_works(bwrap: str) -> bool:
    try:
        proc = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all",
             "--die-with-parent", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


class Sandbox:
    """Runs commands isolated from the host and from each other.

    ``ro_binds`` are host paths made visible read-only (toolchain caches that live under hidden
    directories such as ``$HOME``); the work directory of each run is the only writable path.
    """

    HIDDEN = ("/root", "/home", "/run", "/tmp", "/var/tmp")

    def __init__(self, ro_binds: Sequence[str | os.PathLike] = (), mode: str = "auto"):
        self.ro_binds = [str(p) for p in ro_binds]
        self.bwrap = shutil.which("bwrap")
        if mode not in ("auto", "bwrap", "rlimit"):
            raise ValueError(f"unknown sandbox mode {mode!r}: use 'auto', 'bwrap' or 'rlimit'")
        if mode in ("auto", "bwrap") and self.bwrap and _bwrap_works(self.bwrap):
            self.mode = "bwrap"
        elif mode == "bwrap":
            raise SandboxUnavailable(
                "bubblewrap is missing or cannot create namespaces here: install it with "
                "`apt-get install bubblewrap` (or run with sandbox mode 'rlimit')"
            )
        else:
            warnings.warn(
                "bubblewrap is not available: untrusted programs run with resource limits and a "
                "process group only (no filesystem or network isolation). Install `bubblewrap`.",
                RuntimeWarning,
                stacklevel=2,
            )
            self.mode = "rlimit"

    # -- command construction -------------------------------------------------------------
    def _wrap(self, argv: Sequence[str], workdir: Path, env: Mapping[str, str]) -> list[str]:
        if self.mode != "bwrap":
            return list(argv)
        cmd = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for hidden in self.HIDDEN:
            if os.path.isdir(hidden):
                cmd += ["--tmpfs", hidden]
        for path in self.ro_binds:
            cmd += ["--ro-bind", path, path]
        cmd += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir),
                "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return cmd + ["--", *argv]

    def run(
        self,
        argv: Sequence[str],
        workdir: str | os.PathLike,
        timeout: float,
        limits: Limits = Limits(),
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> RunResult:
        workdir = Path(workdir)
        env = dict(env or {})
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.setdefault("HOME", str(workdir))
        env.setdefault("TMPDIR", str(workdir))
        cmd = self._wrap(argv, workdir, env)
        cpu = limits.cpu_seconds if limits.cpu_seconds is not None else timeout + 1

        def preexec() -> None:
            os.setsid()
            if cpu:
                resource.setrlimit(resource.RLIMIT_CPU, (int(cpu) + 1, int(cpu) + 2))
            if limits.address_space:
                resource.setrlimit(resource.RLIMIT_AS, (limits.address_space,) * 2)
            if limits.file_size:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size,) * 2)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env if self.mode != "bwrap" else {"PATH": env["PATH"]},
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=preexec,
        )
        if stdin is not None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        out, err, truncated, timed_out = self._collect(proc, timeout, limits.output, start)
        self._kill_group(proc)
        proc.wait()
        return RunResult(
            returncode=None if timed_out else proc.returncode,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            timed_out=timed_out,
            duration=time.monotonic() - start,
            truncated=truncated,
        )

    @staticmethod
    def _collect(proc, timeout, cap, start):
        buffers = {proc.stdout: bytearray(), proc.stderr: bytearray()}
        truncated = False
        timed_out = False
        with selectors.DefaultSelector() as sel:
            for stream in buffers:
                sel.register(stream, selectors.EVENT_READ)
            while sel.get_map():
                remaining = timeout - (time.monotonic() - start)
                if remaining <= 0:
                    timed_out = True
                    break
                for key, _ in sel.select(remaining):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    buf = buffers[key.fileobj]
                    room = cap - len(buf)
                    if room > 0:
                        buf += chunk[:room]
                    if len(chunk) > room:
                        truncated = True
        if not timed_out:
            try:
                proc.wait(max(0.0, timeout - (time.monotonic() - start)))
            except subprocess.TimeoutExpired:
                timed_out = True
        for stream in buffers:
            stream.close()
        return bytes(buffers[proc.stdout]), bytes(buffers[proc.stderr]), truncated, timed_out

    @staticmethod
    def _kill_group(proc) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
