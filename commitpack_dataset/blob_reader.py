"""Long-lived ``git cat-file --batch`` / ``--batch-check`` processes: blob sizes and contents of one
repository, many objects per round trip (the miner's fast path, ``mining.CommitMiner``)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List, Optional, Sequence


class BlobReader:
    """Long-lived ``git cat-file --batch`` and ``--batch-check`` processes for one repository.

    If a process dies (e.g. on a corrupt object) the request answers ``None`` and the process is
    restarted for the next request, so one bad object never ends the repository.
    """

    def __init__(self, git_dir: Path):
        self.git_dir = git_dir
        self._processes = {"--batch": self._start("--batch"), "--batch-check": self._start("--batch-check")}

    def _start(self, mode: str) -> subprocess.Popen:
        return subprocess.Popen(
            ["git", "--git-dir", str(self.git_dir), "cat-file", mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def _restart(self, mode: str) -> None:
        self._stop(self._processes[mode])
        self._processes[mode] = self._start(mode)

    def _send(self, mode: str, shas: Sequence[str]) -> bool:
        """Write every object name with one flush; ``False`` (process restarted) if that failed."""
        try:
            self._processes[mode].stdin.write("".join(f"{sha}\n" for sha in shas).encode("ascii"))
            self._processes[mode].stdin.flush()
            return True
        except (OSError, ValueError):
            self._restart(mode)
            return False

    def _header(self, mode: str) -> Optional[List[str]]:
        """Read one answer header; ``None`` (process restarted) if the process failed."""
        try:
            header = self._processes[mode].stdout.readline()
        except (OSError, ValueError):
            header = b""
        if not header.endswith(b"\n"):
            self._restart(mode)
            return None
        return header.decode("ascii", errors="replace").split()

    def sizes(self, shas: Sequence[str]) -> List[Optional[int]]:
        """Sizes of the blobs ``shas`` in one round trip; ``None`` for missing objects and non-blobs."""
        if not self._send("--batch-check", shas):
            return [None] * len(shas)
        answers: List[Optional[int]] = []
        for _ in shas:
            header = self._header("--batch-check")
            if header is None:  # the process was restarted: the remaining answers are lost
                return answers + [None] * (len(shas) - len(answers))
            answers.append(int(header[2]) if len(header) == 3 and header[1] == "blob" else None)
        return answers

    def read_many(self, shas: Sequence[str]) -> List[Optional[bytes]]:
        """Contents of the blobs ``shas`` in one round trip; ``None`` for missing objects and non-blobs."""
        if not self._send("--batch", shas):
            return [None] * len(shas)
        answers: List[Optional[bytes]] = []
        for _ in shas:
            header = self._header("--batch")
            if header is None:
                return answers + [None] * (len(shas) - len(answers))
            if len(header) != 3:  # "<sha> missing": no content follows
                answers.append(None)
                continue
            size = int(header[2])
            try:
                data = self._processes["--batch"].stdout.read(size + 1)  # content plus a newline
            except (OSError, ValueError):
                data = b""
            if len(data) != size + 1:
                self._restart("--batch")
                return answers + [None] * (len(shas) - len(answers))
            answers.append(data[:size] if header[1] == "blob" else None)
        return answers

    def size(self, sha: str) -> Optional[int]:
        """Size in bytes of blob ``sha``, or ``None`` when it is missing or not a blob."""
        return self.sizes([sha])[0]

    def read(self, sha: str) -> Optional[bytes]:
        """Contents of blob ``sha``, or ``None`` when it is missing or not a blob."""
        return self.read_many([sha])[0]

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            try:
                process.stdin.close()
                process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop both processes."""
        for process in self._processes.values():
            self._stop(process)

    def __enter__(self) -> "BlobReader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
