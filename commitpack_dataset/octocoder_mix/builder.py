"""``OctoCoderMix``: OctoCoder's training set (``bigcode/guanaco-commits``) rebuilt as a ``datasets``
builder -- filtered OASST first pairs plus a seeded sample of CommitPackFT commits, as ``prompt`` /
``completion`` rows, decontaminated.

    from commitpack_dataset import OctoCoderMix
    builder = OctoCoderMix(cache_dir="build/")          # the paper: HuggingFaceH4/oasst1_guanaco +
    builder.download_and_prepare()                      # 5,000 bigcode/commitpackft rows, 6 languages
    rows = builder.as_dataset("train")                  # prompt, completion, source, lang, origin

    OctoCoderMix(cache_dir="build/", oasst_dataset="oasst.jsonl", commit_source="mine",
                 commit_repositories=("path/to/repo",), commit_samples=500, seed=7)

Written beside the prepared data: ``drop_counts/drop_counts.json`` (per reason, and per unwanted
phrase), ``decontamination/`` (report, removed rows, benchmark strings) and ``components.json``
(rows per source and language). The OASST filter and pair rule are in ``oasst.py``; the commit
sample and form in ``commits.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections import Counter
from typing import Any, Dict, Optional, Tuple

import datasets

from commitpack_dataset.cache_keys import LocalSourcesKey, rows_hash
from commitpack_dataset.decontamination.settings import BENCHMARK_SOURCES, DecontaminationSettings
from commitpack_dataset.octocoder_mix.commits import HUMANEVALPACK_LANGUAGES, SAMPLINGS, display_names
from commitpack_dataset.octocoder_mix.oasst import OASST_FORMATS
from commitpack_dataset.prepared import PreparedFiles

logger = logging.getLogger(__name__)

FIELDS = ("prompt", "completion", "source", "lang", "origin")
FEATURES = datasets.Features({name: datasets.Value("string") for name in FIELDS})
DROP_COUNTS_FILE = os.path.join("drop_counts", "drop_counts.json")
COMPONENTS_FILE = "components.json"
DECONTAMINATION_DIR = "decontamination"
COMMITPACKFT_HUB = "hf://datasets/bigcode/commitpackft"


@dataclasses.dataclass
class OctoCoderMixConfig(DecontaminationSettings, datasets.BuilderConfig):
    """The two parts of the mix and how they are sampled and cleaned.

    OASST: ``oasst_dataset`` (Hub id, local file or directory; default
    ``HuggingFaceH4/oasst1_guanaco``), ``oasst_split``, ``oasst_format`` (``auto``, ``messages``,
    ``text``, ``prompt_completion``), ``phrases_file`` (default: the shipped list),
    ``extra_phrases``; ``include_oasst``.

    Commits: ``commit_source`` (``published``: released files at ``commit_data_dir``, default
    ``hf://datasets/bigcode/commitpackft``; ``mine``: ``commit_repositories`` mined by this project's
    builder), ``commit_builder_kwargs`` (more CommitPackFT config fields, e.g. ``tokenizer``,
    ``license_policy``), ``languages`` (the six HumanEvalPack ones), ``commit_samples`` (5,000),
    ``commit_sampling`` (``pooled`` or ``per_language``), ``completion_prefix`` (``""`` as the
    released rows; ``"\\n"`` for issue #9's ``Answer: \\n{new_contents}``).

    ``seed`` (42, as the released script) draws the commits and shuffles the mix (``shuffle``).
    ``decontaminate`` (on) checks ``prompt`` and ``completion`` against HumanEval, MBPP and
    HumanEvalPack (``humaneval_source``, ``mbpp_source``, ``humanevalpack_dir``: local copies, else
    the Hub; ``decontamination_methods``, ``ngram_size``).
    """

    oasst_dataset: Optional[str] = "HuggingFaceH4/oasst1_guanaco"
    oasst_data_dir: Optional[str] = None
    oasst_split: str = "train"
    oasst_format: str = "auto"
    phrases_file: Optional[str] = None
    extra_phrases: Tuple[str, ...] = ()
    include_oasst: bool = True
    commit_source: str = "published"
    commit_data_dir: Optional[str] = COMMITPACKFT_HUB
    commit_repositories: Tuple[str, ...] = ()
    commit_builder_kwargs: Optional[Dict[str, Any]] = None
    languages: Tuple[str, ...] = HUMANEVALPACK_LANGUAGES
    commit_samples: int = 5000
    commit_sampling: str = "pooled"
    completion_prefix: str = ""
    seed: int = 42
    shuffle: bool = True
    num_proc: Optional[int] = None

    def __post_init__(self):
        super().__post_init__()
        self.validate()

    def validate(self) -> None:
        """Check values; normalise sequences (kwargs overrides skip ``__post_init__``)."""
        for name in ("extra_phrases", "commit_repositories", "languages", "decontamination_methods"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ValueError(f"{name} must be a list, got the string {value!r}")
            setattr(self, name, tuple(value))
        if self.oasst_format not in OASST_FORMATS:
            raise ValueError(f"unknown oasst_format {self.oasst_format!r}: use one of {', '.join(OASST_FORMATS)}")
        if self.commit_sampling not in SAMPLINGS:
            raise ValueError(f"commit_sampling must be one of {SAMPLINGS}, got {self.commit_sampling!r}")
        if self.commit_source not in ("published", "mine"):
            raise ValueError(f"commit_source must be 'published' (released files) or 'mine' (git repositories), "
                             f"got {self.commit_source!r}")
        if self.commit_samples < 0:
            raise ValueError(f"commit_samples must be >= 0, got {self.commit_samples}")
        display_names(self.languages)  # unknown languages fail here, naming close matches


class OctoCoderMix(LocalSourcesKey, PreparedFiles, datasets.GeneratorBasedBuilder):
    """OASST first pairs plus sampled CommitPackFT commits, in OctoCoder's ``prompt``/``completion`` form.

    Besides the config fields, the constructor takes ``oasst_rows=`` and ``commit_rows=`` (a loaded
    ``datasets.Dataset`` or list of dicts, replacing the configured source) and ``decontaminator=``
    (a prepared ``Decontaminator``). None of them is part of the config; rows given here key the
    cache directory (``cache_keys``).
    """

    BUILDER_CONFIG_CLASS = OctoCoderMixConfig
    LOCAL_REPOSITORIES = ("commit_repositories",)
    LOCAL_SOURCES = ("oasst_dataset", "oasst_data_dir", "phrases_file", "commit_data_dir", *BENCHMARK_SOURCES)
    BUILDER_CONFIGS = [OctoCoderMixConfig(name="default")]
    DEFAULT_CONFIG_NAME = "default"
    FIELDS, FEATURES = FIELDS, FEATURES

    def __init__(self, *args, oasst_rows: Any = None, commit_rows: Any = None, decontaminator: Any = None,
                 dataset_name: Optional[str] = None, **kwargs):
        kwargs["hash"] = rows_hash(kwargs.get("hash"), oasst_rows=oasst_rows, commit_rows=commit_rows)
        super().__init__(*args, dataset_name=dataset_name or "octocoder_mix", **kwargs)
        self.config.validate()
        self.oasst_rows = oasst_rows
        self.commit_rows = commit_rows
        self.decontaminator = decontaminator

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description="OctoCoder's instruction mix: filtered OASST + CommitPackFT.",
                                    features=FEATURES)

    def _split_generators(self, dl_manager):
        config = self.config
        if config.commit_samples and self.commit_rows is None:
            if config.commit_source == "mine" and not config.commit_repositories:
                raise ValueError("commit_source='mine' needs commit_repositories (git paths or clone URLs)")
            if config.commit_source == "published" and not config.commit_data_dir:
                raise ValueError("commit_source='published' needs commit_data_dir (a local directory laid out "
                                 f"like the Hub repository, or {COMMITPACKFT_HUB})")
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={})]

    # -- the parts ---------------------------------------------------------------------------------
    def oasst_part(self) -> tuple[list[dict], Any]:
        from commitpack_dataset.octocoder_mix.oasst import OasstFilter, unwanted_phrases
        from commitpack_dataset.oss_instruct.seeds import load_seed_dataset

        config = self.config
        phrases = unwanted_phrases(config.phrases_file) + list(config.extra_phrases)
        oasst = OasstFilter(phrases, config.oasst_format)
        if not config.include_oasst:
            return [], oasst
        rows, source = self.oasst_rows, "oasst_rows"
        if rows is None:
            rows = load_seed_dataset(config.oasst_dataset, config.oasst_data_dir, config.oasst_split)
            source = config.oasst_dataset
        return oasst.pairs(rows, source), oasst

    def commit_part(self) -> list[dict]:
        from commitpack_dataset.octocoder_mix.commits import commit_rows, load_commits

        config = self.config
        if config.commit_samples == 0:
            return []
        rows = self.commit_rows
        if rows is None:
            rows = load_commits(config.languages, source=config.commit_source, data_dir=config.commit_data_dir,
                                repositories=config.commit_repositories,
                                cache_dir=os.path.join(self._cache_dir_root, "octocoder_mix_commits"),
                                builder_kwargs=config.commit_builder_kwargs, num_proc=config.num_proc)
        elif isinstance(rows, list):
            rows = datasets.Dataset.from_list(rows)
        sampled = commit_rows(rows, config.commit_samples, config.seed, sampling=config.commit_sampling,
                              languages=config.languages, completion_prefix=config.completion_prefix)
        if len(sampled) < config.commit_samples:
            logger.warning("octocoder mix: only %d CommitPackFT rows of %s to sample %d from: taking them all",
                           len(sampled), ", ".join(config.languages), config.commit_samples)
        return sampled

    def _generate_examples(self):
        config = self.config
        oasst_rows, oasst = self.oasst_part()
        commits = self.commit_part()
        rows = oasst_rows + commits
        drops = Counter(oasst.drops)
        result = None
        if config.decontaminate and rows:
            decontaminator = self.decontaminator or config.build_decontaminator()
            result = decontaminator.decontaminate(rows, ("prompt", "completion"), group_column="source",
                                                  id_column="origin")
            rows = result.kept
            drops.update(result.drop_counts())
        if config.shuffle:
            random.Random(config.seed).shuffle(rows)
        self._save(drops, oasst, rows, len(oasst_rows), len(commits), result)
        for key, row in enumerate(rows):
            yield key, {name: row[name] for name in FIELDS}

    def _save(self, drops, oasst, rows, oasst_count, commit_count, result) -> None:
        from octopack_common import write_json_atomic

        directory = self._output_dir
        write_json_atomic(os.path.join(directory, DROP_COUNTS_FILE), {
            "drop_counts": dict(drops), "phrase_counts": dict(oasst.phrase_counts.most_common()),
            "phrase_hits": dict(oasst.phrase_hits.most_common())})
        by_language = Counter(row["lang"] for row in rows if row["source"] == "commitpackft")
        write_json_atomic(os.path.join(directory, COMPONENTS_FILE), {
            "oasst": {"dataset": self.config.oasst_dataset if self.oasst_rows is None else "oasst_rows",
                      "pairs": oasst_count, "rows": sum(1 for row in rows if row["source"] == "oasst")},
            "commitpackft": {"source": self.config.commit_source, "sampled": commit_count,
                             "rows": sum(by_language.values()), "rows_per_language": dict(sorted(by_language.items()))},
            "rows": len(rows)})
        if result is not None:
            result.save(os.path.join(directory, DECONTAMINATION_DIR))

    # -- reading back ------------------------------------------------------------------------------
    def drop_statistics(self) -> Counter:
        """Rows dropped per reason (``oasst_*``, ``contamination_<benchmark>``)."""
        return Counter(self.prepared_json(DROP_COUNTS_FILE, {}).get("drop_counts", {}))

    def phrase_statistics(self) -> Counter:
        """Dropped OASST conversations per unwanted phrase (the first, in list order, each contains)."""
        return Counter(self.prepared_json(DROP_COUNTS_FILE, {}).get("phrase_counts", {}))

    def components(self) -> dict:
        """Rows per part (and per language for the commits) of the prepared mix."""
        return self.prepared_json(COMPONENTS_FILE, {})
