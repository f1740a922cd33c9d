"""Recipe data: local sources, column maps, subsamples, mixture weights, prompt/completion rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octo_trainer.data import DataArguments, DataSource, build_dataset
from octo_trainer.errors import RecipeError
from octo_trainer.formats import get_format
from tests.commitpack_dataset.gitrepo import GitRepo


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def magic(n: int, tag: str = "m") -> list[dict]:
    return [{"instruction": f"{tag} task {i}", "response": f"{tag} answer {i}"} for i in range(n)]


def test_magicoder_rows_become_prompt_completion_in_the_shared_format(tmp_path: Path):
    args = DataArguments(datasets=[{"path": write_jsonl(tmp_path / "a.jsonl", magic(3))}])
    dataset = build_dataset(args)
    assert dataset.column_names == ["prompt", "completion"]
    row = dataset.filter(lambda r: r["completion"] == "m answer 1")[0]
    assert (row["prompt"], row["completion"]) == get_format("magicoder").split("m task 1", "m answer 1")


def test_column_mapping_context_and_instruction_template(tmp_path: Path):
    rows = [{"q": "Do it.", "a": "done", "ctx": "the input"}, {"q": "Again.", "a": "ok", "ctx": ""}]
    source = {
        "path": write_jsonl(tmp_path / "alpaca.jsonl", rows),
        "column_map": {"instruction": "q", "response": "a", "context": "ctx"},
        "instruction_template": "Task: {instruction}",
    }
    dataset = build_dataset(DataArguments(datasets=[source], prompt_format="wizardcoder"))
    by_completion = {row["completion"]: row["prompt"] for row in dataset}
    assert "### Instruction:\nTask: Do it.\n\n### Input:\nthe input\n\n### Response:" in by_completion["done"]
    assert "### Input:" not in by_completion["ok"]


def test_parquet_source_subsample_and_weights(tmp_path: Path):
    import datasets

    parquet = tmp_path / "b.parquet"
    datasets.Dataset.from_list(magic(40, "p")).to_parquet(str(parquet))
    args = DataArguments(
        datasets=[
            {"path": write_jsonl(tmp_path / "a.jsonl", magic(30)), "weight": 1.0},
            {"path": str(parquet), "subsample": 0.5, "weight": 2.0},
        ]
    )
    dataset = build_dataset(args)
    # p keeps 20 of 40 rows; shares 1/3 : 2/3 -> N = min(30 * 3, 20 * 1.5) = 30 -> 10 m + 20 p
    tags = [row["completion"].split()[0] for row in dataset]
    assert (tags.count("m"), tags.count("p")) == (10, 20)


def test_without_weights_sources_are_concatenated_and_shuffled(tmp_path: Path):
    args = DataArguments(
        datasets=[
            {"path": write_jsonl(tmp_path / "a.jsonl", magic(5))},
            {"path": write_jsonl(tmp_path / "b.jsonl", magic(7, "p"))},
        ]
    )
    assert len(build_dataset(args)) == 12


# --- TRL's dataset formats, recognised without a column map ---


def chats(n: int) -> list[dict]:
    return [{"messages": [{"role": "system", "content": "Be brief."},
                          {"role": "user", "content": f"add {i} and 1"},
                          {"role": "assistant", "content": f"{i + 1}"}]} for i in range(n)]


def oasst_rows(test_data_dir: Path, n: int = 12) -> list[dict]:
    """Real prompt/completion rows: OctoCoder's OASST part as released (bare questions)."""
    lines = (test_data_dir / "octocoder" / "oasst_code_sample.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[:n]]


def test_prompt_completion_rows_are_taken_as_they_are(tmp_path: Path, test_data_dir: Path):
    from octo_trainer.data import prepare_sources

    rows = oasst_rows(test_data_dir)
    path = write_jsonl(tmp_path / "pc.jsonl", [{**row, "id": i} for i, row in enumerate(rows)])
    dataset, formats = prepare_sources(DataArguments(datasets=[path], prompt_format="octocoder"))
    assert formats == ["prompt-completion"] and dataset.column_names == ["prompt", "completion"]
    assert sorted(zip(dataset["prompt"], dataset["completion"])) == sorted(
        (row["prompt"], row["completion"]) for row in rows)  # unwrapped, unchanged


def test_guanaco_style_prompts_mapped_to_roles_are_wrapped_once(tmp_path: Path, test_data_dir: Path):
    """The octocoder recipes' map: the bare question takes OctoCoder's training form once."""
    rows = oasst_rows(test_data_dir)
    assert not any(row["prompt"].startswith("Question:") for row in rows)  # the data is bare
    source = f"{write_jsonl(tmp_path / 'pc.jsonl', rows)}:instruction=prompt,response=completion"
    dataset = build_dataset(DataArguments(datasets=[source], prompt_format="octocoder"))
    wrapped = dict(zip(dataset["completion"], dataset["prompt"]))
    for row in rows:
        assert wrapped[row["completion"]] == f"Question: {row['prompt']}\n\nAnswer: "


def test_messages_train_their_last_turn_or_every_token(tmp_path: Path):
    from octo_trainer.data import prepare_sources

    path = write_jsonl(tmp_path / "chat.jsonl", chats(3))
    masked, formats = prepare_sources(DataArguments(datasets=[path]))
    assert formats == ["conversational"] and masked.column_names == ["prompt", "completion"]
    row = masked.filter(lambda r: r["completion"][0]["content"] == "2")[0]
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    assert row["prompt"][1]["content"] == "add 1 and 1"
    assert row["completion"] == [{"role": "assistant", "content": "2"}]
    whole = build_dataset(DataArguments(datasets=[path], loss_on_prompt=True))
    assert whole.column_names == ["messages"] and len(whole[0]["messages"]) == 3
    kept = build_dataset(DataArguments(datasets=[path]), assistant_only_loss=True)
    assert kept.column_names == ["messages"]

    write_jsonl(tmp_path / "open.jsonl", [{"messages": chats(1)[0]["messages"][:2]}])
    with pytest.raises(RecipeError, match="row 0 ends with 'user'.*set loss_on_prompt: true"):
        build_dataset(DataArguments(datasets=[str(tmp_path / "open.jsonl")]))


def test_conversational_prompt_completion_and_text_rows(tmp_path: Path):
    from octo_trainer.data import prepare_sources

    conversational = [{"prompt": [{"role": "user", "content": f"q{i}"}],
                       "completion": [{"role": "assistant", "content": f"a{i}"}]} for i in range(3)]
    path = write_jsonl(tmp_path / "c.jsonl", conversational)
    dataset, formats = prepare_sources(DataArguments(datasets=[path]))
    assert formats == ["conversational prompt-completion"]
    assert sorted(dataset["prompt"], key=str) == [row["prompt"] for row in conversational]

    text = write_jsonl(tmp_path / "t.jsonl", [{"text": f"def f{i}(): pass", "meta": i} for i in range(4)])
    dataset, formats = prepare_sources(DataArguments(datasets=[text]))
    assert formats == ["language modelling"] and dataset.column_names == ["text"]
    # SFTConfig's dataset_text_field names the column TRL reads; a column map renames into it
    body = write_jsonl(tmp_path / "b.jsonl", [{"body": "x = 1"}])
    renamed = build_dataset(DataArguments(datasets=[f"{body}:text=body"]), text_field="content")
    assert renamed.column_names == ["content"]


def test_text_joins_prompt_completion_rows_and_chats_do_not(tmp_path: Path):
    text = write_jsonl(tmp_path / "t.jsonl", [{"text": f"doc {i}"} for i in range(2)])
    pc = write_jsonl(tmp_path / "pc.jsonl", [{"prompt": "p", "completion": f"c {i}"} for i in range(3)])
    mixed = build_dataset(DataArguments(datasets=[text, pc, write_jsonl(tmp_path / "m.jsonl", magic(1))]))
    assert len(mixed) == 6 and mixed.column_names == ["prompt", "completion"]
    assert sorted(r["completion"] for r in mixed if r["prompt"] == "") == ["doc 0", "doc 1"]

    chat = write_jsonl(tmp_path / "chat.jsonl", chats(2))
    with pytest.raises(RecipeError,
                       match=r"cannot be trained together .*chat.jsonl: conversational prompt-completion"):
        build_dataset(DataArguments(datasets=[pc, chat]))
    conversational = write_jsonl(tmp_path / "c.jsonl", [{"prompt": [{"role": "user", "content": "q"}],
                                                         "completion": [{"role": "assistant", "content": "a"}]}])
    whole = build_dataset(DataArguments(datasets=[chat, conversational], loss_on_prompt=True))
    assert whole.column_names == ["messages"] and len(whole) == 3


def test_column_maps_on_the_command_line_and_in_json():
    spec = DataSource.from_spec("data/rows.jsonl:instruction=question,response=answer,weight=2,split=test")
    assert (spec.path, spec.column_map, spec.weight, spec.split) == (
        "data/rows.jsonl", {"instruction": "question", "response": "answer"}, 2.0, "test")
    assert DataSource.from_spec("hf://datasets/org/name").path == "hf://datasets/org/name"  # no options
    assert DataSource.from_spec(r"C:\data\rows.jsonl").column_map is None
    assert DataSource.from_spec("rows.jsonl:messages=conversation").column_map == {"messages": "conversation"}
    parsed = DataSource.from_spec('{"path": "rows.jsonl", "column_map": {"prompt": "q", "completion": "a"}, '
                                  '"subsample": 0.5}')
    assert parsed.column_map == {"prompt": "q", "completion": "a"} and parsed.subsample == 0.5
    with pytest.raises(RecipeError, match="unknown key 'instrucion' .*did you mean 'instruction'"):
        DataSource.from_spec("rows.jsonl:instrucion=question")
    with pytest.raises(RecipeError, match="subsample must be a float, got 'half'"):
        DataSource.from_spec("rows.jsonl:subsample=half")
    with pytest.raises(RecipeError, match="not valid JSON"):
        DataSource.from_spec('{"path": rows.jsonl}')


def test_deprecated_columns_mapping_and_fraction_warn_and_keep_working(tmp_path: Path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"q": f"task {i}", "a": f"answer {i}"} for i in range(10)])
    with pytest.warns(FutureWarning, match=r"write `column_map: \{'instruction': 'q', 'response': 'a'\}`"):
        old = DataSource(path=path, columns={"instruction": "q", "response": "a"})
    assert (old.column_map, old.columns) == ({"instruction": "q", "response": "a"}, None)
    with pytest.warns(FutureWarning, match="write `subsample: 0.5`.*`weight` here"):
        half = DataSource(path=path, column_map={"instruction": "q", "response": "a"}, fraction=0.5)
    assert (half.subsample, half.fraction) == (0.5, None)
    assert len(build_dataset(DataArguments(datasets=[half]))) == 5
    with pytest.raises(RecipeError, match="both subsample and the deprecated fraction"):
        DataSource(path=path, subsample=0.5, fraction=0.5)
    # columns as a list is TRL's meaning: the columns to keep, before the format is read
    keep = DataSource(path=path, columns=["q"], column_map={"text": "q"})
    assert build_dataset(DataArguments(datasets=[keep])).column_names == ["text"]
    with pytest.raises(RecipeError, match=r"columns to keep \['question'\] are not in the dataset; its "
                                          r"columns are q, a"):
        build_dataset(DataArguments(datasets=[DataSource(path=path, columns=["question"])]))


