"""A local OpenAI-compatible endpoint: ``transformers serve`` on a model directory, in its own
process group, for pipelines (the default teacher of ``octopack run``) and tests.

:func:`start_openai_server` launches ``transformers serve <model_dir> --host 127.0.0.1 --port <free>
--device cpu`` in its own process group, with the Hub switched off (``HF_HUB_OFFLINE=1``) and
``HF_HOME``/``HF_HUB_CACHE`` pointing at existing directories under ``workdir`` (``GET /v1/models``
answers 500 when the hub cache directory does not exist). The model directory is passed as the
forced model, so it is loaded before ``/health`` answers and the first request does not pay for
loading; the name clients must send is that same path (:attr:`OpenAIServer.model`), any other name
gets a 400. Needs the ``serve`` extra (``transformers[serving]``).

The process plumbing is generic (:func:`start_server_process`, :func:`stop_process_group`): waiting
for a health URL with a bounded timeout, surfacing the server log when it does not come up,
retrying on a lost race for the port, and killing the whole process group (children included) on
stop. ``tests/support/openai_server.py`` re-exports this module for the test fixtures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Startup is 6-9 s on an idle machine; a loaded 2-core CI box can take several times that.
STARTUP_TIMEOUT = 180.0
STOP_TIMEOUT = 15.0
LOG_TAIL_CHARS = 6000


class ServerStartError(RuntimeError):
    """The server exited or did not answer its health check in time; the message has its log."""


@dataclass
class OpenAIServer:
    """A running ``transformers serve``: point an ``openai.OpenAI`` client at :attr:`base_url`."""

    base_url: str  #: ``http://127.0.0.1:<port>/v1``
    model: str  #: the model name to send (the served model directory)
    process: subprocess.Popen
    log_path: Path

    @property
    def root_url(self) -> str:
        """The server root (``/health`` lives here, the OpenAI routes under ``/v1``)."""
        return self.base_url.removesuffix("/v1")

    def client(self, **kwargs):
        """An ``openai.OpenAI`` client for this server (dummy key, no retries, 120 s timeout)."""
        import openai

        options = {"api_key": "unused", "max_retries": 0, "timeout": 120.0}
        options.update(kwargs)
        return openai.OpenAI(base_url=self.base_url, **options)

    def log(self) -> str:
        """The server's combined stdout/stderr so far."""
        return read_log(self.log_path)

    def stop(self) -> None:
        """Stop the server and every process in its group; raise if any survive."""
        stop_process_group(self.process)


def start_openai_server(
    model_dir: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    *,
    timeout: float = STARTUP_TIMEOUT,
    attempts: int = 3,
    die_with_parent: bool = False,
) -> OpenAIServer:
    """Serve ``model_dir`` on a free localhost port and wait until ``/health`` answers.

    ``workdir`` (an existing directory) receives the log and the empty HF home/cache. Raises
    :class:`ServerStartError` with the log if the server dies or stays unhealthy for ``timeout``
    seconds; a start that lost its port to another process is retried up to ``attempts`` times.
    With ``die_with_parent`` the server gets SIGTERM when this process dies, even by SIGKILL (a
    pipeline killed mid-run leaves no server behind).
    """
    workdir = Path(workdir)
    model = str(Path(model_dir).resolve())
    env = server_env(workdir / "hf-home")
    for attempt in range(1, attempts + 1):
        port = free_port()
        root_url = f"http://127.0.0.1:{port}"
        log_path = workdir / f"transformers-serve-{attempt}.log"
        try:
            process = start_server_process(
                serve_command(model, port),
                health_url=f"{root_url}/health",
                env=env,
                log_path=log_path,
                timeout=timeout,
                die_with_parent=die_with_parent,
            )
        except ServerStartError:
            if attempt < attempts and "address already in use" in read_log(log_path).lower():
                continue
            raise
        return OpenAIServer(
            base_url=f"{root_url}/v1", model=model, process=process, log_path=log_path
        )
    raise AssertionError("unreachable")


def serve_command(model: str, port: int) -> list[str]:
    """The ``transformers serve`` command line, run with this interpreter's transformers."""
    return [
        sys.executable, "-m", "transformers.cli.transformers", "serve", model,
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "info",
    ]  # fmt: skip


def server_env(hf_home: Path) -> dict[str, str]:
    """This environment minus any Hub settings, offline, with an existing empty HF home/cache."""
    hub_cache = hf_home / "hub"
    hub_cache.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))
    }
    env.update(
        HF_HUB_OFFLINE="1",
        HF_HOME=str(hf_home),
        HF_HUB_CACHE=str(hub_cache),
        HF_HUB_DISABLE_TELEMETRY="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller may lose the race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server_process(
    command: Sequence[str],
    *,
    health_url: str,
    env: Mapping[str, str] | None = None,
    log_path: Path,
    timeout: float,
    die_with_parent: bool = False,
) -> subprocess.Popen:
    """Start ``command`` in a new process group, logging to ``log_path``, and wait for health.

    Returns once ``GET health_url`` answers 200. If the process exits first, or ``timeout``
    seconds pass, the group is killed and :class:`ServerStartError` carries the log's tail.
    """
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if _is_healthy(health_url):
            return process
        code = process.poll()
        if code is not None or time.monotonic() > deadline:
            problem = (
                f"exited with code {code}"
                if code is not None
                else f"did not answer {health_url} within {timeout:.0f} s"
            )
            stop_process_group(process, check=False)
            raise ServerStartError(
                f"server {problem} after {time.monotonic() - started:.1f} s\n"
                f"command: {' '.join(command)}\n"
                f"--- log ({log_path}) ---\n{read_log(log_path)[-LOG_TAIL_CHARS:]}"
            )
        time.sleep(0.2)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process_group(
    process: subprocess.Popen, *, timeout: float = STOP_TIMEOUT, check: bool = True
) -> None:
    """SIGTERM the process's group, SIGKILL whatever is left after ``timeout``, reap the leader.

    With ``check`` (the default), raise ``RuntimeError`` if any process of the group is still
    alive afterwards.
    """
    group = process.pid  # start_new_session=True made the leader's pid the group id
    _signal_group(group, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    while group_members(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_members(group) or process.poll() is None:
        _signal_group(group, signal.SIGKILL)
        process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.1)
    survivors = group_members(group)
    if check and survivors:
        raise RuntimeError(f"processes {survivors} of group {group} survived SIGKILL")


def group_members(group: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``group``, read from ``/proc``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state not in ("Z", "X"):
            members.append(int(entry.name))
    return sorted(members)


def read_log(log_path: Path) -> str:
    """The log's text, or a note that there is none."""
    try:
        return log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log written)"


def _signal_group(group: int, sig: signal.Signals) -> None:
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass


#: Talks to localhost directly even when the environment sets an HTTP proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _is_healthy(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
