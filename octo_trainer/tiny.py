"""The tiny causal LM octopack builds itself: offline, deterministic, cached on disk.

Tests, smoke runs and the local OpenAI-compatible endpoint need *a* real model, and this machine
cannot download one. :func:`build_tiny_model` makes one from nothing but code that is always at
hand:

* a byte-level BPE tokenizer (``tokenizers``) trained on a fixed, sorted list of Python stdlib
  modules (or on HumanEvalPack prompts + solutions when ``corpus_dir`` is given), with the special
  tokens ``<|endoftext|>`` (bos/eos/pad), ``<|im_start|>``, ``<|im_end|>`` and a ChatML chat
  template whose assistant turns are wrapped in ``{% generation %}`` markers, so TRL's
  ``assistant_only_loss=True`` works;
* a 2-layer ``LlamaForCausalLM`` (hidden 64) with seeded weights, trained for a few seconds on the
  same corpus so that it emits code-looking text.

The result is a directory that ``AutoModelForCausalLM`` / ``AutoTokenizer.from_pretrained`` and
``transformers serve`` load. It is cached (default ``$OCTOPACK_CACHE_DIR/tiny-model``, else
``~/.cache/octopack/tiny-model``) and keyed by a hash of the build recipe, the corpus and the
library versions, recorded with per-file checksums in ``octopack-tiny.json``; a changed recipe or a
damaged directory is rebuilt. Builds go into a temporary sibling directory and are moved into place
with ``os.replace`` while holding a file lock (:func:`octopack_common.file_lock`), so concurrent
builders (pytest-xdist workers, several processes) never see or leave a half-written model. (Not
:func:`octopack_common.ensure_built`, which builds in place because toolchain outputs record their
own paths: a model directory can be built aside and swapped in, so its path always holds a whole
build, even while a rebuild runs.)

Command line: ``python -m octo_trainer.tiny [--output-dir D] [--force] [--corpus-dir D]`` prints
the model directory.

Heavy libraries (torch, transformers, tokenizers) are imported inside the functions that need
them, so importing this module is cheap and checking a warm cache never imports torch.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sysconfig
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

from octopack_common import cache_dir, file_lock, read_stamp, write_json_atomic

#: Bump when the build changes in a way the recipe dictionary below does not capture.
RECIPE_VERSION = 1
#: Written last into every built directory: the recipe key and a sha256 per file.
STAMP_FILE = "octopack-tiny.json"
MODEL_DIR_NAME = "tiny-model"

EOS_TOKEN = "<|endoftext|>"
SPECIAL_TOKENS = (EOS_TOKEN, "<|im_start|>", "<|im_end|>")
VOCAB_SIZE = 4096

#: ChatML; the assistant's content and its closing ``<|im_end|>`` are the "generation" span.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- set content = message['content'] -%}"
    "{%- if content is not string -%}"
    "{%- set content = content | selectattr('type', 'equalto', 'text') | map(attribute='text')"
    " | join('') -%}"
    "{%- endif -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- generation -%}{{- content + '<|im_end|>' -}}{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- content + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

MODEL_CONFIG = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
    "rope_theta": 10000.0,
}

#: A few seconds of single-threaded AdamW on random windows of the corpus.
TRAINING = {"seed": 1234, "steps": 60, "batch_size": 8, "seq_len": 64, "lr": 1e-2}

#: Stdlib modules present in every CPython >= 3.10; missing ones are skipped (and hashed as such).
STDLIB_CORPUS = (
    "abc.py", "base64.py", "bisect.py", "calendar.py", "colorsys.py", "contextlib.py",
    "copy.py", "csv.py", "difflib.py", "fnmatch.py", "fractions.py", "functools.py",
    "glob.py", "graphlib.py", "heapq.py", "json/__init__.py", "json/decoder.py",
    "json/encoder.py", "keyword.py", "numbers.py", "operator.py", "pprint.py", "queue.py",
    "random.py", "reprlib.py", "sched.py", "shlex.py", "statistics.py", "string.py",
    "textwrap.py",
)  # fmt: skip

#: Files every complete build contains (besides the stamp).
REQUIRED_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
)


def default_model_dir() -> Path:
    """Return where :func:`build_tiny_model` caches the model when no directory is given."""
    return cache_dir() / MODEL_DIR_NAME


def build_tiny_model(
    output_dir: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    corpus_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Build the tiny model into ``output_dir`` (default: the cache) unless it is already there.

    Returns the absolute directory path. An existing directory is reused when its stamp matches
    the current recipe and every file's checksum still matches; otherwise (or with ``force``) it
    is rebuilt and atomically replaced. ``corpus_dir`` selects a directory of HumanEvalPack-style
    JSONL files (``prompt`` + ``canonical_solution``) as the training corpus instead of the stdlib.

    Raises ``FileExistsError`` rather than replace a non-empty directory that is not a tiny-model
    build (no stamp file), unless it is the default cache location.
    """
    default = default_model_dir().resolve()
    target = Path(output_dir).expanduser().resolve() if output_dir is not None else default
    documents = _corpus_documents(corpus_dir)
    key = recipe_key(documents)
    if not force and _is_complete(target, key):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if not force and _is_complete(target, key):  # another process built it meanwhile
            return target
        if target != default and not _is_replaceable(target):
            raise FileExistsError(
                f"{target} exists and is not a tiny-model build ({STAMP_FILE} missing); "
                "refusing to replace it"
            )
        _remove_leftovers(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            staging.chmod(0o755)  # mkdtemp makes it owner-only; a shared cache is readable
            _build_into(staging, documents, key)
            _swap_into_place(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def recipe_key(documents: Sequence[str]) -> str:
    """Hash everything that determines the build's bytes: recipe, corpus, library versions."""
    recipe = {
        "version": RECIPE_VERSION,
        "special_tokens": SPECIAL_TOKENS,
        "vocab_size": VOCAB_SIZE,
        "chat_template": CHAT_TEMPLATE,
        "model": MODEL_CONFIG,
        "training": TRAINING,
        "libraries": {
            name: metadata.version(name)
            for name in ("tokenizers", "torch", "transformers", "safetensors")
        },
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    for document in documents:
        digest.update(hashlib.sha256(document.encode()).digest())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# corpus


def _corpus_documents(corpus_dir: str | os.PathLike[str] | None) -> list[str]:
    """Return the training documents in a fixed order."""
    if corpus_dir is None:
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        paths = [stdlib / name for name in STDLIB_CORPUS if (stdlib / name).is_file()]
        documents = [path.read_text(encoding="utf-8") for path in paths]
    else:
        documents = []
        for path in sorted(Path(corpus_dir).glob("*.jsonl")):
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    if line.strip():
                        row = json.loads(line)
                        documents.append(row["prompt"] + row["canonical_solution"])
    if not documents:
        raise FileNotFoundError(f"no training documents found (corpus_dir={corpus_dir!r})")
    return documents


# --------------------------------------------------------------------------------------------
# building


def _build_into(directory: Path, documents: Sequence[str], key: str) -> None:
    """Train tokenizer and model, save them into ``directory`` and write the stamp last."""
    tokenizer = _train_tokenizer(documents)
    model = _train_model(tokenizer, documents)
    with _quiet_progress_bars():
        model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    files = sorted(p.name for p in directory.iterdir() if p.is_file())
    missing = set(REQUIRED_FILES) - set(files)
    if missing:
        raise RuntimeError(f"tiny-model build did not write {sorted(missing)}")
    stamp = {"recipe_key": key, "files": {name: _sha256(directory / name) for name in files}}
    write_json_atomic(directory / STAMP_FILE, stamp, fsync=False)  # _is_complete checks files


def _train_tokenizer(documents: Sequence[str]):
    """Train a byte-level BPE tokenizer and wrap it as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(documents, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        chat_template=CHAT_TEMPLATE,
        model_max_length=MODEL_CONFIG["max_position_embeddings"],
        clean_up_tokenization_spaces=False,
    )


def _train_model(tokenizer, documents: Sequence[str]):
    """Create the seeded Llama model and fit it briefly to the corpus, single-threaded."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    im_end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        **MODEL_CONFIG,
    )
    stream = []
    encodings = tokenizer.backend_tokenizer.encode_batch(list(documents), add_special_tokens=False)
    for encoding in encodings:
        stream.extend(encoding.ids)
        stream.append(eos_id)

    with _deterministic_torch(TRAINING["seed"]):
        model = LlamaForCausalLM(config)
        tokens = torch.tensor(stream, dtype=torch.long)
        batches = torch.Generator().manual_seed(TRAINING["seed"])
        optimizer = torch.optim.AdamW(model.parameters(), lr=TRAINING["lr"])
        window = TRAINING["seq_len"]
        model.train()
        for _ in range(TRAINING["steps"]):
            starts = torch.randint(
                0, len(tokens) - window, (TRAINING["batch_size"],), generator=batches
            )
            batch = torch.stack([tokens[start : start + window] for start in starts.tolist()])
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        model.eval()

    model.generation_config = GenerationConfig(
        bos_token_id=eos_id,
        eos_token_id=[eos_id, im_end_id],
        pad_token_id=eos_id,
        max_new_tokens=64,
    )
    return model


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Silence transformers' progress bars (e.g. "Writing model shards"), then restore them."""
    from transformers.utils import logging

    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()


@contextlib.contextmanager
def _deterministic_torch(seed: int) -> Iterator[None]:
    """Seed torch and run single-threaded, restoring the caller's RNG and thread settings."""
    import torch

    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------
# cache bookkeeping


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_complete(directory: Path, key: str) -> bool:
    """True if ``directory`` holds a finished build of ``key`` whose files are all intact."""
    stamp = read_stamp(directory, STAMP_FILE)
    try:
        files = stamp["files"]
        if stamp["recipe_key"] != key or not set(REQUIRED_FILES) <= set(files):
            return False
        return all(_sha256(directory / name) == digest for name, digest in files.items())
    except (OSError, KeyError, TypeError):
        return False


def _is_replaceable(target: Path) -> bool:
    """A path we may delete: absent, an empty directory, or one of our (possibly damaged) builds."""
    if not target.exists() and not target.is_symlink():
        return True
    if not target.is_dir() or target.is_symlink():
        return False
    return (target / STAMP_FILE).exists() or not any(target.iterdir())


def _remove_leftovers(target: Path) -> None:
    """Delete staging/old directories of builds that died (only called while holding the lock)."""
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``; an existing ``target`` is renamed away, then deleted."""
    old = None
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


# --------------------------------------------------------------------------------------------
# command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m octo_trainer.tiny``: build (or reuse) the tiny model and print its directory."""
    parser = argparse.ArgumentParser(
        prog="python -m octo_trainer.tiny", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output-dir", type=Path, help=f"default: {default_model_dir()}")
    parser.add_argument("--force", action="store_true", help="rebuild even if a valid build exists")
    parser.add_argument(
        "--corpus-dir", type=Path, help="train on the HumanEvalPack-style *.jsonl files in this dir"
    )
    args = parser.parse_args(argv)
    print(build_tiny_model(args.output_dir, force=args.force, corpus_dir=args.corpus_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
