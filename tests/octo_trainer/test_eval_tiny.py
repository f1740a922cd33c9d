"""The tiny model through the whole runner: every task x 6 languages + HumanEval + MBPP, through
the local ``transformers`` backend and through ``transformers serve`` as an endpoint."""

from __future__ import annotations

import json

from octo_trainer.evaluation import EvalArguments, run_evaluation

LANGUAGES = ["python", "js", "java", "go", "cpp", "rust"]
TASKS = ["fixtests", "fixdocs", "explain", "synthesize", "humaneval", "mbpp"]
FILES = ("config.json", "responses.sqlite", "prompts.jsonl", "generations.jsonl",
         "descriptions.jsonl", "executions.jsonl", "scores.jsonl", "results.json", "table.md",
         "chart.png")


def _run(test_data_dir, out, **fields) -> dict:
    args = EvalArguments(prompt_format="octocoder", tasks=TASKS, languages=LANGUAGES,
                         problems=[0], k=[1], max_new_tokens=12,
                         data_dir=str(test_data_dir / "humanevalpack"),
                         humaneval_path=str(test_data_dir / "benchmarks" / "HumanEval.jsonl.gz"),
                         mbpp_path=str(test_data_dir / "benchmarks" / "mbpp.jsonl"),
                         output_dir=str(out), progress=False, execution_timeout=60.0, **fields)
    return run_evaluation(args)


def _check_run(out, document, samples: int, backend: str) -> list[dict]:
    for name in FILES:
        assert (out / name).is_file(), name
    scored = {(e["task"], e["language"]) for e in document["results"]}
    assert scored == {(t, lang) for t in ("fixtests", "fixdocs", "explainsynthesize", "synthesize")
                      for lang in LANGUAGES} | {("humaneval", "python"), ("mbpp", "python")}
    records = [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]
    # 4 one-stage tasks x 6 languages, one synthesis per description, HumanEval, MBPP
    assert len(records) == (4 * 6 + 6 + 2) * samples
    per_task = {}
    for record in records:
        per_task.setdefault((record["task"], record["language"]), []).append(record)
    assert all(len(rows) == samples for key, rows in per_task.items()
               if key[0] != "explainsynthesize")
    assert all(len(rows) == samples for key, rows in per_task.items()
               if key[0] == "explainsynthesize")  # samples descriptions x 1 synthesis each
    assert all(r["backend"] == backend and r["error"] is None for r in records)
    assert all(r["model_revision"] and r["model_revision"].startswith("local-") for r in records)
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == sum(len(v) for k, v in per_task.items() if k[0] != "explaindescribe")
    assert document["results"][0]["samples_per_problem"] == samples
    return records


def test_tiny_model_full_run_through_the_transformers_backend(tiny_model_dir, test_data_dir,
                                                              tmp_path):
    out = tmp_path / "local"
    document = _run(test_data_dir, out, model_name_or_path=str(tiny_model_dir), n_samples=2,
                    temperature=0.8, batch_size=8)
    records = _check_run(out, document, samples=2, backend="transformers")
    assert {r["finish_reason"] for r in records} <= {"stop", "length"}
    assert document["model"]["backend"] == "transformers"
    assert document["generation"]["temperature"] == 0.8


def test_tiny_model_full_run_through_transformers_serve(openai_server, test_data_dir, tmp_path):
    out = tmp_path / "served"
    document = _run(test_data_dir, out, model_name_or_path=openai_server.model,
                    base_url=openai_server.base_url, greedy=True, samples_per_request=1)
    records = _check_run(out, document, samples=1, backend="openai")
    # the served model is a local directory: its tokenizer counts the prompt and adds its EOS
    assert all("<|endoftext|>" in r["sampling"]["stop"] for r in records)
    assert document["model"]["backend"] == "openai"
