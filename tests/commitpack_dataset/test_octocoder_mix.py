"""The OctoCoder mix end to end: CommitPackFT mined in the test from a real git repository in seven
languages, the 151 real OASST rows plus planted conversations (unwanted phrases in a later turn, in
capitals, with and without the spaces of " ESG ", no answer, a HumanEval solution), exact counts per
reason and per phrase, seededness, the training form, and the tiny recipe training on the mix."""

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

import octo_trainer
from commitpack_dataset.octocoder_mix import FIELDS, OasstFilter, OctoCoderMix, sample_indices, text_turns
from tests.commitpack_dataset.gitrepo import GitRepo
from tests.octo_trainer.test_data import MODULES, commit_subject, module_source

EXTENSIONS = {"Python": "py", "JavaScript": "js", "Java": "java", "Go": "go", "C++": "cpp", "Rust": "rs",
              "Ruby": "rb"}
SIX = ("Python", "JavaScript", "Java", "Go", "C++", "Rust")
PER_LANGUAGE = 4
COMMIT_OPTIONS = {"tokenizer": "estimate", "license_policy": "keep-unknown"}


def make_mix_repository(path: Path) -> GitRepo:
    """A root commit (dropped), then PER_LANGUAGE single-file commits per language that pass every
    CommitPackFT rule (Ruby: 2, outside the six)."""
    repo = GitRepo(path)
    module = MODULES[0]
    repo.commit("Create the package skeleton", {f"src/{module}.{ext}": module_source(module, 0)
                                                 for ext in EXTENSIONS.values()})
    n = 0
    for step in range(PER_LANGUAGE):
        for language, ext in EXTENSIONS.items():
            if language == "Ruby" and step >= 2:
                continue
            n += 1
            repo.commit(commit_subject(n), {f"src/{module}.{ext}": module_source(module, n)})
    return repo


@pytest.fixture(scope="module")
def mix_repo(tmp_path_factory):
    return make_mix_repository(tmp_path_factory.mktemp("mix") / "acme" / "polyglot")


@pytest.fixture(scope="module")
def sample_rows(test_data_dir):
    path = test_data_dir / "octocoder" / "oasst_code_sample.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def planted(solution: str) -> dict:
    """Conversations the filter must drop or keep, by name."""
    def chat(*turns):
        return {"messages": [{"role": role, "content": content} for role, content in turns]}
    return {
        "later_turn": chat(("user", "How do I read a file in Python?"), ("assistant", "Use open() in a with block."),
                           ("user", "And in Rust?"),
                           ("assistant", "As an AI language model I cannot run Rust, but std::fs works.")),
        "laion": {"prompt": "Who made this assistant?", "completion": "Volunteers of LAION collected the data."},
        "esg": {"text": "### Human: Rate this stock. ### Assistant: Its ESG score is high."},
        "esg_near_miss": {"text": "### Human: What does ESG-linked mean? ### Assistant: Bonds tied to ESG-linked "
                                  "targets pay less when the targets are met."},
        "capitals": chat(("user", "Write a haiku about rain."), ("assistant", "IT IS IMPORTANT TO BREATHE. Rain falls.")),
        "system_first": chat(("system", "You answer briefly."), ("user", "Sort [3, 1, 2] in Python."),
                             ("assistant", "sorted([3, 1, 2]) gives [1, 2, 3].")),
        "no_answer": chat(("user", "Hello, is anyone there?")),
        "guanaco_turns": {"text": "### Human: How do I reverse a list in Python? ### Assistant: Use xs[::-1]. "
                                  "### Human: Thanks! ### Assistant: You're welcome."},
        "contaminated": {"prompt": "Finish my function, please.", "completion": f"Here you go:\n{solution}"},
    }


def first_phrase_in_list_order(text: str, phrases: list) -> str:
    return next(p.lower() for p in phrases if p.lower() in text.lower())


@pytest.fixture(scope="module")
def humaneval_solution(benchmark_sources):
    from humanevalpack_metric.benchmarks import load_humaneval

    return load_humaneval(benchmark_sources["humaneval_source"])[0]["canonical_solution"]


