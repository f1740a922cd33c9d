"""Recipe repositories on the Hub: push a set of YAML recipes with a README, pull one back by URL.

A recipe is addressed with huggingface_hub's own ``hf://`` URL form (the one ``HfFileSystem``,
``datasets`` and ``pandas`` already read), parsed by huggingface_hub's public
:func:`huggingface_hub.parse_hf_uri`::

    hf://owner/repo/magicoder/lora.yaml                       # model repo, branch main
    hf://datasets/owner/repo@v1/magicoder/lora.yaml           # dataset repo, tag or branch v1
    hf://owner/repo@3f2a9c1/magicoder/lora.yaml                # a commit (full or abbreviated sha)
    hf://owner/repo@refs/pr/1/magicoder/lora.yaml             # a pull request (refs/pr/N kept whole)
    hf://owner/repo@feature%2Fx/magicoder/lora.yaml           # a branch with '/' (percent-encoded)

The Hub web URL of the file (``https://huggingface.co/owner/repo/blob/main/magicoder/lora.yaml``)
is accepted too, as ``parse_hf_uri`` accepts it. A path without ``.yaml``/``.yml`` gets ``.yaml``
appended, like the shipped recipe names (``magicoder/lora``).

:func:`pull_recipe` downloads the file with ``hf_hub_download`` (so ``HF_ENDPOINT``,
``HF_TOKEN``/``hf auth login``, the cache and ``HF_HUB_OFFLINE`` apply) and returns the local path
with the URL pinned to the commit the file came from (``hf://owner/repo@<sha>/path``) for
reproducible records. Missing repositories, revisions and files raise :class:`RecipeNotFoundError`
naming the repository, revision and path and what does exist there.

Pushing a folder of recipes with a generated README is :mod:`hub_cards.recipe_push`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

RECIPE_SUFFIXES = (".yaml", ".yml")
#: Repository types a recipe can be pulled from.
PULL_REPO_TYPES = ("model", "dataset", "space")
_URL_FORM = "hf://[datasets/|spaces/]owner/repo[@revision]/path/in/repo.yaml"
_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
#: Revisions that contain a '/' and are written verbatim in a URL (as huggingface_hub does).
_SPECIAL_REFS = re.compile(r"^refs/(?:convert/[\w.-]+|pr/\d+)$")
_COMMIT = re.compile(r"[0-9a-f]{40}")


class RecipeURLError(ValueError):
    """A recipe URL that cannot be parsed (the message shows the expected form)."""


class RecipeNotFoundError(FileNotFoundError):
    """The repository, revision or file of a recipe URL does not exist (or is not visible)."""


@dataclass(frozen=True)
class RecipeRef:
    """Where a recipe lives on the Hub: repository, optional revision, path in the repository."""

    repo_id: str
    path: str
    revision: str | None = None
    repo_type: str = "model"

    @property
    def url(self) -> str:
        """The canonical ``hf://`` URL (no type prefix for model repositories)."""
        return recipe_url(self.repo_id, self.path, revision=self.revision, repo_type=self.repo_type)

    def at(self, revision: str | None) -> RecipeRef:
        """The same recipe at another revision."""
        return replace(self, revision=revision)


@dataclass(frozen=True)
class PulledRecipe:
    """A recipe downloaded from the Hub: the local file, what was asked for, the commit it came from."""

    path: Path
    ref: RecipeRef
    commit: str | None

    @property
    def pinned_url(self) -> str:
        """The URL pinned to the commit that was downloaded (the requested URL when offline)."""
        return self.ref.at(self.commit).url if self.commit else self.ref.url


def recipe_url(repo_id: str, path: str, revision: str | None = None, repo_type: str = "model") -> str:
    """Build ``hf://[datasets/|spaces/]repo_id[@revision]/path`` (revisions with '/' percent-encoded)."""
    if repo_type not in _PREFIXES:
        raise ValueError(f"repo_type must be one of {sorted(_PREFIXES)}, got {repo_type!r}")
    at = ""
    if revision:
        at = "@" + (revision if _SPECIAL_REFS.match(revision) else revision.replace("/", "%2F"))
    return f"hf://{_PREFIXES[repo_type]}{repo_id}{at}/{path.lstrip('/')}"


def is_recipe_url(value: str) -> bool:
    """Whether ``value`` is meant as a Hub URL (``hf://...`` or ``http(s)://...``) rather than a path."""
    return value.startswith(("hf://", "http://", "https://"))


