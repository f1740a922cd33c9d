"""The servers a run starts for itself, only when a stage that needs them actually runs: the
teacher (``transformers serve`` on a local model, unless the config names an endpoint) and the
dev hub (unless the config names a real Hub). Both are stopped when the run ends; the teacher
also dies with the pipeline if the pipeline is killed (``PR_SET_PDEATHSIG``)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("octo_trainer.pipeline")
LOCAL = "local"


@dataclass
class Teacher:
    """Where the teacher answers: ``base_url`` and the model name to send."""

    base_url: str
    model: str
    api_key_env: str
    served: bool  #: started by this run (transformers serve on a local model)

    def describe(self) -> str:
        return (f"{Path(self.model).name} via transformers serve (started for the run)"
                if self.served else f"{self.model} at {self.base_url}")


@dataclass
class Hub:
    """Where the run publishes: the endpoint, the token for child processes, the namespace."""

    endpoint: str
    token: str | None
    namespace: str
    local: bool
    root: Path | None = None

    def env(self, hf_home: Path) -> dict[str, str]:
        from hub_cards.dev_hub import client_env

        env = client_env(self.endpoint, self.token or "", hf_home)
        if not self.token:
            env.pop("HF_TOKEN")
        return env


class Services:
    """Lazily started servers of one run (see the module docstring)."""

    def __init__(self, config, run_dir: Path):
        self.config = config
        self.run_dir = run_dir
        self._teacher: Teacher | None = None
        self._server = None
        self._hub: Hub | None = None
        self._hub_server = None

    # -- the teacher ------------------------------------------------------------------------------
    def teacher_model_name(self) -> str:
        """The model name requests carry (it is part of every request's fingerprint): the served
        directory for a local teacher, without starting anything."""
        section = self.config.teacher
        if section.base_url:
            return section.model
        return str(local_model_dir(section.model))

    def teacher(self) -> Teacher:
        if self._teacher is not None:
            return self._teacher
        section = self.config.teacher
        if section.base_url:
            self._teacher = Teacher(section.base_url, section.model, section.api_key_env, served=False)
            return self._teacher
        from commitpack_dataset.generation.local_server import start_openai_server

        model_dir = local_model_dir(section.model)
        workdir = self.run_dir / "services" / "teacher"
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"octopack run: starting transformers serve on {model_dir} (the teacher) ...", flush=True)
        self._server = start_openai_server(model_dir, workdir, timeout=section.startup_timeout,
                                           die_with_parent=True)
        print(f"octopack run: teacher ready at {self._server.base_url}", flush=True)
        # transformers serve needs no key; the client still sends one
        self._teacher = Teacher(self._server.base_url, self._server.model, LOCAL_KEY_ENV, served=True)
        os.environ.setdefault(LOCAL_KEY_ENV, "unused")
        return self._teacher

    # -- the hub ----------------------------------------------------------------------------------
    def hub(self) -> Hub:
        if self._hub is not None:
            return self._hub
        section = self.config.publish
        if section.endpoint == LOCAL:
            from hub_cards.dev_hub import DEFAULT_NAMESPACE, HubServer
            from hub_cards.dev_hub.server import root_token

            root = self.run_dir / "hub"
            root.mkdir(parents=True, exist_ok=True)
            token = root_token(root)
            namespace = section.namespace or DEFAULT_NAMESPACE
            self._hub_server = HubServer(root, port=section.port, namespace=namespace,
                                         tokens={token: namespace}).start()
            print(f"octopack run: dev hub on {self._hub_server.endpoint} (repositories under {root})",
                  flush=True)
            self._hub = Hub(self._hub_server.endpoint, token, namespace, local=True, root=root)
            return self._hub
        token = os.environ.get(section.token_env)
        if not token:
            raise RuntimeError(f"publish.endpoint is {section.endpoint}: set the environment variable "
                               f"{section.token_env} (publish.token_env) to a write token, or use "
                               "publish.endpoint: local")
        self._hub = Hub(section.endpoint.rstrip("/"), token, section.namespace or "", local=False)
        return self._hub

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._hub_server is not None:
            self._hub_server.stop()
            self._hub_server = None


#: The variable the client reads for a locally served teacher (it needs no key).
LOCAL_KEY_ENV = "OCTOPACK_LOCAL_TEACHER_KEY"


def local_model_dir(model: str) -> Path:
    """``octopack-tiny`` -> the built tiny model; anything else must be a local directory."""
    from octo_trainer.train import TINY_MODEL

    if model == TINY_MODEL:
        from octo_trainer.tiny import build_tiny_model

        return build_tiny_model()
    path = Path(model).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"teacher.model {model!r} is not a local model directory: with "
                                "teacher.base_url null the run serves a local model with transformers "
                                "serve; give a directory, octopack-tiny, or set teacher.base_url")
    return path.resolve()