def build(tmp_path, oasst_rows, mix_repo, benchmark_sources, **changes):
    options = dict(commit_source="mine", commit_repositories=(str(mix_repo.path),),
                   commit_builder_kwargs=COMMIT_OPTIONS, commit_samples=10, seed=1, **benchmark_sources)
    options.update(changes)
    builder = OctoCoderMix(cache_dir=str(tmp_path / "cache"), oasst_rows=oasst_rows, **options)
    builder.download_and_prepare(download_mode="force_redownload")
    return builder, builder.as_dataset("train").to_list()


def test_mix_counts_phrases_seededness_and_training_form(tmp_path, mix_repo, benchmark_sources, sample_rows,
                                                         humaneval_solution):
    from commitpack_dataset import CommitPackFT
    from commitpack_dataset.octocoder_mix import unwanted_phrases

    plants = planted(humaneval_solution)
    oasst_rows = sample_rows + list(plants.values())
    builder, rows = build(tmp_path, oasst_rows, mix_repo, benchmark_sources)

    assert [list(row) for row in rows] == [list(FIELDS)] * len(rows)
    oasst = [row for row in rows if row["source"] == "oasst"]
    commits = [row for row in rows if row["source"] == "commitpackft"]
    assert len(oasst) == 151 + 3 and len(commits) == 10 and len(rows) == 164
    assert sorted((r["prompt"], r["completion"]) for r in oasst) == sorted(
        [(r["prompt"], r["completion"]) for r in sample_rows]  # all 151 real rows kept, as they are
        + [("What does ESG-linked mean?", plants["esg_near_miss"]["text"].split("### Assistant: ")[1]),
           ("Sort [3, 1, 2] in Python.", "sorted([3, 1, 2]) gives [1, 2, 3]."),
           ("How do I reverse a list in Python?", "Use xs[::-1].")])
    assert builder.drop_statistics() == {"oasst_unwanted_phrase": 4, "oasst_no_answer": 1,
                                         "contamination_humaneval": 1}
    phrases = unwanted_phrases()
    expected = {}
    for name in ("later_turn", "laion", "esg", "capitals"):
        conversation = plants[name]
        text = (" ".join(m["content"] for m in conversation["messages"]) if "messages" in conversation else
                conversation.get("text") or f"{conversation['prompt']} {conversation['completion']}")
        phrase = first_phrase_in_list_order(text, phrases)
        expected[phrase] = expected.get(phrase, 0) + 1
    assert builder.phrase_statistics() == expected
    assert {"laion", " esg ", "it is important to"} <= set(expected)  # the phrase lists' own spellings
    assert builder.components() == {
        "oasst": {"dataset": "oasst_rows", "pairs": 155, "rows": 154},
        "commitpackft": {"source": "mine", "sampled": 10, "rows": 10,
                         "rows_per_language": dict(sorted(Counter(
                             r["lang"] for r in commits).items()))},
        "rows": 164}

    # the commit part: CommitPackFT rows of the six languages in the released training form
    reference = CommitPackFT(config_name="all", languages=SIX, cache_dir=str(tmp_path / "reference"),
                             repositories=(str(mix_repo.path),), **COMMIT_OPTIONS)
    reference.download_and_prepare()
    mined = {row["commit"]: row for row in reference.as_dataset("train")}
    assert len(mined) == 6 * PER_LANGUAGE and {r["lang"] for r in mined.values()} == set(SIX)
    for row in commits:
        source = mined[row["origin"]]
        assert row["prompt"] == f"{source['subject']}\n{source['old_contents']}"
        assert row["completion"] == source["new_contents"] and row["lang"] == source["lang"]
    assert len({row["origin"] for row in commits}) == 10

    # seededness: the same seed gives the same rows in the same order, another seed other commits
    _, again = build(tmp_path, oasst_rows, mix_repo, benchmark_sources)
    assert again == rows
    _, other = build(tmp_path, oasst_rows, mix_repo, benchmark_sources, seed=2)
    assert {r["origin"] for r in other if r["source"] == "commitpackft"} != {r["origin"] for r in commits}
    assert sorted(r["prompt"] for r in other if r["source"] == "oasst") == sorted(r["prompt"] for r in oasst)
    # per-language sampling: an equal share of each language
    _, even = build(tmp_path, sample_rows[:3], mix_repo, benchmark_sources, commit_samples=12,
                    commit_sampling="per_language", completion_prefix="\n")
    per_language = Counter(r["lang"] for r in even if r["source"] == "commitpackft")
    assert per_language == {language: 2 for language in SIX}
    assert all(r["completion"].startswith("\n") for r in even if r["source"] == "commitpackft")


