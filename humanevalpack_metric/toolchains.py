"""Check and warm the HumanEvalPack toolchains: ``humanevalpack-toolchains {check,prepare}``.

``check`` reports, per language, whether every tool is installed (and how to get what is not);
``prepare`` also does the one-time work each language caches (precompiled headers, prebuilt
crates, a warm Go build cache, the Java compile server) so that the first evaluation is fast.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from octopack_common import cache_dir

from .languages import LANGUAGES, ToolchainMissing, get_language


def default_toolchain_dir() -> Path:
    return cache_dir() / "toolchains"


def check(languages=LANGUAGES) -> dict[str, str | None]:
    """language -> None when ready, else the message naming what is missing."""
    status = {}
    for name in languages:
        try:
            get_language(name).check_toolchain()
            status[name] = None
        except ToolchainMissing as missing:
            status[name] = str(missing)
    return status


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
        print(f"{name:<{width}}  {'ok' if problem is None else 'MISSING: ' + problem}")
    if any(problem is not None for problem in status.values()):
        print("\nInstall what is missing (scripts/install_toolchains.sh does it on Debian/Ubuntu).",
              file=sys.stderr)
        return 1
    if args.action == "prepare":
        for name, seconds in prepare(args.languages, args.cache_dir).items():
            print(f"prepared {name:<{width}}  {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
