"""The one way octopack writes to the Hub, and the one way it pulls a repository back.

Every push -- datasets (Parquet per config), the metric Space, recipes, models and adapters, cards
-- is a :class:`CommitPlan` (the files to put, the folders to replace, where) handed to
:func:`push_plan`, which makes it **one commit**:

1. the plan is checked before anything is sent: every README's YAML metadata passes the Hub's rules
   (:mod:`hub_cards.metadata`), and no text file carries something that looks like a secret (an
   ``hf_``/``sk-`` token, a bearer token, a password in a URL, or the value of ``HF_TOKEN`` /
   ``OPENAI_API_KEY`` in this environment);
2. the repository is created when missing (private with ``private=True``; a Space with its SDK),
   and the branch ``revision`` from the default branch; ``private=True`` on an existing *public*
   repository is refused rather than publishing what was meant to be private;
3. files under ``replace_folders`` that the plan does not carry are deleted in the same commit;
4. ``create_commit`` with ``parent_commit`` = the head read in step 2: if someone else pushed in
   between, the Hub answers 412 and nothing is written.

LFS files are uploaded before the commit is created, so a push killed midway (even with
``SIGKILL`` during an upload) leaves the repository exactly as it was; run it again to finish.

:meth:`CommitPlan.preview` is what ``--dry-run`` prints (files, sizes and the card; no network).
:func:`pull` downloads a repository snapshot with ``snapshot_download`` -- ``HF_ENDPOINT``, ``HF_TOKEN`` and the cache
apply, and with ``HF_HUB_OFFLINE=1`` a repository pulled before is served from the cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from hub_cards.metadata import MetadataError, read_front_matter, validate_metadata

REPO_TYPES = ("model", "dataset", "space")
#: Text files scanned for secrets before a push (by suffix; READMEs are always scanned).
TEXT_SUFFIXES = (".md", ".txt", ".yaml", ".yml", ".json", ".py", ".cfg", ".toml", ".jinja", ".csv", ".jsonl")
_SECRET_PATTERNS = (
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("an OpenAI-style API key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}")),
    ("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a password in a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
)
_SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY")
_SCAN_LIMIT = 4 * 1024 * 1024


class HubPushError(RuntimeError):
    """A push that was refused or failed; the message names the problem and the fix."""


class SecretInPushError(HubPushError):
    """A file about to be pushed looks like it carries a secret."""


class HubNotFoundError(FileNotFoundError):
    """A pull whose repository or revision does not exist, is not visible, or is not cached offline."""


@dataclass
class CommitPlan:
    """One commit to make: ``files`` maps paths in the repository to bytes or local files."""

    repo_id: str
    files: dict[str, bytes | Path]
    repo_type: str = "model"
    revision: str | None = None
    private: bool | None = None
    commit_message: str = "Upload with octopack"
    commit_description: str | None = None
    replace_folders: tuple[str, ...] = ()
    space_sdk: str | None = None
    create_pr: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {self.repo_type!r}")
        if self.repo_type == "space" and not self.space_sdk:
            raise ValueError("a Space needs space_sdk (gradio, streamlit, docker or static)")
        self.files = {_clean_path(path): source for path, source in self.files.items()}
        self.replace_folders = tuple(folder.strip("/") + "/" for folder in self.replace_folders)

    def size(self, path: str) -> int:
        source = self.files[path]
        return len(source) if isinstance(source, bytes) else Path(source).stat().st_size

    def text(self, path: str = "README.md") -> str | None:
        """The content of a file of the plan as text (``None`` when the plan has no such file)."""
        source = self.files.get(path)
        if source is None:
            return None
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        return data.decode("utf-8", errors="replace")

    def describe(self) -> str:
        """What the push would do, for ``--dry-run``: target, files with sizes, replaced folders."""
        where = f"{self.repo_type} repository {self.repo_id}"
        if self.revision:
            where += f" @ {self.revision}"
        lines = [f"would push one commit to the {where}"
                 + (" (private)" if self.private else "") + (" as a pull request" if self.create_pr else ""),
                 f"  message: {self.commit_message}"]
        for path in sorted(self.files):
            lines.append(f"  + {path}  ({_human_size(self.size(path))})")
        for folder in self.replace_folders:
            lines.append(f"  - {folder}* not in this push (files left there by earlier pushes)")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def preview(self) -> str:
        """:meth:`describe` followed by the README to be pushed (what ``--dry-run`` prints)."""
        readme = self.text("README.md")
        return self.describe() + (f"\n\n----- README.md -----\n{readme}" if readme is not None else "")

    def check(self) -> None:
        """Refuse the plan before any network call: bad card metadata, secrets (module docstring)."""
        if not self.files:
            raise HubPushError(f"nothing to push to {self.repo_id}: the plan has no files")
        for path in self.files:
            name = PurePosixPath(path).name
            text = self.text(path) if (name == "README.md" or name.endswith(TEXT_SUFFIXES)) \
                and self.size(path) <= _SCAN_LIMIT else None
            if text is None:
                continue
            check_no_secrets(text, f"{path} (for {self.repo_id})")
            if name == "README.md" and path == "README.md":
                try:
                    metadata = read_front_matter(text)
                    if metadata is not None:
                        validate_metadata(metadata, self.repo_type)
                except MetadataError as error:
                    raise HubPushError(f"README.md of {self.repo_id}: {error}") from None


def find_secrets(text: str) -> list[str]:
    """What in ``text`` looks like a secret (kinds, not the values)."""
    found = [kind for kind, pattern in _SECRET_PATTERNS if pattern.search(text)]
    for name in _SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 8 and value in text:
            found.append(f"the value of ${name}")
    return found


def check_no_secrets(text: str, where: str) -> None:
    """Raise :class:`SecretInPushError` when ``text`` (a card, a recipe...) seems to hold a secret."""
    found = find_secrets(text)
    if found:
        raise SecretInPushError(
            f"{where} seems to contain {', '.join(found)}: remove it (keys belong in the environment, "
            "never in a file that is published) and push again")


def push_plan(plan: CommitPlan, *, token: str | bool | None = None):
    """Make ``plan`` one commit on the Hub (see the module docstring); return the ``CommitInfo``."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    plan.check()
    api = HfApi(token=token)
    try:
        repo_id = api.create_repo(plan.repo_id, repo_type=plan.repo_type, private=plan.private,
                                  space_sdk=plan.space_sdk, exist_ok=True).repo_id
        info = api.repo_info(repo_id, repo_type=plan.repo_type)
        if plan.private and not info.private:
            raise HubPushError(
                f"the {plan.repo_type} repository {repo_id} exists and is public, and the push asked for a "
                "private one: make it private first (HfApi().update_repo_settings(repo_id, private=True)) "
                "or push without --private")
        ensure_branch(api, repo_id, plan.revision, plan.repo_type)
        head = api.repo_info(repo_id, repo_type=plan.repo_type, revision=plan.revision).sha
        stale = []
        if plan.replace_folders:
            existing = api.list_repo_files(repo_id, repo_type=plan.repo_type, revision=plan.revision)
            stale = [path for path in existing if path.startswith(plan.replace_folders) and path not in plan.files]
        operations = [CommitOperationDelete(path_in_repo=path) for path in stale]
        operations += [CommitOperationAdd(path_in_repo=path, path_or_fileobj=_source(source))
                       for path, source in sorted(plan.files.items())]
        return api.create_commit(
            repo_id, operations, repo_type=plan.repo_type, revision=plan.revision,
            commit_message=plan.commit_message, commit_description=plan.commit_description,
            create_pr=plan.create_pr or None, parent_commit=None if plan.create_pr else head,
        )
    except HfHubHTTPError as error:
        raise _push_error(error, plan) from error


