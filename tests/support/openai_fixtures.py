"""Pytest fixtures for the tiny model and a local OpenAI-compatible endpoint serving it.

* ``tiny_model_dir`` (session): :func:`octo_trainer.tiny.build_tiny_model` in its default cache
  location (``$OCTOPACK_CACHE_DIR/tiny-model`` or ``~/.cache/octopack/tiny-model``), so a warm
  cache costs a few milliseconds and pytest-xdist workers share one build safely.
* ``openai_server`` (session): ``transformers serve`` on that model (see ``openai_server.py``);
  use ``openai_server.client()`` or ``openai.OpenAI(base_url=openai_server.base_url, ...)`` and
  send ``model=openai_server.model``. Startup takes 6-9 s on an idle machine. If the server does
  not come up the requesting tests error with the server log; at teardown the whole process group
  is stopped, and a surviving process is reported as a teardown error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAIServer, ServerStartError, start_openai_server


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """Directory of the project's tiny causal LM (built on first use, then cached)."""
    from octo_trainer.tiny import build_tiny_model

    return build_tiny_model()


@pytest.fixture(scope="session")
def openai_server(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenAIServer]:
    """A running ``transformers serve`` on the tiny model, stopped at the end of the session."""
    workdir = tmp_path_factory.mktemp("openai-server")
    try:
        server = start_openai_server(tiny_model_dir, workdir)
    except ServerStartError as error:
        pytest.fail(f"transformers serve did not start: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
