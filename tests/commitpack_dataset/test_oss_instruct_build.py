"""The OSS-Instruct builder end to end against real OpenAI-compatible servers on 127.0.0.1: a
scripted server (known answers, 429 with Retry-After, 500, slow, truncated, malformed JSON), a
build killed with SIGKILL and re-run, ``transformers serve`` with the tiny model, and the
execution check in Python, JavaScript and C++."""

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from commitpack_dataset.generation import GenerationRequest, ResponseCache
from commitpack_dataset.oss_instruct import FIELDS, OSSInstruct
from commitpack_dataset.oss_instruct.builder import RESPONSE_CACHE
from tests.support.processes import sigkill_when
from tests.support.scripted_openai import Reply

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-octopack-test-5f0c1d2e9a"


def answer(case, problem=None):
    problem = problem or f"Problem about {case}."
    return f"Sure!\n[Problem Description]\n{problem}\n\n[Solution]\n```python\nprint('{case}')\n```\n"


def case_of(request):
    return request.key.split("```\n", 1)[1].split(" = ", 1)[0]


def seed_files(directory, cases, suffix=".py"):
    directory.mkdir(parents=True, exist_ok=True)
    for number, case in enumerate(cases):
        (directory / f"{number:02d}_{case}{suffix}").write_text(f"{case} = {number}\n")
    return directory


def sent_request(body):
    """The GenerationRequest the server received (its fingerprint is the record's)."""
    return GenerationRequest(model=body["model"], messages=body["messages"], n=body.get("n", 1),
                             temperature=body["temperature"], top_p=body.get("top_p", 1.0),
                             max_tokens=body["max_tokens"], seed=body["seed"])


CASES = ["ok", "rate_limited", "server_error", "slow", "truncated", "malformed_json", "no_headers", "dup",
         "contaminated", "always_500"]


def scripted_answer(contaminating_solution):
    def script(request):
        case, attempt = case_of(request), request.attempt
        if case == "rate_limited" and attempt == 1:
            return Reply.rate_limited(0.3)
        if case in ("server_error", "always_500") and (attempt == 1 or case == "always_500"):
            return Reply.server_error()
        if case == "malformed_json" and attempt == 1:
            return Reply.malformed()
        if case == "slow":
            return Reply(text=answer(case), latency=0.5)
        if case == "truncated":
            return Reply.truncated("[Problem Description]\nA problem that never")
        if case == "no_headers":
            return "I can't help with that snippet."
        if case == "dup":
            return answer(case, problem="Problem  about\nok.")  # ok's problem, other whitespace
        if case == "contaminated":
            return f"[Problem Description]\nClose elements.\n[Solution]\n{contaminating_solution}"
        return answer(case)
    return script


