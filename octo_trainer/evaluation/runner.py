"""The evaluation run: a model (checkpoint, adapter or endpoint) -> HumanEvalPack, HumanEval and
MBPP -> pass@k, in stages, into one run directory.

1. **generate**: every prompt of every task and language but ExplainSynthesize, in one client
   call (:mod:`.generate`); ExplainDescribe's answers are post-processed into descriptions (the
   harness's cap at the docstring's length and its anti-leak rule) and written to
   ``descriptions.jsonl``;
2. **explain**: ExplainSynthesize reads ``descriptions.jsonl`` from the run directory and asks
   for code from each description (one problem per description, ``samples_per_description``
   samples each), as the harness's second stage does with ``--load_data_path``;
3. **execute** (:mod:`.score`), then the reports (:mod:`.report`).

Run directory (``output_dir``)::

    config.json          the resolved settings (no secrets: the API key's variable name only)
    responses.sqlite     the generation client's response cache (answered requests are never
                         sent again; shared between runs with --cache)
    prompts.jsonl        one row per prompt: task, language, task_id, description_id,
                         prompt_fingerprint, prompt
    generations.jsonl    one record per candidate: task, language, task_id, description_id,
                         completion_id, prompt_fingerprint, backend, model, model_revision,
                         prompt_format, sampling, completion, finish_reason, error, cached
    descriptions.jsonl   ExplainDescribe's descriptions (language, task_id, description_id,
                         description, completion)
    executions.jsonl     the executor's outcome cache (scored programs are never run again)
    scores.jsonl         one execution result per candidate: task, language, task_id,
                         description_id, completion_id, passed, status, result, duration, code
    results.json         pass@k per task x language (schema in :mod:`.report`)
    table.md, chart.png  Table 2 of the paper, for this model (and --compare runs)

Killed at any point and started again with the same settings and directory, a run sends only
the requests that were not answered and executes only the programs that were not scored; its
files end identical to an uninterrupted run's (apart from timestamps).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import octopack_common
from commitpack_dataset.generation.client import GenerationClient
from humanevalpack_metric.benchmarks import load_humaneval, load_mbpp
from humanevalpack_metric.languages import get_language
from humanevalpack_metric.problems import load_problems
from humanevalpack_metric.tasks import postprocess

from octo_trainer.formats import ChatTemplateFormat, get_format

from . import generate as gen
from .backends import ModelHandle, open_model
from .config import PLAIN_BENCHMARKS, EvalArguments
from .prompts import PromptItem, check_format, expand_tasks, humanevalpack_items, plain_items
from .report import write_reports
from .score import Generations, score_all

logger = logging.getLogger("octo_trainer.evaluation")
DESCRIBE, SYNTHESIZE_FROM_DESCRIPTION = "explaindescribe", "explainsynthesize"


def validate(args: EvalArguments) -> tuple[list[str], list[str]]:
    """(tasks in run order, languages): every mistake found before a model is loaded."""
    if not args.prompt_format:
        raise ValueError("say which prompt format the model was trained with: --prompt_format "
                         "(octocoder, wizardcoder, magicoder, starchat, chat, ...; a wrong format "
                         "silently costs many points)")
    fmt = get_format(args.prompt_format)
    tasks = expand_tasks(args.tasks)
    check_format(fmt, tasks)
    languages = list(dict.fromkeys(get_language(name).name for name in args.languages))
    if args.n_samples < 1 or args.samples_per_description < 1:
        raise ValueError("n_samples and samples_per_description must be >= 1")
    if args.temperature <= 0 and args.n_samples > 1:
        logger.warning("temperature 0 with n_samples=%d: the samples are identical", args.n_samples)
    return tasks, languages


def _select(problems: list[dict], args: EvalArguments) -> list[dict]:
    if args.problems is not None:
        wrong = [i for i in args.problems if not 0 <= i < len(problems)]
        if wrong:
            raise ValueError(f"problem indices {wrong} out of range 0..{len(problems) - 1}")
        problems = [problems[i] for i in args.problems]
    return problems[: args.limit] if args.limit is not None else problems


def load_all(tasks: Sequence[str], languages: Sequence[str], args: EvalArguments) -> dict:
    """{(task, language): selected problems}; HumanEvalPack rows are loaded once per language."""
    per_language = {}
    selected = {}
    for task in tasks:
        if task in PLAIN_BENCHMARKS:
            rows = (load_humaneval(args.humaneval_path) if task == "humaneval"
                    else load_mbpp(args.mbpp_path))
            selected[(task, "python")] = _select(rows, args)
            continue
        for language in languages:
            if language not in per_language:
                per_language[language] = load_problems(language, args.data_dir)
            selected[(task, language)] = _select(per_language[language], args)
    return selected


class Run:
    """One evaluation (see the module docstring); :func:`run_evaluation` is the short way."""

    def __init__(self, args: EvalArguments):
        self.args = args
        self.tasks, self.languages = validate(args)
        self.dir = args.run_dir
        self.problems = load_all(self.tasks, self.languages, args)
        self.records: list[dict] = []
        self.prompts: list[dict] = []
        self.groups: dict[tuple[str, str], Generations] = {}

    def run(self) -> dict:
        started = time.monotonic()
        args = self.args
        self.dir.mkdir(parents=True, exist_ok=True)
        octopack_common.write_json_atomic(self.dir / "config.json", dataclasses.asdict(args))
        self.handle = open_model(args)
        fmt = get_format(args.prompt_format)
        if isinstance(fmt, ChatTemplateFormat):
            if self.handle.tokenizer is None:
                raise ValueError("the 'chat' format renders the model's chat template, and no "
                                 "tokenizer is known for this endpoint: pass --tokenizer (the "
                                 "served model's tokenizer, a directory or a Hub id)")
            fmt = fmt.bind(self.handle.tokenizer)
        self.fmt = fmt
        cache = Path(args.cache) if args.cache else self.dir / "responses.sqlite"
        with GenerationClient(self.handle.backend, cache=cache, concurrency=args.concurrency,
                              max_retries=args.max_retries, backoff=args.retry_backoff,
                              progress=args.progress) as client:
            first = [item for task in self.tasks if task != SYNTHESIZE_FROM_DESCRIPTION
                     for item in self._items(task)]
            self._generate(client, first)
            if DESCRIBE in self.tasks:
                self._write_descriptions()
            if SYNTHESIZE_FROM_DESCRIPTION in self.tasks:
                self._generate(client, [item for language in self._languages_of(
                    SYNTHESIZE_FROM_DESCRIPTION) for item in self._synthesis_items(language)])
        gen.write_jsonl(self.dir / "prompts.jsonl", self.prompts)
        gen.write_jsonl(self.dir / "generations.jsonl", self.records)
        failed = sum(r["error"] is not None for r in self.records)
        if failed:
            logger.warning("%d candidates have no generation (first error: %s): run again to "
                           "retry them", failed, next(r["error"] for r in self.records if r["error"]))
        scores, rows = [], []
        executed = [g for key, g in self.groups.items() if key[0] != DESCRIBE]
        if executed and not args.generation_only:
            execution_cache = (Path(args.execution_cache) if args.execution_cache
                               else self.dir / "executions.jsonl")
            scores, rows = score_all(executed, self.fmt, self.handle.eos, args, execution_cache)
            gen.write_jsonl(self.dir / "scores.jsonl", rows)
        from .report import results_document

        document = results_document(args, scores, self.handle.revision,
                                    time.monotonic() - started)
        write_reports(self.dir, document, args.compare or ())
        return document

    # -- stages ------------------------------------------------------------------------------
    def _languages_of(self, task: str) -> list[str]:
        return [language for (t, language) in self.problems if t == task]

    def _items(self, task: str) -> list[PromptItem]:
        if task in PLAIN_BENCHMARKS:
            return plain_items(task, self.problems[(task, "python")], self.fmt,
                               self.args.benchmark_style, self.args.n_samples, self.handle.eos)
        return [item for language in self._languages_of(task) for item in humanevalpack_items(
            task, language, self.problems[(task, language)], self.fmt, self.args.n_samples,
            self.handle.eos)]

    def _generate(self, client, items: list[PromptItem]) -> None:
        answers = gen.generate(client, items, self.handle, self.args)
        self.records += gen.records(answers, self.handle, self.args)
        for answer in answers:
            item = answer.item
            self.prompts.append({"task": item.task, "language": item.language,
                                 "task_id": item.task_id, "description_id": item.description_id,
                                 "prompt_fingerprint": answer.requests[0].fingerprint(),
                                 "prompt": item.prompt})
            group = self.groups.setdefault(item.key, Generations(item.task, item.language))
            group.items.append(item)
            group.texts.append(answer.texts())

    def _write_descriptions(self) -> None:
        extra = tuple(dict.fromkeys([*self.fmt.stop_words, *self.handle.eos]))
        rows = []
        for language in self._languages_of(DESCRIBE):
            group = self.groups.get((DESCRIBE, language))
            for item, texts in zip(group.items if group else [], group.texts if group else []):
                for j, text in enumerate(texts):
                    rows.append({"language": language, "task_id": item.task_id,
                                 "description_id": j, "completion": text,
                                 "description": None if text is None else postprocess(
                                     text, item.problem, DESCRIBE, language, extra)})
        gen.write_jsonl(self.dir / "descriptions.jsonl", rows)

    def _synthesis_items(self, language: str) -> list[PromptItem]:
        path = self.dir / "descriptions.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"explainsynthesize reads the descriptions of explaindescribe "
                                    f"from {path}, which does not exist: run the task 'explain' "
                                    "(both stages) or explaindescribe first in this directory")
        found: dict[str, dict[int, str | None]] = {}
        for row in gen.read_jsonl(path):
            if row["language"] == language:
                found.setdefault(row["task_id"], {})[row["description_id"]] = row["description"]
        problems = self.problems[(SYNTHESIZE_FROM_DESCRIPTION, language)]
        missing = [p["task_id"] for p in problems if p["task_id"] not in found]
        if missing:
            raise ValueError(f"{path} has no descriptions for {', '.join(missing[:5])}"
                             f"{' ...' if len(missing) > 5 else ''}: run explaindescribe for "
                             "the same problems first")
        descriptions = [[found[p["task_id"]][j] for j in sorted(found[p["task_id"]])]
                        for p in problems]
        return humanevalpack_items(SYNTHESIZE_FROM_DESCRIPTION, language, problems, self.fmt,
                                   self.args.n_samples, self.handle.eos, descriptions=descriptions,
                                   samples_per_description=self.args.samples_per_description)


def run_evaluation(args: EvalArguments | None = None, **fields) -> dict:
    """Evaluate and return the results document (also written to ``results.json``)::

        run_evaluation(model_name_or_path="bigcode/octocoder", prompt_format="octocoder")
    """
    if args is None:
        args = EvalArguments(**fields)
    elif fields:
        args = dataclasses.replace(args, **fields)
    return Run(args).run()


__all__ = ["ModelHandle", "Run", "run_evaluation", "validate"]
