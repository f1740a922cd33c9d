"""Which repositories take part, and which of them hold each commit (reference A.2 steps 1, 2, 6; A.5).

Used by the builders (all repositories at once, in the main process) and by the datatrove index and
dedup stages (a share of the repositories per task), so both decide alike:

- ``open_repository``: the git directory (a local work tree or bare repository, or a mirror clone of
  a URL), that it can be read (``git rev-list`` of the mined revisions walks every commit), its
  license (policy and the paper's allowlist, A.2-1) and its languages (at least one of the 22 of
  A.2-2, judged from the tree of the license revision with the language map). A repository that
  cannot be read raises ``UnreadableRepository`` naming it and the reason; one that is excluded by
  a rule comes back with its drop reason.
- ``group_holders``: from ``(commit, repository number)`` pairs, every commit held by more than one
  repository with its holders in order (the first keeps the commit, A.2-6).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from octopack_common import CommandFailed, run_checked

from commitpack_dataset.languages import language_of
from commitpack_dataset.licenses import UNKNOWN, detect_repository_license, is_allowed
from commitpack_dataset.mining import MiningError, looks_like_url, resolve_git_dir

# A.2-2, the SQL's LIKE patterns (case-sensitive; "Perl%" is a prefix match).
LISTED_LANGUAGES = ("Python", "Java", "JavaScript", "HTML", "Common Lisp", "Shell", "R", "SQL", "C", "C#", "C++",
                    "TypeScript", "Go", "Rust", "Swift", "PHP", "Dart", "Kotlin", "Matlab", "MATLAB", "Ruby")
LISTED_LANGUAGE_PREFIXES = ("Perl",)
LICENSE_POLICIES = ("keep-unknown", "drop-unknown")

# Reasons a repository cannot be read (also its drop reason when unreadable repositories are skipped).
UNAVAILABLE = "repository_unavailable"  # not a git repository, path not found, clone failed
EMPTY = "repository_empty"  # no commits
REVISION_NOT_FOUND = "revision_not_found"
CORRUPT = "repository_corrupt"  # a missing or corrupt object on the walk of the revisions
LOG_FAILED = "git_log_failed"  # git log stopped while mining (e.g. a missing tree)
_FIXES = {
    UNAVAILABLE: "check the path or URL",
    EMPTY: "commit something first, or remove it",
    REVISION_NOT_FOUND: "check revisions=",
    CORRUPT: "repair it (git fsck) or re-clone it",
    LOG_FAILED: "repair it (git fsck) or re-clone it",
}


class UnreadableRepository(MiningError):
    """A repository that cannot be read: the message names it, the reason and the fix."""

    def __init__(self, location: str, reason: str, detail: str = ""):
        self.location, self.reason, self.detail = location, reason, detail
        super().__init__(location, reason, detail)

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return (f"cannot read repository {self.location} ({self.reason}{detail}); {_FIXES.get(self.reason, 'fix it')}, "
                "remove it from the repositories, or pass skip_unreadable_repositories=True "
                "(CLI: --skip-unreadable-repositories) to skip it")

    def as_row(self) -> Dict[str, str]:
        return {"location": self.location, "reason": self.reason, "detail": self.detail}


@dataclasses.dataclass(frozen=True)
class Repository:
    """An opened repository: its number in the configured list, where it is, its ``owner/name`` and license."""

    index: int
    location: str
    name: str
    git_dir: str
    license: str

    def row(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def repository_name(location: str) -> str:
    """``owner/name`` for a URL or path: its last two path components, without ``.git``
    (a relative path such as ``.`` is resolved first)."""
    if not looks_like_url(location):
        location = os.path.abspath(location)
    cleaned = re.sub(r"\.git$", "", location.rstrip("/"))
    parts = [p for p in re.split(r"[/:]", cleaned) if p]
    return "/".join(parts[-2:])


def license_revision(revisions: Sequence[str]) -> str:
    """The revision whose root files count (license, languages): the tip of the last plain revision, else HEAD."""
    plain = [r for r in revisions if not r.startswith("-") and not r.startswith("^")]
    if not plain:
        return "HEAD"
    tip = plain[-1].split("..")[-1].lstrip(".")
    return tip or "HEAD"


def is_listed_language(language: Optional[str]) -> bool:
    """One of the 22 repository languages of A.2-2 (Perl by prefix, so Perl6 counts)."""
    return language is not None and (language in LISTED_LANGUAGES or language.startswith(LISTED_LANGUAGE_PREFIXES))


def has_listed_language(paths: Iterable[str]) -> bool:
    """Whether any of ``paths`` is in one of the 22 languages (language map, A.3 rules)."""
    return any(is_listed_language(language_of(path)) for path in paths)


def _git(git_dir: str, *args: str, what: str) -> str:
    return run_checked(["git", "--git-dir", git_dir, *args], what, encoding="utf-8", errors="replace").stdout


def repository_commits(git_dir: str, options: Any) -> List[str]:
    """Every commit of the mined revisions (``git rev-list``, with ``since``/``until``), except the
    boundary commits of a shallow clone: their parents are missing here, so this repository cannot
    make their record and must not be the holder that keeps them."""
    command = ["rev-list", *options.revisions]
    command += [f"--since={options.since}"] if options.since else []
    command += [f"--until={options.until}"] if options.until else []
    commits = _git(git_dir, *command, "--", what=f"git rev-list in {git_dir}").split()
    shallow = Path(git_dir) / "shallow"
    if shallow.is_file():
        boundary = set(shallow.read_text(encoding="ascii").split())
        commits = [commit for commit in commits if commit not in boundary]
    return commits


def _unreadable(location: str, git_dir: str, error: CommandFailed) -> UnreadableRepository:
    """Why ``git rev-list`` failed: no commits at all, an unknown revision, or a missing/corrupt object."""
    message = " ".join(error.stderr.split()) or f"exit {error.returncode}"
    try:
        has_refs = bool(_git(git_dir, "for-each-ref", "--count=1", what="git for-each-ref").strip())
    except CommandFailed:
        has_refs = True
    if not has_refs:
        return UnreadableRepository(location, EMPTY, "it has no commits")
    if "unknown revision" in message or "bad revision" in message:
        return UnreadableRepository(location, REVISION_NOT_FOUND, message)
    return UnreadableRepository(location, CORRUPT, message)


def resolve_location(location: str, clone_cache_dir: Optional[str] = None) -> Path:
    """The git directory of ``location``; ``UnreadableRepository`` if there is none."""
    if not looks_like_url(location) and not Path(location).exists():
        raise UnreadableRepository(location, UNAVAILABLE, "repository path not found")
    try:
        return resolve_git_dir(location, clone_cache_dir)
    except (MiningError, OSError) as error:
        raise UnreadableRepository(location, UNAVAILABLE, str(error)) from error


def repository_license(location: str, git_dir: str, options: Any) -> str:
    overrides = dict(options.repository_licenses)
    if location in overrides:
        return overrides[location]
    return detect_repository_license(Path(git_dir), license_revision(options.revisions))


def tree_paths(location: str, git_dir: str, revision: str) -> List[str]:
    """Every file path in the tree of ``revision``."""
    try:
        listing = run_checked(["git", "--git-dir", git_dir, "ls-tree", "-r", "-z", "--name-only", revision],
                              f"git ls-tree in {git_dir}", encoding="utf-8", errors="surrogateescape").stdout
    except CommandFailed as error:
        raise UnreadableRepository(location, REVISION_NOT_FOUND, f"{revision}: {' '.join(error.stderr.split())}") from None
    return [name for name in listing.split("\0") if name]


def exclusion_reason(location: str, git_dir: str, license_value: str, options: Any) -> str:
    """Why a readable repository takes no part (A.2-1 license, A.2-2 languages), or ``""``."""
    if license_value != UNKNOWN and not is_allowed(license_value):
        return "repository_license_not_allowed"
    if license_value == UNKNOWN and options.resolved_license_policy() == "drop-unknown":
        return "repository_license_unknown"
    if not has_listed_language(tree_paths(location, git_dir, license_revision(options.revisions))):
        return "repository_language_not_listed"
    return ""


def open_repository(index: int, location: str, options: Any) -> Tuple[Optional[Repository], str, List[str]]:
    """``(repository, "", commits)`` of a repository that takes part, or ``(None, drop reason, [])``.

    Raises ``UnreadableRepository`` when it cannot be read (``options.skip_unreadable_repositories``
    is for the caller to apply)."""
    git_dir = str(resolve_location(location, options.clone_cache_dir))
    try:
        commits = repository_commits(git_dir, options)
    except CommandFailed as error:
        raise _unreadable(location, git_dir, error) from None
    if not commits and not _git(git_dir, "for-each-ref", "--count=1", what="git for-each-ref").strip():
        raise UnreadableRepository(location, EMPTY, "it has no commits")
    license_value = repository_license(location, git_dir, options)
    reason = exclusion_reason(location, git_dir, license_value, options)
    if reason:
        return None, reason, []
    return Repository(index, location, repository_name(location), git_dir, license_value), "", commits


@dataclasses.dataclass
class OpenedRepositories:
    """What ``open_repositories`` found: the repositories that take part (in list order), each one's
    commits, the drop counts of the others and the unreadable ones that were skipped."""

    repositories: List[Repository] = dataclasses.field(default_factory=list)
    commits: Dict[int, List[str]] = dataclasses.field(default_factory=dict)
    drop_counts: Counter = dataclasses.field(default_factory=Counter)
    skipped: List[Dict[str, str]] = dataclasses.field(default_factory=list)

    def skip(self, error: UnreadableRepository) -> None:
        self.drop_counts[error.reason] += 1
        self.skipped.append(error.as_row())


def open_repositories(numbered: Iterable[Tuple[int, str]], options: Any) -> OpenedRepositories:
    """Open ``(number, location)`` pairs; unreadable ones raise unless ``options.skip_unreadable_repositories``."""
    opened = OpenedRepositories()
    for index, location in numbered:
        try:
            repository, reason, commits = open_repository(index, location, options)
        except UnreadableRepository as error:
            if not options.skip_unreadable_repositories:
                raise
            opened.skip(error)
            continue
        if repository is None:
            opened.drop_counts[reason] += 1
            continue
        opened.repositories.append(repository)
        opened.commits[index] = commits
    return opened


def group_holders(commits, repositories) -> Iterator[Tuple[str, List[int]]]:
    """``(commit, holders)`` of every commit held by more than one repository, holders ascending.

    ``commits`` and ``repositories`` are parallel numpy arrays (``S40`` commit hex, repository
    numbers), one entry per (commit, holder) pair, in any order."""
    import numpy as np

    if not len(commits):
        return
    order = np.lexsort((repositories, commits))  # by commit, then repository number
    commits, repositories = commits[order], repositories[order]
    starts = np.flatnonzero(np.r_[True, commits[1:] != commits[:-1]])
    sizes = np.diff(np.r_[starts, len(commits)])
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
        yield commits[start].decode("ascii"), repositories[start:start + size].tolist()


def shared_commits(commits_by_repository: Dict[int, Sequence[str]]) -> Dict[str, Tuple[int, ...]]:
    """``commit -> holders`` of every commit held by more than one of the repositories."""
    import numpy as np

    numbers = [number for number, commits in commits_by_repository.items() for _ in commits]
    flat = [commit.encode("ascii") for commits in commits_by_repository.values() for commit in commits]
    pairs = (np.array(flat, dtype="S40"), np.array(numbers, dtype=np.uint32))
    return {commit: tuple(holders) for commit, holders in group_holders(*pairs)}
