"""HumanEvalPack results in model cards: results.json in its accepted forms, model-index entries that
huggingface_hub parses back equal, the Table-2 section, and updating a card without retraining."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import EvalResult, ModelCard

from hub_cards import MetadataError, ResultsError, card_results, parse_results, render_model_card, update_model_card
from hub_cards.metadata import validate_metadata
from hub_cards.results import eval_results
from tests.hub_cards.card_examples import MODEL_INFO, RESULTS

FLAT = {"sampling": {"temperature": 0.2}, "results": {"humanevalfixtests-python": {"pass@1": 0.25, "pass@10": 0.5},
                                                      "humanevalsynthesize-cpp": {"pass@1": 0.125}}}


@pytest.mark.parametrize("form", [
    FLAT,
    {"sampling": {"temperature": 0.2}, "results": {"HumanEvalFix": {"Python": {"pass@1": 0.25, "pass@10": 0.5}},
                                                   "synthesize": {"c++": {"pass_at_k": {"pass@1": 0.125}}}}},
    {"sampling": {"temperature": 0.2}, "results": [
        {"task": "humanevalfix", "language": "python", "pass@1": 0.25, "pass@10": 0.5},
        {"task": "HumanEvalSynthesize", "lang": "cpp", "metrics": {"pass@1": 0.125}},
        {"task": "humanevalfix", "language": "average", "pass@1": 0.9}]},
    {"sampling": {"temperature": 0.2}, "humanevalfix/python": {"pass@1": 0.25, "pass@10": 0.5},
     "humanevalsynthesize_cpp": {"pass@1": 0.125}, "humanevalexplaindescribe-go": {"bleu": 1.0}},
])
def test_results_forms_parse_alike(form, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(form))
    parsed = parse_results(path)
    assert parsed == parse_results(FLAT) == parse_results(json.dumps(form))
    assert [(s.task, s.language, s.k, s.value) for s in parsed.scores] == [
        ("humanevalfixtests", "python", 1, 0.25), ("humanevalfixtests", "python", 10, 0.5),
        ("humanevalsynthesize", "cpp", 1, 0.125)]


@pytest.mark.parametrize(("results", "says"), [
    ({"results": {"humanevalfixtests-python": {"pass@1": 31.2}}}, r"fractions in \[0, 1\] \(0.31, not 31\)"),
    ({"results": {"humanevalfixtests-cobol": {"pass@1": 0.3}}}, "unknown language 'cobol'"),
    ({"results": {"humanevalfix": {"pass@1": 0.3}}}, "names a task but no language"),
    ({"results": {"apps-python": {"pass@1": 0.3}}}, "names no HumanEvalPack task"),
    ({"results": {"humanevalfixtests-python": {"pass@1": "high"}}}, "must be a number"),
    ({"results": {}}, "no pass@k values found"),
])
def test_bad_results_name_the_problem(results, says):
    with pytest.raises(ResultsError, match=says):
        parse_results(results)


def test_model_index_parses_back_into_the_eval_results_written(tmp_path):
    card = render_model_card({**MODEL_INFO, "evaluation": RESULTS})
    written = eval_results(parse_results(RESULTS))
    assert len(written) == 6 * 2 + 3 + 2 + 1  # fix: 6 languages x k=1,10; explain 3; synthesize py x2, rust
    card.save(tmp_path / "README.md")
    for loaded in (ModelCard.load(tmp_path / "README.md"), ModelCard((tmp_path / "README.md").read_text())):
        assert loaded.data.eval_results == written
        assert loaded.data.model_name == "tiny-coder"
    first = written[0]
    assert isinstance(first, EvalResult) and (first.task_type, first.task_name) == ("text-generation", "HumanEvalFix")
    assert (first.dataset_type, first.dataset_config, first.dataset_split) == (
        "bigcode/humanevalpack", "python", "test")
    assert first.dataset_name == "HumanEvalFix Python" and first.metric_type == "pass@1"
    assert first.metric_args == {"k": 1, "temperature": 0.2, "top_p": 0.95, "n_samples": 20, "max_new_tokens": 512}
    assert card_results(ModelCard.load(tmp_path / "README.md")).scores == parse_results(RESULTS).scores
    validate_metadata(card.data.to_dict(), "model")


def test_the_body_has_a_table_2_per_k():
    text = render_model_card({**MODEL_INFO, "evaluation": RESULTS}).text
    assert "| task | Python | JavaScript | Java | Go | C++ | Rust | average |" in text
    assert "| HumanEvalFix | 31.2 | 28.0 | 30.1 | 25.0 | 26.2 | 20.0 | 26.8 |" in text
    assert "| HumanEvalExplain | 35.0 | 30.0 | 25.0 | - | - | - | 30.0* |" in text
    assert "| HumanEvalSynthesize | 46.2 | - | - | - | - | 23.4 | 34.8* |" in text
    assert text.index("**pass@1**") < text.index("**pass@10**")
    assert "sampled with temperature=0.2, top_p=0.95, n_samples=20, max_new_tokens=512" in text
    assert "average over the languages evaluated" in text


def test_a_card_gets_new_results_without_retraining():
    plain = str(render_model_card(MODEL_INFO))
    assert ModelCard(plain).data.eval_results is None and "## Evaluation" not in plain
    first = update_model_card(plain, FLAT)
    assert ModelCard(str(first)).data.eval_results == eval_results(parse_results(FLAT))
    assert str(first).index("## Evaluation") < str(first).index("## How to use")
    second = update_model_card(str(first), RESULTS)
    text = str(second)
    assert text.count("## Evaluation") == 1 and "| HumanEvalSynthesize | 46.2 |" in text
    assert ModelCard(text).data.eval_results == eval_results(parse_results(RESULTS))
    kept = [line for line in plain.split("## How to use", 1)[1].splitlines()]
    assert kept == text.split("## How to use", 1)[1].splitlines()  # the rest of the card is untouched
    assert ModelCard(text).data.base_model == "octo-user/tiny-base"


def test_a_malformed_model_index_is_refused():
    with pytest.raises(MetadataError, match="model-index does not parse"):
        validate_metadata({"model-index": [{"name": "m", "results": [{"task": {}, "metrics": []}]}]}, "model")


def test_the_evaluation_runners_results_json_becomes_a_card():
    """What octopack-eval writes (octo_trainer/evaluation/report.py, schema_version 1)."""
    document = {
        "schema_version": 1,
        "model": {"label": "tiny", "name_or_path": "octo-user/tiny", "revision": None, "backend": "transformers"},
        "generation": {"n_samples": 5, "temperature": 0.2, "top_p": 0.95, "top_k": None, "greedy": False},
        "results": [
            {"task": "fixtests", "task_name": "HumanEvalFix", "language": "python", "metrics": {"pass@1": 0.1},
             "problems": 5, "complete": False},
            {"task": "explainsynthesize", "language": "rust", "metrics": {"pass@1": 0.05}, "problems": 164,
             "complete": True},
            {"task": "humaneval", "language": "python", "metrics": {"pass@1": 0.2}, "problems": 164, "complete": True},
            {"task": "mbpp", "language": "python", "metrics": {"pass@1": 0.3}, "problems": 500, "complete": True}],
        "averages": {"fixtests": {"pass@1": 0.1, "languages": 1}}, "octopack_version": "0.1.0",
    }
    parsed = parse_results(document)
    assert parsed.model == "tiny" and parsed.sampling == {"n_samples": 5, "temperature": 0.2, "top_p": 0.95,
                                                          "greedy": False}
    assert parsed.partial == {("humanevalfixtests", "python")}
    text = str(render_model_card({**MODEL_INFO, "evaluation": document}))
    assert "| HumanEvalFix (partial) | 10.0 | - | 10.0* |" in text and "| HumanEval | 20.0 |" in text
    items = ModelCard(text).data.eval_results
    assert items == eval_results(parsed)
    humaneval = next(item for item in items if item.task_name == "HumanEval")
    assert (humaneval.dataset_type, humaneval.dataset_config) == ("openai/openai_humaneval", None)
    assert next(item for item in items if item.task_name == "MBPP").dataset_config == "full"
    assert items[0].dataset_args == {"task": "humanevalfixtests-python", "problems": 5}
