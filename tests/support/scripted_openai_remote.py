"""The scripted OpenAI-compatible server (``scripted_openai.py``) in a process of its own, for
benchmarks whose client must not share a GIL with the server's threads.

``python -m tests.support.scripted_openai_remote --latency 0.2 --capacity 16`` serves the echo
script, prints its ``base_url`` as the first line of stdout and serves until SIGTERM.
:class:`RemoteScriptedServer` starts it and reads what it received through the server's
``/scripted/requests``, ``/scripted/stats`` and ``/scripted/reset`` routes.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.scripted_openai import ScriptedOpenAIServer


class RemoteScriptedServer:
    """A scripted server (echo script) in a subprocess; ``with RemoteScriptedServer(latency=0.2,
    capacity=16) as server:`` then ``server.base_url``, ``requests()``, ``stats()``,
    ``reset()``."""

    def __init__(self, latency: float = 0.0, capacity: int | None = None):
        command = [sys.executable, "-m", "tests.support.scripted_openai_remote", "--latency",
                   str(latency)]
        if capacity:
            command += ["--capacity", str(capacity)]
        self._command = command
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> "RemoteScriptedServer":
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(self._command, cwd=root, stdout=subprocess.PIPE, text=True)
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            self.process.kill()
            raise RuntimeError(f"the scripted server did not start: {self.base_url!r}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()

    def _call(self, path: str, method: str = "GET") -> Any:
        root = self.base_url.removesuffix("/v1")
        request = urllib.request.Request(root + path, method=method, data=b"{}" if method == "POST" else None)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        return self._call("/scripted/requests")

    def stats(self) -> dict[str, int]:
        return self._call("/scripted/stats")

    def reset(self) -> None:
        self._call("/scripted/reset", "POST")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the echo script until SIGTERM.")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--capacity", type=int, default=None)
    args = parser.parse_args(argv)
    server = ScriptedOpenAIServer(latency=args.latency, capacity=args.capacity).start()
    print(server.base_url, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
