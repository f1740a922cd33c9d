"""The Evol-Instruct builder end to end against real OpenAI-compatible servers on 127.0.0.1: two
rounds with a scripted teacher (known evolutions, answers and failures: a copied marker, a "sorry"
answer, an Equal verdict of the judge, an over-long answer, a copy of the parent, a contaminated
answer), the pool option, a build killed with SIGKILL and re-run, and one round against
``transformers serve`` with the tiny model."""

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from commitpack_dataset.evol_instruct import CODE_METHODS, FIELDS, EvolInstruct, row_fingerprint
from commitpack_dataset.evol_instruct.builder import RESPONSE_CACHE
from commitpack_dataset.generation import GenerationRequest, ResponseCache
from tests.support.processes import sigkill_when
from tests.support.scripted_openai import Reply

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-octopack-evol-test-9c1b"

SEEDS = [
    {"instruction": "Write a function that reverses a string.", "input": "", "output": "def rev(s):\n    return s[::-1]"},
    {"instruction": "Write a function that sums a list of numbers.", "input": "", "output": "sum(xs)"},
    {"instruction": "Sort a list of integers in ascending order.", "input": "", "output": "sorted(xs)"},
    {"instruction": "Count the vowels in a given string.", "input": "", "output": "sum(c in 'aeiou' for c in s)"},
    {"instruction": "Check whether a number is prime.", "input": "", "output": "def is_prime(n): ..."},
    {"instruction": "Compute the factorial of a number.", "input": "n = 5", "output": "math.factorial(5)"},
    {"instruction": "Find the maximum element of an array.", "input": "", "output": "max(xs)"},
    {"instruction": "   ", "input": "", "output": "nothing to evolve"},
    # index 8: a HumanEval docstring (set by the fixture) -> contamination in round 0
]

E = {  # evolved instructions, by seed
    0: "Write a function that reverses a string without slicing or any built-in reverse helper.",
    1: "#Rewritten Test#\nWrite a function that sums a list of numbers, skipping None values.",
    2: "Sort a list of integers in ascending order with merge sort in O(n log n) time.",
    3: "Count the vowels in a given string, counting y as a vowel only at the end of a word.",
    4: "Check whether a number is prime in O(sqrt n) time and return its smallest divisor otherwise.",
    5: "Compute the factorial of a number iteratively and raise ValueError for negative input.\nn = 5",
    6: "Find the maximum element of an array in a single pass without calling max().",
}
E2 = {  # round 2, by seed (only 0, 5 and 6 survive round 1)
    0: "Write a function that reverses a UTF-8 string by grapheme clusters without slicing or helpers.",
    5: "Compute the factorial of a number iteratively, raise ValueError for negative input, memoise results.\nn = 5",
    6: E[6],  # a copy of its parent: no information gained
}
A = {text: f"Here is a solution for: {text[:40]} ... done, with an explanation of each step." for text in
     list(E.values()) + list(E2.values())}
A[E[2]] = "I am sorry, but I cannot write that sorting routine for you right now."
A[E[4]] = Reply(text="A very long answer about primes and divisors, with code.", completion_tokens=1995)


def given_test(key: str) -> str:
    return key.split("#Given Test#\n", 1)[1].rsplit("\n\n#Rewritten Test#", 1)[0]


def script(contaminating: str):
    evolutions = {SEEDS[i]["instruction"] if not SEEDS[i]["input"] else
                  f"{SEEDS[i]['instruction']}\n{SEEDS[i]['input']}": text for i, text in E.items()}
    evolutions.update({E[i]: text for i, text in E2.items()})
    answers = dict(A, **{E2[5]: f"Use this:\n{contaminating}"})

    def answer(request):
        key = request.key
        if "#Given Test#" in key:
            return evolutions[given_test(key)]
        if key.startswith("Below are two instructions"):
            second = key.split("Second instruction:\n", 1)[1].split("\n\nAre the two", 1)[0]
            return "Equal" if second == E[3] else "Not Equal."
        return answers[key]
    return answer


