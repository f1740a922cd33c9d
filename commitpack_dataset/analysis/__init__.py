"""Data analysis for every instruction dataset the suite builds (and any other): the Magicoder
paper's figures -- category balance, token lengths, similarity to HumanEval -- one dataset or
several side by side, as PNGs and a JSON summary (``octopack-analyze``).

    from commitpack_dataset.analysis import analyze
    analyze({"OSS-Instruct": "oss/out", "Code Alpaca": "code_alpaca_2k.json"}, "analysis/")

Modules: ``views`` (a dataset as instructions and responses), ``embeddings`` (the local sentence
embedder and its cache), ``tokens`` (token counts, tokenizer named), ``figures`` (the numbers, as
Magicoder's scripts compute them), ``plots`` (the PNGs), ``report`` (``analyze``).
"""

from commitpack_dataset.analysis.embeddings import DEFAULT_MODEL, Embedder, EmbeddingCache
from commitpack_dataset.analysis.figures import MAGICODER_CATEGORIES
from commitpack_dataset.analysis.report import EMBED_FIELDS, FIGURES, analyze
from commitpack_dataset.analysis.tokens import TokenCounter
from commitpack_dataset.analysis.views import InstructionView, instruction_view, load_rows

__all__ = ["DEFAULT_MODEL", "EMBED_FIELDS", "FIGURES", "MAGICODER_CATEGORIES", "Embedder", "EmbeddingCache",
           "InstructionView", "TokenCounter", "analyze", "instruction_view", "load_rows"]
