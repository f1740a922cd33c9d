"""Read endpoints of the dev hub: account, repository info, trees, file downloads, history, refs."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs

from hub_cards.dev_hub.http import HandlerBase
from hub_cards.dev_hub.store import HubError, entry_not_found
from hub_cards.metadata import MetadataError, read_front_matter, validate_metadata

CHUNK = 1024 * 1024


class ReadEndpoints(HandlerBase):
    """``whoami``, repo info, ``tree``, ``paths-info``, ``resolve``, ``commits``, ``refs``, YAML checks."""

    def _whoami(self) -> None:
        self._require_token()
        self._send_json({
            "type": "user", "id": "local", "name": self.user, "fullname": "Dev Hub User", "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "dev-hub", "role": "write"}},
        })

    def _validate_yaml(self) -> None:
        """The Hub's metadata check before a README is committed (``hub_cards.metadata`` rules)."""
        payload = self._json_body()
        try:
            metadata = read_front_matter(payload.get("content", ""))
            if metadata is not None:
                validate_metadata(metadata, payload.get("repoType") or "model")
        except MetadataError as error:
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
                card = read_front_matter(repo.content_path(files["README.md"]).read_text(errors="replace"))
            except MetadataError:
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
        self._send_json([self._entry_json(repo, sha, p, entries[p], expand) for p in sorted(entries)])

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
            start, end = self._parse_range(range_header, size)
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
    def _parse_range(value: str, size: int) -> tuple[int, int]:
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