def parse_recipe_url(url: str) -> RecipeRef:
    """Parse a recipe URL with huggingface_hub's ``parse_hf_uri``; :class:`RecipeURLError` if malformed."""
    from huggingface_hub import constants, parse_hf_uri
    from huggingface_hub.errors import HfUriError

    try:
        uri = parse_hf_uri(url, endpoint=constants.ENDPOINT)
    except HfUriError as error:
        raise RecipeURLError(
            f"malformed recipe URL {url!r}: {error.msg.strip()}\n"
            f"expected {_URL_FORM}, e.g. hf://my-org/octopack-recipes/magicoder/lora.yaml "
            "or hf://my-org/octopack-recipes@v1/magicoder/lora.yaml"
        ) from None
    if uri.type not in PULL_REPO_TYPES:
        raise RecipeURLError(
            f"recipe URL {url!r} points into a {uri.type}: recipes are read from model, dataset or "
            f"space repositories ({_URL_FORM})"
        )
    path = uri.path_in_repo.strip("/")
    if not path:
        raise RecipeURLError(
            f"recipe URL {url!r} names the repository {uri.id!r} but no file in it: "
            f"add the recipe's path, {_URL_FORM}"
        )
    if not path.endswith(RECIPE_SUFFIXES):
        path += ".yaml"
    return RecipeRef(repo_id=uri.id, path=path, revision=uri.revision, repo_type=uri.type)


def pull_recipe(
    url: str | RecipeRef,
    *,
    token: str | bool | None = None,
    cache_dir: str | Path | None = None,
) -> PulledRecipe:
    """Download one recipe file with ``hf_hub_download`` (see module docstring).

    The commit the file came from is read off the cache snapshot it lands in, so the pinned URL is
    known offline too (``HF_HUB_OFFLINE``: served from the cache when it was pulled before).
    Raises :class:`RecipeURLError` for a malformed URL and :class:`RecipeNotFoundError` when the
    repository, the revision or the file does not exist (the message lists the branches and tags,
    or the YAML files that do exist) or the Hub cannot be reached and the cache lacks the file.
    """
    from huggingface_hub import HfApi, constants, hf_hub_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    ref = parse_recipe_url(url) if isinstance(url, str) else url
    api = HfApi(token=token)
    try:
        local = Path(hf_hub_download(
            ref.repo_id, ref.path, repo_type=ref.repo_type, revision=ref.revision, token=token,
            cache_dir=cache_dir,
        ))
    except RepositoryNotFoundError:  # GatedRepoError included
        raise _repo_not_found(ref) from None
    except RevisionNotFoundError:
        raise _revision_not_found(ref, api) from None
    except RemoteEntryNotFoundError:
        raise _file_not_found(ref, api) from None
    except LocalEntryNotFoundError as error:
        why = "HF_HUB_OFFLINE is set" if constants.is_offline_mode() else f"{_endpoint()} unreachable: {error}"
        raise RecipeNotFoundError(
            f"recipe {ref.url} is not in the local cache and the Hub cannot be asked ({why}); "
            "pull it once online first"
        ) from None
    return PulledRecipe(path=local, ref=ref, commit=_snapshot_commit(local, ref.path))


def _snapshot_commit(local: Path, path_in_repo: str) -> str | None:
    """The commit of a file in the Hub cache (``.../snapshots/<commit>/<path in repo>``)."""
    depth = len(PurePosixPath(path_in_repo).parts)
    snapshot = local.parents[depth - 1] if len(local.parents) >= depth else None
    if snapshot is None or snapshot.parent.name != "snapshots" or not _COMMIT.fullmatch(snapshot.name):
        return None
    return snapshot.name


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _repo_not_found(ref: RecipeRef) -> RecipeNotFoundError:
    return RecipeNotFoundError(
        f"recipe {ref.url}: there is no {ref.repo_type} repository {ref.repo_id!r} on {_endpoint()}. "
        "Check the repo id and its type (a datasets/ or spaces/ prefix for those); if the repository "
        "is private or gated, log in (`hf auth login`) or set HF_TOKEN."
    )


def _revision_not_found(ref: RecipeRef, api) -> RecipeNotFoundError:
    try:
        refs = api.list_repo_refs(ref.repo_id, repo_type=ref.repo_type)
        known = (f"branches: {', '.join(b.name for b in refs.branches) or '-'}; "
                 f"tags: {', '.join(t.name for t in refs.tags) or '-'}")
    except Exception as error:  # the listing is a hint only
        known = f"(could not list its branches and tags: {error})"
    return RecipeNotFoundError(
        f"recipe {ref.url}: the {ref.repo_type} repository {ref.repo_id!r} has no revision "
        f"{ref.revision!r}; {known}. A revision is a branch, a tag, refs/pr/N or a commit sha."
    )


def _file_not_found(ref: RecipeRef, api) -> RecipeNotFoundError:
    try:
        files = api.list_repo_files(ref.repo_id, repo_type=ref.repo_type, revision=ref.revision)
        recipes = sorted(f for f in files if f.endswith(RECIPE_SUFFIXES))
    except Exception as error:  # the listing is a hint only
        recipes, listing = [], f" (could not list the repository: {error})"
    else:
        listing = ""
    revision = ref.revision or "the default branch"
    message = (f"recipe {ref.url}: no file {ref.path!r} in the {ref.repo_type} repository "
               f"{ref.repo_id!r} at {revision}{listing}.")
    if recipes:
        close = difflib.get_close_matches(ref.path, recipes, n=1)
        message += f" YAML files there: {', '.join(recipes)}."
        if close:
            message += f" Did you mean {replace(ref, path=close[0]).url}?"
    elif not listing:
        message += " It holds no YAML file."
    return RecipeNotFoundError(message)
