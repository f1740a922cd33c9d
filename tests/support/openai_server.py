"""``transformers serve`` as a local OpenAI-compatible endpoint for tests: the product's
:mod:`commitpack_dataset.generation.local_server` (one home; the pipeline starts its default teacher
with it), re-exported under the name the fixtures and tests import."""

from commitpack_dataset.generation.local_server import (  # noqa: F401
    LOG_TAIL_CHARS,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    OpenAIServer,
    ServerStartError,
    free_port,
    group_members,
    read_log,
    serve_command,
    server_env,
    start_openai_server,
    start_server_process,
    stop_process_group,
)
