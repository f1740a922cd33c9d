"""The numbers behind Magicoder's data figures (reference D.9), computed as its scripts compute them.

* **Categories** (``instructor_embedding.py``, query mode): each row goes to the category whose
  embedding is the most similar (cosine) to the row's embedding; the paper's ten categories by
  default. The scripts embed each row's *solution*.
* **Lengths** (``length.py``): token counts bucketed as ``(length // 20) * 20``.
* **Similarity to HumanEval** (``cosine_similarity.py``): one ``TfidfVectorizer`` with scikit-learn's
  defaults fitted on every text at once -- each data row as ``instruction + " " + response``, each
  HumanEval task as ``prompt + " " + canonical_solution`` -- then each row's score is its highest
  cosine similarity to any task; the distribution is the share of rows per score rounded to 0.01.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

#: The ten coding-task categories of the Magicoder paper's figure.
MAGICODER_CATEGORIES = (
    "Algorithmic and Data Structure Problems",
    "Mathematical and Computational Problems",
    "Database and SQL Problems",
    "System Design and Architecture Problems",
    "Security and Cryptography Problems",
    "Performance Optimization Problems",
    "Web Problems",
    "Domain Specific Problems",
    "User Interface and Application Design Problems",
    "Data Science and Machine Learning Problems",
)
BIN_WIDTH = 20


def assign_categories(vectors: np.ndarray, category_vectors: np.ndarray) -> np.ndarray:
    """Index of the most similar category for each row (cosine similarity; ties: the first)."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.int64)
    rows = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    queries = category_vectors / np.clip(np.linalg.norm(category_vectors, axis=1, keepdims=True), 1e-12, None)
    return np.argmax(rows @ queries.T, axis=1)


def category_counts(labels: Sequence[int], categories: Sequence[str]) -> dict[str, int]:
    """Rows per category, every category listed (in the given order)."""
    counts = Counter(int(label) for label in labels)
    return {name: counts.get(index, 0) for index, name in enumerate(categories)}


def length_bins(lengths: Sequence[int], width: int = BIN_WIDTH) -> dict[int, int]:
    """Rows per bin ``[b, b + width)`` (keyed by ``b``), ascending."""
    counts = Counter((int(length) // width) * width for length in lengths)
    return dict(sorted(counts.items()))


def summary_stats(values: Sequence[float]) -> dict[str, float]:
    if len(values) == 0:
        return {"mean": 0.0, "median": 0.0, "p90": 0.0, "max": 0.0}
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "median": float(np.median(array)), "p90": float(np.percentile(array, 90)),
            "max": float(array.max())}


def humaneval_texts(tasks: Sequence[Mapping[str, str]]) -> list[str]:
    """Each HumanEval task as ``prompt + " " + canonical_solution``."""
    return [f"{task['prompt']} {task['canonical_solution']}" for task in tasks]


def humaneval_similarity(texts: Mapping[str, Sequence[str]], benchmark: Sequence[str]
                         ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int]:
    """Per dataset: (each row's highest cosine similarity to a benchmark text, the index of that text);
    and the size of the vocabulary of the one ``TfidfVectorizer`` fitted on all texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    every = [text for part in texts.values() for text in part] + list(benchmark)
    vectorizer = TfidfVectorizer()
    vectorizer.fit(every)
    tasks = vectorizer.transform(benchmark)
    scores = {}
    for label, part in texts.items():
        if len(part) == 0:
            scores[label] = (np.zeros(0), np.zeros(0, dtype=np.int64))
            continue
        similarity = (vectorizer.transform(part) @ tasks.T).toarray()  # rows are L2-normalised: cosine
        scores[label] = (similarity.max(axis=1), similarity.argmax(axis=1))
    return scores, len(vectorizer.vocabulary_)


def score_distribution(scores: Sequence[float]) -> dict[float, float]:
    """Share of rows per score rounded to 0.01, ascending."""
    if len(scores) == 0:
        return {}
    counts = Counter(round(float(score), 2) for score in scores)
    return {score: count / len(scores) for score, count in sorted(counts.items())}
