"""The commit part of the OctoCoder mix (reference C.1): a seeded random sample of CommitPackFT rows
over a set of languages, in OctoCoder's training form.

**Where the rows come from**: this project's :class:`~commitpack_dataset.CommitPackFT` builder, one
``all`` config restricted to the languages, either mining git repositories (``source="mine"``) or
reading released files laid out like the Hub repository (``source="published"``: a local
directory, or ``hf://datasets/bigcode/commitpackft``, the paper's source); or rows handed in
directly (a ``datasets.Dataset`` with CommitPackFT's columns).

**The sample** (the paper: 5,000 rows across the six HumanEvalPack languages): ``pooled`` draws
``n`` rows uniformly from all rows of the languages (``numpy.random.default_rng(seed)``
permutation, first ``n``, kept in source order); ``per_language`` draws ``n // k`` from each of
the ``k`` languages (the remainder going to the first ones; a language with fewer rows gives
all it has).

**The training form** (the released ``add_commitpackft.py``): ``prompt`` = ``subject`` + newline +
``old_contents`` (the subject only, never the message: issue #23), ``completion`` =
``new_contents``. Rendered by the recipes as ``Question: {prompt}\\n\\nAnswer: {completion}``.
Issue #9 writes the commit form with a newline after ``Answer: ``; ``completion_prefix="\\n"``
reproduces it (the released rows have none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: The six HumanEvalPack languages as CommitPackFT config names.
HUMANEVALPACK_LANGUAGES = ("python", "javascript", "java", "go", "c++", "rust")
SAMPLINGS = ("pooled", "per_language")


def display_names(languages: Sequence[str]) -> tuple[str, ...]:
    """CommitPack display names (``C++``) of config or display names (``c++``), checked."""
    import difflib

    from commitpack_dataset.languages import all_config_names

    configs = all_config_names()
    displays = {display.lower(): display for display in configs.values()}
    names = []
    for language in languages:
        found = configs.get(language.lower()) or displays.get(language.lower())
        if found is None:
            close = difflib.get_close_matches(language.lower(), list(configs), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"unknown CommitPack language {language!r}{hint}: use config names such as "
                             "python, javascript, java, go, c++, rust")
        names.append(found)
    return tuple(dict.fromkeys(names))


def load_commits(languages: Sequence[str], *, source: str, data_dir: str | None = None,
                 repositories: Sequence[str] = (), cache_dir: str | None = None,
                 builder_kwargs: dict | None = None, num_proc: int | None = None):
    """The CommitPackFT rows of ``languages`` (a ``datasets.Dataset``) from this project's builder."""
    from commitpack_dataset.builders import CommitPackFT

    kwargs = dict(builder_kwargs or {})
    if source == "published":
        if not data_dir:
            raise ValueError("commit_source='published' needs commit_data_dir (a local directory laid out like "
                             "the Hub repository, or hf://datasets/bigcode/commitpackft)")
        kwargs.update(source="published", data_dir=data_dir)
    elif source == "mine":
        if not repositories:
            raise ValueError("commit_source='mine' needs commit_repositories (git paths or clone URLs)")
        kwargs.update(repositories=tuple(repositories))
    else:
        raise ValueError(f"commit_source must be 'published' or 'mine', got {source!r}")
    builder = CommitPackFT(config_name="all", languages=display_names(languages), cache_dir=cache_dir, **kwargs)
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset("train")


def sample_indices(langs: Sequence[str], n: int, seed: int, sampling: str = "pooled",
                   languages: Sequence[str] = ()) -> list[int]:
    """Indices (ascending) of the ``n`` rows drawn from rows whose language is ``langs[i]``."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"commit_sampling must be one of {SAMPLINGS}, got {sampling!r}")
    rng = np.random.default_rng(seed)
    if sampling == "pooled":
        return sorted(int(i) for i in rng.permutation(len(langs))[:n])
    order = list(languages) or list(dict.fromkeys(langs))
    shares = [n // len(order) + (1 if position < n % len(order) else 0) for position in range(len(order))]
    chosen: list[int] = []
    for language, share in zip(order, shares):
        members = np.array([i for i, lang in enumerate(langs) if lang == language], dtype=np.int64)
        chosen += [int(i) for i in members[rng.permutation(len(members))[:share]]]
    return sorted(chosen)


def commit_pair(row: dict, completion_prefix: str = "") -> dict:
    """One CommitPackFT row in the mix's training form."""
    return {"prompt": f"{row['subject']}\n{row['old_contents']}", "completion": completion_prefix + row["new_contents"],
            "source": "commitpackft", "lang": row["lang"], "origin": row["commit"]}


def commit_rows(dataset: Any, n: int, seed: int, *, sampling: str = "pooled", languages: Sequence[str] = (),
                completion_prefix: str = "") -> list[dict]:
    """The sampled mix rows of ``dataset`` (rows of other languages than ``languages`` are ignored;
    no rows -- an empty list, or a ``Dataset`` without columns -- give none)."""
    if len(dataset) == 0:
        return []
    wanted = set(display_names(languages)) if languages else None
    langs = list(dataset["lang"])
    eligible = [i for i, lang in enumerate(langs) if wanted is None or lang in wanted]
    picked = sample_indices([langs[i] for i in eligible], n, seed, sampling,
                            display_names(languages) if languages else ())
    subset = dataset.select([eligible[i] for i in picked]) if hasattr(dataset, "select") else [
        dataset[eligible[i]] for i in picked]
    return [commit_pair(row, completion_prefix) for row in subset]
