"""``EvolInstruct``: Code Evol-Instruct (WizardCoder) and WizardLM's general Evol-Instruct as a
``datasets`` builder class.

    from commitpack_dataset import EvolInstruct
    builder = EvolInstruct(config_name="code", cache_dir="build/", seed_dataset="code_alpaca_2k.json",
                           rounds=3, model="gpt-3.5-turbo", base_url="http://127.0.0.1:8000/v1")
    builder.download_and_prepare()              # key: $OPENAI_API_KEY (api_key_env names the variable)
    rows = builder.as_dataset("train")          # instruction, response, round, method, parent, ...
    builder.drop_statistics()                   # {1: Counter({"answer_sorry": 3, ...}), 2: ...}

Configs: ``code`` (the five code methods, E.3) and ``general`` (WizardLM's in-depth and in-breadth
prompts, E.6). The teacher's answers are cached in ``<cache_dir>/evol_instruct/responses.sqlite``:
a killed build re-run sends only what was never answered and yields the same rows. Written beside
the prepared data: ``drop_counts/drop_counts.json`` (per round), ``rejected.jsonl`` (every dropped
row with its texts and reason), ``rounds.json`` (pool, kept and dropped per round, judge
verdicts), ``decontamination/round_<r>/`` and ``generation_stats.json``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from typing import Any, Dict, Optional, Tuple

import datasets

from commitpack_dataset.cache_keys import LocalSourcesKey, rows_hash
from commitpack_dataset.decontamination.settings import BENCHMARK_SOURCES, DecontaminationSettings
from commitpack_dataset.evol_instruct.prompts import MODES
from commitpack_dataset.evol_instruct.seeds import SEED_FORMATS
from commitpack_dataset.teacher_builder import TeacherBuilder, TeacherConfig

logger = logging.getLogger(__name__)

FIELDS = ("instruction", "response", "round", "method", "parent", "fingerprint", "seed_index", "source",
          "evolution_request", "answer_request", "openai_fingerprint")
FEATURES = datasets.Features({name: datasets.Value("int64" if name in ("round", "seed_index") else "string")
                              for name in FIELDS})
DROP_COUNTS_FILE = os.path.join("drop_counts", "drop_counts.json")
ROUNDS_FILE = "rounds.json"
DECONTAMINATION_DIR = "decontamination"
RESPONSE_CACHE = os.path.join("evol_instruct", "responses.sqlite")
FAILED_EVOLUTIONS = ("drop", "pool")


@dataclasses.dataclass
class EvolInstructConfig(DecontaminationSettings, TeacherConfig):
    """Seeds, teacher, rounds and elimination of an Evol-Instruct build.

    Seeds: ``seed_dataset`` (Hub id, local file or directory; ``seed_data_dir``, ``seed_split``),
    or the builder's ``seed_rows=``; ``seed_format`` (``auto``, ``alpaca``, ``messages``,
    ``prompt_completion``, ``columns`` with ``seed_columns={"instruction": ..., "input": ...,
    "output": ...}``); ``seed_start`` / ``max_seeds`` slice them. ``include_seeds``: seeds that have
    an answer are output rows of round 0 (WizardCoder trains on all rounds merged with the seeds).

    Evolution: ``mode`` (``code``/``general``; the config name sets it), ``rounds``, ``seed``
    (method choice and request seed), ``failed_evolutions`` (``drop``: a failed row does not evolve
    further; ``pool``: the row it came from is evolved again next round).

    Teacher (evol-teacher's decoding, E.4): ``model``, ``temperature`` 1, ``top_p`` 0.9,
    ``max_new_tokens`` 2048, ``stop`` (none by default: evol-teacher's ``"\\n20"``/``"20."`` would cut
    answers citing 20.x), ``system_message`` (none: a single user message, E.2; WizardLM's code sends
    "You are a helpful assistant."); the endpoint, key variable, concurrency, retries, rate limits,
    prices and response cache are :class:`~commitpack_dataset.teacher_builder.TeacherConfig`'s fields.

    Elimination (``elimination.py``): ``evol_teacher_rules`` and ``wizardlm_rules`` (on), their
    numbers ``min_words`` 3, ``instruction_max_completion_tokens`` 1000,
    ``answer_max_total_tokens`` 2000, ``sorry_max_words`` 80; ``equality_judge`` (off; its verdicts
    are cached like every answer) with ``judge_model`` (default: ``model``) and
    ``judge_max_tokens``; ``decontaminate`` (on) against HumanEval, MBPP and HumanEvalPack
    (``humaneval_source``, ``mbpp_source``, ``humanevalpack_dir``: local copies, else the Hub;
    ``decontamination_methods``, ``ngram_size``).
    """

    mode: str = "code"
    seed_dataset: Optional[str] = None
    seed_data_dir: Optional[str] = None
    seed_split: str = "train"
    seed_format: str = "auto"
    seed_columns: Optional[Dict[str, str]] = None
    seed_start: int = 0
    max_seeds: Optional[int] = None
    include_seeds: bool = True
    rounds: int = 3
    seed: int = 42
    failed_evolutions: str = "drop"
    model: str = "gpt-3.5-turbo"
    temperature: float = 1.0
    top_p: float = 0.9
    max_new_tokens: int = 2048
    stop: Tuple[str, ...] = ()
    system_message: Optional[str] = None
    evol_teacher_rules: bool = True
    wizardlm_rules: bool = True
    min_words: int = 3
    instruction_max_completion_tokens: int = 1000
    answer_max_total_tokens: int = 2000
    sorry_max_words: int = 80
    equality_judge: bool = False
    judge_model: Optional[str] = None
    judge_max_tokens: int = 8

    def __post_init__(self):
        super().__post_init__()
        self.validate()

    def validate(self) -> None:
        """Check values; normalise sequences (kwargs overrides skip ``__post_init__``)."""
        super().validate()
        self.stop = tuple(self.stop)
        self.decontamination_methods = tuple(self.decontamination_methods)
        if self.seed_columns is not None:
            self.seed_columns = dict(self.seed_columns)
        if self.mode not in MODES:
            raise ValueError(f"unknown Evol-Instruct mode {self.mode!r}: use 'code' (WizardCoder's five methods) "
                             "or 'general' (WizardLM's in-depth and in-breadth prompts)")
        if self.seed_format not in SEED_FORMATS:
            raise ValueError(f"unknown seed_format {self.seed_format!r}: use one of {', '.join(SEED_FORMATS)}")
        if self.failed_evolutions not in FAILED_EVOLUTIONS:
            raise ValueError(f"failed_evolutions must be 'drop' (failed rows do not evolve further) or 'pool' "
                             f"(their parent is evolved again next round), got {self.failed_evolutions!r}")
        if self.rounds < 0:
            raise ValueError(f"rounds must be >= 0, got {self.rounds}")
        if self.max_new_tokens < 1 or self.judge_max_tokens < 1:
            raise ValueError("max_new_tokens and judge_max_tokens must be >= 1")


def evol_instruct_configs() -> list:
    return [EvolInstructConfig(name=mode, mode=mode) for mode in MODES]


class EvolInstruct(LocalSourcesKey, TeacherBuilder, datasets.GeneratorBasedBuilder):
    """Instructions evolved round after round by a teacher model, with their answers.

    Besides the config fields, the constructor takes ``backend=`` (any generation backend; default:
    an ``OpenAIBackend`` from ``base_url`` / ``api_key_env``), ``seed_rows=`` (a ``datasets.Dataset``
    or a list of dicts of seeds), ``decontaminator=`` (a prepared ``Decontaminator``) and
    ``progress=``. None of them is part of the config; seed rows given here key the cache
    directory (``cache_keys``).
    """

    BUILDER_CONFIG_CLASS = EvolInstructConfig
    LOCAL_SOURCES = ("seed_dataset", "seed_data_dir", *BENCHMARK_SOURCES)
    BUILDER_CONFIGS = evol_instruct_configs()
    DEFAULT_CONFIG_NAME = "code"
    FIELDS, FEATURES = FIELDS, FEATURES
    RESPONSE_CACHE = RESPONSE_CACHE

    def __init__(self, *args, backend: Any = None, seed_rows: Any = None, decontaminator: Any = None,
                 progress: bool = True, dataset_name: Optional[str] = None, **kwargs):
        kwargs["hash"] = rows_hash(kwargs.get("hash"), seed_rows=seed_rows)
        super().__init__(*args, dataset_name=dataset_name or "evol_instruct", **kwargs)
        if self.config.name in MODES:  # the config names its mode
            self.config.mode = self.config.name
        self.config.validate()
        self.backend = backend
        self.seed_rows = seed_rows
        self.decontaminator = decontaminator
        self.progress = progress
        self.generation_stats: dict = {}

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description="Code Evol-Instruct instructions and answers (WizardCoder).",
                                    features=FEATURES)

    def _split_generators(self, dl_manager):
        if self.config.seed_dataset is None and self.seed_rows is None:
            raise ValueError("Evol-Instruct needs seeds: pass seed_dataset= (a Hub id or a local file such as "
                             "code_alpaca_2k.json) or seed_rows=")
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={})]

    def _generate_examples(self):
        from commitpack_dataset.evol_instruct.pipeline import Pipeline

        pipeline = Pipeline(self.config, backend=self.backend, seed_rows=self.seed_rows,
                            decontaminator=self.decontaminator, cache_path=self.response_cache_path(),
                            progress=self.progress)
        rows = pipeline.run()
        self.generation_stats = pipeline.stats
        self._save(pipeline)
        for key, row in enumerate(rows):
            yield key, {name: row[name] for name in FIELDS}

    def _save(self, pipeline) -> None:
        from octopack_common import write_json_atomic

        directory = self._output_dir
        rounds = {str(r): dict(pipeline.drops.get(r, Counter())) for r in range(self.config.rounds + 1)}
        total = sum((Counter(counts) for counts in rounds.values()), Counter())
        write_json_atomic(os.path.join(directory, DROP_COUNTS_FILE),
                          {"mode": self.config.mode, "rounds": rounds, "drop_counts": dict(total)})
        write_json_atomic(os.path.join(directory, ROUNDS_FILE), {str(r): s for r, s in pipeline.summary.items()})
        self.save_generation(pipeline.stats, pipeline.rejected)
        for round_number, result in pipeline.decontamination.items():
            result.save(os.path.join(directory, DECONTAMINATION_DIR, f"round_{round_number}"))

    def drop_statistics(self) -> Dict[int, Counter]:
        """Why rows were dropped, per round (0: the seeds), read from the prepared data."""
        rounds = self.prepared_json(DROP_COUNTS_FILE, {"rounds": {}})["rounds"]
        return {int(r): Counter(counts) for r, counts in rounds.items()}

    def round_summary(self) -> Dict[int, dict]:
        """Per round: the pool evolved, the rows kept, the rows dropped (and judge verdicts)."""
        return {int(r): summary for r, summary in self.prepared_json(ROUNDS_FILE, {}).items()}

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)
        from commitpack_dataset.construction import drop_table

        for round_number, counts in sorted(self.drop_statistics().items()):
            logger.info("evol_instruct/%s round %d drops:\n%s", self.config.name, round_number, drop_table(counts))