def test_scripted_teacher_exact_records_reasons_and_no_key_anywhere(scripted_openai, tmp_path, monkeypatch,
                                                                     benchmark_sources, test_data_dir):
    from humanevalpack_metric.benchmarks import load_humaneval

    contaminating = load_humaneval(benchmark_sources["humaneval_source"])[0]["canonical_solution"]
    server = scripted_openai(scripted_answer(contaminating))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    seeds = seed_files(tmp_path / "seeds", CASES)
    cache = tmp_path / "cache"
    builder = OSSInstruct(config_name="python", cache_dir=str(cache), seed_files=(str(seeds),), model="teacher",
                          base_url=server.base_url, concurrency=4, max_retries=2, backoff=0.05,
                          max_new_tokens=300, progress=False, **benchmark_sources)
    builder.download_and_prepare()
    rows = builder.as_dataset("train").to_list()

    by_case = {}
    for request in server.requests:
        by_case.setdefault(case_of(request), []).append(request)
    assert {case: len(requests) for case, requests in by_case.items()} == {
        **{case: 1 for case in CASES}, "rate_limited": 2, "server_error": 2, "malformed_json": 2, "always_500": 3}
    retry = by_case["rate_limited"]
    assert retry[1].received_at - retry[0].received_at >= 0.3  # Retry-After honoured
    assert all(r.headers.get("authorization", r.headers.get("Authorization")) == f"Bearer {SECRET}"
               for r in server.requests)
    first = {case: requests[0].body for case, requests in by_case.items()}
    for body in first.values():  # D.2: temperature 0, seed 976 + index, the token budget
        assert body["temperature"] == 0.0 and body["n"] == 1 and body["max_tokens"] == 300
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
    index = {case: body["seed"] - 976 for case, body in first.items()}
    assert sorted(index.values()) == list(range(len(CASES)))

    def record(case, solution=None):
        number = CASES.index(case)
        problem, solution = f"Problem about {case}.", solution or f"```python\nprint('{case}')\n```"
        return {"index": index[case], "raw_index": number, "seed": f"{case} = {number}\n",
                "source": str(seeds / f"{number:02d}_{case}.py"), "problem": problem, "solution": solution,
                "lang": "python", "fingerprint": sent_request(first[case]).fingerprint(),
                "openai_fingerprint": "fp_scripted",
                "instruction": f"Write a solution to the following coding problem:\n{problem}",
                "response": solution, "tests": "", "execution": ""}

    parsed = sorted(["ok", "rate_limited", "server_error", "slow", "malformed_json", "dup", "contaminated"],
                    key=index.get)  # answers that parsed, in seed order, then D.5's shuffle
    random.Random(666).shuffle(parsed)
    survivor = next(case for case in parsed if case in ("ok", "dup"))
    expected = [record(case) for case in parsed
                if case != "contaminated" and (case not in ("ok", "dup") or case == survivor)]
    if survivor == "dup":
        expected = [dict(r, problem="Problem  about\nok.", instruction="Write a solution to the following coding "
                         "problem:\nProblem  about\nok.") if r["seed"].startswith("dup") else r for r in expected]
    assert [list(r) for r in rows] == [list(FIELDS)] * len(rows)
    assert rows == expected

    assert builder.drop_statistics() == {"truncated": 1, "parse_no_problem_header": 1, "duplicate_problem": 1,
                                         "contamination_humaneval": 1, "request_failed": 1}
    rejected = {r["reason"]: r for r in builder.rejected()}
    assert rejected["parse_no_problem_header"]["answer"] == "I can't help with that snippet."
    assert rejected["truncated"]["answer"] == "[Problem Description]\nA problem that never"
    assert "500" in rejected["request_failed"]["answer"] and "gave up after 3 attempts" in rejected["request_failed"]["answer"]
    prepared = Path(builder._output_dir)
    report = json.loads((prepared / "decontamination" / "report.json").read_text())
    assert report["removed_by_reason"] == {"contamination_humaneval": 1}
    removed = json.loads((prepared / "decontamination" / "removed.jsonl").read_text())
    assert removed["id"] == index["contaminated"] and removed["matches"][0]["item"] == "HumanEval/0"
    stats = json.loads((prepared / "generation_stats.json").read_text())
    assert stats["retries"] == 5 and stats["failed"] == 1 and stats["truncated"] == 1
    assert (cache / RESPONSE_CACHE).is_file()

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 10 and not [p for p in written if SECRET.encode() in p.read_bytes()]


SIGKILL_BUILD = """
import sys
from commitpack_dataset.oss_instruct import OSSInstruct
cache, seeds, url = sys.argv[1:4]
builder = OSSInstruct(config_name="python", cache_dir=cache, seed_files=(seeds,), model="teacher", base_url=url,
                      concurrency=2, decontaminate=False, progress=False)
builder.download_and_prepare()
"""