def test_rows_of_no_known_format_and_misused_options_name_the_fix(tmp_path: Path):
    qa = write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(RecipeError, match="none of TRL's dataset formats.*e.g. --datasets .*qa.jsonl:"
                                          "instruction=question,response=answer"):
        build_dataset(DataArguments(datasets=[qa]))
    with pytest.raises(RecipeError, match=r"no column 'questoin' for instruction \(did you mean 'question'\?\); "
                                          r"its columns are question, answer"):
        build_dataset(DataArguments(datasets=[f"{qa}:instruction=questoin,response=answer"]))
    with pytest.raises(RecipeError, match=r"mixes octopack roles \(instruction\) with TRL columns \(completion\)"):
        build_dataset(DataArguments(datasets=[f"{qa}:instruction=question,completion=answer"]))
    templated = {"path": qa, "column_map": {"prompt": "question", "completion": "answer"},
                 "instruction_template": "Task: {instruction}"}
    with pytest.raises(RecipeError, match="instruction_template/response_template apply to instruction/response"):
        build_dataset(DataArguments(datasets=[templated]))
    with pytest.raises(RecipeError, match="no such file or directory.*--datasets PATH"):
        build_dataset(DataArguments(datasets=[str(tmp_path / "missing.jsonl")]))
    with pytest.raises(RecipeError, match="lists no datasets"):
        build_dataset(DataArguments())


