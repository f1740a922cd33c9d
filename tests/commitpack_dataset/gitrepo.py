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
