"""What the teacher and mix builders share about their prepared data: reading back the files they
write beside it (drop counts, rejected rows, reports), and an empty split read as an empty dataset
with the builder's features (``datasets`` refuses a split without data, and every row may drop)."""

from __future__ import annotations

import json
import os
from typing import Any


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