def test_invalid_data_arguments_are_refused(tmp_path: Path):
    with pytest.raises(RecipeError, match="unknown prompt_format 'magicodr' .*did you mean 'magicoder'"):
        DataArguments(prompt_format="magicodr")
    with pytest.raises(RecipeError, match=r"subsample must be in \(0, 1\]"):
        DataSource(path="x", subsample=0.0)
    with pytest.raises(RecipeError, match="unknown column_map key 'instrucion' .*did you mean 'instruction'"):
        DataSource(path="x", column_map={"instrucion": "q"})
    with pytest.raises(ValueError, match="weight"):
        build_dataset(
            DataArguments(
                datasets=[
                    {"path": write_jsonl(tmp_path / "a.jsonl", magic(2)), "weight": 1.0},
                    {"path": write_jsonl(tmp_path / "b.jsonl", magic(2))},
                ]
            )
        )
    with pytest.raises(RecipeError, match="no column 'output' for response; its columns are instruction, "):
        build_dataset(
            DataArguments(
                datasets=[{"path": write_jsonl(tmp_path / "c.jsonl", magic(2))}],
                response_column="output",
            )
        )


# --- builder sources: this project's CommitPackFT builder on a real git repository ---

MODULES = ("geometry", "money", "clock")  # stems never used in a subject (B.1-6 would drop it)
VERBS = ("Adjust", "Increase", "Tweak", "Change", "Fix", "Improve", "Use", "Modify", "Set",
         "Update")
