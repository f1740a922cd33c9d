"""The interface every execution language implements.

A language knows four things, and nothing about scheduling or models:

1. ``assemble(generation, problem, task)``: the harness' program assembly (import helpers,
   Go import repair, Rust declaration re-insertion, C++ ``main`` stripping, Java ``Main``
   handling). Produces the *candidate* that the reference metric receives in ``predictions``.
2. ``program(candidate, reference)``: what the reference metric runs, ``candidate + "\\n" + test``
   (``reference`` is the test code as the harness passes it).
3. ``prepare(cache_dir)``: one-time toolchain work (prebuilt crates, precompiled headers, warm
   Go cache, a compile server), idempotent and safe to call from several processes.
4. ``execute(program, workdir, sandbox, timeout)``: run one program in its private directory and
   return an :class:`~humanevalpack_metric.outcome.Outcome`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterable

from ..outcome import Outcome
from ..sandbox import Sandbox


class ToolchainMissing(RuntimeError):
    """A compiler/interpreter/library a language needs is not installed."""


@dataclass(frozen=True)
class Tool:
    """An executable a language needs, and how a user gets it."""

    command: str
    hint: str

    def path(self) -> str:
        found = shutil.which(self.command)
        if not found:
            raise ToolchainMissing(f"`{self.command}` not found on PATH. {self.hint}")
        return found


def sandbox_hidden(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The existing ``paths`` that the sandbox hides (below ``Sandbox.HIDDEN``, e.g. a pyenv
    interpreter under ``/root``), resolved, deduplicated, and without paths inside another
    one: what :meth:`Language.sandbox_ro_paths` returns for toolchains outside ``/usr``."""
    hidden = [Path(h) for h in Sandbox.HIDDEN]
    found: list[Path] = []
    for path in sorted({Path(p).resolve() for p in paths if os.path.exists(p)}):
        if any(h == path or h in path.parents for h in hidden) and not any(
                f == path or f in path.parents for f in found):
            found.append(path)
    return found


class Language:
    """Base class; one small subclass per language in this package."""

    name: ClassVar[str]  # config name in bigcode/humanevalpack: python, js, java, go, cpp, rust
    display_name: ClassVar[str]  # Python, JavaScript, Java, Go, C++, Rust
    task_prefix: ClassVar[str]  # task_id prefix: Python, JavaScript, Java, Go, CPP, Rust
    aliases: ClassVar[tuple[str, ...]] = ()  # other names callers use (e.g. "javascript")
    default_timeout: ClassVar[float]  # seconds per program (run phase; compile has its own)
    stop_words: ClassVar[tuple[str, ...]] = ()  # harness stop words beyond <|endoftext|>
    tools: ClassVar[tuple[Tool, ...]] = ()

    def __init__(self, corrected: bool = False):
        # corrected=True fixes documented reference-data bugs (see the metric card);
        # the default reproduces the reference verdicts exactly.
        self.corrected = corrected

    # -- toolchain ------------------------------------------------------------------------
    def check_toolchain(self) -> None:
        """Raise :class:`ToolchainMissing` naming what is missing and how to install it."""
        for tool in self.tools:
            tool.path()

    def prepare(self, cache_dir: Path) -> None:
        """One-time, idempotent toolchain warm-up; results live under ``cache_dir``.

        Called once per process before :meth:`execute`; remember ``cache_dir`` on ``self``.
        Must be safe when several processes prepare the same ``cache_dir`` (lock or atomic
        rename) and fast when already done."""
        self.cache_dir = cache_dir

    def sandbox_ro_paths(self, cache_dir: Path) -> list[Path]:
        """Host paths (caches, prebuilt deps) the sandbox must expose read-only."""
        return []

    # -- programs -------------------------------------------------------------------------
    def assemble(self, generation: str, problem: dict, task: str) -> str:
        """Turn a post-processed generation into the candidate the reference metric receives."""
        raise NotImplementedError

    def program(self, candidate: str, reference: str) -> str:
        return candidate + "\n" + reference

    def execute(self, program: str, workdir: Path, sandbox: Sandbox, timeout: float) -> Outcome:
        """Run one program. Called concurrently from several worker threads: keep per-thread
        state (compile servers, warm interpreters) in ``threading.local`` and free it in
        :meth:`close`. ``workdir`` is empty, private to this program, and removed afterwards."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop any long-lived helper processes this language started."""
