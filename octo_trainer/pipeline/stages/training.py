"""Stages 4 and 5: fine-tune with a recipe on the run's data, then evaluate the result.

``sft`` writes the recipe it trains with (``recipe.input.yaml``: the named recipe, the config's
overrides, the run's data sources and output directory) and runs ``octopack sft`` on it
(:func:`octo_trainer.train.main`) into ``model/`` -- the adapter, tokenizer, ``trainer_state.json``
(the loss curve), the resolved ``recipe.yaml`` and the model card.

``eval`` runs the evaluation runner (:func:`octo_trainer.evaluation.run_evaluation`) on that model
into ``run/`` (``results.json``, ``table.md``, ``chart.png``, resumable) and, as a check of the
executor, scores the canonical solutions of the same problems (``canonical.json``): all must pass.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import octopack_common

logger = logging.getLogger("octo_trainer.pipeline")
MODEL_DIR = "model"
EVAL_DIR = "run"
CANONICAL = "canonical.json"
#: How each source's rows are read (as the recipes' builder sources read them): the mix's
#: ``prompt``/``completion`` and CommitPackFT's commit fields as instruction/response rows in the
#: prompt format; the teacher data is instruction/response already.
SOURCE_COLUMNS = {"filter": {"instruction": "subject", "context": "old_contents", "response": "new_contents"},
                  "mix": {"instruction": "prompt", "response": "completion"}}


def data_files(directory: Path | None) -> list[Path]:
    if directory is None or not (directory / "data").is_dir():
        return []
    return sorted(p for p in (directory / "data").rglob("*.jsonl") if p.stat().st_size > 0)


def training_sources(ctx) -> list[dict[str, Any]]:
    """The recipe's ``datasets`` entries: every non-empty source of ``sft.sources``."""
    sources = []
    for name in ctx.config.sft.sources:
        for path in data_files(ctx.output(name)):
            entry: dict[str, Any] = {"path": str(path), "split": "train"}
            if name in SOURCE_COLUMNS:
                entry["column_map"] = dict(SOURCE_COLUMNS[name])
            sources.append(entry)
    if not sources:
        raise ValueError(f"no training rows: every source of sft.sources ({', '.join(ctx.config.sft.sources)}) "
                         "is empty or disabled; check the drop statistics of those stages in the report")
    return sources


def sft_inputs(ctx) -> dict[str, Any]:
    from ..stage import file_digest, section_inputs

    section = ctx.config.sft
    recipe = Path(section.recipe)
    return {"sft": section_inputs(section),
            "recipe": file_digest(recipe) if recipe.is_file() else section.recipe,
            "data": {name: ctx.results[name].key if name in ctx.results else None for name in section.sources}}


def run_sft(ctx, out: Path) -> dict[str, Any]:
    import yaml

    from octo_trainer.recipe_files import resolve_config
    from octo_trainer.train import main, make_parser

    section = ctx.config.sft
    path, source = resolve_config(section.recipe)
    recipe = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    recipe["disable_tqdm"] = not ctx.progress
    recipe.update(section.overrides)
    recipe.update(datasets=training_sources(ctx), prompt_format=section.prompt_format,
                  output_dir=str(out / MODEL_DIR))
    if section.model_name_or_path:
        recipe["model_name_or_path"] = section.model_name_or_path
    recipe_file = out / "recipe.input.yaml"
    octopack_common.write_text_atomic(recipe_file, yaml.safe_dump(recipe, sort_keys=False))
    parser = make_parser()
    data_args, training_args, model_args = parser.parse_args_and_config(["--config", str(recipe_file)])
    trainer = main(data_args, training_args, model_args, recipe_source=source)
    history = trainer.state.log_history
    losses = [entry["loss"] for entry in history if "loss" in entry]
    return {"steps": trainer.state.global_step, "rows": len(trainer.train_dataset),
            "sources": [_source_name(Path(s["path"]), ctx.dir) for s in recipe["datasets"]],
            "first_loss": losses[0] if losses else None, "final_loss": losses[-1] if losses else None,
            "train_loss": next((e.get("train_loss") for e in reversed(history) if "train_loss" in e), None),
            "base_model": model_args.model_name_or_path, "recipe": source}


def _source_name(path: Path, run_dir: Path) -> str:
    """``stage/config`` of a data file under ``<run_dir>/stages/<stage>/<fp>/data/<config>/``."""
    parts = path.relative_to(run_dir / "stages").parts
    return f"{parts[0]}/{parts[3]}"


def eval_inputs(ctx) -> dict[str, Any]:
    from ..stage import file_digest, section_inputs

    return {"eval": section_inputs(ctx.config.eval), "prompt_format": ctx.config.sft.prompt_format,
            "humanevalpack": file_digest(ctx.config.data.resolved("humanevalpack_dir"))}


def run_eval(ctx, out: Path) -> dict[str, Any]:
    from octo_trainer.evaluation import EvalArguments, run_evaluation

    section = ctx.config.eval
    data_dir = ctx.config.data.resolved("humanevalpack_dir")
    args = dict(model_name_or_path=str(ctx.output("sft") / MODEL_DIR), prompt_format=ctx.config.sft.prompt_format,
                tasks=list(section.tasks), languages=list(section.languages), limit=section.limit,
                greedy=section.greedy, max_new_tokens=section.max_new_tokens, data_dir=data_dir,
                output_dir=str(out / EVAL_DIR), progress=ctx.progress, model_label=f"{ctx.config.publish.prefix}-model")
    args.update(section.options)
    document = run_evaluation(EvalArguments(**args))
    summary = {"results": {f"{e['task']}/{e['language']}": e["metrics"].get("pass@1")
                           for e in document["results"]},
               "averages": {task: values.get("pass@1") for task, values in document.get("averages", {}).items()},
               "entries": len(document["results"])}
    if section.sanity_check:
        summary["canonical"] = canonical_check(out, section, data_dir, args.get("problems"))
    return summary


def canonical_check(out: Path, section, data_dir: str | None, problems: list[int] | None) -> dict[str, Any]:
    """Score each language's canonical solutions of the evaluated problems; all must pass."""
    from humanevalpack_metric import evaluate_languages, load_problems

    completions, ids = {}, {}
    for language in section.languages:
        rows = load_problems(language, data_dir)
        rows = [rows[i] for i in problems] if problems else rows
        rows = rows[: section.limit] if section.limit is not None else rows
        completions[language] = [[row["prompt"] + row["canonical_solution"]] for row in rows]
        ids[language] = [row["task_id"] for row in rows]
    reports = evaluate_languages(completions, "synthesize", problem_ids=ids, data_dir=data_dir, k=[1],
                                 postprocessed=True)
    scores = {language: {"problems": len(ids[language]), "pass@1": report.pass_at_k.get("pass@1", 0.0),
                         "status": dict(report.status_counts())} for language, report in reports.items()}
    failed = [language for language, score in scores.items() if score["pass@1"] < 1.0]
    octopack_common.write_json_atomic(out / CANONICAL, {"languages": scores, "failed": failed})
    if failed:
        logger.warning("canonical solutions failed for %s: the executor is broken here "
                       "(humanevalpack-toolchains check)", ", ".join(failed))
    return {"failed": failed, "pass@1": {language: s["pass@1"] for language, s in scores.items()}}


def read_results(ctx) -> dict[str, Any] | None:
    directory = ctx.output("eval")
    path = directory / EVAL_DIR / "results.json" if directory else None
    return json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else None