KEPT_COMMITS = 30


def module_source(module: str, n: int) -> str:
    return (
        f'"""Helpers for the {module} package."""\n\nSCALE = {n}\n\n\n'
        f"def scaled_{module}(value):\n"
        f"    return value * SCALE + {n % 7}\n"
    )


def commit_subject(n: int) -> str:
    return f"{VERBS[n % len(VERBS)]} the scale factor to {n} for callers"


def make_commit_repository(path: Path):
    """A git repository with ``KEPT_COMMITS`` single-file Python commits that pass every
    CommitPackFT rule, interleaved with commits that the builder drops; returns the GitRepo.

    Commit ``n`` (1-based) sets ``pkg/<MODULES[n % 3]>.py`` to ``module_source(module, n)``.
    """
    repo = GitRepo(path)
    repo.commit("Create the package skeleton", {  # a root commit: dropped
        f"pkg/{module}.py": module_source(module, 0) for module in MODULES
    } | {"notes.txt": "notes\n"})
    for n in range(1, KEPT_COMMITS + 1):
        module = MODULES[n % len(MODULES)]
        repo.commit(commit_subject(n), {f"pkg/{module}.py": module_source(module, n)})
        if n % 8 == 0:  # dropped: a commit of two files, a commit of a non-Python file
            repo.commit("Change both helpers at once for speed",
                        {f"pkg/{m}.py": module_source(m, 100 + n) for m in MODULES[:2]})
            repo.commit("Write more notes for the next release", {"notes.txt": f"notes {n}\n"})
    repo.commit("Scaling factors were wrong in the helpers",  # not imperative: dropped
                {"pkg/clock.py": module_source("clock", 99)})
    return repo


def commitpackft_source(repo, tmp_path: Path, **changes) -> dict:
    source = {
        "builder": "commitpackft",
        "name": "python",
        # the test repositories carry no license file: keep them (faithful mode drops them)
        "builder_kwargs": {"repositories": [str(repo.path)], "tokenizer": "estimate",
                           "license_policy": "keep-unknown"},
        "cache_dir": str(tmp_path / "builder-cache"),
    }
    source.update(changes)
    return source


@pytest.fixture(scope="module")
def commit_repo(tmp_path_factory):
    return make_commit_repository(tmp_path_factory.mktemp("commits") / "acme" / "tools")


def test_commitpackft_builder_rows_take_octocoders_commit_form(commit_repo, tmp_path: Path):
    from commitpack_dataset import CommitPackFT

    args = DataArguments(datasets=[commitpackft_source(commit_repo, tmp_path)],
                         prompt_format="octocoder", loss_on_prompt=True)
    dataset = build_dataset(args)

    reference = CommitPackFT(config_name="python", cache_dir=str(tmp_path / "reference"),
                             repositories=(str(commit_repo.path),), tokenizer="estimate",
                             license_policy="keep-unknown")
    reference.download_and_prepare()
    assert len(dataset) == reference.info.splits["train"].num_examples == KEPT_COMMITS

    # commit 5 changed pkg/clock.py (5 % 3 == 2) from its state at commit 2: issue #9's form,
    # "Question: {subject}\n{old_contents}\n\nAnswer: \n{new_contents}", cut after "Answer: "
    old, new = module_source("clock", 2), module_source("clock", 5)
    rows = {row["completion"]: row["prompt"] for row in dataset}
    subject = "Improve the scale factor to 5 for callers"
    assert rows["\n" + new] == f"Question: {subject}\n{old}\n\nAnswer: "
    assert all(prompt.startswith("Question: ") and prompt.endswith("\n\nAnswer: ")
               for prompt in rows.values())