def ensure_branch(api, repo_id: str, revision: str | None, repo_type: str = "model") -> None:
    """Create branch ``revision`` from the default branch unless it exists (``None``/``main``/refs: no-op)."""
    if revision is None or revision == "main" or revision.startswith("refs/"):
        return
    api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)


@dataclass(frozen=True)
class PulledRepo:
    """A repository snapshot on disk: where, and the commit it is."""

    path: Path
    repo_id: str
    repo_type: str
    revision: str | None
    commit: str | None


def pull(repo_id: str, *, repo_type: str = "model", revision: str | None = None,
         allow_patterns: Sequence[str] | None = None, token: str | bool | None = None,
         cache_dir: str | Path | None = None, local_dir: str | Path | None = None) -> PulledRepo:
    """Download a repository snapshot (or the files matching ``allow_patterns``); see module docstring."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    if repo_type not in REPO_TYPES:
        raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {repo_type!r}")
    where = f"{repo_type} repository {repo_id!r}" + (f" at {revision!r}" if revision else "")
    try:
        path = Path(snapshot_download(
            repo_id, repo_type=repo_type, revision=revision, allow_patterns=list(allow_patterns or []) or None,
            token=token, cache_dir=cache_dir, local_dir=local_dir,
        ))
    except RepositoryNotFoundError:
        raise HubNotFoundError(
            f"there is no {where} on {constants.ENDPOINT}: check the id and --repo-type; a private "
            "repository needs HF_TOKEN (or `hf auth login`)") from None
    except RevisionNotFoundError:
        raise HubNotFoundError(f"the {where} has no such revision: use a branch, a tag, refs/pr/N or a commit") \
            from None
    except LocalEntryNotFoundError as error:
        why = "HF_HUB_OFFLINE is set" if constants.is_offline_mode() else f"{constants.ENDPOINT} unreachable: {error}"
        raise HubNotFoundError(f"the {where} is not in the local cache and the Hub cannot be asked ({why}); "
                               "pull it once online first") from None
    commit = path.name if path.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", path.name) else None
    return PulledRepo(path=path, repo_id=repo_id, repo_type=repo_type, revision=revision, commit=commit)


def _push_error(error, plan: CommitPlan) -> HubPushError:
    status = getattr(getattr(error, "response", None), "status_code", None)
    target = f"the {plan.repo_type} repository {plan.repo_id}"
    if status == 401:
        return HubPushError(f"the Hub refused the token while pushing to {target}: set HF_TOKEN to a token "
                            "with write access (or run `hf auth login`)")
    if status == 403:
        return HubPushError(f"the token may not write to {target}: use a write token of its owner")
    if status == 412:
        return HubPushError(f"{target} changed while this push was prepared (someone pushed in between); "
                            "nothing was written: run the push again")
    return HubPushError(f"pushing to {target} failed: {error}")


def _source(source: bytes | Path):
    return source if isinstance(source, bytes) else str(source)


def _clean_path(path: str) -> str:
    clean = PurePosixPath(str(path).replace(os.sep, "/").lstrip("/")).as_posix()
    if clean in ("", ".") or ".." in PurePosixPath(clean).parts:
        raise ValueError(f"invalid path in repository: {path!r}")
    return clean


def _human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size} B"


def files_from_folder(folder: str | Path, ignore_patterns: Sequence[str] = ()) -> dict[str, Path]:
    """``{path in repo: file}`` for every file under ``folder`` not matching ``ignore_patterns``."""
    from fnmatch import fnmatch

    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"nothing to push: {folder} is not a directory")
    files = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        if relative.startswith(".cache/") or any(fnmatch(relative, p) for p in ignore_patterns):
            continue
        files[relative] = path
    return files


def merge_files(*mappings: Mapping[str, bytes | Path]) -> dict[str, bytes | Path]:
    """Later mappings win (e.g. a folder's files, then a freshly rendered README)."""
    merged: dict[str, bytes | Path] = {}
    for mapping in mappings:
        merged.update(mapping)
    return merged