def sent_request(body):
    return GenerationRequest(model=body["model"], messages=body["messages"], n=body.get("n", 1),
                             temperature=body["temperature"], top_p=body.get("top_p", 1.0),
                             max_tokens=body["max_tokens"], stop=body.get("stop") or (), seed=body["seed"])


@pytest.fixture(scope="module")
def humaneval(benchmark_sources):
    from humanevalpack_metric.benchmarks import humaneval_docstring, load_humaneval

    tasks = load_humaneval(benchmark_sources["humaneval_source"])
    return {"docstring": humaneval_docstring(tasks[7]["prompt"]), "solution": tasks[0]["canonical_solution"]}


def seed_file(directory: Path, humaneval) -> Path:
    path = directory / "seeds.json"
    path.write_text(json.dumps(SEEDS + [{"instruction": humaneval["docstring"], "input": "", "output": "pass"}]))
    return path


def test_two_rounds_exact_records_lineage_and_drops_per_round(scripted_openai, tmp_path, monkeypatch,
                                                             benchmark_sources, humaneval):
    server = scripted_openai(script(humaneval["solution"]))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    seeds = seed_file(tmp_path, humaneval)
    options = dict(config_name="code", seed_dataset=str(seeds), rounds=2, model="teacher", base_url=server.base_url,
                   equality_judge=True, concurrency=4, max_retries=1, backoff=0.05, progress=False,
                   **benchmark_sources)
    builder = EvolInstruct(cache_dir=str(tmp_path / "cache"), **options)
    builder.download_and_prepare()
    rows = builder.as_dataset("train").to_list()

    kinds = {"evolve": [], "judge": [], "answer": []}
    for request in server.requests:
        kind = "evolve" if "#Given Test#" in request.key else (
            "judge" if request.key.startswith("Below are two") else "answer")
        kinds[kind].append(request)
    assert {kind: len(requests) for kind, requests in kinds.items()} == {"evolve": 7 + 3, "judge": 6 + 2,
                                                                          "answer": 5 + 2}
    for request in server.requests:  # evol-teacher's decoding for the teacher, greedy 8 tokens for the judge
        body = request.body
        judge = request.key.startswith("Below are two")
        assert (body["temperature"], body["max_tokens"]) == ((0.0, 8) if judge else (1.0, 2048))
        assert body["seed"] in (43, 44) and [m["role"] for m in body["messages"]] == ["user"]
        assert request.headers.get("authorization") == f"Bearer {SECRET}"
    methods = {}  # (round, parent instruction) -> the method named in the evolution prompt
    for request in kinds["evolve"]:
        named = [name for name, text in CODE_METHODS.items() if f"one way to do it is:\n{text}\n" in request.key]
        assert len(named) == 1
        methods[given_test(request.key)] = (named[0], request)

    seeds_in = [s for s in SEEDS[:7]]
    instruction = [s["instruction"] + (f"\n{s['input']}" if s["input"] else "") for s in seeds_in]

    def seed_record(i):
        return {"instruction": instruction[i], "response": seeds_in[i]["output"], "round": 0, "method": "seed",
                "parent": "", "fingerprint": row_fingerprint("", 0, "seed", instruction[i], seeds_in[i]["output"]),
                "seed_index": i, "source": f"{seeds}:{i}", "evolution_request": "", "answer_request": "",
                "openai_fingerprint": ""}

    def evolved(parent, round_number, text):
        method, request = methods[parent["instruction"]]
        assert method == random.Random(f"evol-instruct:42:{round_number}:{parent['fingerprint']}").choice(
            list(CODE_METHODS))
        answer_request = next(r for r in kinds["answer"] if r.key == text)
        response = A[text] if isinstance(A.get(text), str) else None
        return {"instruction": text, "response": response, "round": round_number, "method": method,
                "parent": parent["fingerprint"],
                "fingerprint": row_fingerprint(parent["fingerprint"], round_number, method, text, response),
                "seed_index": parent["seed_index"], "source": parent["source"],
                "evolution_request": sent_request(request.body).fingerprint(),
                "answer_request": sent_request(answer_request.body).fingerprint(), "openai_fingerprint": "fp_scripted"}

    round0 = [seed_record(i) for i in range(7)]
    round1 = [evolved(round0[i], 1, E[i]) for i in (0, 5, 6)]
    round2 = [evolved(round1[0], 2, E2[0])]
    assert [list(row) for row in rows] == [list(FIELDS)] * len(rows)
    assert rows == round0 + round1 + round2

    assert builder.drop_statistics() == {
        0: {"seed_empty_instruction": 1, "contamination_humaneval": 1},
        1: {"copied_prompt_wording": 1, "answer_sorry": 1, "equal_to_parent": 1, "answer_too_many_tokens": 1},
        2: {"same_as_parent": 1, "contamination_humaneval": 1}}
    assert builder.round_summary() == {
        0: {"pool": 0, "kept": 7, "with_response": 7, "dropped": 2},
        1: {"pool": 7, "kept": 3, "dropped": 4, "judge_verdicts": {"not_equal": 5, "equal": 1}},
        2: {"pool": 3, "kept": 1, "dropped": 2, "judge_verdicts": {"not_equal": 2}}}
    rejected = {(r["round"], r["reason"]): r for r in builder.rejected()}
    assert rejected[(1, "answer_sorry")]["answer"] == A[E[2]]
    assert rejected[(1, "equal_to_parent")]["judge"] == "Equal"
    assert rejected[(1, "copied_prompt_wording")]["instruction"] == E[1]
    assert rejected[(2, "contamination_humaneval")]["instruction"] == E2[5]
    prepared = Path(builder._output_dir)
    report = json.loads((prepared / "decontamination" / "round_2" / "report.json").read_text())
    assert report["removed_by_reason"] == {"contamination_humaneval": 1} and report["rows"] == 2

    # a rebuild in the same cache sends nothing and yields the same rows
    server.reset()
    again = EvolInstruct(cache_dir=str(tmp_path / "cache2"), response_cache=builder.response_cache_path(), **options)
    again.download_and_prepare()
    assert server.count() == 0 and again.as_dataset("train").to_list() == rows
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in written if SECRET.encode() in p.read_bytes()]


