"""HTTP plumbing of the dev hub's request handler: bodies, answers, errors, authentication."""

from __future__ import annotations

import hashlib
import json
import traceback
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from hub_cards.dev_hub.store import URL_PREFIXES, HubError, HubStore, Repo

if TYPE_CHECKING:
    from hub_cards.dev_hub.server import HubHTTPServer


class HandlerBase(BaseHTTPRequestHandler):
    """Reads one request, hands its path segments to ``_route`` and turns ``HubError`` into answers."""

    protocol_version = "HTTP/1.1"  # keep-alive: huggingface_hub reuses one client for everything
    server: HubHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # requests are recorded in ``server.requests`` (and printed by ``serve --log``)

    def _route(self, method: str, segments: list[str]) -> None:
        raise NotImplementedError

    # -- request facts ----------------------------------------------------------------------------

    @property
    def store(self) -> HubStore:
        return self.server.store

    @property
    def endpoint(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.endpoint

    @property
    def token(self) -> str:
        auth = self.headers.get("Authorization", "")
        return auth[len("bearer "):].strip() if auth.lower().startswith("bearer ") else ""

    @property
    def user(self) -> str | None:
        """The authenticated user (``_dispatch`` has refused unknown tokens already)."""
        return self.store.user_of(self.token)

    @property
    def authorized(self) -> bool:
        return self.user is not None

    def _flag(self, name: str) -> bool:
        values = self.query.get(name) or [""]
        return values[-1].lower() in ("1", "true")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self, *required: str) -> Any:
        try:
            payload = json.loads(self.body or b"{}")
        except json.JSONDecodeError as error:
            raise HubError(400, f"Invalid JSON body: {error}") from error
        missing = [name for name in required if not isinstance(payload, dict) or name not in payload]
        if missing:
            raise HubError(400, f"Missing field(s) in request body: {', '.join(missing)}")
        return payload

    # -- answers ----------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.status = status

    def _send_json(self, data: Any, status: int = 200, headers: dict | None = None,
                   content_type: str = "application/json") -> None:
        self._send(status, json.dumps(data).encode(), headers, content_type)

    def _dispatch(self, method: str) -> None:
        self.status = 0
        self.body = self._read_body() if method in ("POST", "PUT", "DELETE") else b""
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        segments = [unquote(part) for part in url.path.split("/")[1:]]
        while segments and segments[-1] == "" and len(segments) > 1:
            segments.pop()
        try:
            if self.token and self.user is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            self._route(method, segments)
        except HubError as error:
            message = error.message.encode("ascii", "backslashreplace").decode().replace("\n", " ")
            headers = {"X-Error-Message": message, **error.headers}
            if error.code:
                headers["X-Error-Code"] = error.code
            self._send_json({"error": error.message}, error.status, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (e.g. killed mid-upload)
        except Exception as error:  # a server bug: answer 500 and let the test fixture fail the test
            self.server.errors.append(f"{method} {self.path}\n{traceback.format_exc()}")
            self._send_json({"error": f"dev hub server error: {error!r}"}, 500)
        finally:
            self.server.record(method, self.path, self.status)

    # -- repositories -----------------------------------------------------------------------------

    def _repo(self, repo_type: str, repo_id: str) -> Repo:
        return self.store.get(repo_type, repo_id, authorized=self.authorized)

    def _require_token(self) -> None:
        if not self.authorized:
            raise HubError(401, "Invalid credentials in Authorization header (a write needs HF_TOKEN)")

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.endpoint}/{URL_PREFIXES[repo_type]}{repo_id}"

    def _entry_json(self, repo: Repo, commit: str, path: str, entry: dict | None, expand: bool) -> dict:
        """A file (``entry`` given) or a directory as the tree and paths-info endpoints report it."""
        if entry is None:
            children = sorted((p, e["oid"]) for p, e in repo.manifest(commit).items() if p.startswith(path + "/"))
            item: dict = {"type": "directory", "path": path,
                          "oid": hashlib.sha1(json.dumps(children).encode()).hexdigest(), "size": 0}
        else:
            item = {"type": "file", "path": path, "oid": entry["oid"], "size": entry["size"]}
            if entry.get("lfs"):
                item["lfs"] = entry["lfs"]
        if expand:
            item["lastCommit"] = repo.last_commit(commit, path)
        return item
