"""A local HTTP server speaking the subset of the Hugging Face Hub API used by our clients.

huggingface_hub ships no test server, and the test machines cannot reach huggingface.co. This module
implements the Hub's repository API on top of the standard library (``http.server``) so that the *real*
clients -- ``HfApi``, ``hf_hub_download``/``snapshot_download``, ``HfFileSystem``, ``datasets`` and
``transformers`` -- can push and pull repositories in tests. The protocol was worked out by reading
huggingface_hub 2.4 (``hf_api.py``, ``_commit_api.py``, ``lfs.py``, ``file_download.py``,
``utils/_http.py``) and datasets 5.2; the code here is our own.

Point the clients at it with ``HF_ENDPOINT=http://127.0.0.1:<port>`` and ``HF_HUB_DISABLE_XET=1``
(the ``local_hub`` fixture in ``tests/support/hub_fixtures.py`` does all of that). Standalone use, for
poking at it with the ``hf`` CLI::

    python -m tests.support.hub_server --port 8765 --root /tmp/local-hub

Endpoints (``{type}`` is ``models``, ``datasets`` or ``spaces``; ``{prefix}`` is empty, ``datasets/``
or ``spaces/``; revisions are branch names, tags, ``refs/pr/N`` or full/abbreviated commit shas):

* ``GET  /api/whoami-v2``
* ``POST /api/repos/create``, ``DELETE /api/repos/delete``
* ``POST /api/validate-yaml``
* ``GET  /api/{type}/{ns}/{name}`` and ``.../revision/{rev}`` (repo info, ``?blobs=1`` for file sizes)
* ``GET  /api/{type}/{ns}/{name}/tree/{rev}[/{path}]`` (``recursive``, ``expand``)
* ``POST /api/{type}/{ns}/{name}/paths-info/{rev}``
* ``POST /api/{type}/{ns}/{name}/preupload/{rev}``
* ``POST /api/{type}/{ns}/{name}/commit/{rev}`` (NDJSON: ``header``, ``file``, ``lfsFile``,
  ``deletedFile``, ``deletedFolder``; ``?create_pr=1``; ``parentCommit`` is enforced with a 412)
* ``GET  /api/{type}/{ns}/{name}/commits/{rev}``, ``GET .../refs``
* ``POST|DELETE /api/{type}/{ns}/{name}/branch/{branch}``, ``POST|DELETE .../tag/{rev-or-tag}``
* ``POST /{prefix}{ns}/{name}.git/info/lfs/objects/batch`` (basic transfer), then
  ``PUT /lfs-upload/{type}/{ns}/{name}/{sha256}`` (the ``href`` the batch answer hands out)
* ``HEAD|GET /{prefix}{ns}/{name}/resolve/{rev}/{path}`` with ``ETag``, ``X-Repo-Commit``,
  ``Content-Length``, ``X-Linked-Etag``/``X-Linked-Size`` for LFS files, and byte ``Range`` support.

Errors carry the ``X-Error-Code`` header the clients map to exceptions: ``RepoNotFound``,
``RevisionNotFound`` and ``EntryNotFound`` (all 404).

Storage (everything persists under ``root``)::

    <root>/<type>/<ns>/<name>/repo.json          metadata and refs (branches, tags, pull requests)
    <root>/<type>/<ns>/<name>/commits/<sha>.json  one JSON document per commit: parents, message, date
                                                  and the full file manifest of that snapshot
    <root>/<type>/<ns>/<name>/objects/<git-sha1>  regular (git) file contents
    <root>/<type>/<ns>/<name>/lfs/<sha256>        LFS file contents

A new repo gets an initial commit holding a ``.gitattributes`` file, like on the real Hub. Every commit
gets a new sha and the whole history stays readable, so old revisions can be downloaded.

Deliberate simplifications: any non-empty token is accepted (writes need one, reads of private repos
need one); repo ids must be ``namespace/name`` (``create_repo("name")`` uses the server's
``namespace``); no Xet, no multipart LFS, no discussions beyond the pull-request refs made by
``create_pr``.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import re
import shutil
import threading
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml  # a dependency of huggingface_hub, used to read README.md front matter

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
DEFAULT_BRANCH = "main"
DEFAULT_NAMESPACE = "octo-user"

# Files matching these patterns are stored in LFS (this is also the initial .gitattributes).
LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lz4",
    "*.mds", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet",
    "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors", "*.tar", "*.tflite",
    "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
)
GITATTRIBUTES = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in LFS_PATTERNS)
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024  # the Hub refuses regular files above 10 MB
COMMIT_OID = re.compile(r"[0-9a-f]{5,40}")
PR_REF = re.compile(r"refs/pr/(\d+)")
CHUNK = 1024 * 1024


class HubError(Exception):
    """An error answered to the client: HTTP status, optional ``X-Error-Code`` and a message."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def repo_not_found(repo_id: str) -> HubError:
    return HubError(404, f"Repository not found: {repo_id}", "RepoNotFound")