def test_pool_option_evolves_a_failed_rows_parent_again(scripted_openai, tmp_path):
    seeds = [{"instruction": "Add two integers and return the sum.", "output": "a + b"},
             {"instruction": "Return the length of a list of items.", "output": "len(xs)"}]

    failed_once = set()

    def answer(request):
        key = request.key
        if "#Given Test#" in key:
            question = given_test(key)
            if question.startswith("Return the length") and question not in failed_once:
                failed_once.add(question)
                return "sorry"  # one word: instruction_too_few_words in round 1
            return question + " Handle overflow and empty input as well."
        return "A fine answer with enough words to pass every rule here."

    server = scripted_openai(answer)
    common = dict(config_name="code", seed_rows=seeds, rounds=2, model="teacher", base_url=server.base_url,
                  decontaminate=False, progress=False)
    dropped = EvolInstruct(cache_dir=str(tmp_path / "drop"), **common)
    dropped.download_and_prepare()
    assert [(r["round"], r["seed_index"]) for r in dropped.as_dataset("train")] == [(0, 0), (0, 1), (1, 0), (2, 0)]
    server.reset()
    failed_once.clear()
    pooled = EvolInstruct(cache_dir=str(tmp_path / "pool"), failed_evolutions="pool", **common)
    pooled.download_and_prepare()
    rows = pooled.as_dataset("train").to_list()
    assert [(r["round"], r["seed_index"]) for r in rows] == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1)]
    assert rows[-1]["parent"] == rows[1]["fingerprint"]  # the seed itself, evolved again in round 2
    assert pooled.round_summary()[2]["pool"] == 2 and pooled.drop_statistics()[1] == {"instruction_too_few_words": 1}


