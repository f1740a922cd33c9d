"""Dataset cards of every kind: metadata huggingface_hub and datasets parse, the build facts in the
body, and a failure for each missing required field."""

from __future__ import annotations

import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from hub_cards import DatasetCardFactsError, MetadataError, render_dataset_card, validate_dataset_card
from hub_cards.commit import SecretInPushError
from hub_cards.dataset_card import KINDS, REQUIRED_BY_KIND, REQUIRED_FACTS, REQUIRED_METADATA
from hub_cards.metadata import validate_metadata
from tests.hub_cards.card_examples import FACTS, facts


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_metadata_the_hub_and_datasets_read(kind):
    from datasets.utils.metadata import MetadataConfigs

    example = facts(kind)
    card = DatasetCard(str(render_dataset_card(example)))  # through text, as the Hub stores it
    data = card.data
    assert isinstance(data, DatasetCardData)
    assert data.license == example["license"] and data.language[0] == "code"
    assert data.task_categories == ["text-generation"] and data.pretty_name == KINDS[kind].pretty_name
    total = sum(config["rows"] for config in example["configs"].values())
    assert data.size_categories == ["n<1K" if total < 1000 else "1K<n<10K"]
    assert set(KINDS[kind].tags) <= set(data.tags) and data.source_datasets
    configs = MetadataConfigs.from_dataset_card_data(data)
    assert list(configs) == list(example["configs"])
    for name in example["configs"]:
        assert configs[name]["data_files"] == [{"split": "train", "path": f"data/{name}/train-*.parquet"}]
    validate_dataset_card(card)
    validate_metadata(data.to_dict(), "dataset")

    text = card.text
    first = next(iter(example["configs"]))
    assert f'dataset = load_dataset("{example["repo_id"]}", "{first}", split="train")' in text
    for name, config in example["configs"].items():
        assert f'| `{name}` | {config["language"]} | {config["rows"]:,} |' in text
    for rule in example.get("rules") or []:
        assert f'| `{rule["name"]}` |' in text and f'| {rule["dropped"]:,} |' in text
    if example.get("teacher"):
        assert example["teacher"]["prompts_fingerprint"] in text and example["teacher"]["model"] in text
    if example["decontamination"]:
        assert f'**{example["decontamination"]["removed"]} removed**' in text
    else:
        assert "**Not decontaminated**" in text
    for source in example.get("sources") or []:
        assert source["revision"][:12] in text
    for seed in example.get("seeds") or []:
        assert seed["dataset"] in text and seed["dataset"] in data.source_datasets


@pytest.mark.parametrize("field", REQUIRED_METADATA)
def test_a_card_without_a_required_metadata_field_fails(field):
    card = render_dataset_card(facts("commitpackft"))
    validate_dataset_card(card)
    metadata = card.data.to_dict()
    del metadata[field]
    broken = DatasetCard(f"---\n{DatasetCardData(**metadata).to_yaml()}\n---\n{card.text}")
    with pytest.raises(MetadataError, match=rf"lacks \['{field}'\]"):
        validate_dataset_card(broken)


@pytest.mark.parametrize(("change", "says"), [
    ({"license": "apache2"}, "not a Hub license identifier"),
    ({"size_categories": ["huge"]}, "size_categories 'huge'"),
    ({"configs": [{"data_files": "x/*.parquet"}]}, "needs a config_name"),
    ({"configs": [{"config_name": "a"}, {"config_name": "a"}]}, "listed twice"),
])
def test_invalid_metadata_values_fail(change, says):
    metadata = {**render_dataset_card(facts("commitpack")).data.to_dict(), **change}
    with pytest.raises(MetadataError, match=says):
        validate_metadata(metadata, "dataset")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_facts_a_kind_needs_are_named_when_missing(kind):
    for key in REQUIRED_FACTS + REQUIRED_BY_KIND[kind]:
        example = facts(kind)
        del example[key]
        with pytest.raises(DatasetCardFactsError, match=rf"lack \['{key}'\]"):
            render_dataset_card(example)
    with pytest.raises(DatasetCardFactsError, match="unknown dataset card facts"):
        render_dataset_card(facts(kind, decontaminated=True))
    if "decontamination" in REQUIRED_BY_KIND[kind]:
        assert "**Not decontaminated**" in render_dataset_card(facts(kind, decontamination=None)).text


def test_bad_fact_values_are_refused():
    with pytest.raises(DatasetCardFactsError, match=r"configs\['python'\]\['rows'\] must be a row count"):
        render_dataset_card(facts("commitpack", configs={"python": {"rows": "many"}}))
    with pytest.raises(DatasetCardFactsError, match="kind must be one of"):
        render_dataset_card(facts("commitpack", kind="commitpack-v2"))
    with pytest.raises(DatasetCardFactsError, match="teacher needs model and prompts_fingerprint"):
        render_dataset_card(facts("oss-instruct", teacher={"model": "m"}))


@pytest.mark.parametrize("secret", [
    {"teacher": {**FACTS["oss-instruct"]["teacher"], "endpoint": "https://bob:hunter2@llm.example.com/v1"}},
    {"summary": "Generated with key sk-proj-abcdefghijklmnopqrstuvwx1234"},
    {"build": {"command": "generate --token hf_abcdefghijklmnopqrstuvwxyzABCDEF1234"}},
])
def test_secrets_never_reach_a_card(secret):
    with pytest.raises(SecretInPushError, match="seems to contain"):
        render_dataset_card(facts("oss-instruct", **secret))


def test_the_environment_token_never_reaches_a_card(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "local-secret-value-42")
    with pytest.raises(SecretInPushError, match=r"the value of \$OPENAI_API_KEY"):
        render_dataset_card(facts("evol-instruct", summary="made with local-secret-value-42"))
