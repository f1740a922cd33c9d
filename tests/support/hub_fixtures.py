"""Pytest fixtures that point the real Hugging Face clients at a local Hub (the product's dev hub,
``hub_cards.dev_hub``).

Usage -- ask for ``local_hub`` and use the ordinary APIs, nothing mocked::

    def test_push(local_hub):
        repo_id = local_hub.repo_id("my-dataset")            # "octo-user/my-dataset"
        Dataset.from_dict({"x": [1, 2]}).push_to_hub(repo_id)
        assert load_dataset(repo_id, split="train")["x"] == [1, 2]
        local_hub.api.list_repo_files(repo_id, repo_type="dataset")
        local_hub.server.read_file(repo_id, "README.md", repo_type="dataset")  # bypasses HTTP

What ``local_hub`` gives each test:

* an **empty hub**: repositories live under ``local_hub.root`` (the test's ``tmp_path``), so tests never
  see each other's repos and can reuse names;
* a **fresh ``HF_HOME``** (``local_hub.hf_home``) with the hub, assets, xet, datasets and modules caches
  under it, so nothing is served from a cache filled by an earlier test;
* ``local_hub.endpoint``, ``local_hub.token`` (the one token the hub accepts; others get 401), ``local_hub.namespace`` (the owner of repos created
  without one), ``local_hub.api`` (an ``HfApi`` bound to the endpoint and token) and
  ``local_hub.server`` (the ``HubServer``: ``requests`` log, ``read_file``, ``repo``);
* a check at teardown: an unexpected exception inside the server fails the test (as a teardown error)
  with the server-side traceback, even if the client swallowed the resulting 500.

How the clients are redirected (see ``point_clients_at``): the environment (``HF_ENDPOINT``,
``HF_TOKEN``, ``HF_HUB_DISABLE_XET=1``, ``HF_HOME`` and the cache variables; offline switches removed)
*and* the values huggingface_hub, datasets, transformers and evaluate copied from it at import time --
``huggingface_hub.constants`` (endpoint, URL template, trusted hosts, caches, xet/offline flags),
the module-level ``HfApi`` behind ``huggingface_hub.upload_file`` & co, the trusted-origin set in
``huggingface_hub.utils._http``, ``datasets.config`` (endpoint and caches) and transformers' shared
``HfApi`` and modules cache, ``evaluate.config`` (endpoint, Space URL template, caches, the
download counter off). The session fixture imports those modules *before* anything is patched,
so import order does not matter and ``monkeypatch`` restores the true original values afterwards.
fsspec's ``HfFileSystem`` instance cache is cleared before and after each test.

Caveats for fixture users:

* Everything is undone when the test ends; do not keep ``HfApi``/``HfFileSystem`` objects or cached
  file paths across tests. A session- or module-scoped fixture that needs the hub can call
  ``point_clients_at`` with its own ``pytest.MonkeyPatch`` (it then owns the isolation).
* Code that builds ``HfApi(endpoint="https://huggingface.co")`` explicitly, or copied a constant by
  value at import time (``from huggingface_hub.constants import ENDPOINT``), is not redirected.
* Child processes inherit the patched environment, so ``subprocess.run(["hf", ...])`` or a training
  recipe started as a script reaches the local hub too (their imports read the env afresh).
* Pass ``cache_dir``/``local_dir`` explicitly only under ``tmp_path``; the defaults already point into
  ``local_hub.hf_home``.
* The server is shared by the session and serves one test's storage at a time: do not use
  ``local_hub`` with in-process parallelism across tests (pytest-xdist workers are separate
  processes and each gets its own server, which is fine).
* Repo ids are ``namespace/name``; ``create_repo("name")`` lands in ``local_hub.namespace``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hub_cards.dev_hub import URL_PREFIXES, HubServer, client_env

LOCAL_HUB_TOKEN = "hf_local_hub_test_token"

# Imported up front (when installed) so that their import-time constants come from the real environment.
_CLIENT_MODULES = (
    "huggingface_hub",
    "huggingface_hub.constants",
    "huggingface_hub.hf_api",
    "huggingface_hub.file_download",
    "huggingface_hub.hf_file_system",
    "huggingface_hub.utils._http",
    "huggingface_hub.utils._cache_manager",
    "huggingface_hub.utils._cache_assets",
    "datasets.config",
    "transformers.utils.hub",
    "transformers.dynamic_module_utils",
    "evaluate.config",
)

_OFFLINE_AND_CONFLICTING_ENV = (
    "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HUGGING_FACE_HUB_TOKEN",
    "HUGGINGFACE_CO_STAGING", "HUGGINGFACE_HUB_CACHE", "HUGGINGFACE_ASSETS_CACHE",
    "HF_DATASETS_DOWNLOADED_DATASETS_PATH", "HF_DATASETS_EXTRACTED_DATASETS_PATH", "XDG_CACHE_HOME",
)


def import_hub_clients() -> None:
    """Import the client modules whose constants ``point_clients_at`` patches (missing ones are skipped)."""
    for name in _CLIENT_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _clear_hf_filesystem_cache() -> None:
    from huggingface_hub import HfFileSystem

    HfFileSystem.clear_instance_cache()


def point_clients_at(monkeypatch: pytest.MonkeyPatch, endpoint: str, token: str, hf_home: Path) -> None:
    """Redirect huggingface_hub, datasets and transformers to ``endpoint`` with caches under ``hf_home``.

    Call ``import_hub_clients()`` first (the session fixture does), so that the values patched here
    are the ones the clients read, and ``monkeypatch.undo()`` restores the genuine originals.
    """
    caches = {
        "HF_HOME": hf_home,
        "HF_HUB_CACHE": hf_home / "hub",
        "HF_ASSETS_CACHE": hf_home / "assets",
        "HF_XET_CACHE": hf_home / "xet",
        "HF_TOKEN_PATH": hf_home / "token",
        "HF_DATASETS_CACHE": hf_home / "datasets",
        "HF_MODULES_CACHE": hf_home / "modules",
    }
    for name in _OFFLINE_AND_CONFLICTING_ENV:
        monkeypatch.delenv(name, raising=False)
    env = {**client_env(endpoint, token), **{k: str(v) for k, v in caches.items()}}
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    from huggingface_hub import constants

    host = urlsplit(endpoint).hostname
    for name, value in {
        "ENDPOINT": endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_URL_HOSTS": constants.HF_URL_HOSTS | {host},
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(caches["HF_HUB_CACHE"]),
        "HUGGINGFACE_HUB_CACHE": str(caches["HF_HUB_CACHE"]),
        "HF_ASSETS_CACHE": str(caches["HF_ASSETS_CACHE"]),
        "HUGGINGFACE_ASSETS_CACHE": str(caches["HF_ASSETS_CACHE"]),
        "HF_XET_CACHE": str(caches["HF_XET_CACHE"]),
        "HF_TOKEN_PATH": str(caches["HF_TOKEN_PATH"]),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": False,
    }.items():
        monkeypatch.setattr(constants, name, value)

    from huggingface_hub import hf_api
    from huggingface_hub.utils import _http

    monkeypatch.setattr(hf_api.api, "endpoint", endpoint)  # behind huggingface_hub.upload_file & co
    monkeypatch.setattr(_http, "_HUB_ORIGINS", _http._HUB_ORIGINS | {_http._url_origin(endpoint)})
    for module_name, attr, value in (
        ("huggingface_hub.utils._cache_manager", "HF_HUB_CACHE", str(caches["HF_HUB_CACHE"])),
        ("huggingface_hub.utils._cache_assets", "HF_ASSETS_CACHE", str(caches["HF_ASSETS_CACHE"])),
        ("transformers.utils.hub", "HF_MODULES_CACHE", str(caches["HF_MODULES_CACHE"])),
        ("transformers.utils.hub", "_hf_api", None),  # transformers' shared HfApi, rebuilt on demand
        ("transformers.dynamic_module_utils", "HF_MODULES_CACHE", str(caches["HF_MODULES_CACHE"])),
    ):
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, attr):
            monkeypatch.setattr(module, attr, value)

    evaluate_config = sys.modules.get("evaluate.config")
    if evaluate_config is not None:
        evaluate_cache = hf_home / "evaluate"
        for name, value in {
            "HF_ENDPOINT": endpoint,
            "HF_LIST_ENDPOINT": endpoint + "/api/spaces?filter={type}",
            "HUB_EVALUATE_URL": endpoint + "/spaces/{path}/resolve/{revision}/{name}",
            "HF_CACHE_HOME": str(hf_home),
            "HF_EVALUATE_CACHE": evaluate_cache,
            "HF_METRICS_CACHE": hf_home / "metrics",
            "HF_MODULES_CACHE": caches["HF_MODULES_CACHE"],
            "DOWNLOADED_EVALUATE_PATH": evaluate_cache / "downloads",
            "EXTRACTED_EVALUATE_PATH": evaluate_cache / "downloads" / "extracted",
            "HF_EVALUATE_OFFLINE": False,
            "HF_UPDATE_DOWNLOAD_COUNTS": False,
        }.items():
            if hasattr(evaluate_config, name):
                monkeypatch.setattr(evaluate_config, name, value)

    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_cache = caches["HF_DATASETS_CACHE"]
        for name, value in {
            "HF_ENDPOINT": endpoint,
            "HUB_DATASETS_URL": endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}",
            "HF_CACHE_HOME": str(hf_home),
            "HF_DATASETS_CACHE": datasets_cache,
            "HF_MODULES_CACHE": caches["HF_MODULES_CACHE"],
            "DOWNLOADED_DATASETS_PATH": datasets_cache / "downloads",
            "EXTRACTED_DATASETS_PATH": datasets_cache / "downloads" / "extracted",
            "HF_HUB_OFFLINE": False,
            "HF_DATASETS_OFFLINE": False,
        }.items():
            if hasattr(datasets_config, name):
                monkeypatch.setattr(datasets_config, name, value)


@dataclass
class LocalHub:
    """What ``local_hub`` yields: where the hub is and how to talk to it."""

    server: HubServer
    endpoint: str
    token: str
    root: Path
    hf_home: Path

    @property
    def namespace(self) -> str:
        return self.server.namespace

    @property
    def api(self):
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token)

    def repo_id(self, name: str) -> str:
        return f"{self.namespace}/{name}"

    def url(self, repo_id: str, repo_type: str = "model") -> str:
        return f"{self.endpoint}/{URL_PREFIXES[repo_type]}{repo_id}"


@pytest.fixture(scope="session")
def local_hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """The local Hub for the whole session, on 127.0.0.1 and a free port. Prefer ``local_hub``."""
    import_hub_clients()
    server = HubServer(tmp_path_factory.mktemp("local-hub"), tokens={LOCAL_HUB_TOKEN: "octo-user"})
    server.start()
    yield server
    server.stop()
    from huggingface_hub.utils import close_session

    close_session()  # drop keep-alive connections to the stopped server


@pytest.fixture
def local_hub(local_hub_server: HubServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalHub]:
    """An empty local Hub with every client pointed at it and a fresh ``HF_HOME`` (see module docstring)."""
    root, hf_home = tmp_path / "hub-storage", tmp_path / "hf-home"
    root.mkdir()
    hf_home.mkdir()
    local_hub_server.reset(root)
    point_clients_at(monkeypatch, local_hub_server.endpoint, LOCAL_HUB_TOKEN, hf_home)
    _clear_hf_filesystem_cache()
    yield LocalHub(local_hub_server, local_hub_server.endpoint, LOCAL_HUB_TOKEN, root, hf_home)
    _clear_hf_filesystem_cache()
    errors = list(local_hub_server.errors)
    local_hub_server.errors.clear()
    if errors:
        pytest.fail("the local hub server raised:\n" + "\n".join(errors), pytrace=False)