SIGKILL_BUILD = """
import sys
from commitpack_dataset.evol_instruct import EvolInstruct
cache, seeds, url = sys.argv[1:4]
builder = EvolInstruct(config_name="code", cache_dir=cache, seed_dataset=seeds, rounds=2, model="teacher",
                       base_url=url, concurrency=2, decontaminate=False, progress=False)
builder.download_and_prepare()
"""


def echo_teacher(request):
    key = request.key
    if "#Given Test#" in key:
        return given_test(key) + " Also validate the input first."
    return f"Answer: {key[:30]} -- handled carefully, step by step."


def test_a_killed_build_resumes_paying_for_nothing_twice(scripted_openai, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Task number {i}: print {i} squares.", "output": "ok"}) + "\n"
                             for i in range(8)))
    server = scripted_openai(echo_teacher, latency=0.2)
    cache = tmp_path / "cache"
    build = tmp_path / "build.py"
    build.write_text(SIGKILL_BUILD)
    child = subprocess.Popen([sys.executable, str(build), str(cache), str(seeds), server.base_url],
                             env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
    # 8 evolutions, 8 answers, 8 evolutions, 8 answers: kill in round 1's answers
    sigkill_when(child, lambda: server.count() >= 11, 180, lambda: child.stderr.read().decode())
    with ResponseCache(cache / RESPONSE_CACHE) as stored:
        answered = stored.fingerprints()
    assert 8 <= len(answered) < 16
    assert answered <= {sent_request(r.body).fingerprint() for r in server.requests}

    server.reset()
    server.latency = 0.0
    options = dict(config_name="code", seed_dataset=str(seeds), rounds=2, model="teacher", base_url=server.base_url,
                   concurrency=2, decontaminate=False, progress=False)
    resumed = EvolInstruct(cache_dir=str(cache), **options)
    resumed.download_and_prepare()
    resent = [sent_request(r.body).fingerprint() for r in server.requests]
    assert len(resent) == len(set(resent)) == 32 - len(answered)
    assert not set(resent) & answered

    server.reset()
    fresh = EvolInstruct(cache_dir=str(tmp_path / "fresh"), **options)
    fresh.download_and_prepare()
    assert server.count() == 32
    rows = resumed.as_dataset("train").to_list()
    assert len(rows) == 8 * 3 and rows == fresh.as_dataset("train").to_list()


def test_one_round_against_transformers_serve(openai_server, tmp_path):
    seeds = [{"instruction": "Write a function that doubles a number.", "output": "2 * x"},
             {"instruction": "Write a function that checks if a list is empty.", "output": "not xs"}]
    builder = EvolInstruct(config_name="code", cache_dir=str(tmp_path / "cache"), seed_rows=seeds, rounds=1,
                           model=openai_server.model, base_url=openai_server.base_url, max_new_tokens=24,
                           temperature=0.0, stop=("#",), evol_teacher_rules=False, wizardlm_rules=False,
                           concurrency=1, decontaminate=False, progress=False)
    builder.download_and_prepare()
    rows = builder.as_dataset("train").to_list()
    drops = builder.drop_statistics()[1]
    assert [r["round"] for r in rows[:2]] == [0, 0]
    evolved = [r for r in rows if r["round"] == 1]
    assert len(evolved) + sum(drops.values()) == 2  # every seed accounted for
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["evolution_request"]) for r in evolved)
    rejected = builder.rejected()
    assert sorted(r["reason"] for r in rejected) == sorted(drops.elements())
    with ResponseCache(tmp_path / "cache" / RESPONSE_CACHE) as stored:
        assert len(stored) == 2 + len(evolved) + sum(1 for r in rejected if r["reason"].startswith("answer_"))
