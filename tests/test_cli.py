"""``octopack``: one command whose subcommands are the packages' own parsers (mounted, built only
when they run), one-line errors for unknown commands, and the older console scripts as deprecated
aliases that still work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from octo_trainer.cli import ALIASES, BY_NAME, main
from tests.commitpack_dataset.gitrepo import GitRepo, build_two_language_history

BIN = Path(sys.executable).parent


def test_help_lists_every_command_and_an_unknown_one_is_named(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("run", "mine", "filter", "generate", "sft", "eval", "push", "pull", "analyze", "hub"):
        assert f"    {name} " in out, name
    assert main(["mien"]) == 2
    assert "unknown command 'mien'; did you mean 'mine'?" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["mine"], ["filter"], ["commitpack", "stats"], ["oss-instruct", "push"],
                                  ["evol-instruct", "generate"], ["generate", "oss-instruct"], ["push", "model"],
                                  ["pull", "dataset"], ["hub", "serve"], ["analyze"], ["run"], ["sft"], ["eval"]])
def test_every_command_documents_itself_under_octopack(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    usage = out.split("\n", 1)[0]
    command = "oss-instruct generate" if argv == ["generate", "oss-instruct"] else " ".join(argv)
    assert usage.startswith(f"usage: octopack {command}"), usage


def test_generate_without_a_kind_lists_the_kinds(capsys):
    with pytest.raises(SystemExit):
        main(["generate"])
    assert "oss-instruct" in capsys.readouterr().out


def test_mine_and_filter_run_through_octopack(tmp_path, capsys):
    repo = GitRepo(tmp_path / "acme" / "tool")
    build_two_language_history(repo)
    assert main(["mine", str(repo.path), "-o", str(tmp_path / "mined")]) == 0
    mined = json.loads((tmp_path / "mined" / "drop_counts.json").read_text())
    assert mined["kept"] == 4 and set(mined["rows_per_config"]) == {"python", "javascript", "go"}
    assert main(["filter", str(tmp_path / "mined" / "data"), "-o", str(tmp_path / "ft"), "--tokenizer",
                 "estimate"]) == 0
    assert json.loads((tmp_path / "ft" / "drop_counts.json").read_text())["kept"] == 4
    assert main(["mine", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("octopack: error: ") and "nowhere" in last


def test_the_older_console_scripts_are_aliases_with_a_deprecation_note(tmp_path):
    assert set(ALIASES) == {"commitpack", "oss-instruct", "evol-instruct", "octopack-sft", "octopack-eval",
                            "octopack-hub", "octopack-recipes", "octopack-smoke"}
    for name, (_, _, replacement) in ALIASES.items():
        assert replacement.split()[1] in BY_NAME, replacement  # the note names a real command
    (tmp_path / "drop_counts.json").write_text(json.dumps({"kept": 1, "rows_per_config": {"python": 1},
                                                           "drop_counts": {"merge_commit": 2}}))
    result = subprocess.run([str(BIN / "commitpack"), "stats", str(tmp_path / "drop_counts.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("note: 'commitpack' is deprecated and will be removed in the next release: "
                                    "use 'octopack commitpack (or octopack mine / octopack filter)'")
    assert "merge_commit" in result.stdout
    result = subprocess.run([str(BIN / "octopack"), "commitpack", "stats", str(tmp_path / "drop_counts.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "deprecated" not in result.stderr and "merge_commit" in result.stdout
