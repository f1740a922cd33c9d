"""Repository license detection, first version (reference A.2 step 1, step 14, A.5).

The paper used GitHub's repository-level license and kept 12 licenses. Here the license file at
the root of the mined revision (``LICENSE``, ``LICENCE``, ``COPYING``, with any extension) is
identified with the ``identify`` package and mapped to the paper's lowercase ids:

- ``identify.identify.license_id`` does exact plus fuzzy (edit-distance) matching, but the fuzzy
  part needs the optional ``ukkonen`` module (``pip install identify[license]``);
- without ``ukkonen`` this module compares the whitespace-normalised text, copyright lines
  removed, against identify's vendored license texts (exact match only).

The result is one of ``ALLOWED_LICENSES``, ``"unknown"`` (no license file, or not recognised),
or the lowercased SPDX id of a recognised license outside the allowlist (e.g. ``gpl-3.0``).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from octopack_common import CommandFailed, run_checked

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
ALLOWED_LICENSES = (
    "mit", "artistic-2.0", "isc", "cc0-1.0", "epl-1.0", "mpl-2.0", "unlicense", "apache-2.0",
    "bsd-3-clause", "agpl-3.0", "lgpl-2.1", "bsd-2-clause",
)
_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying)([.-].*)?$", re.IGNORECASE)
_COPYRIGHT_LINE = re.compile(r"^\s*copyright.*$", re.IGNORECASE | re.MULTILINE)


def normalize_license_text(text: str) -> str:
    """Drop copyright lines and collapse whitespace, for exact comparison of license texts."""
    return " ".join(_COPYRIGHT_LINE.sub("", text).split())


@functools.lru_cache(maxsize=1)
def _vendored_licenses() -> Dict[str, str]:
    """Normalised license text -> SPDX id, from identify's vendored texts (empty if unavailable)."""
    try:
        from identify.vendor import licenses
    except ImportError:
        return {}
    return {normalize_license_text(text): spdx for spdx, text in licenses.LICENSES}


def spdx_to_license(spdx: Optional[str]) -> str:
    """Map an SPDX id to the dataset's lowercase license value (``unknown`` for ``None``)."""
    return spdx.lower() if spdx else UNKNOWN


def identify_license_text(text: str) -> str:
    """License value of a license file's text (see the module docstring)."""
    try:
        from identify import identify
        import ukkonen  # noqa: F401  (identify's fuzzy matching needs it)
    except ImportError:
        return spdx_to_license(_vendored_licenses().get(normalize_license_text(text)))
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as handle:
        handle.write(text)
    try:
        return spdx_to_license(identify.license_id(handle.name))
    finally:
        os.unlink(handle.name)


def license_file_names(names: Iterable[str]) -> List[str]:
    """Root file names that look like license files, ``LICENSE`` variants first."""
    matches = [name for name in names if _LICENSE_FILE.match(name)]
    return sorted(matches, key=lambda name: (not name.lower().startswith("licen"), len(name), name))


def detect_repository_license(git_dir: Path, revision: str = "HEAD") -> str:
    """License value of the repository at ``revision`` (``unknown`` on any git failure)."""
    git = ["git", "--git-dir", str(git_dir)]
    try:
        listing = run_checked([*git, "ls-tree", "--name-only", "-z", revision], "git ls-tree",
                              encoding="utf-8", errors="replace").stdout
    except CommandFailed:
        return UNKNOWN
    for name in license_file_names([n for n in listing.split("\0") if n]):
        try:
            text = run_checked([*git, "cat-file", "blob", f"{revision}:{name}"], "git cat-file",
                               encoding="utf-8", errors="ignore").stdout
        except CommandFailed:
            continue
        license_value = identify_license_text(text)
        if license_value != UNKNOWN:
            return license_value
    return UNKNOWN


def is_allowed(license_value: str) -> bool:
    """True for the 12 licenses of the paper's allowlist."""
    return license_value in ALLOWED_LICENSES