def test_builder_source_column_map_templates_subsample_and_import_path(commit_repo, tmp_path: Path):
    source = commitpackft_source(
        commit_repo, tmp_path, builder="commitpack_dataset.builders.CommitPackFT",
        column_map={"instruction": "message", "response": "new_contents"},
        instruction_template="Commit: {instruction}", response_template="{response}# end\n",
        subsample=0.5,
    )
    dataset = build_dataset(DataArguments(datasets=[source], prompt_format="magicoder"))
    assert len(dataset) == KEPT_COMMITS // 2
    for row in dataset:
        assert "@@ Instruction\nCommit: " in row["prompt"] and row["completion"].endswith("# end\n")
        assert '"""Helpers' not in row["prompt"]  # no context: an import path brings no mapping


def test_recipe_yaml_with_a_builder_source_parses(tmp_path: Path):
    from octo_trainer.train import parse_args

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "datasets:\n"
        "  - builder: commitpackft\n"
        "    name: python\n"
        "    builder_kwargs: {repositories: [repo], license_policy: drop-unknown}\n"
        "prompt_format: octocoder\n"
        "output_dir: out\nuse_cpu: true\n"
    )
    data, _, _ = parse_args(["--config", str(recipe)])
    (source,) = data.datasets
    assert (source.builder, source.name, source.path) == ("commitpackft", "python", None)
    assert source.builder_kwargs == {"repositories": ["repo"], "license_policy": "drop-unknown"}
    assert data.role_columns(source) == {"instruction": "subject", "context": "old_contents",
                                         "response": "new_contents"}
    assert data.roles_asked_for(source)


def test_the_module_docs_name_every_short_builder_name():
    import re

    import octo_trainer.data
    from octo_trainer.builder_sources import BUILDERS

    listed = re.search(r"# a short name: (.*);", octo_trainer.data.__doc__).group(1)
    assert listed.split(", ") == list(BUILDERS)


def test_bad_builder_sources_name_the_choices(commit_repo, tmp_path: Path):
    with pytest.raises(ValueError, match="commitpack, commitpackft"):
        DataSource(builder="commitpackf")
    with pytest.raises(ValueError, match="exactly one of `path`"):
        DataSource(path="x.jsonl", builder="commitpackft")
    with pytest.raises(ValueError, match="exactly one of `path`"):
        DataSource()
    with pytest.raises(ValueError, match="apply to a `builder` source only"):
        DataSource(path="x.jsonl", builder_kwargs={"repositories": ["r"]})
    with pytest.raises(ValueError, match=r"response_template must contain '\{response\}'"):
        DataSource(builder="commitpackft", response_template="\n")
    with pytest.raises(RecipeError, match=r"unknown data source key 'config_name'.*builder_kwargs"):
        DataArguments(datasets=[{"builder": "commitpackft", "config_name": "python"}])

    def build(**changes):
        source = commitpackft_source(commit_repo, tmp_path, **changes)
        return build_dataset(DataArguments(datasets=[source]))

    with pytest.raises(ValueError, match=r"unknown builder_kwargs \['repos', 'tokeniser'\].*"
                                         r"repositories, languages, license_policy"):
        build(builder_kwargs={"repos": ["x"], "tokeniser": "estimate"})
    with pytest.raises(ValueError, match="set name, data_dir, data_files, cache_dir on the source"):
        build(builder_kwargs={"cache_dir": "x"})
    with pytest.raises(ValueError, match="no config 'pyhton'.*python"):
        build(name="pyhton")
    with pytest.raises(ValueError, match="license_policy must be one of"):
        build(builder_kwargs={"repositories": [str(commit_repo.path)], "license_policy": "any"})
    with pytest.raises(ValueError, match="'os.path' is not a datasets builder"):
        build(builder="os.path")
    with pytest.raises(ValueError, match="cannot import builder 'no_such_pkg.Builder'"):
        build(builder="no_such_pkg.Builder")
