"""Stream candidate commits out of a local git repository.

One ``git log --raw -z --no-renames --no-abbrev`` process lists every commit with its raw diff
entries; one long-lived ``git cat-file --batch-check`` process gives blob sizes and one long-lived
``git cat-file --batch`` process gives blob contents (``blob_reader.BlobReader``, re-exported here).
No process is started per commit, and the blobs of up to ``BLOB_BATCH_SIZE`` consecutive
candidates are asked for in one round trip.

A *candidate* is a commit with a single modified file (reference A.2 steps 7-8, A.5):

- faithful rule: exactly one raw entry with status ``M`` (same path before and after); other
  added/deleted files in the same commit are allowed;
- strict rule (``strict=True``): the commit touches exactly one path, and it is modified.

Everything that is not a candidate is counted in ``CommitMiner.skipped`` (a ``Counter`` of
reasons) instead of raising: merges, no/multiple modified files, submodules, symlinks, binary
blobs, blobs over the size limit, missing blobs (shallow or partial clones), and git failures
(corrupt repositories, bad revisions; also listed in ``CommitMiner.failures``).

Three of those are our additions to the released scripts, each switchable: every merge commit
dropped (``drop_merge_commits=False`` reads a merge against its first parent, as the scripts'
``FETCH_HEAD^``), NUL bytes drop a file as binary (``skip_binary``), submodule and symlink entries
are skipped (``skip_submodules_and_symlinks=False``: a symlink's contents are its target path, a
submodule's are empty, as the scripts' ``git checkout`` + ``cat`` left them); so is the size limit
(``max_blob_bytes=None``). A blob missing from the mined repository is read from another repository
that holds the commit when ``alternates`` names them (blobs are content-addressed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from octopack_common import CommandFailed, run_checked

from commitpack_dataset.blob_reader import BlobReader

logger = logging.getLogger(__name__)

_COMMIT_MARK = b"\x01"
_LOG_FORMAT = "%x01%H%x00%P%x00%aI%x00%B"
_SUBMODULE_MODE = "160000"
_SYMLINK_MODE = "120000"
DEFAULT_MAX_BLOB_BYTES = 1_000_000
# Candidates whose blobs are requested together: 2 * 64 object names (~5 KB) stay far below a pipe
# buffer, so writing a request never blocks while cat-file waits for us to read its answers.
BLOB_BATCH_SIZE = 64


class MiningError(RuntimeError):
    """A repository could not be opened or cloned."""


@dataclasses.dataclass(frozen=True)
class RawEntry:
    """One ``git log --raw`` entry of a commit (renames disabled, so one path)."""

    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    status: str
    path: str


@dataclasses.dataclass
class LoggedCommit:
    """A commit as listed by ``git log``: header fields plus its raw entries."""

    sha: str
    parents: List[str]
    author_date: str
    message: str
    entries: List[RawEntry] = dataclasses.field(default_factory=list)
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)  # what a prefilter wants to keep with it


@dataclasses.dataclass(frozen=True)
class MinedCommit:
    """A single-modified-file commit with both versions of the file."""

    sha: str
    parents: Tuple[str, ...]
    author_date: str
    message: str
    path: str
    old_blob: str
    new_blob: str
    old_contents: str
    new_contents: str
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)  # the LoggedCommit's

    @property
    def subject(self) -> str:
        """First line of the message."""
        return self.message.split("\n", 1)[0]


def split_nul_stream(stream: IO[bytes], chunk_size: int = 1 << 16) -> Iterator[bytes]:
    """Yield NUL-separated tokens from a binary stream without reading it all."""
    pending = b""
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        pending += chunk
        *tokens, pending = pending.split(b"\0")
        yield from tokens
    if pending:
        yield pending


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="ignore")


def _parse_raw_meta(token: bytes) -> Tuple[str, str, str, str, str]:
    """Parse ``:old_mode new_mode old_blob new_blob status`` (leading newline tolerated)."""
    old_mode, new_mode, old_blob, new_blob, status = token.lstrip(b"\n")[1:].decode("ascii").split(" ")
    return old_mode, new_mode, old_blob, new_blob, status


def parse_log_stream(tokens: Iterator[bytes]) -> Iterator[LoggedCommit]:
    """Turn the NUL tokens of ``git log --raw -z --format=_LOG_FORMAT`` into LoggedCommits."""
    current: Optional[LoggedCommit] = None
    tokens = iter(tokens)
    for token in tokens:
        if token.startswith(_COMMIT_MARK):
            if current is not None:
                yield current
            sha = token[1:].decode("ascii")
            parents = next(tokens, b"").decode("ascii").split()
            author_date = next(tokens, b"").decode("ascii")
            message = _decode(next(tokens, b""))
            if message.endswith("\n"):  # %B ends with the newline git stores after the message
                message = message[:-1]
            current = LoggedCommit(sha=sha, parents=parents, author_date=author_date, message=message)
        elif token.lstrip(b"\n").startswith(b":") and current is not None:
            old_mode, new_mode, old_blob, new_blob, status = _parse_raw_meta(token)
            path = next(tokens, b"").decode("utf-8", errors="replace")
            current.entries.append(RawEntry(old_mode, new_mode, old_blob, new_blob, status, path))
        # anything else (blank separators) carries no information
    if current is not None:
        yield current


def looks_like_url(location: str) -> bool:
    """A clone URL (``scheme://...`` or ``user@host:path``) rather than a local path."""
    return "://" in location or re.match(r"^[\w.-]+@[\w.-]+:", location) is not None


def cached_clone(url: str, cache_dir: os.PathLike) -> Path:
    """Mirror-clone ``url`` into ``cache_dir`` (or fetch updates if present); return the git dir."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/").rsplit("/", 2)[-1] if "/" in url else url)
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    destination = cache_dir / f"{readable}-{digest}.git"
    if destination.exists():
        command = ["git", "--git-dir", str(destination), "fetch", "--prune", "--quiet", "origin"]
    else:
        command = ["git", "clone", "--mirror", "--quiet", url, str(destination)]
    try:
        run_checked(command, f"{' '.join(command[:3])} of {url}", timeout=3600)
    except (CommandFailed, subprocess.TimeoutExpired) as error:
        detail = error.stderr.strip() if isinstance(error, CommandFailed) else "timed out"
        raise MiningError(f"{' '.join(command[:3])} failed for {url}: {detail}") from None
    return destination


def resolve_git_dir(location: str, clone_cache_dir: Optional[os.PathLike] = None) -> Path:
    """Return the git directory of a local path (work tree or bare) or a cached clone of a URL."""
    if looks_like_url(location):
        if clone_cache_dir is None:
            raise MiningError(f"{location} is a URL; pass clone_cache_dir to clone it")
        return cached_clone(location, clone_cache_dir)
    try:
        result = run_checked(["git", "-C", str(location), "rev-parse", "--absolute-git-dir"], "git rev-parse")
    except CommandFailed as error:
        raise MiningError(f"not a git repository: {location}: {error.stderr.strip()}") from None
    return Path(result.stdout.strip())


@dataclasses.dataclass
class CommitMiner:
    """Yields MinedCommits of one repository; counts every skipped commit in ``skipped``.

    ``revisions`` are passed to ``git log`` as-is (``("HEAD",)``, ``("--all",)``, ``("v1..v2",)``);
    ``since``/``until`` become ``--since``/``--until``. Blobs over ``max_blob_bytes`` are skipped.
    ``prefilter(commit, entry)`` runs before any blob is read and returns a drop reason, or ``""``
    to read the blobs; use it for rules that need only the message and path (it may keep data in
    ``commit.extra``, which the MinedCommit carries). The blobs of up to ``batch_size`` consecutive
    candidates are requested at once (one write per cat-file process). ``alternates(commit)`` names
    other git directories holding the commit, asked for blobs missing here.
    """

    revisions: Sequence[str] = ("HEAD",)
    since: Optional[str] = None
    until: Optional[str] = None
    max_blob_bytes: Optional[int] = DEFAULT_MAX_BLOB_BYTES
    strict: bool = False
    skip_binary: bool = True
    drop_merge_commits: bool = True
    skip_submodules_and_symlinks: bool = True
    clone_cache_dir: Optional[str] = None
    prefilter: Optional[Callable[[LoggedCommit, RawEntry], str]] = None
    alternates: Optional[Callable[[LoggedCommit], Sequence[str]]] = None
    batch_size: int = BLOB_BATCH_SIZE
    skipped: Counter = dataclasses.field(default_factory=Counter)
    failures: List[Tuple[str, str, str]] = dataclasses.field(default_factory=list)  # (location, reason, git's message)
    _readers: Dict[str, "BlobReader"] = dataclasses.field(default_factory=dict, init=False, repr=False)

    def _log_command(self, git_dir: Path) -> List[str]:
        command = ["git", "--git-dir", str(git_dir), "log", "--raw", "-z", "--no-renames", "--no-abbrev"]
        command += ["--no-color", "--no-ext-diff", f"--format={_LOG_FORMAT}"]
        if not self.drop_merge_commits:
            command.append("--diff-merges=first-parent")
        if self.since:
            command.append(f"--since={self.since}")
        if self.until:
            command.append(f"--until={self.until}")
        return command + list(self.revisions) + ["--"]

    def single_modified_entry(self, commit: LoggedCommit) -> Tuple[Optional[RawEntry], str]:
        """The commit's one modified entry, or ``(None, reason)``."""
        if len(commit.parents) > 1 and self.drop_merge_commits:
            return None, "merge_commit"
        if not commit.parents:
            return None, "root_commit"
        modified = [e for e in commit.entries if e.status == "M"]
        if not modified:
            return None, "no_modified_file"
        if len(modified) > 1:
            return None, "multiple_modified_files"
        if self.strict and len(commit.entries) != 1:
            return None, "strict_not_single_path"
        return modified[0], ""

    def mode_reason(self, entry: RawEntry) -> str:
        """``submodule`` or ``symlink`` for such entries when they are skipped, else ``""``."""
        if not self.skip_submodules_and_symlinks:
            return ""
        if _SUBMODULE_MODE in (entry.old_mode, entry.new_mode):
            return "submodule"
        if _SYMLINK_MODE in (entry.old_mode, entry.new_mode):
            return "symlink"
        return ""

    def _reader(self, git_dir: str) -> "BlobReader":
        if git_dir not in self._readers:
            self._readers[git_dir] = BlobReader(Path(git_dir))
        return self._readers[git_dir]

    def close_alternates(self) -> None:
        """Stop the cat-file processes opened for alternates."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def _read_elsewhere(self, commit: LoggedCommit, entry: RawEntry) -> Tuple[str, Optional[bytes], Optional[bytes]]:
        """``(reason, old, new)`` from the first alternate that has both blobs (reason ``missing_blob`` if none)."""
        for git_dir in (self.alternates(commit) if self.alternates is not None else ()):
            reader = self._reader(git_dir)
            sizes = reader.sizes([entry.old_blob, entry.new_blob])
            if None in sizes:
                continue
            if self.max_blob_bytes is not None and max(sizes) > self.max_blob_bytes:
                return "blob_too_large", None, None
            old, new = reader.read_many([entry.old_blob, entry.new_blob])
            if old is not None and new is not None:
                return "", old, new
        return "missing_blob", None, None

    def _size_reasons(self, blobs: BlobReader, batch: Sequence[Tuple[LoggedCommit, RawEntry]]) -> List[str]:
        """Per candidate: ``""`` or why its blobs are not read (missing, too large), one round trip."""
        if self.max_blob_bytes is None:
            return [""] * len(batch)
        sizes = blobs.sizes([sha for _, entry in batch for sha in (entry.old_blob, entry.new_blob)])
        reasons = []
        for old_size, new_size in zip(sizes[0::2], sizes[1::2]):
            if old_size is None or new_size is None:
                reasons.append("missing_blob")
            elif max(old_size, new_size) > self.max_blob_bytes:
                reasons.append("blob_too_large")
            else:
                reasons.append("")
        return reasons

    def read_batch(self, blobs: BlobReader, batch: Sequence[Tuple[LoggedCommit, RawEntry]]) -> Iterator[MinedCommit]:
        """Read the blobs of a batch of candidates with one request per process; yield in order."""
        submodule = [_SUBMODULE_MODE in (entry.old_mode, entry.new_mode) for _, entry in batch]
        blob_batch = [candidate for candidate, is_submodule in zip(batch, submodule) if not is_submodule]
        size_reasons = iter(self._size_reasons(blobs, blob_batch))
        reasons = ["" if is_submodule else next(size_reasons) for is_submodule in submodule]
        wanted = [entry for (_, entry), reason, is_submodule in zip(batch, reasons, submodule)
                  if not reason and not is_submodule]
        contents = iter(blobs.read_many([sha for entry in wanted for sha in (entry.old_blob, entry.new_blob)]))
        for (commit, entry), reason, is_submodule in zip(batch, reasons, submodule):
            old = new = b""  # a submodule kept as a file reads as empty, as the scripts' checkout left it
            if not reason and not is_submodule:
                old, new = next(contents), next(contents)
            if reason == "missing_blob" or (not reason and (old is None or new is None)):
                reason, old, new = self._read_elsewhere(commit, entry)
            if not reason and self.skip_binary and (b"\0" in old or b"\0" in new):
                reason = "binary"
            if reason:
                self.skipped[reason] += 1
                continue
            yield MinedCommit(
                sha=commit.sha,
                parents=tuple(commit.parents),
                author_date=commit.author_date,
                message=commit.message,
                path=entry.path,
                old_blob=entry.old_blob,
                new_blob=entry.new_blob,
                old_contents=_decode(old),
                new_contents=_decode(new),
                extra=commit.extra,
            )

    def mine(self, location: str) -> Iterator[MinedCommit]:
        """Yield the candidate commits of the repository at ``location`` (path or URL)."""
        try:
            git_dir = resolve_git_dir(location, self.clone_cache_dir)
        except (MiningError, OSError, subprocess.SubprocessError) as error:
            logger.warning("skipping repository %s: %s", location, error)
            self.skipped["repository_unavailable"] += 1
            self.failures.append((location, "repository_unavailable", str(error)))
            return
        with tempfile.TemporaryFile() as stderr_file, BlobReader(git_dir) as blobs:
            log = subprocess.Popen(self._log_command(git_dir), stdout=subprocess.PIPE, stderr=stderr_file)
            try:
                yield from self.mine_stream(log.stdout, blobs)
            finally:
                log.stdout.close()
                returncode = log.wait()
                self.close_alternates()
            if returncode not in (0, -13):  # -13: SIGPIPE when the consumer stopped early
                stderr_file.seek(0)
                message = " ".join(stderr_file.read().decode("utf-8", errors="replace").split())
                logger.warning("git log failed in %s (%s): %s", location, returncode, message)
                self.skipped["git_log_failed"] += 1
                self.failures.append((location, "git_log_failed", message or f"exit {returncode}"))

    def _candidates(self, stdout: IO[bytes]) -> Iterator[Tuple[LoggedCommit, RawEntry]]:
        """Commits whose one modified entry passes every check that needs no blob."""
        for commit in parse_log_stream(split_nul_stream(stdout)):
            entry, reason = self.single_modified_entry(commit)
            if entry is None:
                self.skipped[reason] += 1
                continue
            if self.prefilter is not None:
                reason = self.prefilter(commit, entry)
                if reason:
                    self.skipped[reason] += 1
                    continue
            reason = self.mode_reason(entry)
            if reason:
                self.skipped[reason] += 1
                continue
            yield commit, entry

    def mine_stream(self, stdout: IO[bytes], blobs: BlobReader) -> Iterator[MinedCommit]:
        batch: List[Tuple[LoggedCommit, RawEntry]] = []
        for candidate in self._candidates(stdout):
            batch.append(candidate)
            if len(batch) >= self.batch_size:
                yield from self.read_batch(blobs, batch)
                batch = []
        if batch:
            yield from self.read_batch(blobs, batch)
