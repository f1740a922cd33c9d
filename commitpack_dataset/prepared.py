"""What the teacher and mix builders share about their prepared data: reading back the files they
write beside it (drop counts, rejected rows, reports), an empty split read as an empty dataset
with the builder's features (``datasets`` refuses a split without data, and every row may drop),
and the cache directory's hash of rows handed to the constructor (:func:`rows_hash`)."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any


def rows_hash(builder_hash: str | None, **inputs: Any) -> str | None:
    """The ``hash=`` of a builder given in-memory rows (a ``datasets.Dataset``, a list of dicts, or
    None): ``datasets`` keys its cache by the config alone, so without this a second build with
    other rows in the same ``cache_dir`` would silently return the first build's data. A Dataset
    counts by its fingerprint (what ``datasets`` itself caches transforms by), a list or tuple by
    its content; anything else (an iterator, an ``IterableDataset``) cannot be read twice, so it
    gets a fresh directory each time, as ``datasets`` does for a transform it cannot hash (the
    teacher builders' response cache still answers every request already paid for). Without rows:
    ``builder_hash`` (the builder's cache is the config's, as usual)."""
    given = {name: rows for name, rows in inputs.items() if rows is not None}
    if not given:
        return builder_hash
    digest = hashlib.sha256((builder_hash or "").encode())
    for name, rows in sorted(given.items()):
        fingerprint = getattr(rows, "_fingerprint", None)
        digest.update(f"\0{name}\0".encode())
        if fingerprint is not None:
            digest.update(f"dataset:{fingerprint}".encode())
        elif isinstance(rows, (list, tuple)):
            for row in rows:
                digest.update(json.dumps(row, sort_keys=True, default=str).encode() + b"\n")
        else:
            digest.update(os.urandom(16))
    return digest.hexdigest()[:16]


class PreparedFiles:
    """A mixin for ``datasets`` builders with ``FIELDS`` and ``FEATURES`` class attributes."""

    FIELDS: tuple = ()
    FEATURES: Any = None

    def prepared_json(self, name: str, default: Any = None) -> Any:
        """The JSON file ``name`` beside the prepared data, or ``default`` when there is none."""
        path = os.path.join(self._output_dir, name)
        if not os.path.isfile(path):
            return default
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def prepared_jsonl(self, name: str) -> list:
        """The rows of the JSONL file ``name`` beside the prepared data (``[]`` when there is none)."""
        path = os.path.join(self._output_dir, name)
        if not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    def as_dataset(self, split=None, **kwargs):
        """As ``datasets`` does, except that a prepared ``train`` split without rows is an empty
        dataset with the features."""
        import datasets

        splits = self.info.splits or {}
        if split in ("train", datasets.Split.TRAIN) and "train" in splits and splits["train"].num_examples == 0:
            return datasets.Dataset.from_dict({name: [] for name in self.FIELDS}, features=self.FEATURES)
        return super().as_dataset(split=split, **kwargs)
