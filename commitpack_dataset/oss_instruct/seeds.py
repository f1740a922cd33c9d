"""OSS-Instruct seeds: documents from a data set, local files or git repositories, and the
snippet rule of Magicoder (reference D.1).

**Documents**, in this order: the rows of a ``datasets`` data set (its ``content`` column, or the
one named), then local files (sorted paths; directories are walked), then the files of git
repositories at a revision (read with the CommitPack miner's ``cat-file`` reader). Files and
repositories keep only paths the CommitPack language map assigns to the config's language; a file
named explicitly is always read. Only the first ``max_documents`` documents are considered
(150,000 in Magicoder).

**Snippet rule.** A document is split into lines keeping their line ends; a start line is drawn
uniformly over all lines and a length uniformly in ``[min_lines, max_lines]`` (1-15); the snippet
is that many lines from the start (shorter near the end of the file). Documents are taken in
chunks of ``chunk_size`` (1,000); each chunk seeds a fresh ``random.Random`` with ``seed + the
index of its first document`` (976 + ...), and the draws are ``choice(range(lines))`` then
``randint(min, max)``, as in the released script -- so a seed depends only on its document, its
position and these settings. Then all seeds are shuffled with ``numpy.random.default_rng(seed)``
(what ``Dataset.shuffle(seed=976)`` does), numbered by their new position (``index``) and sliced
to ``[start_index, start_index + max_new_data)``. An empty document has no line to start from
(the released script fails on one): it is skipped and counted.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Magicoder's nine languages: config name -> CommitPack language map display name.
MAGICODER_LANGUAGES = {"python": "Python", "typescript": "TypeScript", "csharp": "C#", "rust": "Rust",
                       "swift": "Swift", "php": "PHP", "java": "Java", "cpp": "C++", "shell": "Shell"}
#: Where Magicoder took each language's seed documents: (dataset, data_dir).
MAGICODER_SEED_SOURCES = {name: ("bigcode/starcoderdata", name) for name in MAGICODER_LANGUAGES}
MAGICODER_SEED_SOURCES["csharp"] = ("bigcode/starcoderdata", "c-sharp")
MAGICODER_SEED_SOURCES["swift"] = ("bigcode/the-stack", "data/swift")


def language_configs() -> dict[str, str]:
    """Config name -> display name: Magicoder's nine (``cpp``, ``csharp``...), then every other
    language of the CommitPack map under its CommitPack config name (``go``, ``javascript``...)."""
    from commitpack_dataset.languages import config_name, language_extensions

    configs = dict(MAGICODER_LANGUAGES)
    taken = set(configs.values())
    for display in language_extensions():
        if display not in taken:
            configs[config_name(display)] = display
    return configs


@dataclasses.dataclass(frozen=True)
class Document:
    content: str
    source: str  # "dataset:<row>", a file path, or "<repository>:<path>"


@dataclasses.dataclass(frozen=True)
class Seed:
    index: int  # position after the shuffle (the teacher's seed is base + index)
    raw_index: int  # position of the document among the considered documents
    seed: str  # the snippet
    source: str


def extract_snippet(document: str, rng: random.Random, min_lines: int = 1, max_lines: int = 15) -> str:
    """The D.1 snippet of one document (two draws from ``rng``)."""
    lines = document.splitlines(keepends=True)
    start = rng.choice(range(len(lines)))
    length = rng.randint(min_lines, max_lines)
    return "".join(lines[start:start + length])


def make_seeds(documents: Sequence[Document], *, seed: int = 976, min_lines: int = 1, max_lines: int = 15,
               chunk_size: int = 1000, start_index: int = 0, max_new_data: int | None = None,
               drops: Counter | None = None) -> list[Seed]:
    """Snippets of ``documents`` with the chunked seeding, the shuffle and the slice of D.1."""
    if not 1 <= min_lines <= max_lines:
        raise ValueError(f"need 1 <= min_lines <= max_lines, got {min_lines} and {max_lines}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    snippets: list[tuple[int, str, str]] = []
    for chunk_start in range(0, len(documents), chunk_size):
        rng = random.Random(seed + chunk_start)
        for raw_index in range(chunk_start, min(chunk_start + chunk_size, len(documents))):
            document = documents[raw_index]
            if not document.content.splitlines():
                if drops is not None:
                    drops["seed_empty_document"] += 1
                continue
            snippets.append((raw_index, extract_snippet(document.content, rng, min_lines, max_lines),
                             document.source))
    order = np.random.default_rng(seed).permutation(len(snippets))
    end = len(order) if max_new_data is None else min(len(order), start_index + max_new_data)
    return [Seed(index, *snippets[order[index]]) for index in range(start_index, end)]


# -- documents ------------------------------------------------------------------------------------
def dataset_documents(dataset: Any, column: str = "content", limit: int | None = None) -> Iterator[Document]:
    """Rows of a ``datasets.Dataset`` (or any sequence of dicts) as documents."""
    names = getattr(dataset, "column_names", None)
    if names is not None and column not in names:
        raise ValueError(f"the seed dataset has no column {column!r} (its columns: {', '.join(names)}): "
                         "set seed_column to the column that holds code")
    total = len(dataset) if limit is None else min(limit, len(dataset))
    source = dataset.select_columns([column]) if names is not None else dataset
    for row_number in range(total):
        yield Document(str(source[row_number][column] or ""), f"dataset:{row_number}")


def load_seed_dataset(name: str, data_dir: str | None = None, split: str = "train", limit: int | None = None):
    """``datasets.load_dataset`` of a Hub id or local path, cut to the first ``limit`` rows."""
    import datasets

    sliced = split if limit is None else f"{split}[:{limit}]"
    local = os.path.exists(name)
    if local and os.path.isfile(name):
        builder = "json" if name.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz")) else "parquet"
        return datasets.load_dataset(builder, data_files=name, split=sliced)
    return datasets.load_dataset(name, data_dir=data_dir, split=sliced)


def _language_files(root: Path, language: str | None) -> list[Path]:
    from commitpack_dataset.languages import language_of

    files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts]
    return sorted(p for p in files if language is None or language_of(p.name) == language)


def file_documents(paths: Sequence[str], language: str | None) -> Iterator[Document]:
    """Local files: explicit files always, directories and globs filtered by ``language``."""
    for raw in paths:
        matches = [Path(p) for p in sorted(glob.glob(raw, recursive=True))] if glob.has_magic(raw) else [Path(raw)]
        if not matches or not matches[0].exists():
            raise FileNotFoundError(f"seed file or directory not found: {raw}")
        for path in matches:
            if path.is_dir():
                chosen = _language_files(path, language)
            elif glob.has_magic(raw) and language is not None and not _is_language(path, language):
                chosen = []
            else:
                chosen = [path]
            for file in chosen:
                text = _decode(file.read_bytes())
                if text is not None:
                    yield Document(text, str(file))


def _is_language(path: Path, language: str) -> bool:
    from commitpack_dataset.languages import language_of

    return language_of(path.name) == language


def _decode(data: bytes) -> str | None:
    if b"\0" in data:
        return None  # binary
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def repository_documents(locations: Sequence[str], language: str | None, revision: str = "HEAD",
                         clone_cache_dir: str | None = None, max_bytes: int = 1_000_000,
                         drops: Counter | None = None) -> Iterator[Document]:
    """Files of git repositories at ``revision`` whose language is ``language``, read with the
    miner's blob reader (one ``cat-file --batch`` process per repository)."""
    from octopack_common import run_git

    from commitpack_dataset.languages import language_of
    from commitpack_dataset.mining import BlobReader, resolve_git_dir

    for location in locations:
        git_dir = resolve_git_dir(location, clone_cache_dir)
        listing = run_git(git_dir, "ls-tree", "-r", "-z", "--long", revision,
                          what=f"listing the files of {location} at {revision}").stdout
        entries = []
        for record in listing.split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            if kind != "blob" or mode in ("120000", "160000") or (language and language_of(path) != language):
                continue
            if size != "-" and int(size) > max_bytes:
                if drops is not None:
                    drops["seed_file_too_large"] += 1
                continue
            entries.append((path, sha))
        with BlobReader(git_dir) as blobs:
            for start in range(0, len(entries), 64):
                batch = entries[start:start + 64]
                for (path, _), data in zip(batch, blobs.read_many([sha for _, sha in batch])):
                    text = _decode(data) if data is not None else None
                    if text is None:
                        if drops is not None:
                            drops["seed_file_unreadable"] += 1
                        continue
                    yield Document(text, f"{location}:{path}")
