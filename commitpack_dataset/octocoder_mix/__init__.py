"""OctoCoder's training mix (``bigcode/guanaco-commits``) rebuilt as a ``datasets`` builder: the
first question/answer pair of each OASST conversation that contains none of the unwanted phrases,
plus a seeded random sample of CommitPackFT commits over the HumanEvalPack languages, as
``prompt``/``completion`` rows, decontaminated.

    from commitpack_dataset import OctoCoderMix
    builder = OctoCoderMix(cache_dir="build", oasst_dataset="oasst.jsonl", commit_source="mine",
                           commit_repositories=("path/to/repo",), commit_samples=5000)
    builder.download_and_prepare()
    rows = builder.as_dataset("train")      # prompt, completion, source, lang, origin
    builder.drop_statistics(), builder.phrase_statistics(), builder.components()

As a training source: ``builder: octocoder-mix`` in a recipe (``octo_trainer.builder_sources``).
Modules: ``oasst`` (conversation forms, the phrase filter, the first pair), ``commits`` (the
commit source, sample and form), ``builder`` (config and builder class).
"""

from commitpack_dataset.octocoder_mix.builder import FEATURES, FIELDS, OctoCoderMix, OctoCoderMixConfig
from commitpack_dataset.octocoder_mix.commits import (
    HUMANEVALPACK_LANGUAGES,
    commit_pair,
    commit_rows,
    load_commits,
    sample_indices,
)
from commitpack_dataset.octocoder_mix.oasst import (
    OasstFilter,
    dialogue,
    first_pair,
    text_turns,
    turns,
    unwanted_phrases,
)

__all__ = ["FEATURES", "FIELDS", "HUMANEVALPACK_LANGUAGES", "OasstFilter", "OctoCoderMix", "OctoCoderMixConfig",
           "commit_pair", "commit_rows", "dialogue", "first_pair", "load_commits", "sample_indices", "text_turns",
           "turns", "unwanted_phrases"]
