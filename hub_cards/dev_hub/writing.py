"""Write endpoints of the dev hub: repositories, settings, preupload, LFS, commits, branches, tags.

A commit is applied under the store lock in one step: its files are checked (every LFS object it
names must have been uploaded before), then the new commit document is written and only then the
branch moves. A client that dies before sending the commit, e.g. killed in the middle of its LFS
uploads, leaves the repository exactly as it was (uploaded objects stay unreferenced).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json

from hub_cards.dev_hub.http import HandlerBase
from hub_cards.dev_hub.store import (
    DEFAULT_BRANCH,
    PR_REF,
    URL_PREFIXES,
    HubError,
    Repo,
    is_lfs_path,
    revision_not_found,
    write_bytes,
)


class WriteEndpoints(HandlerBase):
    """Everything that changes the store; each needs an accepted token."""

    def _create_repo(self) -> None:
        self._require_token()
        payload = self._json_body("name")
        repo_type = payload.get("type") or "model"
        if repo_type not in URL_PREFIXES:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        if repo_type == "space" and not payload.get("sdk"):
            raise HubError(400, "Spaces need an sdk (gradio, streamlit, docker or static)")
        repo_id = f"{payload.get('organization') or self.user}/{payload['name']}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        url = self._repo_url(repo_type, repo_id)
        try:
            self.store.create(repo_type, repo_id, private=private, sdk=payload.get("sdk"), author=self.user)
        except HubError as error:
            if error.status == 409:
                self._send_json({"error": error.message, "url": url}, 409, {"X-Error-Message": error.message})
                return
            raise
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        self._require_token()
        payload = self._json_body("name")
        repo_id = f"{payload.get('organization') or self.user}/{payload['name']}"
        self.store.delete(payload.get("type") or "model", repo_id)
        self._send(200)

    def _settings(self, repo_type: str, repo_id: str) -> None:
        """``update_repo_settings``: visibility (``private``/``public``) and ``gated``."""
        self._require_token()
        payload = self._json_body()
        with self.store.lock:
            repo = self._repo(repo_type, repo_id)
            meta = repo.meta
            visibility = payload.get("visibility")
            if visibility is None and "private" in payload:
                visibility = "private" if payload["private"] else "public"
            if visibility is not None:
                if visibility not in ("public", "private"):
                    raise HubError(400, f"Invalid visibility {visibility!r}: public or private")
                meta["private"] = visibility == "private"
            repo.save_meta(meta)
        self._send_json({})

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
            sample = base64.b64decode(item.get("sample", ""))
            mode = "lfs" if is_lfs_path(path, item.get("size", 0), sample) else "regular"
            existing = files.get(path)
            oid = None  # the client compares it with its own hash (sha256 for LFS, git sha1 otherwise)
            if existing is not None and bool(existing.get("lfs")) == (mode == "lfs"):
                oid = existing["lfs"]["oid"] if mode == "lfs" else existing["oid"]
            ignored = any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in ignore)
            answer.append({"path": path, "uploadMode": mode, "shouldIgnore": ignored, "oid": oid})
        self._send_json({"files": answer, "commitOid": sha})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        self._require_token()
        repo = self._repo(repo_type, repo_id)
        payload = self._json_body()
        if payload.get("operation") != "upload":
            raise HubError(400, "The dev hub only supports LFS uploads through the batch API")
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
        repo = self.store.get(repo_type, repo_id)  # the href handed out by the batch call is the credential
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
            sha = repo.write_commit(base, files, header.get("summary") or "Update",
                                    header.get("description") or "", self.user)
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
