"""Run the dev hub: a background-thread server for tests and pipelines, or ``octopack hub serve``."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path

from hub_cards.dev_hub.handler import HubRequestHandler
from hub_cards.dev_hub.store import DEFAULT_BRANCH, DEFAULT_NAMESPACE, HubStore, Repo

TOKEN_FILE = "dev-hub-token"


class HubHTTPServer(ThreadingHTTPServer):
    """The socket server; carries the store and what the handlers record."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: HubStore,
                 log: Callable[[str], None] | None = None):
        super().__init__(address, HubRequestHandler)
        self.store = store
        self.log = log
        self.errors: list[str] = []  # tracebacks of unexpected server exceptions
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status), in order

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # a client that went away (killed mid-upload) is not a server error
        super().handle_error(request, client_address)

    def record(self, method: str, path: str, status: int) -> None:
        self.requests.append((method, path, status))
        if self.log is not None:
            self.log(f"{status} {method} {path}")

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class HubServer:
    """A dev hub in a background thread: ``start()``, use ``endpoint``, ``stop()`` (or ``with``).

    ``tokens`` maps accepted tokens to user names; ``None`` accepts any non-empty token as
    ``namespace`` (see :class:`~hub_cards.dev_hub.store.HubStore`).
    """

    def __init__(self, root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0,
                 namespace: str = DEFAULT_NAMESPACE, tokens: dict[str, str] | None = None,
                 log: Callable[[str], None] | None = None):
        store = HubStore(Path(root), namespace, tokens)
        self._httpd = HubHTTPServer((host, port), store, log)
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return self._httpd.endpoint

    @property
    def root(self) -> Path:
        return self._httpd.store.root

    @property
    def namespace(self) -> str:
        return self._httpd.store.namespace

    @property
    def errors(self) -> list[str]:
        return self._httpd.errors

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        return self._httpd.requests

    def reset(self, root: str | os.PathLike) -> None:
        """Serve an empty hub stored under ``root`` from now on; forget recorded requests and errors."""
        with self._httpd.store.lock:
            self._httpd.store.root = Path(root)
        self._httpd.errors.clear()
        self._httpd.requests.clear()

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        """Direct access to a stored repo, for assertions that bypass HTTP."""
        return self._httpd.store.get(repo_type, repo_id)

    def read_file(self, repo_id: str, path: str, repo_type: str = "model", revision: str = DEFAULT_BRANCH) -> bytes:
        repo = self.repo(repo_id, repo_type)
        entry = repo.manifest(repo.resolve(revision))[path]
        return repo.content_path(entry).read_bytes()

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="dev-hub", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (what ``octopack hub serve`` does)."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def client_env(endpoint: str, token: str, hf_home: str | os.PathLike | None = None) -> dict[str, str]:
    """The environment that points huggingface_hub, datasets, transformers and evaluate at a hub.

    ``HF_HUB_DISABLE_XET=1`` because the dev hub speaks plain LFS only;
    ``HF_UPDATE_DOWNLOAD_COUNTS=0`` stops ``evaluate.load`` from pinging the public download counter.
    With ``hf_home``, the caches (hub, datasets, evaluate modules) live there instead of ``~/.cache``.
    Set it before those libraries are imported: they read it at import time.
    """
    env = {"HF_ENDPOINT": endpoint, "HF_TOKEN": token, "HF_HUB_DISABLE_XET": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_UPDATE_DOWNLOAD_COUNTS": "0"}
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)
    return env


def root_token(root: Path) -> str:
    """The access token of the hub stored under ``root``: made once, kept in ``root/dev-hub-token``."""
    path = root / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    from octopack_common import write_text_atomic

    token = f"hf_dev_{secrets.token_hex(16)}"
    write_text_atomic(path, token + "\n")
    return token


def serve(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 8900, token: str | None = None,
          namespace: str = DEFAULT_NAMESPACE, log: bool = False, out=sys.stdout) -> int:
    """Serve the hub stored under ``root`` until Ctrl-C or SIGTERM (a clean stop either way,
    even when started with SIGINT ignored, as background jobs are), after printing the
    environment to export."""
    root = Path(root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    token = token or root_token(root)
    printer = (lambda line: print(line, file=sys.stderr, flush=True)) if log else None
    server = HubServer(root, host, port, namespace, tokens={token: namespace}, log=printer)
    print(f"octopack dev hub on {server.endpoint}, repositories under {root} (user {namespace}).", file=out)
    print("Point the Hugging Face libraries at it (before starting Python):", file=out)
    for name, value in client_env(server.endpoint, token).items():
        print(f"export {name}={value}", file=out)
    out.flush()
    if threading.current_thread() is threading.main_thread():
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0
