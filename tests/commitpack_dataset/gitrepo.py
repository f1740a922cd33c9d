"""A tiny helper that builds real git repositories for tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, Optional, Union

_ENV = {
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.com",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def license_text(spdx: str) -> str:
    """The text of license ``spdx`` (e.g. ``MIT``) from identify's vendored licenses."""
    from identify.vendor import licenses

    return dict(licenses.LICENSES)[spdx]


class GitRepo:
    """A work tree in ``path`` with helpers to write files and commit them."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, date: Optional[str] = None) -> str:
        env = dict(os.environ, **_ENV)
        if date:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        result = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True, check=True)
        return result.stdout.decode("utf-8", errors="replace").strip()

    def write(self, files: Dict[str, Union[str, bytes, None]]) -> None:
        """Write (str/bytes) or delete (None) files relative to the work tree."""
        for name, content in files.items():
            target = self.path / name
            if content is None:
                self.git("rm", "-q", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def commit(self, message: str, files: Optional[Dict[str, Union[str, bytes, None]]] = None,
               date: Optional[str] = None) -> str:
        """Write ``files``, stage everything, commit with ``message``; return the sha."""
        self.write(files or {})
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "--cleanup=verbatim", "-m", message, date=date)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


PY_OLD, PY_NEW = "x = 1\n" * 40, "x = 2\n" * 40
JS_OLD, JS_NEW = "let a = 1;\n" * 30, "let a = 2;\n" * 30
GO_OLD, GO_NEW = "var b = 1\n" * 30, "var b = 2\n" * 30


def build_two_language_history(repo: GitRepo) -> None:
    """Initial import (MIT), then commits kept by CommitPackFT in Python, JavaScript and Go; one multi-file drop."""
    repo.commit("Initial import", {"LICENSE": license_text("MIT"), "app.py": PY_OLD, "web/main.js": JS_OLD,
                                   "srv/main.go": GO_OLD})
    repo.commit("Fix the handling of nested lists", {"app.py": PY_NEW})
    repo.commit("Improve the rendering of the page header", {"web/main.js": JS_NEW})
    repo.commit("Change two files at once", {"app.py": PY_OLD, "web/main.js": JS_OLD})
    repo.commit("Add the missing error check to the server", {"srv/main.go": GO_NEW})
    repo.commit("Refactor the loop of the program", {"app.py": PY_NEW + "y = 1\n"})