def test_a_killed_build_resumes_paying_for_nothing_twice(scripted_openai, tmp_path):
    cases = [f"task{i}" for i in range(16)]
    server = scripted_openai(lambda request: answer(case_of(request)), latency=0.25)
    seeds = seed_files(tmp_path / "seeds", cases)
    cache = tmp_path / "cache"
    script = tmp_path / "build.py"
    script.write_text(SIGKILL_BUILD)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen([sys.executable, str(script), str(cache), str(seeds), server.base_url], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    sigkill_when(child, lambda: server.count() >= 7, 120, lambda: child.stderr.read().decode())
    with ResponseCache(cache / RESPONSE_CACHE) as stored:
        answered = stored.fingerprints()
    assert 5 <= len(answered) < len(cases)
    sent_before = {sent_request(r.body).fingerprint() for r in server.requests}
    assert answered <= sent_before

    server.reset()
    server.latency = 0.0
    resumed = OSSInstruct(config_name="python", cache_dir=str(cache), seed_files=(str(seeds),), model="teacher",
                          base_url=server.base_url, concurrency=2, decontaminate=False, progress=False)
    resumed.download_and_prepare()
    resent = [sent_request(r.body).fingerprint() for r in server.requests]
    assert len(resent) == len(set(resent)) == len(cases) - len(answered)
    assert not set(resent) & answered  # nothing answered before the kill was paid for again

    server.reset()
    fresh = OSSInstruct(config_name="python", cache_dir=str(tmp_path / "fresh"), seed_files=(str(seeds),),
                        model="teacher", base_url=server.base_url, concurrency=2, decontaminate=False, progress=False)
    fresh.download_and_prepare()
    assert server.count() == len(cases)
    rows = resumed.as_dataset("train").to_list()
    assert len(rows) == len(cases) and rows == fresh.as_dataset("train").to_list()


def test_transformers_serve_teacher_every_seed_accounted_for(openai_server, tmp_path):
    seeds = seed_files(tmp_path / "seeds", ["alpha", "beta", "gamma"])
    builder = OSSInstruct(config_name="python", cache_dir=str(tmp_path / "cache"), seed_files=(str(seeds),),
                          model=openai_server.model, base_url=openai_server.base_url, max_new_tokens=24,
                          concurrency=1, decontaminate=False, progress=False)
    builder.download_and_prepare()
    rows = builder.as_dataset("train").to_list()
    drops = builder.drop_statistics()
    rejected = builder.rejected()
    assert len(rows) + sum(drops.values()) == 3
    assert sorted([r["index"] for r in rejected] + [r["index"] for r in rows]) == [0, 1, 2]
    allowed = {"truncated", "parse_no_problem_header", "parse_no_solution_header", "parse_headers_out_of_order",
               "parse_empty_problem", "parse_empty_solution"}
    assert set(drops) <= allowed and all(r["reason"] in allowed and isinstance(r["answer"], str) for r in rejected)
    assert all(r["answer"] for r in rejected if r["reason"] == "truncated")  # the real model's text is kept
    with ResponseCache(tmp_path / "cache" / RESPONSE_CACHE) as stored:
        assert len(stored) == 3  # answers (truncated ones too) are cached: a re-run pays nothing


GOOD_BAD = {
    "python": ("def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b",
               "assert add(2, 3) == 5\nassert add(-1, 1) == 0", ".py"),
    "javascript": ("function add(a, b) { return a + b; }", "function add(a, b) { return a - b; }",
                   "console.assert(add(2, 3) === 5);\nconsole.assert(add(-1, 1) === 0);", ".js"),
    "cpp": ("int add(int a, int b) { return a + b; }\nint main() { return add(1, 1); }",
            "int add(int a, int b) { return a - b; }",
            "int main() {\n    assert(add(2, 3) == 5);\n    assert(add(-1, 1) == 0);\n    return 0;\n}", ".cpp"),
}


@pytest.mark.parametrize("language", list(GOOD_BAD))
def test_execution_check_keeps_a_correct_solution_and_drops_a_wrong_one(language, scripted_openai, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    good, bad, tests, suffix = GOOD_BAD[language]

    def script(request):
        solution = good if case_of(request) == "good" else bad
        assert "[Tests]" in request.key
        return (f"[Problem Description]\nAdd two integers.\n[Solution]\n```\n{solution}\n```\n"
                f"[Tests]\n```\n{tests}\n```\n")

    server = scripted_openai(script)
    seeds = seed_files(tmp_path / "seeds", ["good", "bad"], suffix)
    builder = OSSInstruct(config_name=language, cache_dir=str(tmp_path / "cache"), seed_files=(str(seeds),),
                          model="teacher", base_url=server.base_url, execution_check=True, decontaminate=False,
                          dedup=False, progress=False)
    builder.download_and_prepare()
    rows = builder.as_dataset("train").to_list()
    assert [(r["seed"], r["execution"], r["tests"]) for r in rows] == [("good = 0\n", "passed", f"```\n{tests}\n```")]
    assert builder.drop_statistics() == {"execution_failed": 1}
    assert [r["seed"] for r in builder.rejected()] == ["bad = 1\n"]
