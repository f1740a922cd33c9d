"""The dev hub's request handler: maps each URL the Hub clients call to its endpoint."""

from __future__ import annotations

from hub_cards.dev_hub.reading import ReadEndpoints
from hub_cards.dev_hub.store import DEFAULT_BRANCH, REPO_TYPES, HubError
from hub_cards.dev_hub.writing import WriteEndpoints


class HubRequestHandler(ReadEndpoints, WriteEndpoints):
    """Routes one HTTP request to the Hub endpoint it stands for (see ``hub_cards.dev_hub``)."""

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
        raise HubError(404, f"No dev hub route for {method} {self.path}")

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
            raise HubError(404, f"No dev hub route for {method} /api/{'/'.join(segs)}")
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
            case "PUT", ["settings"]:
                return self._settings(repo_type, repo_id)
            case "POST" | "DELETE", ["branch", branch]:
                return self._branch(method, repo_type, repo_id, branch)
            case "POST" | "DELETE", ["tag", name]:
                return self._tag(method, repo_type, repo_id, name)
        raise HubError(404, f"No dev hub route for {method} /api/{'/'.join(segs)}")
