"""Storage of the dev hub: repositories on disk (refs, one JSON document per commit, content objects).

Layout under ``root`` (everything persists, so a restarted server serves the same repositories)::

    <root>/<type>s/<ns>/<name>/repo.json          metadata and refs (branches, tags, pull requests)
    <root>/<type>s/<ns>/<name>/commits/<sha>.json  one document per commit: parents, message, date and
                                                   the full file manifest of that snapshot
    <root>/<type>s/<ns>/<name>/objects/<git-sha1>  regular (git) file contents
    <root>/<type>s/<ns>/<name>/lfs/<sha256>        LFS file contents

A new repository gets an initial commit holding a ``.gitattributes`` file, like on the real Hub.
Every commit gets a new sha and the whole history stays readable, so old revisions download.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from octopack_common import write_bytes_atomic, write_json_atomic

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


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically (readers never see a half-written file)."""
    write_json_atomic(path, data, indent=1, fsync=False)


def write_bytes(path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data, fsync=False)


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

    # -- commits ----------------------------------------------------------------------------------

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

    def write_commit(self, parent: str | None, files: dict, title: str, message: str, author: str) -> str:
        data = {
            "parents": [parent] if parent else [],
            "files": files,
            "title": title,
            "message": message,
            "date": now_iso(),
            "authors": [author],
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
    """All repositories under ``root`` and who may use them; one lock serialises every write.

    ``tokens`` maps each accepted access token to its user name. ``None`` accepts any non-empty
    token as the user ``namespace`` (handy for throwaway test hubs); with a mapping, an unknown
    token is refused with 401 like on the Hub. Private repositories are visible to any accepted
    token (the dev hub has no per-user permissions) and hidden (404) from everyone else.
    """

    root: Path
    namespace: str = DEFAULT_NAMESPACE
    tokens: dict[str, str] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    def user_of(self, token: str) -> str | None:
        """The user a token authenticates, or ``None`` when it is not accepted."""
        if not token:
            return None
        if self.tokens is None:
            return self.namespace
        return self.tokens.get(token)

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

    def create(self, repo_type: str, repo_id: str, private: bool, sdk: str | None, author: str) -> Repo:
        with self.lock:
            path = self.repo_dir(repo_type, repo_id)
            if (path / "repo.json").exists():
                raise HubError(409, f"You already created this {repo_type} repo: {repo_id}")
            repo = Repo(path, repo_type, repo_id)
            gitattributes = repo.store_blob(GITATTRIBUTES.encode())
            sha = repo.write_commit(None, {".gitattributes": gitattributes}, "initial commit", "", author)
            repo.save_meta({
                "id": repo_id, "type": repo_type, "private": private, "sdk": sdk, "createdAt": now_iso(),
                "branches": {DEFAULT_BRANCH: sha}, "tags": {}, "pulls": {},
            })
            return repo

    def delete(self, repo_type: str, repo_id: str) -> None:
        with self.lock:
            self.get(repo_type, repo_id)
            shutil.rmtree(self.repo_dir(repo_type, repo_id))