def test_the_filter_reads_every_conversation_form():
    oasst = OasstFilter()
    assert text_turns("### Human: a b ### Assistant:  c  ###Human:d") == [("user", "a b"), ("assistant", "c"),
                                                                         ("user", "d")]
    rows = [{"text": "### Human: Q1 ### Assistant: A1 ### Human: Q2 ### Assistant: A2"},
            {"messages": [{"role": "user", "content": "Q"}, {"role": "user", "content": "Q again"}]},
            {"prompt": "P", "completion": "C"},
            {"prompt": "ok?", "completion": "Please note: fine."}]
    pairs = oasst.pairs(rows, "x")
    assert [(p["prompt"], p["completion"], p["origin"]) for p in pairs] == [("Q1", "A1", "x:0"), ("P", "C", "x:2")]
    assert oasst.drops == {"oasst_no_answer": 1, "oasst_unwanted_phrase": 1}
    assert oasst.phrase_counts == {"please note": 1}
    # the list as shipped: 233 entries, 229 distinct once lowercased; each one alone drops a row
    from commitpack_dataset.octocoder_mix import unwanted_phrases

    phrases = unwanted_phrases()
    assert len(phrases) == 233 and len(oasst.phrases) == 229
    for phrase in phrases:
        keep, reason = OasstFilter([phrase])({"prompt": "Tell me.", "completion": f"Well, {phrase.upper()} ok"})
        assert (keep, reason) == (False, "oasst_unwanted_phrase"), phrase


def test_sample_indices_are_seeded_and_per_language_is_even():
    langs = ["Python"] * 50 + ["Go"] * 5 + ["Rust"] * 45
    picked = sample_indices(langs, 20, seed=7)
    assert picked == sample_indices(langs, 20, seed=7) != sample_indices(langs, 20, seed=8)
    assert len(picked) == len(set(picked)) == 20 and picked == sorted(picked)
    even = sample_indices(langs, 9, seed=7, sampling="per_language", languages=["Python", "Go", "Rust"])
    assert [langs[i] for i in even].count("Go") == 3 and len(even) == 9
    assert sample_indices(langs, 500, seed=7) == list(range(100))  # fewer rows than asked: all of them


def test_no_commits_give_a_mix_of_the_oasst_part(tmp_path, sample_rows):
    from datasets import Dataset

    for empty in ([], Dataset.from_list([])):  # no CommitPackFT row survived, handed in as rows
        builder = OctoCoderMix(cache_dir=str(tmp_path / "cache"), oasst_rows=sample_rows[:5], commit_rows=empty,
                               decontaminate=False)
        builder.download_and_prepare(download_mode="force_redownload")
        rows = builder.as_dataset("train").to_list()
        assert sorted((r["prompt"], r["completion"]) for r in rows) == sorted(
            (r["prompt"], r["completion"]) for r in sample_rows[:5])
        assert {r["source"] for r in rows} == {"oasst"}
        assert builder.components()["commitpackft"] == {"source": "published", "sampled": 0, "rows": 0,
                                                        "rows_per_language": {}}


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="did you mean"):
        OctoCoderMix(cache_dir=str(tmp_path), languages=("pyhton",))
    with pytest.raises(ValueError, match="commit_source must be"):
        OctoCoderMix(cache_dir=str(tmp_path), commit_source="hub")
    with pytest.raises(ValueError, match="needs commit_repositories"):
        OctoCoderMix(cache_dir=str(tmp_path), commit_source="mine", include_oasst=False).download_and_prepare()