def revision_not_found(revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def entry_not_found(path: str, revision: str, commit: str | None = None) -> HubError:
    headers = {"X-Repo-Commit": commit} if commit else {}
    return HubError(404, f"Entry not found: {path} does not exist on {revision!r}", "EntryNotFound", headers)


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob, as the Hub reports it for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def is_lfs_path(path: str, size: int, sample: bytes) -> bool:
    """The preupload decision: LFS for known binary suffixes, large files and binary-looking content."""
    name = path.rsplit("/", 1)[-1]
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in LFS_PATTERNS):
        return True
    if size > LFS_SIZE_THRESHOLD or b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A sample cut in the middle of a multi-byte character is still text.
        return not (error.reason == "unexpected end of data" and error.start >= len(sample) - 3)
    return False


def read_front_matter(readme: bytes) -> dict | None:
    """Parse the YAML block at the top of a README.md; ``None`` when there is none. Raises on bad YAML."""
    text = readme.decode("utf-8", errors="replace")
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, flags=re.DOTALL)
    if match is None:
        return None
    data = yaml.safe_load(match.group(1))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("YAML metadata must be a mapping")
    return data


def write_json(path: Path, data: Any) -> None:
    """Atomically replace ``path`` with ``data`` as JSON (readers never see a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Repo:
    """One repository on disk: refs in ``repo.json``, a JSON document per commit, content objects."""

    def __init__(self, path: Path, repo_type: str, repo_id: str):
        self.path = path
        self.repo_type = repo_type
        self.repo_id = repo_id

    # -- metadata and refs ------------------------------------------------------------------------

    @property
    def meta(self) -> dict:
        return json.loads((self.path / "repo.json").read_text())

    def save_meta(self, meta: dict) -> None:
        write_json(self.path / "repo.json", meta)

    def resolve(self, revision: str) -> str:
        """Map a branch, tag, PR ref or (abbreviated) commit sha to a full commit sha."""
        meta = self.meta
        for prefix, kind in (("refs/heads/", "branches"), ("refs/tags/", "tags")):
            if revision.startswith(prefix) and revision[len(prefix) :] in meta[kind]:
                return meta[kind][revision[len(prefix) :]]
        for kind in ("branches", "tags", "pulls"):
            if revision in meta[kind]:
                return meta[kind][revision]
        if COMMIT_OID.fullmatch(revision):
            matches = [p.stem for p in (self.path / "commits").glob(f"{revision}*.json")]
            if len(matches) == 1:
                return matches[0]
        raise revision_not_found(revision)

    # -- commits ------------------------------------------------------------------------------------

    def commit_data(self, sha: str) -> dict:
        return json.loads((self.path / "commits" / f"{sha}.json").read_text())

    def manifest(self, sha: str) -> dict[str, dict]:
        """``{path: {"oid", "size", "lfs"?}}`` of the snapshot at commit ``sha``."""
        return self.commit_data(sha)["files"]

    def history(self, sha: str) -> Iterator[dict]:
        """Commits reachable from ``sha`` following first parents, newest first."""
        current: str | None = sha
        while current is not None:
            data = self.commit_data(current)
            yield data
            current = data["parents"][0] if data["parents"] else None

    def last_commit(self, sha: str, path: str) -> dict:
        """The newest commit (from ``sha`` backwards) that changed ``path`` or anything under it.

        Walks back while the subtree stays identical; the last commit of that run introduced it.
        """
        def subtree(files: dict) -> dict:
            return {p: e["oid"] for p, e in files.items() if not path or p == path or p.startswith(path + "/")}

        introduced = None
        for data in self.history(sha):
            if introduced is not None and subtree(data["files"]) != subtree(introduced["files"]):
                break
            introduced = data
        assert introduced is not None
        return {"id": introduced["id"], "title": introduced["title"], "date": introduced["date"]}

    def write_commit(self, parent: str | None, files: dict, title: str, message: str) -> str:
        data = {
            "parents": [parent] if parent else [],
            "files": files,
            "title": title,
            "message": message,
            "date": now_iso(),
            "authors": [DEFAULT_NAMESPACE],
        }
        sha = hashlib.sha1(json.dumps({**data, "nonce": uuid.uuid4().hex}, sort_keys=True).encode()).hexdigest()
        write_json(self.path / "commits" / f"{sha}.json", {"id": sha, **data})
        return sha

    # -- contents ---------------------------------------------------------------------------------

    def store_blob(self, data: bytes) -> dict:
        oid = git_blob_oid(data)
        target = self.path / "objects" / oid
        if not target.exists():
            write_bytes(target, data)
        return {"oid": oid, "size": len(data)}

    def lfs_object(self, sha256: str) -> Path:
        return self.path / "lfs" / sha256

    def lfs_entry(self, sha256: str) -> dict:
        size = self.lfs_object(sha256).stat().st_size
        pointer = lfs_pointer(sha256, size)
        return {"oid": git_blob_oid(pointer), "size": size,
                "lfs": {"oid": sha256, "size": size, "pointerSize": len(pointer)}}

    def content_path(self, entry: dict) -> Path:
        if entry.get("lfs"):
            return self.lfs_object(entry["lfs"]["oid"])
        return self.path / "objects" / entry["oid"]


@dataclass
class HubStore:
    """All repositories under ``root``; one lock serialises every write."""

    root: Path
    namespace: str = DEFAULT_NAMESPACE
    lock: threading.RLock = field(default_factory=threading.RLock)

    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        return self.root / f"{repo_type}s" / repo_id

    def get(self, repo_type: str, repo_id: str, authorized: bool = True) -> Repo:
        path = self.repo_dir(repo_type, repo_id)
        if not (path / "repo.json").is_file():
            raise repo_not_found(repo_id)
        repo = Repo(path, repo_type, repo_id)
        if repo.meta.get("private") and not authorized:
            raise repo_not_found(repo_id)  # the Hub hides private repos from anonymous users
        return repo

    def create(self, repo_type: str, repo_id: str, private: bool, sdk: str | None) -> Repo:
        with self.lock:
            path = self.repo_dir(repo_type, repo_id)
            if (path / "repo.json").exists():
                raise HubError(409, f"You already created this {repo_type} repo: {repo_id}")
            repo = Repo(path, repo_type, repo_id)
            gitattributes = repo.store_blob(GITATTRIBUTES.encode())
            sha = repo.write_commit(None, {".gitattributes": gitattributes}, "initial commit", "")
            repo.save_meta({
                "id": repo_id, "type": repo_type, "private": private, "sdk": sdk, "createdAt": now_iso(),
                "branches": {DEFAULT_BRANCH: sha}, "tags": {}, "pulls": {},
            })
            return repo

    def delete(self, repo_type: str, repo_id: str) -> None:
        with self.lock:
            self.get(repo_type, repo_id)
            shutil.rmtree(self.repo_dir(repo_type, repo_id))


class HubRequestHandler(BaseHTTPRequestHandler):
    """Routes one HTTP request to the Hub endpoint it stands for."""

    protocol_version = "HTTP/1.1"  # keep-alive: huggingface_hub reuses one client for everything
    server: HubHTTPServer

    # -- plumbing ---------------------------------------------------------------------------------

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
        pass  # requests are recorded in ``server.requests`` instead of being printed

    @property
    def store(self) -> HubStore:
        return self.server.store

    @property
    def endpoint(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.endpoint

    @property
    def authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.lower().startswith("bearer ") and len(auth) > len("bearer ")

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
            self._route(method, segments)
        except HubError as error:
            message = error.message.encode("ascii", "backslashreplace").decode().replace("\n", " ")
            headers = {"X-Error-Message": message, **error.headers}
            if error.code:
                headers["X-Error-Code"] = error.code
            self._send_json({"error": error.message}, error.status, headers)
        except Exception as error:  # a server bug: answer 500 and let the fixture fail the test
            self.server.errors.append(f"{method} {self.path}\n{traceback.format_exc()}")
            self._send_json({"error": f"local hub server error: {error!r}"}, 500)
        finally:
            self.server.requests.append((method, self.path, self.status))

    def _flag(self, name: str) -> bool:
        values = self.query.get(name) or [""]
        return values[-1].lower() in ("1", "true")

    # -- routing ----------------------------------------------------------------------------------

    def _route(self, method: str, segs: list[str]) -> None:
        if segs[:1] == ["api"]:
            return self._route_api(method, segs[1:])
        if segs[:1] == ["lfs-upload"] and method == "PUT" and len(segs) == 5 and segs[1] in REPO_TYPES:
            return self._lfs_put(REPO_TYPES[segs[1]], f"{segs[2]}/{segs[3]}", segs[4])
        repo_type = "model"
        if segs and segs[0] in ("datasets", "spaces"):
            repo_type, segs = REPO_TYPES[segs[0]], segs[1:]
        if len(segs) == 6 and segs[1].endswith(".git") and segs[2:] == ["info", "lfs", "objects", "batch"]:
            if method == "POST":
                return self._lfs_batch(repo_type, f"{segs[0]}/{segs[1][:-4]}")
        if len(segs) >= 5 and segs[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(repo_type, f"{segs[0]}/{segs[1]}", segs[3], "/".join(segs[4:]))
        raise HubError(404, f"No local hub route for {method} {self.path}")

    def _route_api(self, method: str, segs: list[str]) -> None:
        match method, segs:
            case "GET", ["whoami-v2"]:
                return self._whoami()
            case "POST", ["repos", "create"]:
                return self._create_repo()
            case "DELETE", ["repos", "delete"]:
                return self._delete_repo()
            case "POST", ["validate-yaml"]:
                return self._validate_yaml()
        if len(segs) < 3 or segs[0] not in REPO_TYPES:
            raise HubError(404, f"No local hub route for {method} /api/{'/'.join(segs)}")
        repo_type, repo_id, tail = REPO_TYPES[segs[0]], f"{segs[1]}/{segs[2]}", segs[3:]
        match method, tail:
            case "GET", []:
                return self._repo_info(repo_type, repo_id, DEFAULT_BRANCH)
            case "GET", ["revision", revision]:
                return self._repo_info(repo_type, repo_id, revision)
            case "GET", ["tree", revision, *path]:
                return self._tree(repo_type, repo_id, revision, "/".join(path))
            case "POST", ["paths-info", revision]:
                return self._paths_info(repo_type, repo_id, revision)
            case "POST", ["preupload", revision]:
                return self._preupload(repo_type, repo_id, revision)
            case "POST", ["commit", revision]:
                return self._commit(repo_type, repo_id, revision)
            case "GET", ["commits", revision]:
                return self._commits(repo_type, repo_id, revision)
            case "GET", ["refs"]:
                return self._refs(repo_type, repo_id)
            case "POST" | "DELETE", ["branch", branch]:
                return self._branch(method, repo_type, repo_id, branch)
            case "POST" | "DELETE", ["tag", name]:
                return self._tag(method, repo_type, repo_id, name)
        raise HubError(404, f"No local hub route for {method} /api/{'/'.join(segs)}")

    # -- helpers ----------------------------------------------------------------------------------

    def _repo(self, repo_type: str, repo_id: str) -> Repo:
        return self.store.get(repo_type, repo_id, authorized=self.authorized)

    def _require_token(self) -> None:
        if not self.authorized:
            raise HubError(401, "Invalid credentials in Authorization header")

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

    # -- account and repos ------------------------------------------------------------------------

    def _whoami(self) -> None:
        self._require_token()
        self._send_json({
            "type": "user", "id": "local", "name": self.store.namespace, "fullname": "Local Hub User",
            "orgs": [], "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": "write"}},
        })

    def _create_repo(self) -> None:
        self._require_token()
        payload = self._json_body("name")
        repo_type = payload.get("type") or "model"
        if repo_type not in URL_PREFIXES:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        if repo_type == "space" and not payload.get("sdk"):
            raise HubError(400, "Spaces need an sdk")
        repo_id = f"{payload.get('organization') or self.store.namespace}/{payload['name']}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        url = self._repo_url(repo_type, repo_id)
        try:
            self.store.create(repo_type, repo_id, private=private, sdk=payload.get("sdk"))
        except HubError as error:
            if error.status == 409:
                self._send_json({"error": error.message, "url": url}, 409, {"X-Error-Message": error.message})
                return
            raise
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        self._require_token()
        payload = self._json_body("name")
        repo_id = f"{payload.get('organization') or self.store.namespace}/{payload['name']}"
        self.store.delete(payload.get("type") or "model", repo_id)
        self._send(200)

    def _validate_yaml(self) -> None:
        content = self._json_body().get("content", "")
        try:
            read_front_matter(content.encode())
        except (yaml.YAMLError, ValueError) as error:
            self._send_json({"errors": [{"message": str(error)}], "warnings": []}, 400)
            return
        self._send_json({"errors": [], "warnings": []})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo = self._repo(repo_type, repo_id)
        sha = repo.resolve(revision)
        commit, meta, files = repo.commit_data(sha), repo.meta, repo.manifest(sha)
        siblings = []
        for path in sorted(files):
            sibling: dict = {"rfilename": path}
            if self._flag("blobs"):
                entry = files[path]
                sibling.update(size=entry["size"], blobId=entry["oid"])
                if entry.get("lfs"):
                    lfs = entry["lfs"]
                    sibling["lfs"] = {"sha256": lfs["oid"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]}
            siblings.append(sibling)
        card = None
        if "README.md" in files:
            try:
                card = read_front_matter(repo.content_path(files["README.md"]).read_bytes())
            except (yaml.YAMLError, ValueError):
                card = None
        tags = card.get("tags") if isinstance(card, dict) and isinstance(card.get("tags"), list) else []
        info = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id,
            "author": repo_id.split("/")[0], "sha": sha, "lastModified": commit["date"],
            "createdAt": meta["createdAt"], "private": meta["private"], "gated": False, "disabled": False,
            "downloads": 0, "likes": 0, "tags": tags, "siblings": siblings,
        }
        if card is not None:
            info["cardData"] = card
        if repo_type == "space":
            info["sdk"] = meta.get("sdk")
            info["runtime"] = {"stage": "NO_APP_FILE", "hardware": {"current": None, "requested": None}}
        self._send_json(info)

    # -- reading files ----------------------------------------------------------------------------

    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        repo = self._repo(repo_type, repo_id)
        sha = repo.resolve(revision)
        files = repo.manifest(sha)
        path = path.strip("/")
        prefix = f"{path}/" if path else ""
        below = [p for p in files if p.startswith(prefix)]
        if path and not below:
            raise entry_not_found(path, revision, sha)
        recursive, expand = self._flag("recursive"), self._flag("expand")
        entries: dict[str, dict | None] = {}  # path -> manifest entry, None for directories
        for file_path in below:
            parts = file_path[len(prefix) :].split("/")
            depth = len(parts) if recursive else 1
            for i in range(1, min(depth, len(parts) - 1) + 1):
                entries.setdefault(prefix + "/".join(parts[:i]), None)
            if len(parts) <= depth:
                entries[file_path] = files[file_path]
        items = [self._entry_json(repo, sha, p, entries[p], expand) for p in sorted(entries)]
        self._send_json(items)

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo = self._repo(repo_type, repo_id)
        sha = repo.resolve(revision)
        if "json" in self.headers.get("Content-Type", ""):
            payload = self._json_body()
            paths, expand = payload.get("paths", []), bool(payload.get("expand"))
        else:
            form = parse_qs(self.body.decode())
            paths, expand = form.get("paths", []), (form.get("expand") or [""])[-1].lower() == "true"
        files = repo.manifest(sha)
        items = []
        for path in dict.fromkeys(p.strip("/") for p in (paths if isinstance(paths, list) else [paths])):
            if path in files:
                items.append(self._entry_json(repo, sha, path, files[path], expand))
            elif any(p.startswith(path + "/") for p in files):
                items.append(self._entry_json(repo, sha, path, None, expand))
        self._send_json(items)

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        repo = self._repo(repo_type, repo_id)
        sha = repo.resolve(revision)
        entry = repo.manifest(sha).get(path)
        if entry is None:
            raise entry_not_found(path, revision, sha)
        size = entry["size"]
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes", "ETag": f'"{entry["oid"]}"'}
        if entry.get("lfs"):
            headers.update({"ETag": f'"{entry["lfs"]["oid"]}"', "X-Linked-Etag": f'"{entry["lfs"]["oid"]}"',
                            "X-Linked-Size": str(size)})
        start, end, status = 0, size - 1, 200
        range_header = self.headers.get("Range")
        if range_header:
            start, end = self._parse_range(range_header, size, headers)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.status = status
        if self.command == "HEAD" or length == 0:
            return
        with repo.content_path(entry).open("rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    @staticmethod
    def _parse_range(value: str, size: int, headers: dict) -> tuple[int, int]:
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", value.strip())
        if match is None or match.groups() == ("", ""):
            raise HubError(416, f"Unsupported range {value!r}", headers={"Content-Range": f"bytes */{size}"})
        first, last = match.groups()
        if first == "":  # suffix range: the last N bytes
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            raise HubError(416, f"Range {value!r} not satisfiable", headers={"Content-Range": f"bytes */{size}"})
        return start, end

    # -- writing: preupload, LFS, commit ----------------------------------------------------------

    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo = self._repo(repo_type, repo_id)
        sha = repo.resolve(revision)
        files = repo.manifest(sha)
        payload = self._json_body()
        ignore = [line.strip() for line in (payload.get("gitIgnore") or "").splitlines()
                  if line.strip() and not line.startswith("#")]
        answer = []
        for item in payload.get("files", []):
            path = item["path"]
            mode = "lfs" if is_lfs_path(path, item.get("size", 0), base64.b64decode(item.get("sample", ""))) \
                else "regular"
            existing = files.get(path)
            oid = None  # the client compares it with its own hash (sha256 for LFS, git sha1 otherwise)
            if existing is not None and bool(existing.get("lfs")) == (mode == "lfs"):
                oid = existing["lfs"]["oid"] if mode == "lfs" else existing["oid"]
            ignored = any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in ignore)
            answer.append({"path": path, "uploadMode": mode, "shouldIgnore": ignored, "oid": oid})
        self._send_json({"files": answer, "commitOid": sha})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        repo = self._repo(repo_type, repo_id)
        payload = self._json_body()
        if payload.get("operation") != "upload":
            raise HubError(400, "The local hub only supports LFS uploads through the batch API")
        objects = []
        for obj in payload.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            answer: dict = {"oid": oid, "size": size, "authenticated": True}
            stored = repo.lfs_object(oid)
            if not (stored.is_file() and stored.stat().st_size == size):
                href = f"{self.endpoint}/lfs-upload/{repo_type}s/{repo_id}/{oid}?size={size}"
                answer["actions"] = {"upload": {"href": href, "expires_in": 3600}}
            objects.append(answer)
        self._send_json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                        content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, repo_type: str, repo_id: str, oid: str) -> None:
        repo = self.store.get(repo_type, repo_id)
        expected_size = int((self.query.get("size") or [len(self.body)])[-1])
        if hashlib.sha256(self.body).hexdigest() != oid or len(self.body) != expected_size:
            raise HubError(400, f"LFS object does not match its oid {oid} and size {expected_size}")
        write_bytes(repo.lfs_object(oid), self.body)
        self._send(200)

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        self._require_token()
        try:
            lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise HubError(400, f"Invalid NDJSON commit payload: {error}") from error
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "A commit payload starts with a header line")
        header = lines[0]["value"]
        with self.store.lock:
            repo = self._repo(repo_type, repo_id)
            meta = repo.meta
            pull = PR_REF.fullmatch(revision)
            branch = revision.removeprefix("refs/heads/")
            if (pull is None and branch not in meta["branches"]) or (pull and revision not in meta["pulls"]):
                raise revision_not_found(revision)
            head = meta["pulls"][revision] if pull else meta["branches"][branch]
            parent = header.get("parentCommit")
            if parent:
                parent = repo.resolve(parent)
            if self._flag("create_pr"):
                base = parent or head
                pr_num = max([int(PR_REF.fullmatch(r).group(1)) for r in meta["pulls"]] + [0]) + 1
                ref_kind, ref_name = "pulls", f"refs/pr/{pr_num}"
            else:
                if parent and parent != head:
                    raise HubError(412, f"Parent commit {parent} is not the head of {revision} ({head})")
                base, pr_num = head, None
                ref_kind, ref_name = ("pulls", revision) if pull else ("branches", branch)
            files = dict(repo.manifest(base))
            for operation in lines[1:]:
                self._apply(repo, files, operation["key"], operation["value"], revision)
            sha = repo.write_commit(base, files, header.get("summary") or "Update", header.get("description") or "")
            meta = repo.meta
            meta[ref_kind][ref_name] = sha
            repo.save_meta(meta)
        url = self._repo_url(repo_type, repo_id)
        answer = {"success": True, "commitOid": sha, "commitUrl": f"{url}/commit/{sha}", "hookOutput": ""}
        if pr_num is not None:
            answer["pullRequestUrl"] = f"{url}/discussions/{pr_num}"
        self._send_json(answer)

    @staticmethod
    def _apply(repo: Repo, files: dict, key: str, value: dict, revision: str) -> None:
        """Apply one NDJSON commit operation to the manifest ``files``."""
        path = value["path"].strip("/")
        if key == "file":
            content = value["content"]
            data = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
            files[path] = repo.store_blob(data)
        elif key == "lfsFile":
            if not repo.lfs_object(value["oid"]).is_file():
                raise HubError(422, f"LFS object {value['oid']} for {path} was never uploaded")
            files[path] = repo.lfs_entry(value["oid"])
        elif key == "deletedFile":
            if files.pop(path, None) is None:
                raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
        elif key == "deletedFolder":
            doomed = [p for p in files if p.startswith(path + "/")]
            if not doomed:
                raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
            for p in doomed:
                del files[p]
        else:
            raise HubError(400, f"Unsupported commit operation {key!r} on {revision}")

    # -- history and refs -------------------------------------------------------------------------

    def _commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo = self._repo(repo_type, repo_id)
        commits = [
            {"id": c["id"], "title": c["title"], "message": c["message"], "date": c["date"],
             "authors": [{"user": user, "avatar": None} for user in c["authors"]]}
            for c in repo.history(repo.resolve(revision))
        ]
        self._send_json(commits)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        meta = self._repo(repo_type, repo_id).meta
        self._send_json({
            "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in meta["branches"].items()],
            "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": s} for n, s in meta["tags"].items()],
            "converts": [],
            "pullRequests": [{"name": n, "ref": n, "targetCommit": s} for n, s in meta["pulls"].items()],
        })

    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str) -> None:
        self._require_token()
        with self.store.lock:
            repo = self._repo(repo_type, repo_id)
            meta = repo.meta
            if method == "DELETE":
                if branch not in meta["branches"]:
                    raise revision_not_found(branch)
                del meta["branches"][branch]
            else:
                if branch in meta["branches"]:
                    raise HubError(409, f"Branch {branch} already exists")
                start = self._json_body().get("startingPoint") or DEFAULT_BRANCH
                meta["branches"][branch] = repo.resolve(start)
            repo.save_meta(meta)
        self._send_json({})

    def _tag(self, method: str, repo_type: str, repo_id: str, name: str) -> None:
        self._require_token()
        with self.store.lock:
            repo = self._repo(repo_type, repo_id)
            meta = repo.meta
            if method == "DELETE":  # DELETE .../tag/{tag}
                if name not in meta["tags"]:
                    raise revision_not_found(name)
                del meta["tags"][name]
            else:  # POST .../tag/{revision} {"tag": ...}
                tag = self._json_body("tag")["tag"]
                if tag in meta["tags"]:
                    raise HubError(409, f"Tag {tag} already exists")
                meta["tags"][tag] = repo.resolve(name)
            repo.save_meta(meta)
        self._send_json({})


class HubHTTPServer(ThreadingHTTPServer):
    """The socket server; carries the store and what the handlers record."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: HubStore):
        super().__init__(address, HubRequestHandler)
        self.store = store
        self.errors: list[str] = []  # tracebacks of unexpected server exceptions
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status), in order

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class HubServer:
    """A local Hub in a background thread: ``start()``, use ``endpoint``, ``stop()`` (or ``with``)."""

    def __init__(self, root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0,
                 namespace: str = DEFAULT_NAMESPACE):
        self._httpd = HubHTTPServer((host, port), HubStore(Path(root), namespace))
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
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="local-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a local Hugging Face Hub for manual testing.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--root", required=True, help="directory holding the repositories")
    args = parser.parse_args()
    server = HubServer(args.root, args.host, args.port)
    print(f"Local hub on {server.endpoint} storing under {args.root}")
    print(f"  export HF_ENDPOINT={server.endpoint} HF_HUB_DISABLE_XET=1 HF_TOKEN=local")
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
