"""The pipeline config: YAML -> a checked dataclass tree, errors that name the bad key and the valid
ones, ``--set`` overrides, the shipped examples, fingerprints that ignore operational keys, and
the README's reference listing every key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from octo_trainer.cli import main
from octo_trainer.pipeline import ConfigError, PipelineConfig, example_configs, load_config, reference
from octo_trainer.pipeline.stage import fingerprint, section_inputs

README = Path(__file__).resolve().parents[2] / "README.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_key_names_the_key_a_close_match_and_every_valid_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "sft:\n  recipe: tiny-cpu/lora\n  overides: {max_steps: 3}\n"))
    message = str(caught.value)
    assert "unknown key 'sft.overides'" in message and "did you mean 'overrides'?" in message
    assert "valid keys of section 'sft': recipe, model_name_or_path, prompt_format, sources, overrides" in message
    assert str(tmp_path / "pipeline.yaml") in message
    with pytest.raises(ConfigError, match=r"unknown key 'evaluation'; did you mean 'eval'\? \(valid keys of "
                                          r"the top level: run_dir, data, mine, filter, teacher"):
        load_config({"evaluation": {"limit": 3}})


@pytest.mark.parametrize(("plain", "expected"), [
    ({"eval": {"limit": "two"}}, "eval.limit: expected an integer or null, got 'two'"),
    ({"eval": {"languages": "python"}}, "eval.languages: expected a list of a string, got 'python' (write a YAML list"),
    ({"eval": {"languages": ["python", "klingon"]}}, "eval.languages: 'klingon' is not one of python, js, java"),
    ({"mine": {"license_policy": "keep"}}, "did you mean 'keep-unknown'"),
    ({"publish": {"pull_back": "yes"}}, "publish.pull_back: expected true or false, got 'yes'"),
    ({"teacher": "gpt-4"}, "teacher: expected a mapping of model, base_url, api_key_env"),
    ({"teacher": {"prices": [1.0]}}, "teacher.prices: give [prompt, completion] USD per 1M tokens"),
])
def test_bad_values_name_the_key_and_what_is_expected(plain, expected):
    with pytest.raises(ConfigError) as caught:
        load_config(plain)
    assert expected in str(caught.value)


def test_set_overrides_and_mappings_keep_their_default_keys():
    config = load_config(None, ["eval.limit=5", "teacher.base_url=http://127.0.0.1:8000/v1",
                                "sft.overrides.learning_rate=0.001", "mine.repositories=[a, b]"])
    assert config.eval.limit == 5 and config.teacher.base_url == "http://127.0.0.1:8000/v1"
    assert config.sft.overrides == {"max_steps": 16, "learning_rate": 0.001}  # the default key stays
    assert config.mine.repositories == ["a", "b"]
    with pytest.raises(ConfigError, match=r"--set evl.limit: unknown key 'evl'; did you mean 'eval'\?"):
        load_config(None, ["evl.limit=5"])
    with pytest.raises(ConfigError, match="write KEY=VALUE"):
        load_config(None, ["eval.limit"])


def test_the_shipped_default_is_the_embedded_default_and_every_example_loads():
    examples = example_configs()
    assert {"default", "real-teacher", "huggingface"} <= set(examples)
    assert load_config("default").to_dict() == PipelineConfig().to_dict()
    real = load_config("real-teacher")
    assert real.teacher.base_url == "https://api.openai.com/v1" and real.teacher.api_key_env == "OPENAI_API_KEY"
    hub = load_config("huggingface")
    assert hub.publish.endpoint == "https://huggingface.co" and hub.publish.token_env == "HF_TOKEN"
    for path in examples.values():  # no key, only the names of the variables that hold them
        assert not re.search(r"(sk-[A-Za-z0-9]{8,}|hf_[A-Za-z0-9]{8,})", path.read_text())


def test_print_config_round_trips_and_a_bad_file_is_one_line_exit_2(tmp_path, capsys):
    assert main(["run", "--print-config", "--set", "eval.limit=3", "--repo", "/src/x"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["eval"]["limit"] == 3 and printed["mine"]["repositories"] == ["/src/x"]
    assert load_config(printed).to_dict() == printed
    assert main(["run", str(write(tmp_path, "mine: {own_histroy: false}\n"))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown key 'mine.own_histroy'; did you mean 'own_history'?" in err
    assert main(["run", "no-such.yaml"]) == 2
    assert "shipped configs (default, huggingface, real-teacher)" in capsys.readouterr().err


def test_operational_keys_do_not_change_a_fingerprint():
    base = load_config(None)
    busy = load_config(None, ["teacher.concurrency=64", "teacher.rpm=100", "teacher.request_timeout=9"])
    assert fingerprint(section_inputs(base.teacher)) == fingerprint(section_inputs(busy.teacher))
    other = load_config(None, ["teacher.model=gpt-4o"])
    assert fingerprint(section_inputs(base.teacher)) != fingerprint(section_inputs(other.teacher))


def test_the_readme_reference_lists_every_key_with_its_default():
    text = README.read_text(encoding="utf-8")
    section = text.split("## The main job: `octopack run`", 1)[1].split("\n## ", 1)[0]
    for key, default, meaning in reference():
        assert meaning, f"{key} has no help text"
        row = next((line for line in section.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, f"README's pipeline config reference misses {key}"
        assert f"`{default}`" in row, f"README gives another default for {key}: {row}"


def test_options_name_fields_of_what_they_configure_before_anything_runs(tmp_path, monkeypatch):
    from octo_trainer.pipeline import run_pipeline
    from octo_trainer.pipeline.config import check_options

    check_options(load_config(None, ["eval.options={n_samples: 5}", "oss_instruct.options={execution_check: true}",
                                     "analysis.options={max_rows: 10}", "mine.options={since: 2020-01-01}"]))
    with pytest.raises(ConfigError, match=r"unknown key eval.options.'n_sample'; did you mean 'n_samples'\? "
                                          r"\(the fields of EvalArguments: model_name_or_path"):
        check_options(load_config(None, ["eval.options={n_sample: 5}"]))
    with pytest.raises(ConfigError, match=r"unknown key evol_instruct.options.'round'; did you mean 'rounds'"):
        check_options(load_config(None, ["evol_instruct.options={round: 2}"]))
    with pytest.raises(ConfigError, match="evol_instruct.options.rounds is set by evol_instruct.rounds: set it there"):
        check_options(load_config(None, ["evol_instruct.options={rounds: 2}"]))
    with pytest.raises(ConfigError, match="oss_instruct.options.base_url is set by teacher: set it there"):
        check_options(load_config(None, ["oss_instruct.options={base_url: http://x/v1}"]))
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    with pytest.raises(ConfigError, match="oss_instruct.options.'seed_file'"):
        run_pipeline(load_config(None, [f"run_dir={tmp_path / 'run'}", "oss_instruct.options={seed_file: [x]}"]))
    assert not (tmp_path / "run").exists()  # found before the run directory is made
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL")
    from octo_trainer.pipeline import PipelineError

    with pytest.raises(PipelineError, match="opt in with HF_ALLOW_CODE_EVAL=1"):
        run_pipeline(load_config(None, [f"run_dir={tmp_path / 'run'}"]))
