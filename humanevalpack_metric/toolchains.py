"""Check and warm the HumanEvalPack toolchains: ``humanevalpack-toolchains {check,prepare}``.

``check`` reports, per language, whether every piece it needs is there -- the tools, and what
they build against: the regex/md5 crates resolving offline, testify and its dependencies in the
GOPATH, the Boost and OpenSSL headers and libraries, npm for js-md5 -- and the sandbox
(bubblewrap); each missing piece is named with the command that installs it.
``prepare`` also does the one-time work each language caches (precompiled headers, prebuilt
crates, a warm Go build cache, js-md5 from the npm registry, the Java compile server) so that
the first evaluation is fast. On Debian/Ubuntu ``scripts/install_toolchains.sh`` installs
everything (the [toolchains] group of ``scripts/debian-packages.txt``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from octopack_common import cache_dir

from .languages import LANGUAGES, ToolchainMissing, get_language
from .sandbox import Sandbox, SandboxUnavailable, fallback_unreachable

SANDBOX = "sandbox"  # the row of check() that is not a language
INSTALL_ALL = "scripts/install_toolchains.sh"


def default_toolchain_dir() -> Path:
    return cache_dir() / "toolchains"


def check(languages=LANGUAGES, sandbox: bool = True) -> dict[str, str | None]:
    """name -> None when ready, else the message naming what is missing (one line per piece,
    each with the command that installs it). ``sandbox``: also check bubblewrap (``"sandbox"``)."""
    status = {}
    for name in languages:
        try:
            get_language(name).check_toolchain()
            status[name] = None
        except ToolchainMissing as missing:
            status[name] = str(missing)
    if sandbox:
        status[SANDBOX] = check_sandbox()
    return status


def check_sandbox() -> str | None:
    """None when bubblewrap is installed, else what installs it. (Whether it can isolate on
    this machine is :func:`sandbox_warning`: without namespaces runs fall back to rlimits.)"""
    if shutil.which("bwrap") is None:
        return ("bubblewrap (`bwrap`, the sandbox of every run): `apt-get install bubblewrap`; "
                "without it programs run with resource limits only")
    return None


def sandbox_warning() -> str | None:
    """Why bubblewrap, installed, cannot isolate here (e.g. no user namespaces), else None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            Sandbox(mode="bwrap")
        except SandboxUnavailable as unavailable:
            return str(unavailable)
    return None


def fallback_problem(toolchain_dir: Path | None = None) -> str | None:
    """Why the sandbox's fallback (bubblewrap unable to isolate, running as root) could not run
    programs needing ``toolchain_dir``: slot uids cannot pass one of its parents. Else None."""
    if os.geteuid() != 0:
        return None
    return fallback_unreachable(toolchain_dir or default_toolchain_dir())


def prepare(languages=LANGUAGES, cache_dir: Path | None = None) -> dict[str, float]:
    """Warm every language's caches; language -> seconds taken. Raises on a missing tool."""
    cache_dir = Path(cache_dir) if cache_dir else default_toolchain_dir()
    timings = {}
    for name in languages:
        lang = get_language(name)
        start = time.monotonic()
        lang.check_toolchain()
        lang.prepare(cache_dir / lang.name)
        lang.close()
        timings[name] = time.monotonic() - start
    return timings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="humanevalpack-toolchains", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["check", "prepare"])
    parser.add_argument("languages", nargs="*", default=list(LANGUAGES),
                        help=f"languages (default: all of {', '.join(LANGUAGES)})")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"toolchain cache (default: {default_toolchain_dir()})")
    args = parser.parse_args(argv)
    status = check(args.languages)
    width = max(len(name) for name in status)
    for name, problem in status.items():
        if problem is None:
            print(f"{name:<{width}}  ok")
            continue
        for i, line in enumerate(problem.splitlines()):
            print(f"{name if i == 0 else '':<{width}}  {'MISSING: ' if i == 0 else '  '}{line}")
    if status.get(SANDBOX) is None and (warning := sandbox_warning()):
        print(f"{SANDBOX:<{width}}  WARNING: {warning}")
        if problem := fallback_problem(args.cache_dir):
            status[SANDBOX] = problem
            print(f"{SANDBOX:<{width}}  MISSING: {problem}")
    if any(problem is not None for problem in status.values()):
        print(f"\nInstall what is missing: the commands above, or all of it on Debian/Ubuntu with "
              f"`{INSTALL_ALL}`.", file=sys.stderr)
        return 1
    if args.action == "prepare":
        for name, seconds in prepare(args.languages, args.cache_dir).items():
            print(f"prepared {name:<{width}}  {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
