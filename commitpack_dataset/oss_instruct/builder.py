"""``OSSInstruct``: Magicoder's OSS-Instruct as a ``datasets`` builder class.

    from commitpack_dataset import OSSInstruct
    builder = OSSInstruct(config_name="python", cache_dir="build/",
                          seed_files=("src/",), model="gpt-3.5-turbo-1106",
                          base_url="http://127.0.0.1:8000/v1")      # key: $OPENAI_API_KEY
    builder.download_and_prepare()
    dataset = builder.as_dataset("train")     # seed, problem, solution, lang, instruction, response...
    print(builder.drop_statistics())           # parse failures, truncation, duplicates, contamination

One config per language: Magicoder's nine (``python, typescript, csharp, rust, swift, php, java,
cpp, shell``) and every other language of the CommitPack map (``go``, ``javascript``, ...). The
build: seeds (``seeds.py``) -> one chat request per seed through the one
:class:`~commitpack_dataset.generation.GenerationClient`, whose response cache lives in the
builder's cache directory (``<cache_dir>/oss_instruct/responses.sqlite``: a killed build re-run
sends only what was not answered, and yields the same rows) -> parsing (``prompt.py``) -> D.5
cleaning (``cleaning.py``) -> decontamination -> the optional execution check
(``execution.py``). Every dropped seed has a reason; the counts, the rejected answers, the
decontamination report and the generation statistics are written with the prepared data.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from typing import Any, Optional, Tuple

import datasets

from commitpack_dataset.cache_keys import LocalSourcesKey, rows_hash
from commitpack_dataset.decontamination.settings import BENCHMARK_SOURCES, DecontaminationSettings
from commitpack_dataset.oss_instruct.seeds import MAGICODER_SEED_SOURCES, language_configs
from commitpack_dataset.teacher_builder import TeacherBuilder, TeacherConfig

logger = logging.getLogger(__name__)

FIELDS = ("index", "raw_index", "seed", "source", "problem", "solution", "lang", "fingerprint",
          "openai_fingerprint", "instruction", "response", "tests", "execution")
FEATURES = datasets.Features({name: datasets.Value("int64" if name in ("index", "raw_index") else "string")
                              for name in FIELDS})
DROP_COUNTS_DIR = "drop_counts"
DECONTAMINATION_DIR = "decontamination"
RESPONSE_CACHE = os.path.join("oss_instruct", "responses.sqlite")


@dataclasses.dataclass
class OSSInstructConfig(DecontaminationSettings, TeacherConfig):
    """What to seed from, which teacher to ask, and how to clean.

    Seeds (any combination; at least one): ``seed_dataset`` (Hub id or local path for
    ``load_dataset``; ``seed_data_dir``, ``seed_split``, ``seed_column``), ``seed_files`` (files,
    directories, globs), ``seed_repositories`` (git paths or URLs, files at ``seed_revision``).
    ``magicoder_seeds=True`` uses Magicoder's corpus for the language (starcoderdata / The Stack).
    ``max_documents``, ``min_lines``/``max_lines``, ``chunk_size``, ``seed``, ``start_index``,
    ``max_new_data``: the D.1 snippet rule and slice.

    Teacher (D.2): ``model``, ``temperature`` 0, request seed ``seed + index``, ``max_new_tokens`` /
    ``model_max_tokens`` / ``error_margin`` (budget ``min(2500, 8192 - prompt tokens - 10)``, the
    seed is skipped if it is <= 0), ``tokenizer`` (counts prompt tokens; ``None`` estimates 4
    characters per token); the endpoint, key variable, concurrency, retries, rate limits, prices
    and response cache are :class:`~commitpack_dataset.teacher_builder.TeacherConfig`'s fields.

    Cleaning: ``shuffle_seed`` (666), ``dedup``; decontamination against the built-in benchmarks
    (:class:`~commitpack_dataset.decontamination.settings.DecontaminationSettings`' fields);
    ``execution_check`` (off: see ``execution.py``)
    with ``execution_timeout``.
    """

    language: str = "python"
    seed_dataset: Optional[str] = None
    seed_data_dir: Optional[str] = None
    seed_split: str = "train"
    seed_column: str = "content"
    seed_files: Tuple[str, ...] = ()
    seed_repositories: Tuple[str, ...] = ()
    seed_revision: str = "HEAD"
    clone_cache_dir: Optional[str] = None
    magicoder_seeds: bool = False
    max_documents: Optional[int] = 150_000
    min_lines: int = 1
    max_lines: int = 15
    chunk_size: int = 1000
    seed: int = 976
    start_index: int = 0
    max_new_data: Optional[int] = None
    model: str = "gpt-3.5-turbo-1106"
    temperature: float = 0.0
    max_new_tokens: int = 2500
    model_max_tokens: int = 8192
    error_margin: int = 10
    tokenizer: Optional[str] = None
    shuffle_seed: int = 666
    dedup: bool = True
    execution_check: bool = False
    execution_timeout: Optional[float] = None

    def __post_init__(self):
        super().__post_init__()
        self.validate()

    def validate(self) -> None:
        """Check values; normalise sequences (kwargs overrides skip ``__post_init__``)."""
        super().validate()
        for name in ("seed_files", "seed_repositories", "decontamination_methods"):
            setattr(self, name, tuple(getattr(self, name)))
        if self.language not in language_configs():
            raise ValueError(f"unknown OSS-Instruct language {self.language!r}: use a config name such as "
                             "python, typescript, csharp, rust, swift, php, java, cpp, shell, go, javascript")
        if self.execution_check:
            from commitpack_dataset.oss_instruct.execution import check_supported

            check_supported(self.language)
        if self.max_new_tokens < 1 or self.model_max_tokens < 1:
            raise ValueError("max_new_tokens and model_max_tokens must be >= 1")

    def seed_source(self) -> Tuple[Optional[str], Optional[str]]:
        """``(dataset, data_dir)`` of the seed data set, Magicoder's when ``magicoder_seeds``."""
        if self.magicoder_seeds:
            if self.language not in MAGICODER_SEED_SOURCES:
                raise ValueError(f"Magicoder has no seed corpus for {self.language!r}: pass seed_dataset, "
                                 "seed_files or seed_repositories")
            return MAGICODER_SEED_SOURCES[self.language]
        return self.seed_dataset, self.seed_data_dir

    def has_seeds(self) -> bool:
        return bool(self.seed_source()[0] or self.seed_files or self.seed_repositories)


def oss_instruct_configs() -> list:
    return [OSSInstructConfig(name=name, language=name) for name in language_configs()]


class OSSInstruct(LocalSourcesKey, TeacherBuilder, datasets.GeneratorBasedBuilder):
    """OSS-Instruct problems and solutions generated from code seeds by a teacher model.

    Besides the config fields, the constructor takes ``backend=`` (any generation backend, e.g. an
    ``OpenAIBackend`` with an explicit ``api_key`` or a local ``TransformersBackend``; default: an
    ``OpenAIBackend`` from ``base_url`` / ``api_key_env``), ``seed_documents=`` (a loaded
    ``datasets.Dataset`` of seeds), ``decontaminator=`` (a prepared ``Decontaminator``) and
    ``progress=`` (the generation progress bar, on by default). None of them is part of the
    config; seed documents given here key the cache directory (``cache_keys``).
    """

    BUILDER_CONFIG_CLASS = OSSInstructConfig
    LOCAL_REPOSITORIES = ("seed_repositories",)
    LOCAL_SOURCES = ("seed_dataset", "seed_data_dir", "seed_files", *BENCHMARK_SOURCES)
    BUILDER_CONFIGS = oss_instruct_configs()
    DEFAULT_CONFIG_NAME = "python"
    FIELDS, FEATURES = FIELDS, FEATURES
    RESPONSE_CACHE = RESPONSE_CACHE

    def __init__(self, *args, backend: Any = None, seed_documents: Any = None, decontaminator: Any = None,
                 progress: bool = True, dataset_name: Optional[str] = None, **kwargs):
        kwargs["hash"] = rows_hash(kwargs.get("hash"), seed_documents=seed_documents)
        super().__init__(*args, dataset_name=dataset_name or "oss_instruct", **kwargs)
        if self.config.name in language_configs():  # the config names its language
            self.config.language = self.config.name
        self.config.validate()
        self.backend = backend
        self.seed_documents = seed_documents
        self.decontaminator = decontaminator
        self.progress = progress
        self.drop_counts: Counter = Counter()
        self.generation_stats: dict = {}

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description="OSS-Instruct problems and solutions (Magicoder).",
                                    features=FEATURES)

    def _split_generators(self, dl_manager):
        if not (self.config.has_seeds() or self.seed_documents is not None):
            raise ValueError("OSS-Instruct needs seeds: pass seed_dataset=, seed_files=, seed_repositories=, "
                             "seed_documents= or magicoder_seeds=True")
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={})]

    def _generate_examples(self):
        from commitpack_dataset.oss_instruct.pipeline import Pipeline

        pipeline = Pipeline(self.config, backend=self.backend, seed_documents=self.seed_documents,
                            decontaminator=self.decontaminator, cache_path=self.response_cache_path(),
                            progress=self.progress)
        rows = pipeline.run()
        self.drop_counts = pipeline.drops
        self.generation_stats = pipeline.stats
        self._save(pipeline)
        for row in rows:
            yield row["index"], {name: row[name] for name in FIELDS}

    def _save(self, pipeline) -> None:
        from octopack_common import write_json_atomic

        directory = self._output_dir
        write_json_atomic(os.path.join(directory, DROP_COUNTS_DIR, "drop_counts.json"),
                          {"language": self.config.language, "drop_counts": dict(pipeline.drops)})
        self.save_generation(pipeline.stats, pipeline.rejected)
        if pipeline.decontamination is not None:
            pipeline.decontamination.save(os.path.join(directory, DECONTAMINATION_DIR))

    def drop_statistics(self) -> Counter:
        """Why seeds did not become rows (read from the prepared data)."""
        payload = self.prepared_json(os.path.join(DROP_COUNTS_DIR, "drop_counts.json"), {"drop_counts": {}})
        return Counter(payload["drop_counts"])

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)
        from commitpack_dataset.builders import drop_table

        logger.info("oss_instruct/%s drop statistics:\n%s", self.config.name, drop_table(self.drop_statistics()))
