"""Push a folder of SFT recipes to a Hub repository, with a generated README, in one commit.

:func:`push_recipes` uploads the YAML files of a folder (all of them, or chosen files/globs)
together with a ``README.md`` (:func:`render_recipe_card`) listing every recipe in the repository
and the command that runs it; pulling one back by ``hf://`` URL is :mod:`hub_cards.recipes`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from hub_cards._render import fence, render_card
from hub_cards.commit import CommitPlan, push_plan
from hub_cards.recipes import RECIPE_SUFFIXES, recipe_url

#: The command a recipe card tells users to run (the suite's SFT entry point).
RUN_COMMAND = "octopack sft --config"
#: Repository types recipes are pushed to.
PUSH_REPO_TYPES = ("model", "dataset")
RECIPE_CARD_TEMPLATE = "recipe_card.md"
RECIPE_TAGS = ("octopack", "trl", "sft", "recipes")


@dataclass(frozen=True)
class RecipeSummary:
    """What a recipe card says about one recipe file (read from its YAML and leading comment)."""

    path: str
    description: str
    base_model: str | None
    prompt_format: str | None
    finetuning: str
    per_device_batch: int | None
    gradient_accumulation: int | None


def summarize_recipe(path_in_repo: str, text: str) -> RecipeSummary:
    """Read the fields a recipe card shows; :class:`ValueError` unless ``text`` is a YAML mapping."""
    import yaml

    try:
        recipe = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"recipe {path_in_repo} is not valid YAML: {error}") from None
    if not isinstance(recipe, dict):
        kind = type(recipe).__name__
        raise ValueError(f"recipe {path_in_repo} must be a YAML mapping of fields, got {kind}")
    return RecipeSummary(
        path=path_in_repo,
        description=leading_comment(text),
        base_model=_str_or_none(recipe.get("model_name_or_path")),
        prompt_format=_str_or_none(recipe.get("prompt_format")),
        finetuning=finetuning_kind(recipe),
        per_device_batch=recipe.get("per_device_train_batch_size"),
        gradient_accumulation=recipe.get("gradient_accumulation_steps"),
    )


def finetuning_kind(fields: dict[str, Any]) -> str:
    """``"full"``, ``"LoRA"`` or ``"QLoRA (4-bit)"``/``"QLoRA (8-bit)"`` from ModelConfig-style fields."""
    if not fields.get("use_peft"):
        return "full"
    rank = f" r={fields['lora_r']}" if fields.get("lora_r") is not None else ""
    if fields.get("load_in_4bit"):
        return f"QLoRA 4-bit{rank}"
    if fields.get("load_in_8bit"):
        return f"QLoRA 8-bit{rank}"
    return f"LoRA{rank}"


def leading_comment(text: str) -> str:
    """The recipe's leading ``#`` comment block, without the markers (blank lines end it)."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        lines.append(stripped[1:].removeprefix(" "))
    return "\n".join(lines).strip()


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def collect_recipes(folder: str | Path, files: Sequence[str | Path] | None = None) -> dict[str, Path]:
    """``{path in repo: local file}`` for the recipes to push.

    Without ``files``: every ``*.yaml``/``*.yml`` under ``folder`` (hidden directories skipped).
    With ``files``: each entry is a file (relative to ``folder`` or absolute inside it) or a glob
    relative to ``folder`` such as ``"tiny-cpu/*.yaml"``; paths in the repository are relative to
    ``folder``.
    """
    root = Path(folder).resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"recipe folder {folder} is not a directory")
    found: dict[str, Path] = {}
    candidates = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix in RECIPE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if files is None:
        for path in candidates:
            found[path.relative_to(root).as_posix()] = path
    else:
        for entry in files:
            path = Path(entry)
            absolute = (path if path.is_absolute() else root / path).resolve()
            if absolute.is_file():
                try:
                    relative = absolute.relative_to(root).as_posix()
                except ValueError:
                    raise ValueError(f"recipe {entry} is not inside the folder {root}") from None
                if absolute.suffix not in RECIPE_SUFFIXES:
                    raise ValueError(f"recipe {entry} is not a .yaml/.yml file")
                found[relative] = absolute
                continue
            pattern = PurePosixPath(str(entry)).as_posix()
            matches = [p for p in candidates if fnmatch.fnmatch(p.relative_to(root).as_posix(), pattern)]
            if not matches:
                raise FileNotFoundError(f"no recipe file in {root} matches {str(entry)!r}")
            for match in matches:
                found[match.relative_to(root).as_posix()] = match
    if not found:
        raise FileNotFoundError(f"no .yaml/.yml recipe under {root}")
    return dict(sorted(found.items()))