def test_the_tiny_recipe_trains_on_a_locally_built_mix(tmp_path, mix_repo, benchmark_sources, test_data_dir,
                                                       tiny_model_dir):
    from octo_trainer.train import parse_args, run

    recipe = yaml.safe_load((Path(octo_trainer.__file__).parent / "recipes" / "tiny-cpu" /
                             "octocoder-mix-lora.yaml").read_text())
    (source,) = recipe["datasets"]
    assert source["builder"] == "octocoder-mix"
    source["builder_kwargs"].update(oasst_dataset=str(test_data_dir / "octocoder" / "oasst_code_sample.jsonl"),
                                    commit_repositories=[str(mix_repo.path)], **benchmark_sources)
    source["cache_dir"] = str(tmp_path / "cache")
    recipe.update(output_dir=str(tmp_path / "out"), max_steps=2, model_name_or_path=str(tiny_model_dir),
                  max_length=128, per_device_train_batch_size=2, gradient_accumulation_steps=1)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    trainer = run(*parse_args(["--config", str(path)]))

    assert [entry["step"] for entry in trainer.state.log_history if "loss" in entry] == [1, 2]
    assert len(trainer.train_dataset) == 151 + 6 * PER_LANGUAGE  # every row of the mix (fewer than 5,000 commits)
    prompts = trainer.train_dataset["prompt"] if "prompt" in trainer.train_dataset.column_names else []
    assert prompts and all(p.startswith("Question: ") and p.endswith("\n\nAnswer: ") for p in prompts)
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()


def test_cli_build_stats_push(tmp_path, mix_repo, test_data_dir, local_hub, capsys):
    import datasets

    from commitpack_dataset.cli.octocoder_mix import main

    conversations = tmp_path / "oasst.jsonl"
    conversations.write_text((test_data_dir / "octocoder" / "oasst_code_sample.jsonl").read_text()
                             + json.dumps({"prompt": "Who are you?", "completion": "I am an AI made by LAION."}) + "\n")
    out = tmp_path / "out"
    build = ["build", "-o", str(out), "--oasst-dataset", str(conversations), "--commit-source", "mine",
             "--repositories", str(mix_repo.path), "--tokenizer", "estimate", "--license-policy", "keep-unknown",
             "--commit-samples", "5", "--humaneval", str(test_data_dir / "benchmarks" / "HumanEval.jsonl.gz"),
             "--mbpp", str(test_data_dir / "benchmarks" / "mbpp.jsonl"),
             "--humanevalpack-dir", str(test_data_dir / "humanevalpack")]
    assert main(build) == 0
    assert "kept 156 rows" in capsys.readouterr().out
    rows = [json.loads(line) for line in (out / "data" / "default" / "data.jsonl").read_text().splitlines()]
    assert Counter(r["source"] for r in rows) == {"oasst": 151, "commitpackft": 5}
    summary = json.loads((out / "drop_counts.json").read_text())
    assert summary["drop_counts"] == {"oasst_unwanted_phrase": 1}
    assert summary["phrase_counts"] == {"i am an": 1}  # "I am an" comes before "LAION" in the list
    assert main(build) == 2 and "pass --overwrite" in capsys.readouterr().err

    png = tmp_path / "drops.png"
    assert main(["stats", str(out), "--png", str(png)]) == 0
    assert "'i am an'" in capsys.readouterr().out and png.stat().st_size > 3000

    repo_id = local_hub.repo_id("octocoder-mix-test")
    assert main(["push", str(out), repo_id, "--license", "apache-2.0"]) == 0
    pushed = datasets.load_dataset(repo_id, "default", split="train")
    assert len(pushed) == 156 and set(pushed.column_names) == set(FIELDS)
    card = open(local_hub.api.hf_hub_download(repo_id, "README.md", repo_type="dataset"), encoding="utf-8").read()
    assert "oasst_unwanted_phrase" in card and "first question/answer pairs" in card

