"""The main job on embedded defaults: the tiny model answers HumanEvalPack, the metric scores it.

    python -m octo_trainer.smoke [--data-dir DIR] [--languages python,js] [--problems 5]

1. builds (or reuses) the project's tiny causal LM,
2. prompts it in the OctoCoder format for HumanEvalSynthesize on the first problems,
3. scores its completions, and the canonical solutions as a control, in the sandboxed executor,
4. prints a table (and writes ``outputs/smoke/report.json``).

It grows into the end-to-end pipeline (mine -> filter -> train -> evaluate).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def load_model(model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    model.eval()
    return model, AutoTokenizer.from_pretrained(model_dir)


def generate(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    import torch

    completions = []
    for prompt in prompts:
        inputs = tokenizer(prompt, return_tensors="pt")
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id)
        completions.append(tokenizer.decode(output[0, inputs["input_ids"].shape[1]:],
                                            skip_special_tokens=True))
    return completions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None,
                        help="local HumanEvalPack JSONL directory (default: the Hub dataset)")
    parser.add_argument("--languages", default="python,js,cpp",
                        help="comma-separated languages (default: python,js,cpp)")
    parser.add_argument("--problems", type=int, default=5, help="problems per language")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--output", default="outputs/smoke/report.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from humanevalpack_metric import evaluate_completions, load_problems
    from humanevalpack_metric.tasks import prompt_parts

    from .formats import get_format
    from .tiny import build_tiny_model

    started = time.monotonic()
    model_dir = build_tiny_model()
    print(f"tiny model: {model_dir}")
    model, tokenizer = load_model(model_dir)
    fmt = get_format("octocoder")
    rows, reports = [], {}
    for language in [name.strip() for name in args.languages.split(",") if name.strip()]:
        problems = load_problems(language, args.data_dir)[: args.problems]
        ids = [p["task_id"] for p in problems]
        prompts = []
        for problem in problems:
            parts = prompt_parts(problem, "synthesize", language)
            prompts.append(fmt.prompt(parts.instruction, parts.context, parts.prompt_base))
        completions = generate(model, tokenizer, prompts, args.max_new_tokens)
        # the prompt ends with the (stripped) function header: what follows is the body
        model_report = evaluate_completions([[c] for c in completions], "synthesize", language,
                                            problem_ids=ids, data_dir=args.data_dir, k=[1])
        control = evaluate_completions([[p["prompt"] + p["canonical_solution"]] for p in problems],
                                       "synthesize", language, problem_ids=ids,
                                       data_dir=args.data_dir, k=[1], postprocessed=True)
        reports[language] = {"tiny_model": model_report.to_json(), "canonical": control.to_json()}
        rows.append((language, len(problems), model_report.pass_at_k.get("pass@1", 0.0),
                     control.pass_at_k.get("pass@1", 0.0), model_report.status_counts()))

    print("\n| language | problems | tiny model pass@1 | canonical pass@1 | tiny model verdicts |")
    print("|---|---:|---:|---:|---|")
    for language, count, model_score, control_score, statuses in rows:
        print(f"| {language} | {count} | {100 * model_score:.1f} | {100 * control_score:.1f} | "
              f"{', '.join(f'{k}: {v}' for k, v in sorted(statuses.items()))} |")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(reports, indent=2), encoding="utf-8")
    print(f"\nwrote {args.output} in {time.monotonic() - started:.1f} s")
    failed = [language for language, _, _, control_score, _ in rows if control_score < 1.0]
    if failed:
        print(f"canonical solutions failed for {', '.join(failed)}: the executor is broken",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
