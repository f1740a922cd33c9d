"""One OSS-Instruct build, step by step: seeds -> requests -> answers -> rows -> cleaning ->
decontamination -> execution check. The builder runs it; so can a script (``Pipeline(config,
...).run()``).

Drop reasons (``Pipeline.drops``): ``seed_*`` (no usable document), ``prompt_too_long`` (no token
budget left, D.2), ``request_failed`` (the teacher never answered: retried on the next build),
``truncated`` (``finish_reason`` not ``stop``), ``parse_*`` (``prompt.parse_answer``),
``duplicate_seed|problem|solution`` (D.5), ``contamination_<benchmark>``, ``execution_<status>``.
Every answer dropped after the request is listed in ``Pipeline.rejected`` with its text.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any

from commitpack_dataset.oss_instruct import prompt as prompts
from commitpack_dataset.oss_instruct.cleaning import shuffle_and_dedup
from commitpack_dataset.oss_instruct.seeds import (
    Document,
    Seed,
    dataset_documents,
    file_documents,
    language_configs,
    load_seed_dataset,
    make_seeds,
    repository_documents,
)

logger = logging.getLogger(__name__)
CHARS_PER_TOKEN = 4


class Pipeline:
    def __init__(self, config, *, backend: Any = None, seed_documents: Any = None, decontaminator: Any = None,
                 cache_path: str | None = None, progress: bool = True):
        self.config = config
        self.backend = backend
        self.seed_documents = seed_documents
        self.decontaminator = decontaminator
        self.cache_path = cache_path
        self.progress = progress
        self.drops: Counter = Counter()
        self.rejected: list[dict] = []
        self.stats: dict = {}
        self.decontamination = None
        self._tokenizer = None

    # -- seeds -----------------------------------------------------------------------------------
    def documents(self) -> list[Document]:
        config = self.config
        display = language_configs()[config.language]
        limit = config.max_documents
        documents: list[Document] = []
        dataset = self.seed_documents
        name, data_dir = config.seed_source()
        if dataset is None and name:
            dataset = load_seed_dataset(name, data_dir, config.seed_split, limit)
        if dataset is not None:
            documents += dataset_documents(dataset, config.seed_column, limit)
        if config.seed_files:
            documents += file_documents(config.seed_files, display)
        if config.seed_repositories:
            documents += repository_documents(config.seed_repositories, display, config.seed_revision,
                                              config.clone_cache_dir, drops=self.drops)
        return documents if limit is None else documents[:limit]

    def seeds(self) -> list[Seed]:
        config = self.config
        return make_seeds(self.documents(), seed=config.seed, min_lines=config.min_lines,
                          max_lines=config.max_lines, chunk_size=config.chunk_size,
                          start_index=config.start_index, max_new_data=config.max_new_data, drops=self.drops)

    # -- requests --------------------------------------------------------------------------------
    def test_instructions(self) -> str | None:
        if not self.config.execution_check:
            return None
        from commitpack_dataset.oss_instruct.execution import TEST_INSTRUCTIONS

        return TEST_INSTRUCTIONS[self.config.language]

    def prompt_tokens(self, text: str) -> int:
        """Tokens of the user prompt (D.2 counts the prompt alone, hence the error margin)."""
        if self.config.tokenizer is None:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.config.tokenizer)
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def request(self, seed: Seed):
        """The request for one seed, or ``None`` when the prompt leaves no token budget."""
        from commitpack_dataset.generation import GenerationRequest

        config = self.config
        messages = prompts.messages(seed.seed, self.test_instructions())
        budget = min(config.max_new_tokens,
                     config.model_max_tokens - self.prompt_tokens(messages[-1]["content"]) - config.error_margin)
        if budget <= 0:
            return None
        return GenerationRequest(model=config.model, messages=messages, n=1, temperature=config.temperature,
                                 max_tokens=budget, seed=config.seed + seed.index, metadata={"index": seed.index})

    def client(self):
        from commitpack_dataset.teacher_builder import teacher_client

        return teacher_client(self.config, backend=self.backend, cache_path=self.cache_path,
                              progress=self.progress, desc=f"oss-instruct {self.config.language}")

    # -- the build -------------------------------------------------------------------------------
    def run(self) -> list[dict]:
        seeds = self.seeds()
        requests, asked = [], []
        for seed in seeds:
            request = self.request(seed)
            if request is None:
                self.drops["prompt_too_long"] += 1
                continue
            requests.append(request)
            asked.append(seed)
        logger.info("oss-instruct %s: %d seeds, %d requests", self.config.language, len(seeds), len(requests))
        with self.client() as client:
            results = client.generate(requests)
            self.stats = client.stats.to_json()
        rows = [row for row in (self.row(seed, request, result) for seed, request, result
                                in zip(asked, requests, results)) if row is not None]
        if self.config.dedup:
            rows, duplicates = shuffle_and_dedup(rows, self.config.shuffle_seed)
            for row, reason in duplicates:
                self.reject(row, reason)
        if self.config.decontaminate:
            rows = self.decontaminate(rows)
        if self.config.execution_check:
            rows = self.execute(rows)
        return rows

    def reject(self, row: dict, reason: str, answer: str | None = None) -> None:
        self.drops[reason] += 1
        record = {"index": row["index"], "reason": reason, "seed": row["seed"]}
        if answer is not None:
            record["answer"] = answer
        else:
            record.update(problem=row["problem"], solution=row["solution"])
        self.rejected.append(record)

    def row(self, seed: Seed, request, result) -> dict | None:
        base = {"index": seed.index, "raw_index": seed.raw_index, "seed": seed.seed, "source": seed.source,
                "lang": self.config.language, "fingerprint": request.fingerprint(),
                "openai_fingerprint": result.system_fingerprint or ""}
        if result.error is not None:
            self.reject(base, "request_failed", result.error)
            return None
        text = result.choices[0].text if result.choices else ""
        if not result.ok:
            self.reject(base, "truncated", text)
            return None
        parsed = prompts.parse_answer(text, with_tests=self.config.execution_check)
        if not parsed.ok:
            self.reject(base, parsed.reason, text)
            return None
        return {**base, "problem": parsed.problem, "solution": parsed.solution, "tests": parsed.tests,
                "execution": "", **prompts.sft_view(parsed.problem, parsed.solution)}

    def decontaminate(self, rows: list[dict]) -> list[dict]:
        decontaminator = self.decontaminator or self.config.build_decontaminator()
        self.decontamination = decontaminator.decontaminate(rows, ("problem", "solution"), id_column="index")
        for removed in self.decontamination.removed:
            self.reject(removed.row, removed.reason)
        return self.decontamination.kept

    def execute(self, rows: list[dict]) -> list[dict]:
        from commitpack_dataset.oss_instruct.execution import run_checks

        verdicts = run_checks(self.config.language, [(r["solution"], r["tests"]) for r in rows],
                              timeout=self.config.execution_timeout)
        kept = []
        for row, verdict in zip(rows, verdicts):
            if verdict.passed:
                kept.append({**row, "execution": verdict.status})
            else:
                self.reject(row, f"execution_{verdict.status}")
        return kept