def render_recipe_card(
    repo_id: str,
    recipes: Iterable[tuple[str, str]],
    *,
    repo_type: str = "model",
    revision: str | None = None,
    license: str | None = None,
    title: str | None = None,
    command: str = RUN_COMMAND,
):
    """The README of a recipe repository: a table of the recipes and how to run each.

    ``recipes`` are ``(path in repo, YAML text)`` pairs. Returns a ``ModelCard`` (``DatasetCard``
    for a dataset repository) whose metadata carries the tags ``octopack``, ``trl``, ``sft``,
    ``recipes`` and ``license`` when given.
    """
    from huggingface_hub import DatasetCard, DatasetCardData, ModelCard, ModelCardData

    if repo_type not in PUSH_REPO_TYPES:
        raise ValueError(f"recipe repositories are model or dataset repositories, not {repo_type!r}")
    summaries = [summarize_recipe(path, text) for path, text in recipes]
    if not summaries:
        raise ValueError("a recipe card needs at least one recipe")
    if repo_type == "model":
        card_class, data_class = ModelCard, ModelCardData
    else:
        card_class, data_class = DatasetCard, DatasetCardData
    card_data = data_class(license=license, tags=list(RECIPE_TAGS))
    rows = [
        {
            "summary": summary,
            "url": recipe_url(repo_id, summary.path, revision=revision, repo_type=repo_type),
            "description_block": fence(summary.description, "text") if summary.description else "",
        }
        for summary in summaries
    ]
    example = rows[0]["url"]
    pinned_example = recipe_url(repo_id, summaries[0].path, revision="<commit-or-tag>", repo_type=repo_type)
    return render_card(
        card_class, card_data, RECIPE_CARD_TEMPLATE,
        title=title or f"{repo_id.split('/')[-1]}: octopack SFT recipes",
        repo_id=repo_id, rows=rows, command=command, example=example,
        pinned_example=pinned_example,
    )


def recipes_plan(
    folder: str | Path,
    repo_id: str,
    *,
    files: Sequence[str | Path] | None = None,
    repo_type: str = "model",
    revision: str | None = None,
    private: bool | None = None,
    license: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
    remote: dict[str, str] | None = None,
) -> CommitPlan:
    """The commit of :func:`push_recipes`: the recipes and a README listing them and ``remote``
    (``{path: YAML}`` of the recipes already in the repository, kept by the push)."""
    if repo_type not in PUSH_REPO_TYPES:
        raise ValueError(f"recipe repositories are model or dataset repositories, not {repo_type!r}")
    local = collect_recipes(folder, files)
    texts = {path: file.read_text(encoding="utf-8") for path, file in local.items()}
    for path, text in texts.items():
        summarize_recipe(path, text)  # refuse a broken recipe before anything is created
    everything = {**(remote or {}), **texts}
    card = render_recipe_card(
        repo_id, sorted(everything.items()), repo_type=repo_type,
        revision=None if revision in (None, "main") else revision, license=license,
    )
    names = ", ".join(texts) if len(texts) <= 4 else f"{len(texts)} recipes"
    uploads: dict[str, bytes | Path] = {path: text.encode("utf-8") for path, text in texts.items()}
    uploads["README.md"] = str(card).encode("utf-8")
    return CommitPlan(repo_id, uploads, repo_type=repo_type, revision=revision, private=private,
                      commit_message=commit_message or f"Push octopack recipes: {names}", create_pr=create_pr)


def remote_recipes(repo_id: str, *, repo_type: str = "model", revision: str | None = None,
                   token: str | bool | None = None) -> dict[str, str]:
    """``{path: YAML}`` of the recipes in the repository (``{}`` when it does not exist yet; a branch
    that does not exist yet is read from the default branch it will be made from)."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    api = HfApi(token=token)
    try:
        try:
            paths = api.list_repo_files(repo_id, repo_type=repo_type, revision=revision)
        except RevisionNotFoundError:
            revision = None
            paths = api.list_repo_files(repo_id, repo_type=repo_type)
    except RepositoryNotFoundError:
        return {}
    return {path: Path(hf_hub_download(repo_id, path, repo_type=repo_type, revision=revision, token=token))
            .read_text(encoding="utf-8") for path in paths if path.endswith(RECIPE_SUFFIXES)}


def push_recipes(
    folder: str | Path,
    repo_id: str,
    *,
    files: Sequence[str | Path] | None = None,
    repo_type: str = "model",
    revision: str | None = None,
    private: bool | None = None,
    token: str | bool | None = None,
    license: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
):
    """Push recipe YAML files from ``folder`` plus a generated ``README.md`` in one commit.

    The repository (and the branch ``revision``, from the default branch) is created when missing.
    Files already in the repository stay; the README lists every recipe in the repository after
    this commit (the ones not pushed now are read from the Hub). Every pushed file must be a YAML
    mapping. Returns huggingface_hub's ``CommitInfo`` (``.oid`` is the new commit).
    """
    collect_recipes(folder, files)  # a missing folder or file fails before any network call
    remote = remote_recipes(repo_id, repo_type=repo_type, revision=revision, token=token) \
        if repo_type in PUSH_REPO_TYPES else {}
    plan = recipes_plan(folder, repo_id, files=files, repo_type=repo_type, revision=revision, private=private,
                        license=license, commit_message=commit_message, create_pr=create_pr, remote=remote)
    return push_plan(plan, token=token)
