"""Facts of one card of every kind, shared by the card, Hub and screenshot tests."""

from __future__ import annotations

import copy

SHA = "3f2a9c1d0e4b5a69788796a5b4c3d2e1f0a9b8c7"
DECONTAMINATION = {"benchmarks": ["humanevalpack", "mbpp"], "method": "10-gram overlap with prompts and solutions",
                   "removed": 3, "removed_per_benchmark": {"humanevalpack": 2, "mbpp": 1}, "checked": 1207}
TEACHER = {"model": "gpt-3.5-turbo-1106", "prompts_fingerprint": "sha256:9d1f0c4e2b7a",
           "endpoint": "api.openai.com", "sampling": {"temperature": 0.0, "max_tokens": 2048}, "requests": 1210}
_RULES = [
    {"name": "merge_commit", "stage": "mining", "description": "merge commits", "dropped": 310},
    {"name": "message_length", "stage": "CommitPack (A.2)",
     "description": "A.2-3: keep if 5 < len(message) < 10,000 characters", "dropped": 41},
    {"name": "subject_not_imperative", "stage": "CommitPackFT (B)",
     "description": "B.1-12: the subject starts with an imperative verb", "dropped": 1702},
]
FACTS = {
    "commitpack": {
        "kind": "commitpack", "repo_id": "octo-user/commitpack-demo", "license": ["apache-2.0", "mit"],
        "configs": {"python": {"rows": 1204, "language": "Python"},
                    "javascript": {"rows": 310, "language": "JavaScript"}, "c++": {"rows": 12, "language": "C++"}},
        "sources": [{"repository": "octo/app", "revision": SHA, "ref": "HEAD", "license": "mit", "rows": 1300},
                    {"repository": "octo/web", "revision": SHA[::-1], "ref": "main", "license": "apache-2.0",
                     "url": "https://example.com/octo/web.git", "rows": 226}],
        "input_rows": 1526 + 351, "rules": _RULES[:2], "decontamination": None,
        "build": {"tool": "octopack 0.1.0", "builder": "commitpack_dataset.CommitPack",
                  "options": {"faithful": True, "license_policy": "drop-unknown"}},
    },
    "commitpackft": {
        "kind": "commitpackft", "repo_id": "octo-user/commitpackft-demo", "license": "mit",
        "configs": {"python": {"rows": 120, "language": "Python"}, "go": {"rows": 7, "language": "Go"}},
        "sources": [{"repository": "octo/app", "revision": SHA, "ref": "HEAD", "license": "mit", "rows": 127}],
        "input_rows": 127 + 2053, "rules": _RULES, "decontamination": DECONTAMINATION,
    },
    "oss-instruct": {
        "kind": "oss-instruct", "repo_id": "octo-user/oss-instruct-demo", "license": "mit",
        "configs": {"python": {"rows": 800, "language": "Python"}, "rust": {"rows": 402, "language": "Rust"}},
        "seeds": [{"dataset": "bigcode/the-stack-smol", "config": "python", "split": "train", "revision": SHA,
                   "rows": 1210, "note": "1-15 consecutive lines per seed"}],
        "rules": [{"name": "unparsable_answer", "dropped": 5, "description": "no [Problem]/[Solution] sections"},
                  {"name": "duplicate_problem", "dropped": 3, "description": "the same problem text twice"}],
        "input_rows": 1210, "decontamination": DECONTAMINATION, "teacher": TEACHER,
    },
    "evol-instruct": {
        "kind": "evol-instruct", "repo_id": "octo-user/evol-instruct-demo", "license": "cc-by-nc-4.0",
        "configs": {"default": {"rows": 2000, "language": "mixed"}},
        "seeds": [{"dataset": "sahil2801/CodeAlpaca-20k", "split": "train", "rows": 2000}],
        "rules": [{"name": "evolution_failed", "dropped": 12, "description": "the evolved prompt copies the seed"}],
        "input_rows": 2012, "decontamination": None, "teacher": {**TEACHER, "requests": 6036},
    },
    "octocoder-mix": {
        "kind": "octocoder-mix", "repo_id": "octo-user/octocoder-mix-demo", "license": ["apache-2.0", "mit"],
        "configs": {"commitpackft": {"rows": 500, "language": "CommitPackFT"},
                    "oasst": {"rows": 41, "language": "OASST (filtered)"}},
        "components": [{"dataset": "octo-user/commitpackft-demo", "config": "python", "rows": 500, "weight": 0.9},
                       {"dataset": "OpenAssistant/oasst1", "rows": 41, "weight": 0.1}],
        "decontamination": DECONTAMINATION,
    },
}
RESULTS = {
    "model": "octo-user/tiny-coder",
    "sampling": {"temperature": 0.2, "top_p": 0.95, "n_samples": 20, "max_new_tokens": 512},
    "results": {
        **{f"humanevalfixtests-{lang}": {"pass@1": value, "pass@10": min(1.0, 2 * value)}
           for lang, value in zip(("python", "js", "java", "go", "cpp", "rust"),
                                  (0.3125, 0.28, 0.301, 0.25, 0.2625, 0.2))},
        **{f"humanevalexplainsynthesize-{lang}": {"pass@1": value}
           for lang, value in zip(("python", "js", "java"), (0.35, 0.3, 0.25))},
        "humanevalsynthesize-python": {"pass@1": 0.462, "pass@10": 0.61},
        "humanevalsynthesize-rust": {"pass@1": 0.234},
        "humanevalexplaindescribe-python": {"bleu": 3.1},  # not executed: ignored
    },
}
MODEL_INFO = {
    "model_id": "octo-user/tiny-coder", "finetuning": "lora", "base_model": "octo-user/tiny-base",
    "license": "apache-2.0", "tags": ["octocoder", "code"],
    "prompt_format": {"name": "octocoder", "template": "Question: {instruction}\n\nAnswer:", "loss_on_prompt": False},
    "datasets": [{"path": "octo-user/commitpackft-demo", "split": "train", "weight": 1.0}],
    "lora": {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": "all-linear"},
    "batch": {"per_device": 4, "gradient_accumulation": 8, "devices": 1},
    "hyperparameters": {"learning_rate": 5e-4, "max_steps": 100},
    "metrics": {"final_loss": 0.81, "train_runtime": 61.2, "global_step": 100},
    "framework_versions": {"trl": "1.16.0", "transformers": "5.23.0"},
}


def facts(example: str, **changes) -> dict:
    """A deep copy of the example facts of kind ``example`` with ``changes`` applied."""
    value = copy.deepcopy(FACTS[example])
    value.update(changes)
    return value
