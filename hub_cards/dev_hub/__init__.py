"""The dev hub: a local HTTP server speaking the part of the Hugging Face Hub API our clients use.

huggingface_hub ships no test server and the Hub is not always reachable (CI, air-gapped machines,
a first try without an account). This package serves the Hub's repository API from the standard
library (``http.server``) so that the *real* clients -- ``HfApi``, ``hf_hub_download`` /
``snapshot_download``, ``HfFileSystem``, ``datasets``, ``transformers``, ``evaluate.load`` -- push
and pull models, datasets and Spaces against it. The protocol was worked out by reading
huggingface_hub 2.4 (``hf_api.py``, ``_commit_api.py``, ``lfs.py``, ``file_download.py``), datasets
5.2 and evaluate 0.4.6 (``loading.py``: a ``ns/name`` metric is ``GET /spaces/ns/name/resolve/
<rev>/name.py``); the code is our own.

Start it::

    octopack hub serve --port 8900 --root ~/octopack-hub     # prints the variables to export
    export HF_ENDPOINT=http://127.0.0.1:8900 HF_TOKEN=hf_dev_... HF_HUB_DISABLE_XET=1

or in Python (tests, pipelines): ``with HubServer(root, tokens={token: "me"}) as hub: ...`` and
:func:`client_env` for a child process's environment.

Endpoints (``{type}`` is ``models``, ``datasets`` or ``spaces``; ``{prefix}`` is empty, ``datasets/``
or ``spaces/``; revisions are branch names, tags, ``refs/pr/N`` or full/abbreviated commit shas):

* ``GET  /api/whoami-v2``; ``POST /api/repos/create``, ``DELETE /api/repos/delete``
* ``POST /api/validate-yaml`` (card metadata checked with :mod:`hub_cards.metadata`)
* ``GET  /api/{type}/{ns}/{name}`` and ``.../revision/{rev}`` (repo info, ``?blobs=1`` for file sizes)
* ``GET  /api/{type}/{ns}/{name}/tree/{rev}[/{path}]`` (``recursive``, ``expand``)
* ``POST /api/{type}/{ns}/{name}/paths-info/{rev}``, ``POST .../preupload/{rev}``
* ``POST /api/{type}/{ns}/{name}/commit/{rev}`` (NDJSON: ``header``, ``file``, ``lfsFile``,
  ``deletedFile``, ``deletedFolder``; ``?create_pr=1``; ``parentCommit`` is enforced with a 412)
* ``GET  /api/{type}/{ns}/{name}/commits/{rev}``, ``GET .../refs``, ``PUT .../settings`` (visibility)
* ``POST|DELETE /api/{type}/{ns}/{name}/branch/{branch}``, ``POST|DELETE .../tag/{rev-or-tag}``
* ``POST /{prefix}{ns}/{name}.git/info/lfs/objects/batch`` (basic transfer), then
  ``PUT /lfs-upload/{type}/{ns}/{name}/{sha256}`` (the ``href`` the batch answer hands out)
* ``HEAD|GET /{prefix}{ns}/{name}/resolve/{rev}/{path}`` with ``ETag``, ``X-Repo-Commit``,
  ``Content-Length``, ``X-Linked-Etag``/``X-Linked-Size`` for LFS files, and byte ``Range`` support.

Errors carry the ``X-Error-Code`` header the clients map to exceptions: ``RepoNotFound``,
``RevisionNotFound`` and ``EntryNotFound`` (all 404); an unknown token gets 401.

Access: ``serve`` accepts one token (made once per root and kept in ``<root>/dev-hub-token``, or
``--token``); private repositories are hidden (404) from requests without it. Simplifications: one
user, who may write to any namespace; no Xet, no multipart LFS, no discussions beyond the
pull-request refs made by ``create_pr``; Spaces are stored, never run.
"""

from hub_cards.dev_hub.handler import HubRequestHandler
from hub_cards.dev_hub.server import HubHTTPServer, HubServer, client_env, serve
from hub_cards.dev_hub.store import (
    DEFAULT_BRANCH,
    DEFAULT_NAMESPACE,
    REPO_TYPES,
    URL_PREFIXES,
    HubError,
    HubStore,
    Repo,
)

__all__ = [
    "DEFAULT_BRANCH", "DEFAULT_NAMESPACE", "REPO_TYPES", "URL_PREFIXES", "HubError", "HubHTTPServer",
    "HubRequestHandler", "HubServer", "HubStore", "Repo", "client_env", "serve",
]
